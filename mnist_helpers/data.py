"""Loading MNIST: the four IDX files (a local copy, or downloaded and verified).

``load_mnist`` returns the same arrays as ``keras.datasets.mnist.load_data()``, but it
reads the original IDX files, checks them, and tells you exactly what is wrong when
they are damaged. The CSV layouts that readers meet are in ``mnist_helpers.csv``.
"""

from __future__ import annotations

import gzip
import hashlib
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from mnist_helpers.constants import IMAGE_SIDE, NUM_CLASSES
from mnist_helpers.paths import DATA_DIR_ENV, atomic_output, data_dir

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049


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

# Public mirrors of the canonical files, tried in order.
MIRRORS: tuple[str, ...] = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)

_DOWNLOAD_TIMEOUT_SECONDS = 30
_CHUNK_BYTES = 1 << 16

MnistArrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class MnistNotFoundError(FileNotFoundError):
    """MNIST is neither in the data directory nor downloadable (for example offline)."""


def load_mnist(data_directory: str | Path | None = None, *, download: bool = True) -> MnistArrays:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)`` uint8 arrays.

    The shapes are (60000, 28, 28), (60000,), (10000, 28, 28) and (10000,), exactly as
    ``keras.datasets.mnist.load_data()`` returns them. The four IDX files are looked
    for in ``data_directory``, else in ``$MNIST_DATA_DIR``, else in the book's ``data/``
    directory; missing files are downloaded there (when ``download`` is true) and
    verified against the canonical SHA-256 checksums. Local files are validated by
    their structure: magic numbers, counts, 28x28 images, file length, labels 0-9.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_mnist()
        >>> x_train.shape, y_test.dtype
        ((60000, 28, 28), dtype('uint8'))
    """
    directory = resolve_data_dir(data_directory)
    paths = ensure_mnist_files(directory, download=download)
    x_train = read_idx_images(paths["train_images"])
    y_train = read_idx_labels(paths["train_labels"])
    x_test = read_idx_images(paths["test_images"])
    y_test = read_idx_labels(paths["test_labels"])
    _check_same_count(x_train, y_train, paths["train_images"], paths["train_labels"])
    _check_same_count(x_test, y_test, paths["test_images"], paths["test_labels"])
    return (x_train, y_train), (x_test, y_test)


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

    Example:
        >>> local_copy(Path("/nowhere"), MNIST_FILES["test_labels"]) is None
        True
    """
    for candidate in (directory / file.name, directory / file.name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
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
    a file is missing and cannot be downloaded.

    Example:
        >>> import tempfile
        >>> ensure_mnist_files(Path(tempfile.mkdtemp()), download=False)
        Traceback (most recent call last):
        ...
        mnist_helpers.data.MnistNotFoundError: MNIST is not in ... (downloading is switched off)...
    """
    files = MNIST_FILES if files is None else files
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


def _missing_message(directory: Path, files: dict[str, MnistFile], missing: list[str], reason: str) -> str:
    listing = "\n".join(
        f"  {file.name}{'  (missing)' if key in missing else ''}" for key, file in files.items()
    )
    return (
        f"MNIST is not in {directory.resolve()} and could not be downloaded ({reason}).\n"
        f"Place these four files in that directory:\n{listing}\n"
        f"or point ${DATA_DIR_ENV} at a directory that holds them."
    )


def download_file(
    file: MnistFile,
    directory: Path,
    *,
    mirrors: Iterable[str] | None = None,
    show_progress: bool = True,
) -> Path:
    """Download ``file`` into ``directory`` from the first mirror that serves it intact.

    The bytes go to a temporary file in the same directory, are checked against the
    canonical size and SHA-256, and only then renamed into place, so an interrupted or
    corrupted download never leaves a file that looks complete. Raises
    ``ConnectionError`` when no mirror can be reached and ``ValueError`` when every
    mirror that answered served bytes with the wrong checksum.

    Example:
        >>> download_file(MNIST_FILES["test_labels"], Path("data"))  # doctest: +SKIP
        PosixPath('data/t10k-labels-idx1-ubyte.gz')
    """
    mirrors = MIRRORS if mirrors is None else mirrors
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / file.name
    network_errors: list[str] = []
    checksum_errors: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + file.name
        try:
            _fetch_verified(url, file, target, show_progress=show_progress)
            return target
        except (urllib.error.URLError, OSError) as error:
            network_errors.append(f"{url}: {getattr(error, 'reason', error)}")
        except ValueError as error:
            checksum_errors.append(str(error))
    if checksum_errors:
        raise ValueError(
            f"No mirror served an intact {file.name}:\n  " + "\n  ".join(checksum_errors + network_errors)
        )
    raise ConnectionError(f"no mirror could be reached for {file.name}: " + "; ".join(network_errors))


def _fetch_verified(url: str, file: MnistFile, target: Path, *, show_progress: bool) -> None:
    from tqdm import tqdm

    digest = hashlib.sha256()
    received = 0
    with atomic_output(target, binary=True, suffix=".part") as output, urllib.request.urlopen(
        url, timeout=_DOWNLOAD_TIMEOUT_SECONDS
    ) as response, tqdm(
        total=file.size, unit="B", unit_scale=True, desc=file.name, disable=not show_progress
    ) as progress:
        while chunk := response.read(_CHUNK_BYTES):
            output.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            progress.update(len(chunk))
        # Checked inside the block, so a bad download is never moved into place.
        if received != file.size or digest.hexdigest() != file.sha256:
            raise ValueError(
                f"{url}: got {received} bytes with SHA-256 {digest.hexdigest()}, "
                f"expected {file.size} bytes with SHA-256 {file.sha256}"
            )


def _read_raw(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read()
    except EOFError as error:
        raise ValueError(f"{path}: the gzip file is truncated ({error}); delete it and download it again") from error
    except (gzip.BadGzipFile, zlib.error) as error:
        raise ValueError(f"{path}: not a readable gzip file ({error}); delete it and download it again") from error


def read_idx(path: str | Path, *, expected_magic: int) -> np.ndarray:
    """Read one IDX file of unsigned bytes and check its header against its length.

    Raises ``ValueError`` naming the file for a wrong magic number, a truncated or
    overlong file, or a damaged gzip stream.

    Example:
        >>> read_idx("data/t10k-labels-idx1-ubyte.gz", expected_magic=LABEL_MAGIC).shape  # doctest: +SKIP
        (10000,)
    """
    path = Path(path)
    raw = _read_raw(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        kind = "images" if expected_magic == IMAGE_MAGIC else "labels"
        raise ValueError(
            f"{path}: magic number {magic}, expected {expected_magic} for an MNIST {kind} file; "
            "is it the right file, and is it intact?"
        )
    dimensions_count = raw[3]
    header_length = 4 + 4 * dimensions_count
    if len(raw) < header_length:
        raise ValueError(f"{path}: the file ends inside its header ({len(raw)} bytes); it is truncated")
    shape = tuple(
        int.from_bytes(raw[4 + 4 * index : 8 + 4 * index], "big") for index in range(dimensions_count)
    )
    data_length = int(np.prod(shape))
    if len(raw) - header_length != data_length:
        raise ValueError(
            f"{path}: the header announces shape {shape} ({data_length} bytes of data) "
            f"but the file holds {len(raw) - header_length} bytes; it is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_length).reshape(shape).copy()


def read_idx_images(path: str | Path) -> np.ndarray:
    """Read an IDX image file as a (N, 28, 28) uint8 array, checking that images are 28x28.

    Example:
        >>> read_idx_images("data/t10k-images-idx3-ubyte.gz").shape  # doctest: +SKIP
        (10000, 28, 28)
    """
    images = read_idx(path, expected_magic=IMAGE_MAGIC)
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"{path}: images are {images.shape[1]}x{images.shape[2]}, expected 28x28")
    return images


def read_idx_labels(path: str | Path) -> np.ndarray:
    """Read an IDX label file as a (N,) uint8 array, checking that every label is 0-9.

    Example:
        >>> read_idx_labels("data/t10k-labels-idx1-ubyte.gz")[:5]  # doctest: +SKIP
        array([7, 2, 1, 0, 4], dtype=uint8)
    """
    labels = read_idx(path, expected_magic=LABEL_MAGIC)
    out_of_range = np.flatnonzero(labels >= NUM_CLASSES)
    if out_of_range.size:
        first = int(out_of_range[0])
        raise ValueError(
            f"{path}: label {labels[first]} at index {first} is outside 0-9 "
            f"({out_of_range.size} labels out of range)"
        )
    return labels


def _check_same_count(images: np.ndarray, labels: np.ndarray, images_path: Path, labels_path: Path) -> None:
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
            "the two files do not belong together"
        )


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file (gzipped when the name ends in ``.gz``).

    Useful to build small MNIST-like test data, or to export your own digits.

    Example:
        >>> write_idx("/tmp/labels-idx1-ubyte.gz", np.array([3, 1, 4], dtype=np.uint8))
        PosixPath('/tmp/labels-idx1-ubyte.gz')
    """
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"IDX files here hold unsigned bytes; got dtype {array.dtype}, convert with .astype('uint8')")
    if array.ndim not in (1, 3):
        raise ValueError(f"expected labels (N,) or images (N, rows, cols); got shape {array.shape}")
    header = (0x0800 + array.ndim).to_bytes(4, "big") + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape
    )
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as stream:
        stream.write(header + array.tobytes())
    return path
