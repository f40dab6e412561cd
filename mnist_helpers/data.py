"""Loading MNIST: the four IDX files (a local copy, or downloaded and verified).

``load_mnist`` returns the same arrays as ``keras.datasets.mnist.load_data()``, but it
reads the original IDX files, checks them, and tells you exactly what is wrong when
they are damaged or are not MNIST's. The CSV layouts that readers meet are in
``mnist_helpers.csv_files``.

Three kinds of check guard the arrays:

* **Structure** (``read_idx``): the header is read from the stream first and checked
  against a size limit, then exactly the announced number of bytes is read into a
  preallocated array, chunk by chunk. A file with more or fewer bytes than its header
  announces, a damaged gzip stream, or a header announcing gigabytes stops with a
  ``ValueError`` naming the file, and a small file that expands to gigabytes never
  costs more memory than the limit.
* **Content** (``verify_split``): a valid IDX file can still hold another data set, or
  the other split. A file with the canonical SHA-256 is trusted at once; any other copy
  (re-compressed, uncompressed, reordered) must hold exactly MNIST's (image, label)
  pairs, which an order-independent fingerprint checks (``fingerprint_split``).
* **Downloads** (``download_file``): the bytes must have the canonical size and
  SHA-256 before they are moved into place, and problems on the local disk are
  reported as such, before any mirror is tried.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mnist_helpers.constants import IMAGE_SIDE, NUM_CLASSES
from mnist_helpers.paths import DATA_DIR_ENV, atomic_output, data_dir, open_for_reading, regular_file_problem

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049

# IDX type codes (the third byte of the magic number) and their big-endian dtypes.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),  # unsigned byte
    0x09: np.dtype(">i1"),  # signed byte
    0x0B: np.dtype(">i2"),  # short
    0x0C: np.dtype(">i4"),  # int
    0x0D: np.dtype(">f4"),  # float
    0x0E: np.dtype(">f8"),  # double
}

IDX_MAX_BYTES = 128 * 2**20
"""``read_idx`` refuses a header announcing more data than this (128 MiB), unless its
``max_bytes`` argument allows more: reading a file never costs much more memory than
the data it announces, however small and however compressed the file is."""

MNIST_MAX_BYTES = 64 * 2**20
"""The limit of ``read_idx_images`` and ``read_idx_labels`` (64 MiB); MNIST's largest
file, the training images, holds 47,040,000 bytes of data."""


@dataclass(frozen=True)
class MnistFile:
    """One of the four canonical MNIST files and what a download must match."""

    name: str
    sha256: str
    size: int
    magic: int


# Canonical files of the MNIST database (Y. LeCun, C. Cortes, C. J. C. Burges).
MNIST_FILES: dict[str, MnistFile] = {
    "train_images": MnistFile(
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        9912422,
        IMAGE_MAGIC,
    ),
    "train_labels": MnistFile(
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        28881,
        LABEL_MAGIC,
    ),
    "test_images": MnistFile(
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        1648877,
        IMAGE_MAGIC,
    ),
    "test_labels": MnistFile(
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        4542,
        LABEL_MAGIC,
    ),
}


@dataclass(frozen=True)
class SplitFingerprint:
    """What a split holds, whatever the order of its examples (see ``fingerprint_split``)."""

    count: int
    label_counts: tuple[int, ...]
    images_sha256: str
    pairs_sha256: str


# MNIST's two splits, fingerprinted with fingerprint_split(images, labels) on the arrays
# of the four MNIST files (the offline copy in /work/shared/data/mnist: its test files and
# training labels are the canonical bytes, its training images file holds the canonical
# (image, label) pairs, re-compressed and partly reordered within classes, which the
# fingerprint does not see). The label counts are the published class counts.
MNIST_FINGERPRINTS: dict[str, SplitFingerprint] = {
    "train": SplitFingerprint(
        60000,
        (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
        "03a8a048601ebb4610dcd79cd759c718bed893982a4c153c4f33a41885101c0b",
        "48202dcb183a2747c97e6a684cc47b03ae71c8b55dea4c7b28d86e0177f83b0e",
    ),
    "test": SplitFingerprint(
        10000,
        (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
        "e2842441ab1468bab7eeaa886875a3a7662245f3768610c4b4ca84d7ac309c70",
        "7618f4aaa52089a8bf911a35b3effcd1cb544cef27554e01289b0f2207de7075",
    ),
}

_SPLIT_NAMES = {"train": "training set", "test": "test set"}
_OTHER_SPLIT = {"train": "test", "test": "train"}

# Public mirrors of the canonical files, tried in order.
MIRRORS: tuple[str, ...] = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)

_DOWNLOAD_TIMEOUT_SECONDS = 30
_CHUNK_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"

MnistArrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class MnistNotFoundError(FileNotFoundError):
    """MNIST is neither in the data directory nor downloadable (for example offline)."""


class MnistMismatchError(ValueError):
    """Valid IDX files that do not hold MNIST's data (another data set, swapped splits)."""


class DataDirectoryError(ValueError):
    """The data directory cannot hold the download (not a directory, read-only, full)."""


def load_mnist(
    data_directory: str | Path | None = None,
    *,
    download: bool = True,
    fingerprints: Mapping[str, SplitFingerprint] | None = None,
) -> MnistArrays:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)`` uint8 arrays.

    The shapes are (60000, 28, 28), (60000,), (10000, 28, 28) and (10000,), exactly as
    ``keras.datasets.mnist.load_data()`` returns them. The four IDX files are looked
    for in ``data_directory``, else in ``$MNIST_DATA_DIR``, else in the book's ``data/``
    directory; missing files are downloaded there (when ``download`` is true) and
    verified against the canonical SHA-256 checksums. Every file is checked by its
    structure (``read_idx_images``, ``read_idx_labels``) and each split by its content
    (``verify_split``), against ``fingerprints`` (MNIST's by default).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_mnist()
        >>> x_train.shape, y_test.dtype
        ((60000, 28, 28), dtype('uint8'))
    """
    directory = resolve_data_dir(data_directory)
    paths = ensure_mnist_files(directory, download=download)
    return _load_split("train", paths, fingerprints), _load_split("test", paths, fingerprints)


def _load_split(
    split: str, paths: Mapping[str, Path], fingerprints: Mapping[str, SplitFingerprint] | None
) -> tuple[np.ndarray, np.ndarray]:
    images_path, labels_path = paths[f"{split}_images"], paths[f"{split}_labels"]
    with _remedy_for(images_path):
        images = read_idx_images(images_path)
    with _remedy_for(labels_path):
        labels = read_idx_labels(labels_path)
    verify_split(split, images, labels, images_path, labels_path, fingerprints=fingerprints)
    return images, labels


def _how_to_get_a_good_copy(*paths: Path) -> str:
    named = " and ".join(str(path) for path in paths)
    copies, files, their = ("good copies", "files", "their") if len(paths) > 1 else ("a good copy", "file", "its")
    return (
        f"To get {copies}, delete {named} and run load_mnist() again: it downloads the canonical "
        f"{files} and verifies {their} SHA-256; or point ${DATA_DIR_ENV} at a directory that holds "
        "the canonical MNIST files."
    )


@contextmanager
def _remedy_for(path: Path) -> Iterator[None]:
    """Add to a file's error what a reader of the book does about it."""
    try:
        yield
    except ValueError as error:
        raise ValueError(f"{error}\n{_how_to_get_a_good_copy(path)}") from error


def resolve_data_dir(data_directory: str | Path | None = None) -> Path:
    """Return the directory to use: the argument, else ``$MNIST_DATA_DIR``, else ``data/``.

    Example:
        >>> resolve_data_dir("/tmp/mnist")
        PosixPath('/tmp/mnist')
    """
    if data_directory is not None:
        return Path(data_directory).expanduser()
    return data_dir()


def local_copy(directory: Path, file: MnistFile) -> Path | None:
    """Return the local path of ``file`` in ``directory`` (gzipped or not), or None.

    Raises ``ValueError`` when something else is where the file should be (a
    directory, a broken symbolic link, a link loop), saying what is there.

    Example:
        >>> local_copy(Path("/nowhere"), MNIST_FILES["test_labels"]) is None
        True
    """
    candidates = (directory / file.name, directory / file.name.removesuffix(".gz"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    for candidate in candidates:
        problem = regular_file_problem(candidate)
        if problem is not None:
            raise ValueError(
                f"{candidate} {problem}, where the MNIST file {file.name} should be. Remove it "
                f"and run load_mnist() again to download the file, or put the file itself "
                f"there (or point ${DATA_DIR_ENV} at a directory that holds the four files)."
            )
    return None


def ensure_mnist_files(
    directory: Path,
    *,
    download: bool = True,
    mirrors: Iterable[str] | None = None,
    files: dict[str, MnistFile] | None = None,
) -> dict[str, Path]:
    """Return the paths of the four files, downloading the missing ones into ``directory``.

    Raises ``MnistNotFoundError`` naming the directory and the files to place there when
    a file is missing and cannot be downloaded, and ``ValueError`` when the directory or
    a file in it is not what it should be (saying what is there instead).

    Example:
        >>> ensure_mnist_files(Path(tempfile.mkdtemp()), download=False)
        Traceback (most recent call last):
        ...
        mnist_helpers.data.MnistNotFoundError: MNIST is not in ... (downloading is switched off)...
    """
    files = MNIST_FILES if files is None else files
    _check_is_directory(directory)
    found = {key: local_copy(directory, file) for key, file in files.items()}
    missing = [key for key, path in found.items() if path is None]
    if missing and not download:
        raise MnistNotFoundError(_missing_message(directory, files, missing, "downloading is switched off"))
    for key in missing:
        try:
            found[key] = download_file(files[key], directory, mirrors=mirrors)
        except ConnectionError as error:
            raise MnistNotFoundError(_missing_message(directory, files, missing, str(error))) from error
    return {key: path for key, path in found.items() if path is not None}


def _check_is_directory(directory: Path) -> None:
    if directory.is_dir() or not (directory.exists() or directory.is_symlink()):
        return
    problem = "is a file" if directory.is_file() else regular_file_problem(directory) or "is not a directory"
    raise DataDirectoryError(
        f"{directory} {problem}, not a directory: the MNIST data directory must be a "
        f"directory. Point ${DATA_DIR_ENV} (or the argument) at the directory that holds "
        "the four files, or at a new one to download them into."
    )


def _missing_message(directory: Path, files: dict[str, MnistFile], missing: list[str], reason: str) -> str:
    listing = "\n".join(f"  {file.name}{'  (missing)' if key in missing else ''}" for key, file in files.items())
    return (
        f"MNIST is not in {directory.resolve()} and could not be downloaded ({reason}).\n"
        f"Place these four files in that directory:\n{listing}\n"
        f"or point ${DATA_DIR_ENV} at a directory that holds them."
    )


# --- Downloading -------------------------------------------------------------------


class _MirrorFailed(Exception):
    """A mirror could not be reached or broke off; the reason names the URL."""


class _BadDownload(Exception):
    """A mirror served bytes with the wrong size or checksum."""


def download_file(
    file: MnistFile,
    directory: Path,
    *,
    mirrors: Iterable[str] | None = None,
    show_progress: bool = True,
) -> Path:
    """Download ``file`` into ``directory`` from the first mirror that serves it intact.

    The local side is checked first: ``directory`` must be (or become) a writable
    directory and the target name must be free or a regular file, else a
    ``DataDirectoryError`` names the path and no mirror is tried. The bytes go to a
    temporary file in the same directory, are checked against the canonical size and
    SHA-256, and only then renamed into place, so an interrupted or corrupted download
    never leaves a file that looks complete, and a directory created for a download
    that fails is removed. Raises ``ConnectionError`` when no mirror can be reached and
    ``ValueError`` when every mirror that answered served bytes with the wrong checksum.

    Example:
        >>> download_file(MNIST_FILES["test_labels"], Path("data"))  # doctest: +SKIP
        PosixPath('data/t10k-labels-idx1-ubyte.gz')
    """
    mirrors = MIRRORS if mirrors is None else tuple(mirrors)
    target = directory / file.name
    created = _make_directory(directory)
    try:
        _check_target(target)
        _check_writable(directory)
        _download_from_mirrors(file, target, mirrors, show_progress=show_progress)
    except BaseException:
        _remove_empty(created)
        raise
    return target


def _make_directory(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; return the ones created, outermost first."""
    _check_is_directory(directory)
    created = [path for path in (directory, *directory.parents) if not path.exists()][::-1]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _remove_empty(created)
        raise DataDirectoryError(
            f"cannot create {directory} ({error.strerror}). Create it yourself, or point "
            f"${DATA_DIR_ENV} at a directory you can write to."
        ) from error
    return created


def _remove_empty(created: list[Path]) -> None:
    for path in reversed(created):
        try:
            path.rmdir()
        except OSError:
            return


def _check_target(target: Path) -> None:
    problem = regular_file_problem(target)
    if problem is not None:
        raise DataDirectoryError(
            f"cannot download to {target}: it {problem}, where the downloaded file must go. "
            f"Remove it and run again, or point ${DATA_DIR_ENV} at another directory."
        )


def _check_writable(directory: Path) -> None:
    try:
        handle, name = tempfile.mkstemp(dir=directory, prefix=".write-check-")
    except OSError as error:
        raise DataDirectoryError(
            f"cannot write in {directory} ({error.strerror}), so MNIST cannot be downloaded "
            f"there. Make it writable, point ${DATA_DIR_ENV} at a directory you can write to, "
            "or put the four MNIST files there yourself."
        ) from error
    os.close(handle)
    Path(name).unlink()


def _download_from_mirrors(file: MnistFile, target: Path, mirrors: tuple[str, ...], *, show_progress: bool) -> None:
    network_errors: list[str] = []
    checksum_errors: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + file.name
        try:
            _fetch_verified(url, file, target, show_progress=show_progress)
            return
        except _MirrorFailed as error:
            network_errors.append(str(error))
        except _BadDownload as error:
            checksum_errors.append(str(error))
        except OSError as error:
            raise DataDirectoryError(
                f"could not write {target} ({error.strerror or error}): a problem on this "
                f"machine, not with the mirror. Free some space or fix the directory's "
                f"permissions, or point ${DATA_DIR_ENV} at another directory."
            ) from error
    if checksum_errors:
        raise ValueError(f"No mirror served an intact {file.name}:\n  " + "\n  ".join(checksum_errors + network_errors))
    raise ConnectionError(f"no mirror could be reached for {file.name}: " + "; ".join(network_errors))


_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError, ValueError)


def _open_url(url: str) -> BinaryIO:
    try:
        return urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_SECONDS)
    except _NETWORK_ERRORS as error:
        raise _MirrorFailed(f"{url}: {getattr(error, 'reason', error)}") from error


def _read_response(response: BinaryIO, url: str) -> bytes:
    try:
        return response.read(_CHUNK_BYTES)
    except _NETWORK_ERRORS as error:
        raise _MirrorFailed(f"{url}: {getattr(error, 'reason', error)}") from error


def _fetch_verified(url: str, file: MnistFile, target: Path, *, show_progress: bool) -> None:
    """Download ``url`` into ``target``; network errors raise ``_MirrorFailed``, disk errors ``OSError``."""
    from tqdm import tqdm

    digest = hashlib.sha256()
    received = 0
    with (
        atomic_output(target, binary=True, suffix=".part") as output,
        _open_url(url) as response,
        tqdm(total=file.size, unit="B", unit_scale=True, desc=file.name, disable=not show_progress) as progress,
    ):
        while chunk := _read_response(response, url):
            output.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            progress.update(len(chunk))
        # Checked inside the block, so a bad download is never moved into place.
        if received != file.size or digest.hexdigest() != file.sha256:
            raise _BadDownload(
                f"{url}: got {received} bytes with SHA-256 {digest.hexdigest()}, "
                f"expected {file.size} bytes with SHA-256 {file.sha256}"
            )


# --- Reading IDX files -------------------------------------------------------------


@dataclass(frozen=True)
class IdxHeader:
    """The header of an IDX file: the values' big-endian dtype and the array's shape."""

    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def data_bytes(self) -> int:
        """How many bytes of values follow the header."""
        return math.prod(self.shape) * self.dtype.itemsize


def read_idx(path: str | Path, *, expected_magic: int | None = None, max_bytes: int = IDX_MAX_BYTES) -> np.ndarray:
    """Read any IDX file (gzipped or not) as a NumPy array in native byte order.

    All IDX types are read: unsigned and signed bytes (0x08, 0x09), big-endian 16- and
    32-bit integers (0x0B, 0x0C) and floats and doubles (0x0D, 0x0E). The header is read
    and checked first; a header announcing more than ``max_bytes`` of data (default
    ``IDX_MAX_BYTES``, 128 MiB) is refused before anything else is read, then exactly the
    announced bytes are read into a preallocated array. Raises ``ValueError`` naming the
    file for a magic number other than ``expected_magic`` (when given), a header that
    is not IDX, a truncated file or one with more bytes than announced, and a damaged
    gzip stream.

    Example:
        >>> path = write_idx(Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz",
        ...                  np.array([3, 1, 4], np.uint8))
        >>> read_idx(path, expected_magic=LABEL_MAGIC)
        array([3, 1, 4], dtype=uint8)
        >>> read_idx(path, max_bytes=2)
        Traceback (most recent call last):
        ...
        ValueError: .../labels-idx1-ubyte.gz: the header announces shape (3,) of unsigned bytes, 3 bytes of data, more than the limit of 2 bytes ...
    """
    path = Path(path)
    with _idx_stream(path) as stream:
        header = _read_idx_header(stream, path, expected_magic)
        array = _allocate(header, path, max_bytes)
        _read_values(stream, array, header, path)
    return _native_byte_order(array)


@contextmanager
def _idx_stream(path: Path) -> Iterator[BinaryIO]:
    """Open ``path`` for reading, decompressing gzip, with gzip errors as ``ValueError``."""
    with open_for_reading(path, "an IDX file") as raw, _gzip_errors(path):
        head = raw.read(4)
        raw.seek(0)
        if head.startswith(_GZIP_MAGIC):
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield stream
        elif path.suffix == ".gz" and not _looks_like_idx(head):
            raise ValueError(
                f"{path}: not a readable gzip file (it starts with {head!r}, not with gzip's "
                f"1f 8b{', and looks like a web page' if head.lstrip()[:1] == b'<' else ''}); "
                "it is not the file you meant, or a failed download: replace it with an intact copy"
            )
        else:
            yield raw  # An uncompressed IDX file (even one named .gz, as some browsers leave them).


def _looks_like_idx(head: bytes) -> bool:
    return len(head) == 4 and head[:2] == b"\0\0" and head[2] in IDX_DTYPES


@contextmanager
def _gzip_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except EOFError as error:
        raise ValueError(f"{path}: the gzip file is truncated ({error}); replace it with a complete copy") from error
    except (gzip.BadGzipFile, zlib.error) as error:
        raise ValueError(
            f"{path}: not a readable gzip file ({error}); it is damaged: replace it with an intact copy"
        ) from error


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    data = b""
    while len(data) < size and (chunk := stream.read(size - len(data))):
        data += chunk
    return data


def _read_idx_header(stream: BinaryIO, path: Path, expected_magic: int | None) -> IdxHeader:
    magic_bytes = _read_up_to(stream, 4)
    if len(magic_bytes) < 4:
        raise ValueError(
            f"{path}: the file ends inside its header ({len(magic_bytes)} bytes); it is truncated "
            "or not an IDX file: replace it with an intact copy"
        )
    magic = int.from_bytes(magic_bytes, "big")
    _check_magic(magic, magic_bytes, path, expected_magic)
    dimensions = magic_bytes[3]
    sizes = _read_up_to(stream, 4 * dimensions)
    if len(sizes) < 4 * dimensions:
        raise ValueError(
            f"{path}: the file ends inside its header ({4 + len(sizes)} bytes, the header of "
            f"{dimensions} dimensions has {4 + 4 * dimensions}); it is truncated: replace it "
            "with a complete copy"
        )
    shape = tuple(int.from_bytes(sizes[start : start + 4], "big") for start in range(0, len(sizes), 4))
    return IdxHeader(IDX_DTYPES[magic_bytes[2]], shape)


def _check_magic(magic: int, magic_bytes: bytes, path: Path, expected_magic: int | None) -> None:
    if expected_magic is not None and magic != expected_magic:
        kind = {IMAGE_MAGIC: " for an MNIST images file", LABEL_MAGIC: " for an MNIST labels file"}
        raise ValueError(
            f"{path}: magic number {magic}, expected {expected_magic}{kind.get(expected_magic, '')}; "
            "is it the right file, and is it intact?"
        )
    if not _looks_like_idx(magic_bytes):
        codes = ", ".join(f"0x{code:02X}" for code in IDX_DTYPES)
        raise ValueError(
            f"{path}: not an IDX file: it starts with bytes {magic_bytes.hex(' ')}, and an IDX "
            f"file starts with two zero bytes, a type code ({codes}) and the number of "
            "dimensions. Is it the file you meant?"
        )


_TYPE_NAMES = {
    "u1": "unsigned bytes",
    "i1": "signed bytes",
    "i2": "shorts",
    "i4": "ints",
    "f4": "floats",
    "f8": "doubles",
}


def _allocate(header: IdxHeader, path: Path, max_bytes: int) -> np.ndarray:
    """An empty array for the announced data, after checking its size against ``max_bytes``."""
    shape, type_name = header.shape, _TYPE_NAMES[header.dtype.str[1:]]
    if header.data_bytes > max_bytes:
        raise ValueError(
            f"{path}: the header announces shape {shape} of {type_name}, {header.data_bytes:,} "
            f"bytes of data, more than the limit of {max_bytes:,} bytes (max_bytes); the file is "
            "corrupt, or not the file you meant (pass a larger max_bytes if it really is that big)"
        )
    try:
        return np.empty(shape, dtype=header.dtype)
    except (ValueError, MemoryError) as error:
        raise ValueError(
            f"{path}: the header announces shape {shape}, whose dimensions overflow ({error}); "
            "the header is corrupt: replace the file with an intact copy"
        ) from error


def _read_values(stream: BinaryIO, array: np.ndarray, header: IdxHeader, path: Path) -> None:
    """Fill ``array`` with exactly the announced bytes; refuse a byte more or less."""
    target = memoryview(array.reshape(-1).view(np.uint8))
    filled = 0
    while filled < len(target):
        received = stream.readinto(target[filled : filled + _CHUNK_BYTES])
        if not received:
            raise ValueError(
                f"{path}: the header announces shape {header.shape} ({len(target)} bytes of data) "
                f"but the file holds {filled} bytes; it is truncated or corrupt: replace it with "
                "an intact copy"
            )
        filled += received
    if stream.read(1):
        raise ValueError(
            f"{path}: the header announces shape {header.shape} ({len(target)} bytes of data) but "
            "more bytes follow; the header is wrong or the file is corrupt: replace it with an "
            "intact copy"
        )


def _native_byte_order(array: np.ndarray) -> np.ndarray:
    if array.dtype.isnative:
        return array
    array.byteswap(inplace=True)  # In place: no second copy of the data.
    return array.view(array.dtype.newbyteorder("="))


def read_idx_images(path: str | Path, *, max_bytes: int = MNIST_MAX_BYTES) -> np.ndarray:
    """Read an IDX image file as a (N, 28, 28) uint8 array, checking that images are 28x28.

    Example:
        >>> path = write_idx(Path(tempfile.mkdtemp()) / "images-idx3-ubyte.gz",
        ...                  np.zeros((2, 28, 28), np.uint8))
        >>> read_idx_images(path).shape
        (2, 28, 28)
    """
    images = read_idx(path, expected_magic=IMAGE_MAGIC, max_bytes=max_bytes)
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(
            f"{path}: images are {images.shape[1]}x{images.shape[2]}, expected 28x28; it is not an MNIST images file"
        )
    return images


def read_idx_labels(path: str | Path, *, max_bytes: int = MNIST_MAX_BYTES) -> np.ndarray:
    """Read an IDX label file as a (N,) uint8 array, checking that every label is 0-9.

    Example:
        >>> path = write_idx(Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz",
        ...                  np.array([7, 2, 1], np.uint8))
        >>> read_idx_labels(path)
        array([7, 2, 1], dtype=uint8)
    """
    labels = read_idx(path, expected_magic=LABEL_MAGIC, max_bytes=max_bytes)
    out_of_range = np.flatnonzero(labels >= NUM_CLASSES)
    if out_of_range.size:
        first = int(out_of_range[0])
        raise ValueError(
            f"{path}: label {labels[first]} at index {first} is outside 0-9 "
            f"({out_of_range.size} labels out of range); it is not an MNIST labels file"
        )
    return labels


# --- Is it MNIST? ------------------------------------------------------------------


def fingerprint_split(images: np.ndarray, labels: np.ndarray) -> SplitFingerprint:
    """Fingerprint a split's (image, label) pairs, whatever their order.

    Each image is hashed (SHA-256 of its bytes), each pair too (SHA-256 of the image's
    digest followed by the label byte); ``images_sha256`` and ``pairs_sha256`` are the
    SHA-256 of the sorted digests, joined. Reordering the examples changes nothing;
    changing, adding or removing an image or moving a label to another image changes
    ``pairs_sha256``. It takes about 0.15 s for MNIST's 60,000 training images.

    Example:
        >>> images, labels = np.zeros((3, 28, 28), np.uint8), np.array([1, 2, 3], np.uint8)
        >>> images[1] = 255
        >>> order = [2, 0, 1]
        >>> fingerprint_split(images, labels) == fingerprint_split(images[order], labels[order])
        True
        >>> fingerprint_split(images, labels[order]) == fingerprint_split(images, labels)
        False
    """
    flat = np.ascontiguousarray(images, dtype=np.uint8).reshape(-1)
    width = flat.size // len(images) if len(images) else 0
    view = memoryview(flat)
    image_digests = [hashlib.sha256(view[start : start + width]).digest() for start in range(0, flat.size, width or 1)]
    pair_digests = [
        hashlib.sha256(digest + bytes([label])).digest() for digest, label in zip(image_digests, labels.tolist())
    ]
    return SplitFingerprint(
        len(images),
        tuple(np.bincount(labels, minlength=NUM_CLASSES).tolist()),
        hashlib.sha256(b"".join(sorted(image_digests))).hexdigest(),
        hashlib.sha256(b"".join(sorted(pair_digests))).hexdigest(),
    )


def verify_split(
    split: str,
    images: np.ndarray,
    labels: np.ndarray,
    images_path: Path,
    labels_path: Path,
    *,
    fingerprints: Mapping[str, SplitFingerprint] | None = None,
) -> None:
    """Check that two files hold the split ``split`` ("train" or "test") of MNIST.

    Fast path: both files are the canonical .gz files (their SHA-256 is MNIST_FILES').
    Otherwise the pairs must have the split's fingerprint (``fingerprint_split``), so a
    re-compressed, uncompressed or reordered copy passes. Raises ``MnistMismatchError``
    naming the files and the mistake: the training and test files swapped, a count that
    is not MNIST's (no images at all, a subset), images and labels that do not belong
    together, or another data set in the same format; and saying how to get good copies.

    Example:
        >>> images, labels = np.zeros((2, 28, 28), np.uint8), np.array([0, 1], np.uint8)
        >>> verify_split("test", images, labels, Path("t10k-images"), Path("t10k-labels"))
        Traceback (most recent call last):
        ...
        mnist_helpers.data.MnistMismatchError: t10k-images and t10k-labels hold 2 examples; MNIST's test set has 10,000...
    """
    if fingerprints is None:
        fingerprints = MNIST_FINGERPRINTS
        if _is_canonical_file(images_path, f"{split}_images") and _is_canonical_file(labels_path, f"{split}_labels"):
            return
    problem = _split_problem(split, images, labels, images_path, labels_path, fingerprints)
    if problem is not None:
        raise MnistMismatchError(problem)


def _is_canonical_file(path: Path, key: str) -> bool:
    file = MNIST_FILES[key]
    if path.name != file.name or path.stat().st_size != file.size:
        return False
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest() == file.sha256


def _split_problem(
    split: str,
    images: np.ndarray,
    labels: np.ndarray,
    images_path: Path,
    labels_path: Path,
    fingerprints: Mapping[str, SplitFingerprint],
) -> str | None:
    """Describe what is wrong with a split, or return None when it is the expected one."""
    expected, other = fingerprints[split], fingerprints[_OTHER_SPLIT[split]]
    name, other_name = _SPLIT_NAMES[split], _SPLIT_NAMES[_OTHER_SPLIT[split]]
    both = f"{images_path} and {labels_path}"
    if len(images) != len(labels):
        return _count_mismatch(split, images, labels, images_path, labels_path, fingerprints)
    if len(images) == 0:
        return f"{both} hold no images at all; MNIST's {name} has {expected.count:,}. " + _how_to_get_a_good_copy(
            images_path, labels_path
        )
    actual = fingerprint_split(images, labels)
    if actual.pairs_sha256 == expected.pairs_sha256:
        return None
    if actual.pairs_sha256 == other.pairs_sha256:
        return (
            f"{both} hold MNIST's {other_name} ({other.count:,} examples), not its {name}: the "
            f"training and test files are swapped. The train-* files must hold the "
            f"{fingerprints['train'].count:,} training examples and the t10k-* files the "
            f"{fingerprints['test'].count:,} test examples; rename them. "
            + _how_to_get_a_good_copy(images_path, labels_path)
        )
    if actual.count != expected.count:
        return (
            f"{both} hold {actual.count:,} examples; MNIST's {name} has {expected.count:,}: they are "
            "not MNIST's files (a subset, or another data set). " + _how_to_get_a_good_copy(images_path, labels_path)
        )
    return _content_mismatch(actual, expected, images_path, labels_path, name)


def _count_mismatch(
    split: str,
    images: np.ndarray,
    labels: np.ndarray,
    images_path: Path,
    labels_path: Path,
    fingerprints: Mapping[str, SplitFingerprint],
) -> str:
    message = (
        f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
        "the two files do not belong together."
    )
    other = _OTHER_SPLIT[split]
    if len(images) and len(images) == fingerprints[other].count:
        if (
            fingerprint_split(images, np.zeros(len(images), np.uint8)).images_sha256
            == fingerprints[other].images_sha256
        ):
            message += (
                f" {images_path} holds the images of MNIST's {_SPLIT_NAMES[other]}: the training "
                "and test images files are swapped; rename them."
            )
    elif len(labels) and len(labels) == fingerprints[other].count:
        message += (
            f" {labels_path} holds as many labels as MNIST's {_SPLIT_NAMES[other]}: are the training "
            "and test labels files swapped?"
        )
    return f"{message} {_how_to_get_a_good_copy(images_path, labels_path)}"


def _content_mismatch(
    actual: SplitFingerprint, expected: SplitFingerprint, images_path: Path, labels_path: Path, name: str
) -> str:
    if actual.images_sha256 == expected.images_sha256:
        if actual.label_counts == expected.label_counts:
            what = (
                f"{images_path} holds MNIST's {name} images, but {labels_path} gives them the wrong "
                "labels (the right labels, in another order): the images and labels do not belong together."
            )
        else:
            what = (
                f"{images_path} holds MNIST's {name} images, but {labels_path} does not hold their "
                f"labels (label counts {list(actual.label_counts)}, MNIST's are {list(expected.label_counts)})."
            )
        return f"{what} {_how_to_get_a_good_copy(labels_path)}"
    if actual.label_counts == expected.label_counts:
        culprits: tuple[Path, ...] = (images_path,)
        what = f"{images_path} holds {actual.count:,} valid 28x28 images, but not MNIST's {name} images"
    else:
        culprits = (images_path, labels_path)
        what = f"{images_path} and {labels_path} are valid IDX files, but do not hold MNIST's {name}"
    return (
        f"{what} (another data set in the same format, such as Fashion-MNIST, or modified "
        f"images). {_how_to_get_a_good_copy(*culprits)}"
    )


# --- Writing IDX files -------------------------------------------------------------


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write an array as an IDX file (gzipped when the name ends in ``.gz``).

    Useful to build small MNIST-like test data, or to export your own digits. Every IDX
    type can be written: uint8, int8, int16, int32, float32 and float64 arrays. The file
    is written through a temporary file, so a failure never leaves half a file.

    Example:
        >>> write_idx("/tmp/labels-idx1-ubyte.gz", np.array([3, 1, 4], dtype=np.uint8))
        PosixPath('/tmp/labels-idx1-ubyte.gz')
    """
    array = np.asarray(array)
    type_code = _idx_type_code(array)
    if not 1 <= array.ndim <= 255 or any(size >= 2**32 for size in array.shape):
        raise ValueError(f"an IDX file holds 1 to 255 dimensions of fewer than 2**32 values; got shape {array.shape}")
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    path = Path(path)
    with atomic_output(path, binary=True) as output:
        stream = gzip.GzipFile(filename="", mode="wb", fileobj=output, mtime=0) if path.suffix == ".gz" else output
        stream.write(header)
        stream.write(np.ascontiguousarray(array, dtype=IDX_DTYPES[type_code]).tobytes())
        if stream is not output:
            stream.close()
    return path


def _idx_type_code(array: np.ndarray) -> int:
    for code, dtype in IDX_DTYPES.items():
        if array.dtype.kind == dtype.kind and array.dtype.itemsize == dtype.itemsize:
            return code
    raise ValueError(
        f"IDX files hold uint8, int8, int16, int32, float32 or float64 values; got dtype {array.dtype}: "
        "convert the array with .astype() first"
    )
