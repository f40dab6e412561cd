"""The IDX loader and the downloader.

Loading: correct arrays from good files, a clear ValueError for every bad one. Every bad
input is built here: damaged and overlong files, headers of every IDX type, gzip bombs,
and valid IDX files that are not MNIST's (swapped splits, no images, another data set,
labels that belong to other images).

Downloading: checksum verification, atomic writes, the offline error, local problems.
The mirrors here are local (``file://`` URLs, and a closed port on the loopback address),
so the real download code runs without a network. Local problems (a directory where
the file should go, a read-only or full disk, a link loop) are built here too.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import gzip_bytes, make_images, make_labels, needs_real_mnist

from mnist_helpers.data import (
    IDX_MAX_BYTES,
    MNIST_FILES,
    MNIST_FINGERPRINTS,
    MNIST_MAX_BYTES,
    DataDirectoryError,
    MnistFile,
    MnistMismatchError,
    MnistNotFoundError,
    SplitFingerprint,
    download_file,
    ensure_mnist_files,
    fingerprint_split,
    load_mnist,
    read_idx,
    read_idx_images,
    read_idx_labels,
    resolve_data_dir,
    write_idx,
)

MiB = 2**20


def idx_bytes(type_code: int, shape: tuple[int, ...], values: bytes = b"") -> bytes:
    """An IDX file's bytes, header written by hand."""
    return bytes([0, 0, type_code, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape) + values


@pytest.fixture
def fingerprints() -> dict[str, SplitFingerprint]:
    """The fingerprints of the synthetic data set of ``mnist_dir`` (30 training, 20 test)."""
    return {
        "train": fingerprint_split(make_images(30, seed=1), make_labels(30)),
        "test": fingerprint_split(make_images(20, seed=2), make_labels(20)),
    }


def put(directory: Path, key: str, array: np.ndarray) -> Path:
    return write_idx(directory / MNIST_FILES[key].name, array)


# --- Good files ----------------------------------------------------------------------


def test_loads_the_four_files_with_the_keras_shapes_and_dtypes(mnist_dir: Path, fingerprints) -> None:
    (x_train, y_train), (x_test, y_test) = load_mnist(mnist_dir, download=False, fingerprints=fingerprints)
    assert x_train.shape == (30, 28, 28) and y_train.shape == (30,)
    assert x_test.shape == (20, 28, 28) and y_test.shape == (20,)
    assert {array.dtype for array in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    np.testing.assert_array_equal(x_train, make_images(30, seed=1))
    np.testing.assert_array_equal(y_test, make_labels(20))
    assert x_train.flags.writeable, "arrays are writable, like keras.datasets.mnist.load_data()"


def test_reads_uncompressed_files_too(mnist_dir: Path, fingerprints) -> None:
    for file in MNIST_FILES.values():
        compressed = mnist_dir / file.name
        (mnist_dir / file.name.removesuffix(".gz")).write_bytes(gzip.decompress(compressed.read_bytes()))
        compressed.unlink()
    (x_train, _), _ = load_mnist(mnist_dir, download=False, fingerprints=fingerprints)
    np.testing.assert_array_equal(x_train, make_images(30, seed=1))


def test_a_reordered_copy_of_the_data_is_accepted(mnist_dir: Path, fingerprints) -> None:
    order = np.random.default_rng(5).permutation(30)
    put(mnist_dir, "train_images", make_images(30, seed=1)[order])
    put(mnist_dir, "train_labels", make_labels(30)[order])
    (_, y_train), _ = load_mnist(mnist_dir, download=False, fingerprints=fingerprints)
    np.testing.assert_array_equal(y_train, make_labels(30)[order])


def test_a_gz_file_that_a_browser_already_decompressed_is_read(tmp_path: Path) -> None:
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(idx_bytes(0x08, (3,), bytes([4, 5, 6])))
    assert read_idx_labels(path).tolist() == [4, 5, 6]


def test_directory_comes_from_argument_then_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "from-env"))
    assert resolve_data_dir() == tmp_path / "from-env"
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv("MNIST_DATA_DIR")
    assert resolve_data_dir().name == "data"


def test_environment_variable_is_used_by_load_mnist(
    monkeypatch: pytest.MonkeyPatch, mnist_dir: Path, fingerprints
) -> None:
    monkeypatch.setenv("MNIST_DATA_DIR", str(mnist_dir))
    (_, y_train), _ = load_mnist(download=False, fingerprints=fingerprints)
    assert len(y_train) == 30


# --- Any IDX file ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_code", "dtype"),
    [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)],
)
@pytest.mark.parametrize("compressed", [True, False])
def test_read_idx_reads_every_type_big_endian(tmp_path: Path, type_code: int, dtype, compressed: bool) -> None:
    values = np.array([[-3, 0, 1], [7, 100, -128]]).astype(dtype)
    if dtype == np.uint8:
        values = values.astype(np.int16).astype(np.uint8)
    payload = idx_bytes(type_code, values.shape, values.astype(np.dtype(dtype).newbyteorder(">")).tobytes())
    path = tmp_path / ("values.idx.gz" if compressed else "values.idx")
    path.write_bytes(gzip.compress(payload) if compressed else payload)
    array = read_idx(path)
    assert array.dtype == np.dtype(dtype) and array.dtype.isnative
    np.testing.assert_array_equal(array, values)
    assert array.flags.writeable


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_write_idx_round_trips_every_type(tmp_path: Path, dtype) -> None:
    values = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = write_idx(tmp_path / "values.gz", values)
    np.testing.assert_array_equal(read_idx(path), values)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["values.gz"], "no temporary file is left"


def test_write_idx_refuses_a_type_idx_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"got dtype int64: convert the array with \.astype\(\)"):
        write_idx(tmp_path / "values.gz", np.arange(3))
    assert list(tmp_path.iterdir()) == []


def test_expected_magic_is_optional_but_checked_when_given(tmp_path: Path) -> None:
    path = gzip_bytes(tmp_path / "values.gz", idx_bytes(0x0B, (2,), bytes([0, 1, 1, 0])))
    assert read_idx(path).tolist() == [1, 256]
    with pytest.raises(ValueError, match=r"values\.gz: magic number 2817, expected 2049 for an MNIST labels file"):
        read_idx(path, expected_magic=2049)


@pytest.mark.parametrize(
    "head", [b"\x00\x00\x0a\x01", b"\x01\x00\x08\x01", b"%PDF"], ids=["unknown type code", "nonzero byte", "pdf"]
)
def test_a_header_that_is_not_idx(tmp_path: Path, head: bytes) -> None:
    path = gzip_bytes(tmp_path / "values.gz", head + bytes(8))
    with pytest.raises(ValueError, match=r"values\.gz: not an IDX file: it starts with bytes .*type code \(0x08"):
        read_idx(path)


# --- Damaged files ---------------------------------------------------------------------


def test_truncated_gzip_names_the_file(mnist_dir: Path) -> None:
    path = mnist_dir / MNIST_FILES["train_images"].name
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"(?s)train-images-idx3-ubyte\.gz.*truncated.*delete .* and run load_mnist"):
        load_mnist(mnist_dir, download=False)


def test_file_that_is_not_gzip_names_the_file(mnist_dir: Path, fingerprints) -> None:
    (mnist_dir / MNIST_FILES["test_labels"].name).write_text("<html>404 Not Found</html>")
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz: not a readable gzip.*a web page"):
        load_mnist(mnist_dir, download=False, fingerprints=fingerprints)


def test_damaged_gzip_stream(tmp_path: Path) -> None:
    compressed = bytearray(gzip.compress(idx_bytes(0x08, (1000,), bytes(range(250)) * 4)))
    compressed[-8] ^= 0xFF  # The CRC in the trailer no longer matches the data.
    path = tmp_path / "labels.gz"
    path.write_bytes(bytes(compressed))
    with pytest.raises(ValueError, match=r"labels\.gz: not a readable gzip file \(CRC check failed.*intact copy"):
        read_idx(path)


def test_wrong_magic_number(mnist_dir: Path) -> None:
    # A labels file where the images file should be.
    shutil.copy(mnist_dir / MNIST_FILES["train_labels"].name, mnist_dir / MNIST_FILES["train_images"].name)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz: magic number 2049, expected 2051"):
        load_mnist(mnist_dir, download=False)


def test_data_shorter_than_the_header_announces(tmp_path: Path) -> None:
    payload = idx_bytes(0x08, (5, 28, 28), bytes(4 * 784))
    path = gzip_bytes(tmp_path / "images.gz", payload)
    with pytest.raises(ValueError, match=r"images\.gz: the header announces shape \(5, 28, 28\).*holds 3136 bytes"):
        read_idx_images(path)


def test_data_longer_than_the_header_announces(tmp_path: Path) -> None:
    payload = idx_bytes(0x08, (3,), bytes([1, 2, 3, 4]))
    with pytest.raises(ValueError, match=r"labels\.gz: the header announces shape \(3,\) .*but more bytes follow"):
        read_idx_labels(gzip_bytes(tmp_path / "labels.gz", payload))


def test_file_ending_inside_the_header(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ends inside its header"):
        read_idx_images(gzip_bytes(tmp_path / "images.gz", (2051).to_bytes(4, "big") + bytes(5)))
    with pytest.raises(ValueError, match="ends inside its header"):
        read_idx(gzip_bytes(tmp_path / "short.gz", b"\x00\x00"))


def test_images_that_are_not_28_by_28(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "images.gz", np.zeros((4, 32, 32), np.uint8))
    with pytest.raises(ValueError, match=r"images\.gz: images are 32x32, expected 28x28"):
        read_idx_images(path)


def test_label_outside_0_to_9(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels.gz", np.array([1, 2, 10, 3], np.uint8))
    with pytest.raises(ValueError, match=r"labels\.gz: label 10 at index 2 is outside 0-9"):
        read_idx_labels(path)


def test_a_directory_given_as_the_file(tmp_path: Path) -> None:
    (tmp_path / "images.gz").mkdir()
    with pytest.raises(
        ValueError, match=r"images\.gz is a directory, not an IDX file: give the path of the file itself"
    ):
        read_idx(tmp_path / "images.gz")


# --- Headers announcing too much ---------------------------------------------------------


def test_a_header_announcing_more_than_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = gzip_bytes(tmp_path / "images.gz", idx_bytes(0x08, (100_000, 28, 28)))
    with pytest.raises(
        ValueError,
        match=r"images\.gz: the header announces shape \(100000, 28, 28\) .*78,400,000 "
        r"bytes of data, more than the limit of 67,108,864 bytes \(max_bytes\)",
    ):
        read_idx_images(path)
    with pytest.raises(ValueError, match=r"holds 0 bytes"):
        read_idx_images(path, max_bytes=100 * MiB)
    assert MNIST_MAX_BYTES >= 60_000 * 28 * 28 and IDX_MAX_BYTES >= MNIST_MAX_BYTES


def test_the_limit_counts_bytes_not_values(tmp_path: Path) -> None:
    path = gzip_bytes(tmp_path / "doubles.gz", idx_bytes(0x0E, (3,), bytes(24)))
    with pytest.raises(ValueError, match=r"shape \(3,\) of doubles, 24 bytes of data, more than the limit of 23"):
        read_idx(path, max_bytes=23)
    assert read_idx(path, max_bytes=24).tolist() == [0.0, 0.0, 0.0]


def test_dimensions_that_overflow_give_a_clear_error(tmp_path: Path) -> None:
    largest = 2**32 - 1
    path = gzip_bytes(tmp_path / "images.gz", idx_bytes(0x08, (largest, largest, largest)))
    with pytest.raises(
        ValueError,
        match=r"images\.gz: the header announces shape \(4294967295, 4294967295, "
        r"4294967295\) of unsigned bytes, 79,228,162,\d",
    ):
        read_idx(path)
    zero_times_huge = gzip_bytes(tmp_path / "zero.gz", idx_bytes(0x0C, (0, largest, largest, largest)))
    with pytest.raises(ValueError, match=r"zero\.gz: the header announces shape \(0, 4294967295.*overflow"):
        read_idx(zero_times_huge)


def write_gzip_bomb(path: Path, header: bytes, zero_bytes: int) -> Path:
    """A gzip file of ``header`` then ``zero_bytes`` zeros, a few MB on disk for gigabytes.

    zlib level 1 compresses 16 MiB of zeros once, with a full flush so that the block
    starts afresh, and the block is written again and again: the stream is valid
    deflate, built in well under a second. The gzip trailer's CRC is left at zero: a
    reader must stop long before it gets there.
    """
    block_size = 16 * MiB
    assert zero_bytes % block_size == 0
    compressor = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(block_size)) + compressor.flush(zlib.Z_FULL_FLUSH)
    with open(path, "wb") as stream:
        stream.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + first)
        stream.writelines(block for _ in range(zero_bytes // block_size))
        stream.write(compressor.flush(zlib.Z_FINISH))
        stream.write((0).to_bytes(4, "little") + ((len(header) + zero_bytes) % 2**32).to_bytes(4, "little"))
    return path


PEAK_MEMORY_SCRIPT = """
import resource, sys
from mnist_helpers import data
try:
    getattr(data, sys.argv[2])(sys.argv[1])
    print("read without an error")
except ValueError as error:
    print(error)
# The peak of this process's own memory. On Linux ru_maxrss would also count the memory
# pytest had when it started this process, so read VmHWM, which starts anew at exec.
try:
    status = open("/proc/self/status").read()
    print(int(status.split("VmHWM:")[1].split()[0]) * 1024)
except (OSError, IndexError):
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024))
"""


@pytest.mark.parametrize(
    ("shape", "reader", "message"),
    [
        ((1000,), "read_idx_labels", r"announces shape \(1000,\) \(1000 bytes of data\) but more bytes follow"),
        ((85_000, 28, 28), "read_idx_images", r"announces shape \(85000, 28, 28\) .* but more bytes follow"),
        ((170_000, 28, 28), "read_idx", r"announces shape \(170000, 28, 28\) .* but more bytes follow"),
        ((2**32 - 1, 28, 28), "read_idx_images", r"more than the limit of 67,108,864 bytes"),
    ],
    ids=["small labels", "images at the MNIST limit", "read_idx at its limit", "huge images"],
)
def test_a_gzip_bomb_stops_early_and_costs_little_memory(
    tmp_path: Path, shape: tuple[int, ...], reader: str, message: str
) -> None:
    magic = 0x0801 if len(shape) == 1 else 0x0803
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in shape)
    path = write_gzip_bomb(tmp_path / "bomb.gz", header, 4 * 2**30)
    assert path.stat().st_size < 30 * MiB, "4 GiB of zeros in a few MB"
    result = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY_SCRIPT, str(path), reader],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    path.unlink()  # 18 MB; pytest keeps the temporary directories of recent runs.
    error, peak = result.stdout.strip().rsplit("\n", 1)
    assert str(path) in error
    assert re.search(message, error), error
    assert int(peak) < 300 * MiB, f"peak memory {int(peak) / MiB:.0f} MiB"


# --- Valid IDX files that are not MNIST ------------------------------------------------


def test_image_and_label_counts_must_match(mnist_dir: Path, fingerprints) -> None:
    put(mnist_dir, "test_labels", make_labels(19))
    with pytest.raises(ValueError, match=r"holds 20 images but .*t10k-labels-idx1-ubyte\.gz holds 19 labels"):
        load_mnist(mnist_dir, download=False, fingerprints=fingerprints)


def test_files_with_no_images(mnist_dir: Path, fingerprints) -> None:
    put(mnist_dir, "train_images", np.zeros((0, 28, 28), np.uint8))
    put(mnist_dir, "train_labels", np.zeros(0, np.uint8))
    with pytest.raises(
        MnistMismatchError,
        match=r"(?s)train-images-idx3-ubyte\.gz and .*train-labels-idx1-ubyte"
        r"\.gz hold no images at all; MNIST's training set has 30\. .*delete",
    ):
        load_mnist(mnist_dir, download=False, fingerprints=fingerprints)


def test_training_and_test_files_swapped(mnist_dir: Path, fingerprints) -> None:
    for kind in ("images", "labels"):
        train, test = mnist_dir / MNIST_FILES[f"train_{kind}"].name, mnist_dir / MNIST_FILES[f"test_{kind}"].name
        train.rename(mnist_dir / "aside")
        test.rename(train)
        (mnist_dir / "aside").rename(test)
    with pytest.raises(
        MnistMismatchError,
        match=r"train-images-idx3-ubyte\.gz and .* hold MNIST's test set "
        r"\(20 examples\), not its training set: the training and test files are swapped",
    ):
        load_mnist(mnist_dir, download=False, fingerprints=fingerprints)


def test_only_the_images_files_swapped(mnist_dir: Path, fingerprints) -> None:
    put(mnist_dir, "train_images", make_images(20, seed=2))
    put(mnist_dir, "test_images", make_images(30, seed=1))
    with pytest.raises(
        MnistMismatchError,
        match=r"holds 20 images but .* 30 labels.*holds the images of "
        r"MNIST's test set: the training and test images files are swapped",
    ):
        load_mnist(mnist_dir, download=False, fingerprints=fingerprints)


def test_a_subset_is_not_mnist(mnist_dir: Path, fingerprints) -> None:
    put(mnist_dir, "test_images", make_images(20, seed=2)[:10])
    put(mnist_dir, "test_labels", make_labels(20)[:10])
    with pytest.raises(MnistMismatchError, match=r"t10k-images.* hold 10 examples; MNIST's test set has 20"):
        load_mnist(mnist_dir, download=False, fingerprints=fingerprints)


def test_another_data_set_with_the_same_counts(mnist_dir: Path, fingerprints) -> None:
    put(mnist_dir, "train_images", make_images(30, seed=99))  # Same labels, other images.
    with pytest.raises(
        MnistMismatchError,
        match=r"train-images-idx3-ubyte\.gz holds 30 valid 28x28 images, but "
        r"not MNIST's training set images \(another data set",
    ):
        load_mnist(mnist_dir, download=False, fingerprints=fingerprints)
    put(mnist_dir, "train_labels", np.zeros(30, np.uint8))  # And other labels.
    with pytest.raises(
        MnistMismatchError,
        match=r"train-images-idx3-ubyte\.gz and .*train-labels-idx1-ubyte\.gz "
        r"are valid IDX files, but do not hold MNIST's training set",
    ):
        load_mnist(mnist_dir, download=False, fingerprints=fingerprints)


def test_labels_that_belong_to_other_images(mnist_dir: Path, fingerprints) -> None:
    put(mnist_dir, "train_labels", make_labels(30)[::-1])
    with pytest.raises(
        MnistMismatchError,
        match=r"holds MNIST's training set images, but .*train-labels-idx1-ubyte"
        r"\.gz gives them the wrong labels .*do not belong together",
    ):
        load_mnist(mnist_dir, download=False, fingerprints=fingerprints)
    put(mnist_dir, "train_labels", np.full(30, 3, np.uint8))
    with pytest.raises(MnistMismatchError, match=r"does not hold their labels \(label counts \[0, 0, 0, 30"):
        load_mnist(mnist_dir, download=False, fingerprints=fingerprints)


def test_synthetic_files_are_not_mnist(mnist_dir: Path) -> None:
    with pytest.raises(MnistMismatchError, match=r"hold 30 examples; MNIST's training set has 60,000"):
        load_mnist(mnist_dir, download=False)


def test_missing_files_without_download_name_directory_and_files(mnist_dir: Path) -> None:
    (mnist_dir / MNIST_FILES["test_images"].name).unlink()
    with pytest.raises(MnistNotFoundError) as raised:
        load_mnist(mnist_dir, download=False)
    message = str(raised.value)
    assert str(mnist_dir.resolve()) in message
    assert all(file.name in message for file in MNIST_FILES.values())
    assert "t10k-images-idx3-ubyte.gz  (missing)" in message
    assert "MNIST_DATA_DIR" in message


# --- The real MNIST ----------------------------------------------------------------------


@needs_real_mnist
def test_real_mnist_has_the_published_shapes_and_class_counts() -> None:
    (x_train, y_train), (x_test, y_test) = load_mnist(download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    # Class counts published with the test set, and its first labels.
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert x_train.max() == 255 and x_train.min() == 0
    assert fingerprint_split(x_train, y_train) == MNIST_FINGERPRINTS["train"]
    assert fingerprint_split(x_test, y_test) == MNIST_FINGERPRINTS["test"]


@needs_real_mnist
def test_real_mnist_with_swapped_splits_is_refused(tmp_path: Path) -> None:
    real = resolve_data_dir()
    for train_key, test_key in (("train_images", "test_images"), ("train_labels", "test_labels")):
        (tmp_path / MNIST_FILES[train_key].name).symlink_to(real / MNIST_FILES[test_key].name)
        (tmp_path / MNIST_FILES[test_key].name).symlink_to(real / MNIST_FILES[train_key].name)
    with pytest.raises(MnistMismatchError, match=r"hold MNIST's test set \(10,000 examples\), not its training set"):
        load_mnist(tmp_path, download=False)


@needs_real_mnist
def test_real_mnist_reordered_and_uncompressed_is_accepted(tmp_path: Path) -> None:
    real = resolve_data_dir()
    images = read_idx_images(real / MNIST_FILES["test_images"].name)
    labels = read_idx_labels(real / MNIST_FILES["test_labels"].name)
    order = np.random.default_rng(0).permutation(len(labels))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images[order])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[order])
    for key in ("train_images", "train_labels"):
        (tmp_path / MNIST_FILES[key].name).symlink_to(real / MNIST_FILES[key].name)
    _, (_, y_test) = load_mnist(tmp_path, download=False)
    np.testing.assert_array_equal(y_test, labels[order])
    put(tmp_path, "test_labels", np.roll(labels[order], 1))
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(MnistMismatchError, match=r"the images and labels do not belong together"):
        load_mnist(tmp_path, download=False)


# --- Downloading ----------------------------------------------------------------------


def file_spec_for(path: Path) -> MnistFile:
    payload = path.read_bytes()
    return MnistFile(path.name, hashlib.sha256(payload).hexdigest(), len(payload), 2049)


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    directory = tmp_path / "mirror"
    directory.mkdir()
    return directory


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


def test_download_verifies_and_places_the_file(mirror: Path, tmp_path: Path) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(50)))
    target = tmp_path / "data"
    path = download_file(spec, target, mirrors=[mirror.as_uri()], show_progress=False)
    assert path == target / spec.name
    assert path.read_bytes() == (mirror / spec.name).read_bytes()
    assert leftovers(target) == [spec.name], "no temporary file is left behind"
    assert path.stat().st_mode & 0o044 == 0o044, "the file is readable by others, like any download"


def test_checksum_mismatch_leaves_nothing_behind(mirror: Path, tmp_path: Path) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(50)))
    write_idx(mirror / spec.name, make_labels(51))  # The mirror now serves other bytes.
    target = tmp_path / "data"
    with pytest.raises(ValueError, match=r"(?s)No mirror served an intact labels-idx1-ubyte\.gz.*SHA-256"):
        download_file(spec, target, mirrors=[mirror.as_uri()], show_progress=False)
    assert leftovers(target) == []


def test_falls_back_to_the_next_mirror(mirror: Path, tmp_path: Path) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(50)))
    broken = tmp_path / "broken-mirror"
    broken.mkdir()
    (broken / spec.name).write_bytes(b"truncated")
    path = download_file(spec, tmp_path / "data", mirrors=[broken.as_uri(), mirror.as_uri()], show_progress=False)
    assert path.read_bytes() == (mirror / spec.name).read_bytes()


class InterruptedResponse(io.BytesIO):
    """A response that delivers some bytes, then the connection drops."""

    def read(self, size: int = -1) -> bytes:
        if self.tell() > 0:
            raise ConnectionResetError("connection reset by peer")
        return super().read(10)


def test_interrupted_download_never_leaves_a_complete_looking_file(
    monkeypatch: pytest.MonkeyPatch, mirror: Path, tmp_path: Path
) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(50)))
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: InterruptedResponse(b"x" * 100))
    target = tmp_path / "data"
    with pytest.raises(ConnectionError, match="no mirror could be reached"):
        download_file(spec, target, mirrors=[mirror.as_uri()], show_progress=False)
    assert leftovers(target) == []


def test_keyboard_interrupt_during_download_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, mirror: Path, tmp_path: Path
) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(50)))

    class Interrupted(io.BytesIO):
        def read(self, size: int = -1) -> bytes:
            raise KeyboardInterrupt

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Interrupted())
    target = tmp_path / "data"
    with pytest.raises(KeyboardInterrupt):
        download_file(spec, target, mirrors=[mirror.as_uri()], show_progress=False)
    assert leftovers(target) == []


def test_only_missing_files_are_downloaded(mnist_dir: Path, mirror: Path) -> None:
    missing = MNIST_FILES["test_labels"]
    (mnist_dir / missing.name).rename(mirror / missing.name)
    files = dict(MNIST_FILES, test_labels=file_spec_for(mirror / missing.name))
    paths = ensure_mnist_files(mnist_dir, mirrors=[mirror.as_uri()], files=files)
    assert paths["test_labels"] == mnist_dir / missing.name
    assert paths["train_images"] == mnist_dir / MNIST_FILES["train_images"].name


def test_offline_without_data_raises_one_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "nothing-here"
    unreachable = ["http://127.0.0.1:9/mnist/", (tmp_path / "no-such-mirror").as_uri()]
    with pytest.raises(MnistNotFoundError) as raised:
        ensure_mnist_files(empty, mirrors=unreachable)
    message = str(raised.value)
    assert f"MNIST is not in {empty.resolve()}" in message
    assert all(f"{file.name}  (missing)" in message for file in MNIST_FILES.values())
    assert "no mirror could be reached" in message
    assert not empty.exists(), "a failed download leaves no partial files, and no directory it created"


def test_load_mnist_offline_error_names_the_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr("mnist_helpers.data.MIRRORS", ("http://127.0.0.1:9/",))
    with pytest.raises(MnistNotFoundError, match=f"MNIST is not in {tmp_path / 'empty'}"):
        load_mnist()


@needs_real_mnist
def test_checksums_match_the_byte_identical_files_of_the_offline_copy() -> None:
    # The offline copy's README says these three files are the canonical bytes; the
    # training images were re-compressed, so only their structure is checked on load.
    directory = resolve_data_dir()
    for key in ("train_labels", "test_images", "test_labels"):
        file = MNIST_FILES[key]
        payload = (directory / file.name).read_bytes()
        assert (len(payload), hashlib.sha256(payload).hexdigest()) == (file.size, file.sha256)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any mirror is contacted."""

    def urlopen(url: str, timeout: float) -> None:
        raise AssertionError(f"a mirror was contacted: {url}")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)


def test_a_directory_where_the_download_should_go(no_network: None, mirror: Path, tmp_path: Path) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(5)))
    (tmp_path / "data" / spec.name).mkdir(parents=True)
    with pytest.raises(
        DataDirectoryError,
        match=rf"cannot download to {tmp_path}/data/labels-idx1-ubyte\.gz: "
        r"it is a directory, where the downloaded file must go\. Remove it",
    ):
        download_file(spec, tmp_path / "data", mirrors=[mirror.as_uri()], show_progress=False)


def test_a_read_only_directory_is_reported_before_any_mirror(
    no_network: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Tests may run as root, who can write anywhere: the directory refuses through mkstemp.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(
        DataDirectoryError,
        match=rf"cannot write in {tmp_path} \(Permission denied\), so MNIST "
        r"cannot be downloaded there\. Make it writable",
    ):
        download_file(MNIST_FILES["test_labels"], tmp_path, show_progress=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write in a read-only directory")
def test_a_really_read_only_directory(no_network: None, tmp_path: Path) -> None:
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(DataDirectoryError, match=rf"cannot write in {tmp_path} \(Permission denied\)"):
            download_file(MNIST_FILES["test_labels"], tmp_path, show_progress=False)
    finally:
        tmp_path.chmod(0o755)


def test_a_full_disk_is_not_reported_as_a_network_problem(
    monkeypatch: pytest.MonkeyPatch, mirror: Path, tmp_path: Path
) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(50)))

    class FullDisk(io.BytesIO):
        def write(self, data: bytes) -> int:
            raise OSError(28, "No space left on device")

    @contextmanager
    def full_disk_output(target: Path, **kwargs):
        yield FullDisk()

    monkeypatch.setattr("mnist_helpers.data.atomic_output", full_disk_output)
    with pytest.raises(
        DataDirectoryError,
        match=rf"could not write {tmp_path}/data/labels-idx1-ubyte\.gz \(No "
        r"space left on device\): a problem on this machine, not with the mirror",
    ):
        download_file(spec, tmp_path / "data", mirrors=[mirror.as_uri()], show_progress=False)
    assert not (tmp_path / "data").exists()


def test_the_data_directory_is_a_file(no_network: None, tmp_path: Path) -> None:
    (tmp_path / "mnist").write_text("not a directory")
    with pytest.raises(DataDirectoryError, match=rf"{tmp_path}/mnist is a file, not a directory"):
        ensure_mnist_files(tmp_path / "mnist")
    with pytest.raises(DataDirectoryError, match=r"cannot create .*mnist/data \(Not a directory\)"):
        download_file(MNIST_FILES["test_labels"], tmp_path / "mnist" / "data", show_progress=False)


def test_a_failed_download_removes_the_directories_it_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c"
    with pytest.raises(ConnectionError):
        download_file(MNIST_FILES["test_labels"], target, mirrors=["http://127.0.0.1:9/"], show_progress=False)
    assert leftovers(tmp_path) == [], "a/b/c were created for the download and removed with it"


def test_a_failed_download_keeps_a_directory_that_was_there(tmp_path: Path) -> None:
    with pytest.raises(ConnectionError):
        download_file(MNIST_FILES["test_labels"], tmp_path, mirrors=["http://127.0.0.1:9/"], show_progress=False)
    assert tmp_path.is_dir() and leftovers(tmp_path) == []


def test_a_connection_broken_mid_response_tries_the_next_mirror(
    monkeypatch: pytest.MonkeyPatch, mirror: Path, tmp_path: Path
) -> None:
    spec = file_spec_for(write_idx(mirror / "labels-idx1-ubyte.gz", make_labels(50)))

    class Incomplete(io.BytesIO):
        def read(self, size: int = -1) -> bytes:
            raise http.client.IncompleteRead(b"partial", 100)

    real_urlopen = urllib.request.urlopen
    monkeypatch.setattr(
        urllib.request,
        "urlopen",
        lambda url, timeout: Incomplete() if url.startswith("http://") else real_urlopen(url, timeout=timeout),
    )
    path = download_file(spec, tmp_path / "data", mirrors=["http://broken/", mirror.as_uri()], show_progress=False)
    assert path.read_bytes() == (mirror / spec.name).read_bytes()


@pytest.mark.parametrize("download", [False, True])
def test_a_directory_where_a_file_should_be_is_not_reported_missing(
    no_network: None, mnist_dir: Path, download: bool
) -> None:
    path = mnist_dir / MNIST_FILES["test_labels"].name
    path.unlink()
    path.mkdir()
    with pytest.raises(
        ValueError,
        match=rf"{path} is a directory, where the MNIST file t10k-labels-idx1-ubyte\.gz "
        r"should be\. Remove it and run load_mnist\(\) again",
    ):
        ensure_mnist_files(mnist_dir, download=download)


def test_a_symbolic_link_loop_where_a_file_should_be(no_network: None, mnist_dir: Path) -> None:
    path = mnist_dir / MNIST_FILES["train_images"].name
    path.unlink()
    path.symlink_to(path)
    with pytest.raises(
        ValueError,
        match=rf"{path} is a symbolic link loop .*, where the MNIST file "
        r"train-images-idx3-ubyte\.gz should be\. Remove it",
    ):
        ensure_mnist_files(mnist_dir)


def test_a_broken_symbolic_link_where_a_file_should_be(no_network: None, mnist_dir: Path, tmp_path: Path) -> None:
    path = mnist_dir / MNIST_FILES["train_labels"].name
    path.unlink()
    path.symlink_to(tmp_path / "moved-away.gz")
    with pytest.raises(
        ValueError,
        match=rf"{path} is a symbolic link to {tmp_path}/moved-away\.gz, which does "
        r"not exist, where the MNIST file",
    ):
        load_mnist(mnist_dir)


def test_a_symbolic_link_to_a_good_file_is_used(mnist_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = mnist_dir / MNIST_FILES["test_images"].name
    path.rename(elsewhere / path.name)
    path.symlink_to(elsewhere / path.name)
    assert ensure_mnist_files(mnist_dir, download=False)["test_images"] == path
