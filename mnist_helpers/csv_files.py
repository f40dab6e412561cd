"""The two CSV layouts of MNIST that readers meet.

* The headerless layout (``mnist_train.csv``, ``mnist_test.csv``): every line is a label
  followed by the 784 pixels of one image, row by row.
* The Kaggle "Digit Recognizer" layout (``train.csv``, ``test.csv``): a header line,
  ``label, pixel0, ..., pixel783`` in the training file and only the pixel columns in
  the test file, which has no labels.

Both readers return ``(images, labels)`` with images of shape (N, 28, 28) and dtype uint8,
like ``load_mnist``. Both read a plain ``.csv`` file, a gzip-compressed ``.csv.gz`` and a
``.zip`` archive holding one CSV file, as UTF-8 text with or without a byte-order mark
(Excel's "CSV UTF-8"); blank lines at the end are ignored. A wrong number of columns, a
cell that is not an integer, or a pixel outside 0-255 raises a ``ValueError`` that names
the file and the line (counted from 1, the header included, as an editor shows it); a
file that is not UTF-8 text, or is compressed under the wrong name, raises a
``ValueError`` that names the file and says what to do.
"""

from __future__ import annotations

import csv as csv_module
import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np
import pandas as pd

from mnist_helpers.constants import IMAGE_SIDE
from mnist_helpers.paths import atomic_output, open_for_reading

PIXELS = IMAGE_SIDE * IMAGE_SIDE
KAGGLE_PIXEL_COLUMNS = [f"pixel{index}" for index in range(PIXELS)]

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_SNIFF_BYTES = 1 << 16


def read_mnist_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read the headerless "label, 784 pixels" layout (.csv, .csv.gz or .zip).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "mnist_test.csv"
        >>> _ = write_mnist_csv(path, np.zeros((3, 28, 28), np.uint8), np.array([7, 2, 1]))
        >>> images, labels = read_mnist_csv(path)
        >>> images.shape, labels.tolist()
        ((3, 28, 28), [7, 2, 1])
    """
    path = Path(path)
    values = _read_table(path, has_header=False, columns=1 + PIXELS)
    return _to_images(values[:, 1:]), _to_labels(values[:, 0], path, first_line=1)


def read_kaggle_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read the Kaggle layout (.csv, .csv.gz or .zip); labels are ``None`` for its test file.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "test.csv.gz"
        >>> pd.DataFrame(np.zeros((2, PIXELS), int), columns=KAGGLE_PIXEL_COLUMNS).to_csv(
        ...     path, index=False)
        >>> images, labels = read_kaggle_csv(path)
        >>> images.shape, labels
        ((2, 28, 28), None)
    """
    path = Path(path)
    header = _read_header(path)
    if header == ["label", *KAGGLE_PIXEL_COLUMNS]:
        values = _read_table(path, has_header=True, columns=1 + PIXELS)
        return _to_images(values[:, 1:]), _to_labels(values[:, 0], path, first_line=2)
    if header == KAGGLE_PIXEL_COLUMNS:
        values = _read_table(path, has_header=True, columns=PIXELS)
        return _to_images(values), None
    shown = ", ".join(header[:3]) + (", ..." if len(header) > 3 else "")
    raise ValueError(
        f"{path}, line 1: header has {len(header)} columns ({shown}); expected "
        f"'label, pixel0, ..., pixel783' (training file) or 'pixel0, ..., pixel783' (test file). "
        "For the headerless layout use read_mnist_csv."
    )


def write_mnist_csv(path: str | Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """Write images and labels in the headerless "label, 784 pixels" layout.

    A name ending in ``.gz`` gives a gzip-compressed file and ``.zip`` a ZIP archive
    holding one CSV file; the readers read all three. The file is written through a
    temporary file, so a failure never leaves half a file.

    Example:
        >>> write_mnist_csv("/tmp/two.csv", np.zeros((2, 28, 28), np.uint8), np.array([3, 5]))
        PosixPath('/tmp/two.csv')
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"expected images of shape (N, {IMAGE_SIDE}, {IMAGE_SIDE}); got {images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels")
    table = np.column_stack([labels.astype(np.int64), images.reshape(len(images), -1).astype(np.int64)])
    path = Path(path)
    with atomic_output(path, binary=True) as output:
        if path.suffix.lower() == ".zip":
            with (
                zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive,
                archive.open(_member_name(path), "w") as member,
            ):
                np.savetxt(member, table, fmt="%d", delimiter=",")
        elif path.suffix.lower() == ".gz":
            with gzip.GzipFile(filename="", mode="wb", fileobj=output, mtime=0) as compressed:
                np.savetxt(compressed, table, fmt="%d", delimiter=",")
        else:
            np.savetxt(output, table, fmt="%d", delimiter=",")
    return path


def _member_name(path: Path) -> str:
    stem = path.name.removesuffix(path.suffix)
    return stem if stem.lower().endswith(".csv") else stem + ".csv"


# --- Opening: containers and encodings ---------------------------------------------


def _container(path: Path) -> str:
    """Which container the name promises ("zip", "gzip" or "plain"), checked against the bytes."""
    with open_for_reading(path, "a CSV file") as stream:
        head = stream.read(4)
    name = path.name.lower()
    if name.endswith(".zip"):
        if not head.startswith(_ZIP_MAGICS):
            raise ValueError(
                f"{path}: the name ends in .zip, but it is not a ZIP archive: {_rename_advice(path, head)}"
            )
        return "zip"
    if name.endswith(".gz"):
        if not head.startswith(_GZIP_MAGIC):
            raise ValueError(
                f"{path}: the name ends in .gz, but it is not gzip-compressed: {_rename_advice(path, head)}"
            )
        return "gzip"
    if head.startswith(_GZIP_MAGIC) or head.startswith(_ZIP_MAGICS):
        raise ValueError(f"{path}: {_rename_advice(path, head)}")
    return "plain"


def _rename_advice(path: Path, head: bytes) -> str:
    stem = path.name.removesuffix(".gz").removesuffix(".zip")
    if head.startswith(_GZIP_MAGIC):
        return f"it is gzip-compressed: name it {stem.removesuffix('.csv')}.csv.gz"
    if head.startswith(_ZIP_MAGICS):
        return (
            f"it is a ZIP archive: name it {stem.removesuffix('.csv')}.zip if it holds one CSV file; "
            "if it is an Excel workbook (.xlsx), save it from Excel as 'CSV UTF-8' instead"
        )
    return f"name it {stem if stem.endswith('.csv') else stem + '.csv'}"


@contextmanager
def _open_bytes(path: Path) -> Iterator[BinaryIO]:
    """The decompressed bytes of a .csv, .csv.gz or .zip file."""
    container = _container(path)
    with open(path, "rb") as raw:
        if container == "gzip":
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield stream
        elif container == "zip":
            with zipfile.ZipFile(raw) as archive, _open_member(archive, path) as stream:
                yield stream
        else:
            yield raw


def _open_member(archive: zipfile.ZipFile, path: Path) -> BinaryIO:
    member = _only_member(archive, path)
    try:
        return archive.open(member)
    except (RuntimeError, NotImplementedError) as error:  # Encrypted, or an unknown compression method.
        raise ValueError(
            f"{path}: cannot read {member.filename} from the ZIP archive ({error}): extract it with an "
            "archive tool and read the CSV file itself"
        ) from error


def _only_member(archive: zipfile.ZipFile, path: Path) -> zipfile.ZipInfo:
    members = [
        info
        for info in archive.infolist()
        if not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and not Path(info.filename).name.startswith("._")
    ]
    if len(members) != 1:
        names = ", ".join(info.filename for info in members[:5]) + (", ..." if len(members) > 5 else "")
        raise ValueError(
            f"{path}: the ZIP archive holds {len(members)} files ({names or 'none'}); the readers read "
            "an archive with exactly one CSV file: extract the file you want and read it"
        )
    return members[0]


@contextmanager
def _open_text(path: Path) -> Iterator[TextIO]:
    """The file as UTF-8 text (a byte-order mark dropped), after a look at its first bytes.

    Every problem of the container or the encoding becomes a ``ValueError`` naming the file.
    """
    with _container_errors(path):
        with _open_bytes(path) as stream:
            problem = _encoding_problem(stream.read(_SNIFF_BYTES))
        if problem is not None:
            raise ValueError(f"{path}: {problem}")
        with _open_bytes(path) as stream, io.TextIOWrapper(stream, encoding="utf-8-sig", newline="") as text:
            yield text


@contextmanager
def _container_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except UnicodeDecodeError as error:
        byte = error.object[error.start : error.start + 1].hex()
        raise ValueError(
            f"{path}: not UTF-8 text (byte 0x{byte} cannot be decoded): save it as UTF-8 (in Excel: "
            "'CSV UTF-8'), or check that it is the CSV file you meant"
        ) from None
    except (EOFError, gzip.BadGzipFile, zlib.error, zipfile.BadZipFile) as error:
        raise ValueError(
            f"{path}: the compressed file is damaged or truncated ({error}): replace it with an intact copy"
        ) from error


def _encoding_problem(head: bytes) -> str | None:
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "looks like UTF-32: save it as UTF-8 (in Excel: 'CSV UTF-8')"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _alternating_nul_bytes(head):
        return "looks like UTF-16: save it as UTF-8 (in Excel: 'CSV UTF-8'; Excel's 'Unicode Text' is UTF-16)"
    if b"\x00" in head:
        return "holds binary data (NUL bytes), not CSV text: check that it is the CSV file you meant"
    return None


def _alternating_nul_bytes(head: bytes) -> bool:
    """ASCII text in UTF-16 without a byte-order mark: every other byte is zero."""
    even, odd = head[0::2], head[1::2]
    return len(head) >= 4 and (odd.count(0) == len(odd) or even.count(0) == len(even))


class _WithoutTrailingBlankLines(io.TextIOBase):
    """A text stream that holds back line breaks until text follows them.

    Blank lines between data lines reach the parser (which reports them); the blank
    lines at the end of the file never do.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._held = ""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        while True:
            chunk = self._stream.read(-1 if size is None or size < 0 else max(size, 1))
            if not chunk:
                held, self._held = self._held, ""
                return "\n" if held else ""
            text = self._held + chunk
            body = text.rstrip("\r\n")
            self._held = text[len(body) :]
            if body:
                return body


# --- Parsing -----------------------------------------------------------------------


def _read_header(path: Path) -> list[str]:
    with _open_text(path) as stream:
        first = next(csv_module.reader(stream), None)
    if first is None:
        raise ValueError(f"{path}: the file is empty")
    return [name.strip() for name in first]


def _read_table(path: Path, *, has_header: bool, columns: int) -> np.ndarray:
    """Parse with pandas; on any problem, find the first bad line exactly and report it."""
    try:
        with _open_text(path) as stream:
            frame = pd.read_csv(
                _WithoutTrailingBlankLines(stream), header=0 if has_header else None, skip_blank_lines=False
            )
    except pd.errors.EmptyDataError as error:
        raise ValueError(f"{path}: the file is empty") from error
    except pd.errors.ParserError:
        _raise_first_bad_line(path, has_header=has_header, columns=columns)
        raise
    looks_clean = (
        frame.shape[1] == columns
        and len(frame) > 0
        and all(pd.api.types.is_integer_dtype(dtype) for dtype in frame.dtypes)
    )
    if looks_clean:
        values = frame.to_numpy(dtype=np.int64)
        if values.min() >= 0 and values.max() <= 255:
            return values
    _raise_first_bad_line(path, has_header=has_header, columns=columns)
    raise ValueError(f"{path}: could not be read as MNIST CSV with {columns} columns")


def _raise_first_bad_line(path: Path, *, has_header: bool, columns: int) -> None:
    with _open_text(path) as stream:
        reader = csv_module.reader(stream)
        if has_header:
            next(reader, None)
        data_lines = 0
        first_blank: int | None = None
        for row in reader:
            if not row:
                first_blank = reader.line_num if first_blank is None else first_blank
                continue
            if first_blank is not None:
                raise ValueError(f"{path}, line {first_blank}: 0 columns, expected {columns} (a blank line)")
            data_lines += 1
            _check_row(row, path, reader.line_num, columns)
    if data_lines == 0:
        raise ValueError(f"{path}: the file has no data lines")


def _check_row(row: list[str], path: Path, line: int, columns: int) -> None:
    if len(row) != columns:
        raise ValueError(f"{path}, line {line}: {len(row)} columns, expected {columns}")
    for column, cell in enumerate(row, start=1):
        try:
            value = int(cell)
        except ValueError:
            raise ValueError(f"{path}, line {line}, column {column}: {cell!r} is not an integer") from None
        if not 0 <= value <= 255:
            raise ValueError(f"{path}, line {line}, column {column}: value {value} is outside 0-255")


def _to_images(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.uint8).reshape(len(pixels), IMAGE_SIDE, IMAGE_SIDE)


def _to_labels(labels: np.ndarray, path: Path, *, first_line: int) -> np.ndarray:
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        index = int(bad[0])
        raise ValueError(f"{path}, line {first_line + index}: label {labels[index]} is outside 0-9")
    return labels.astype(np.uint8)
