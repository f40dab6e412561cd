"""The two CSV layouts of MNIST that readers meet.

* The headerless layout (``mnist_train.csv``, ``mnist_test.csv``): every line is a label
  followed by the 784 pixels of one image, row by row.
* The Kaggle "Digit Recognizer" layout (``train.csv``, ``test.csv``): a header line,
  ``label, pixel0, ..., pixel783`` in the training file and only the pixel columns in
  the test file, which has no labels.

Both readers return ``(images, labels)`` with images of shape (N, 28, 28) and dtype uint8,
like ``load_mnist``. A wrong number of columns, a cell that is not an integer, or a pixel
outside 0-255 raises a ``ValueError`` that names the file and the line (counted from 1,
the header included, as an editor shows it).
"""

from __future__ import annotations

import csv as csv_module
from pathlib import Path

import numpy as np
import pandas as pd

from mnist_helpers.constants import IMAGE_SIDE

PIXELS = IMAGE_SIDE * IMAGE_SIDE
KAGGLE_PIXEL_COLUMNS = [f"pixel{index}" for index in range(PIXELS)]


def read_mnist_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read the headerless "label, 784 pixels" layout.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "mnist_test.csv"
        >>> _ = write_mnist_csv(path, np.zeros((3, 28, 28), np.uint8), np.array([7, 2, 1]))
        >>> images, labels = read_mnist_csv(path)
        >>> images.shape, labels.tolist()
        ((3, 28, 28), [7, 2, 1])
    """
    values = _read_table(Path(path), has_header=False, columns=1 + PIXELS)
    return _to_images(values[:, 1:]), _to_labels(values[:, 0], Path(path), first_line=1)


def read_kaggle_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read the Kaggle layout; labels are ``None`` for its test file, which has none.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "test.csv"
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
    np.savetxt(path, table, fmt="%d", delimiter=",")
    return path


def _read_header(path: Path) -> list[str]:
    with path.open(newline="") as stream:
        first = next(csv_module.reader(stream), None)
    if first is None:
        raise ValueError(f"{path}: the file is empty")
    return [name.strip() for name in first]


def _read_table(path: Path, *, has_header: bool, columns: int) -> np.ndarray:
    """Parse with pandas; on any problem, find the first bad line exactly and report it."""
    try:
        frame = pd.read_csv(path, header=0 if has_header else None, skip_blank_lines=False)
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
    with path.open(newline="") as stream:
        reader = csv_module.reader(stream)
        if has_header:
            next(reader, None)
        data_lines = 0
        for row in reader:
            line = reader.line_num
            data_lines += 1
            if len(row) != columns:
                raise ValueError(f"{path}, line {line}: {len(row)} columns, expected {columns}")
            for column, cell in enumerate(row, start=1):
                try:
                    value = int(cell)
                except ValueError:
                    raise ValueError(
                        f"{path}, line {line}, column {column}: {cell!r} is not an integer"
                    ) from None
                if not 0 <= value <= 255:
                    raise ValueError(
                        f"{path}, line {line}, column {column}: value {value} is outside 0-255"
                    )
    if data_lines == 0:
        raise ValueError(f"{path}: the file has no data lines")


def _to_images(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.uint8).reshape(len(pixels), IMAGE_SIDE, IMAGE_SIDE)


def _to_labels(labels: np.ndarray, path: Path, *, first_line: int) -> np.ndarray:
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        index = int(bad[0])
        raise ValueError(f"{path}, line {first_line + index}: label {labels[index]} is outside 0-9")
    return labels.astype(np.uint8)
