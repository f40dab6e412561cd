"""The IDX loader: correct arrays from good files, a clear ValueError for every bad one."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_real_mnist, gzip_bytes, make_images, make_labels
from mnist_helpers.data import (
    MNIST_FILES,
    MnistNotFoundError,
    load_mnist,
    read_idx_images,
    read_idx_labels,
    resolve_data_dir,
    write_idx,
)


def test_loads_the_four_files_with_the_keras_shapes_and_dtypes(mnist_dir: Path) -> None:
    (x_train, y_train), (x_test, y_test) = load_mnist(mnist_dir, download=False)
    assert x_train.shape == (30, 28, 28) and y_train.shape == (30,)
    assert x_test.shape == (20, 28, 28) and y_test.shape == (20,)
    assert {array.dtype for array in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    np.testing.assert_array_equal(x_train, make_images(30, seed=1))
    np.testing.assert_array_equal(y_test, make_labels(20))
    assert x_train.flags.writeable, "arrays are writable, like keras.datasets.mnist.load_data()"


def test_reads_uncompressed_files_too(mnist_dir: Path) -> None:
    for file in MNIST_FILES.values():
        compressed = mnist_dir / file.name
        (mnist_dir / file.name.removesuffix(".gz")).write_bytes(gzip.decompress(compressed.read_bytes()))
        compressed.unlink()
    (x_train, _), _ = load_mnist(mnist_dir, download=False)
    np.testing.assert_array_equal(x_train, make_images(30, seed=1))


def test_directory_comes_from_argument_then_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "from-env"))
    assert resolve_data_dir() == tmp_path / "from-env"
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv("MNIST_DATA_DIR")
    assert resolve_data_dir().name == "data"


def test_environment_variable_is_used_by_load_mnist(monkeypatch: pytest.MonkeyPatch, mnist_dir: Path) -> None:
    monkeypatch.setenv("MNIST_DATA_DIR", str(mnist_dir))
    (_, y_train), _ = load_mnist(download=False)
    assert len(y_train) == 30


def test_truncated_gzip_names_the_file(mnist_dir: Path) -> None:
    path = mnist_dir / MNIST_FILES["train_images"].name
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz.*truncated"):
        load_mnist(mnist_dir, download=False)


def test_file_that_is_not_gzip_names_the_file(mnist_dir: Path) -> None:
    (mnist_dir / MNIST_FILES["test_labels"].name).write_text("<html>404 Not Found</html>")
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz.*not a readable gzip"):
        load_mnist(mnist_dir, download=False)


def test_wrong_magic_number(mnist_dir: Path) -> None:
    # A labels file where the images file should be.
    shutil.copy(mnist_dir / MNIST_FILES["train_labels"].name, mnist_dir / MNIST_FILES["train_images"].name)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz: magic number 2049, expected 2051"):
        load_mnist(mnist_dir, download=False)


def test_data_shorter_than_the_header_announces(tmp_path: Path) -> None:
    payload = (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (5, 28, 28)) + bytes(4 * 784)
    path = gzip_bytes(tmp_path / "images.gz", payload)
    with pytest.raises(ValueError, match=r"images\.gz: the header announces shape \(5, 28, 28\).*holds 3136 bytes"):
        read_idx_images(path)


def test_data_longer_than_the_header_announces(tmp_path: Path) -> None:
    payload = (2049).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes([1, 2, 3, 4])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx_labels(gzip_bytes(tmp_path / "labels.gz", payload))


def test_file_ending_inside_the_header(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ends inside its header"):
        read_idx_images(gzip_bytes(tmp_path / "images.gz", (2051).to_bytes(4, "big") + bytes(5)))


def test_images_that_are_not_28_by_28(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "images.gz", np.zeros((4, 32, 32), np.uint8))
    with pytest.raises(ValueError, match=r"images\.gz: images are 32x32, expected 28x28"):
        read_idx_images(path)


def test_label_outside_0_to_9(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels.gz", np.array([1, 2, 10, 3], np.uint8))
    with pytest.raises(ValueError, match=r"labels\.gz: label 10 at index 2 is outside 0-9"):
        read_idx_labels(path)


def test_image_and_label_counts_must_match(mnist_dir: Path) -> None:
    write_idx(mnist_dir / MNIST_FILES["test_labels"].name, make_labels(19))
    with pytest.raises(ValueError, match=r"holds 20 images but .*t10k-labels-idx1-ubyte\.gz holds 19 labels"):
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


@needs_real_mnist
def test_real_mnist_has_the_published_shapes_and_class_counts() -> None:
    (x_train, y_train), (x_test, y_test) = load_mnist(download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    # Class counts published with the test set, and its first labels.
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert x_train.max() == 255 and x_train.min() == 0
