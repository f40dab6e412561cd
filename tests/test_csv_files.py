"""CSV readers: both layouts round-trip, and every bad line is reported by number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import make_images, make_labels
from mnist_helpers.csv_files import KAGGLE_PIXEL_COLUMNS, read_kaggle_csv, read_mnist_csv, write_mnist_csv


@pytest.fixture
def headerless_csv(tmp_path: Path) -> Path:
    return write_mnist_csv(tmp_path / "mnist_train.csv", make_images(6), make_labels(6))


def kaggle_csv(path: Path, images: np.ndarray, labels: np.ndarray | None) -> Path:
    pixels = images.reshape(len(images), -1)
    header = (["label"] if labels is not None else []) + KAGGLE_PIXEL_COLUMNS
    rows = [",".join(header)]
    for index, row in enumerate(pixels):
        cells = ([str(labels[index])] if labels is not None else []) + [str(value) for value in row]
        rows.append(",".join(cells))
    path.write_text("\n".join(rows) + "\n")
    return path


def replace_line(path: Path, line_number: int, edit) -> None:
    lines = path.read_text().splitlines()
    lines[line_number - 1] = edit(lines[line_number - 1])
    path.write_text("\n".join(lines) + "\n")


def set_cell(line: str, index: int, value: str) -> str:
    cells = line.split(",")
    cells[index] = value
    return ",".join(cells)


def test_headerless_round_trip(headerless_csv: Path) -> None:
    images, labels = read_mnist_csv(headerless_csv)
    np.testing.assert_array_equal(images, make_images(6))
    np.testing.assert_array_equal(labels, make_labels(6))
    assert images.dtype == np.uint8 and images.shape == (6, 28, 28)


def test_kaggle_training_and_test_layouts(tmp_path: Path) -> None:
    images, labels = read_kaggle_csv(kaggle_csv(tmp_path / "train.csv", make_images(4), make_labels(4)))
    np.testing.assert_array_equal(images, make_images(4))
    np.testing.assert_array_equal(labels, make_labels(4))
    test_images, test_labels = read_kaggle_csv(kaggle_csv(tmp_path / "test.csv", make_images(3), None))
    np.testing.assert_array_equal(test_images, make_images(3))
    assert test_labels is None


def test_short_row_reports_its_line(headerless_csv: Path) -> None:
    replace_line(headerless_csv, 4, lambda line: line.rsplit(",", 1)[0])
    with pytest.raises(ValueError, match=r"mnist_train\.csv, line 4: 784 columns, expected 785"):
        read_mnist_csv(headerless_csv)


def test_long_row_reports_its_line(headerless_csv: Path) -> None:
    replace_line(headerless_csv, 5, lambda line: line + ",0")
    with pytest.raises(ValueError, match=r"line 5: 786 columns, expected 785"):
        read_mnist_csv(headerless_csv)


def test_non_numeric_cell_reports_line_and_column(headerless_csv: Path) -> None:
    replace_line(headerless_csv, 3, lambda line: set_cell(line, 1, "abc"))
    with pytest.raises(ValueError, match=r"line 3, column 2: 'abc' is not an integer"):
        read_mnist_csv(headerless_csv)


def test_pixel_outside_0_255_reports_line_and_column(tmp_path: Path) -> None:
    path = kaggle_csv(tmp_path / "train.csv", make_images(3), make_labels(3))
    replace_line(path, 3, lambda line: set_cell(line, -1, "256"))
    with pytest.raises(ValueError, match=r"train\.csv, line 3, column 785: value 256 is outside 0-255"):
        read_kaggle_csv(path)


def test_negative_pixel(headerless_csv: Path) -> None:
    replace_line(headerless_csv, 2, lambda line: set_cell(line, -1, "-1"))
    with pytest.raises(ValueError, match=r"line 2, column 785: value -1 is outside 0-255"):
        read_mnist_csv(headerless_csv)


def test_label_outside_0_9(headerless_csv: Path) -> None:
    replace_line(headerless_csv, 6, lambda line: set_cell(line, 0, "12"))
    with pytest.raises(ValueError, match=r"line 6: label 12 is outside 0-9"):
        read_mnist_csv(headerless_csv)


def test_wrong_header_names_the_layouts(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("id,value\n1,2\n")
    with pytest.raises(ValueError, match=r"other\.csv, line 1: header has 2 columns \(id, value\)"):
        read_kaggle_csv(path)


def test_headerless_file_read_as_kaggle_explains(headerless_csv: Path) -> None:
    with pytest.raises(ValueError, match="use read_mnist_csv"):
        read_kaggle_csv(headerless_csv)


def test_kaggle_file_read_as_headerless_reports_the_header_line(tmp_path: Path) -> None:
    path = kaggle_csv(tmp_path / "train.csv", make_images(2), make_labels(2))
    with pytest.raises(ValueError, match=r"line 1, column 1: 'label' is not an integer"):
        read_mnist_csv(path)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_mnist_csv(tmp_path / "empty.csv")
    with pytest.raises(ValueError, match="empty"):
        read_kaggle_csv(tmp_path / "empty.csv")


def test_blank_line_in_the_middle(headerless_csv: Path) -> None:
    replace_line(headerless_csv, 3, lambda line: "")
    with pytest.raises(ValueError, match=r"line 3: 0 columns, expected 785"):
        read_mnist_csv(headerless_csv)


def test_writer_rejects_mismatched_inputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        write_mnist_csv(tmp_path / "x.csv", np.zeros((2, 784), np.uint8), make_labels(2))
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        write_mnist_csv(tmp_path / "x.csv", make_images(2), make_labels(3))
