"""CSV readers: both layouts round-trip, and every bad line or bad file is reported by name.

Every bad input is built here: damaged lines, other encodings (UTF-16, UTF-32, Latin-1,
binary data), compressed files under the wrong name, and archives with the wrong content.
"""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import make_images, make_labels

from mnist_helpers.csv_files import KAGGLE_PIXEL_COLUMNS, read_kaggle_csv, read_mnist_csv, write_mnist_csv

READERS = [read_mnist_csv, read_kaggle_csv]


@pytest.fixture
def headerless_csv(tmp_path: Path) -> Path:
    return write_mnist_csv(tmp_path / "mnist_train.csv", make_images(6), make_labels(6))


def kaggle_text(images: np.ndarray, labels: np.ndarray | None) -> str:
    pixels = images.reshape(len(images), -1)
    header = (["label"] if labels is not None else []) + KAGGLE_PIXEL_COLUMNS
    rows = [",".join(header)]
    for index, row in enumerate(pixels):
        cells = ([str(labels[index])] if labels is not None else []) + [str(value) for value in row]
        rows.append(",".join(cells))
    return "\n".join(rows) + "\n"


def kaggle_csv(path: Path, images: np.ndarray, labels: np.ndarray | None) -> Path:
    path.write_text(kaggle_text(images, labels))
    return path


def headerless_text(count: int) -> str:
    return (
        "\n".join(
            ",".join(str(value) for value in [label, *image.ravel()])
            for label, image in zip(make_labels(count), make_images(count))
        )
        + "\n"
    )


def replace_line(path: Path, line_number: int, edit) -> None:
    lines = path.read_text().splitlines()
    lines[line_number - 1] = edit(lines[line_number - 1])
    path.write_text("\n".join(lines) + "\n")


def set_cell(line: str, index: int, value: str) -> str:
    cells = line.split(",")
    cells[index] = value
    return ",".join(cells)


def zip_with(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


# --- Good files ------------------------------------------------------------------------


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


@pytest.mark.parametrize("name", ["mnist_train.csv.gz", "mnist_train.zip", "mnist_train.csv.zip"])
def test_headerless_gz_and_zip_round_trip(tmp_path: Path, name: str) -> None:
    path = write_mnist_csv(tmp_path / name, make_images(5), make_labels(5))
    images, labels = read_mnist_csv(path)
    np.testing.assert_array_equal(images, make_images(5))
    np.testing.assert_array_equal(labels, make_labels(5))
    assert [p.name for p in tmp_path.iterdir()] == [name], "no temporary file is left"


def test_kaggle_reader_reads_gz_and_zip(tmp_path: Path) -> None:
    text = kaggle_text(make_images(4), make_labels(4))
    (tmp_path / "train.csv.gz").write_bytes(gzip.compress(text.encode()))
    zipped = zip_with(tmp_path / "digit-recognizer.zip", {"train.csv": text, "__MACOSX/._train.csv": "x"})
    for path in (tmp_path / "train.csv.gz", zipped):
        images, labels = read_kaggle_csv(path)
        np.testing.assert_array_equal(images, make_images(4))
        np.testing.assert_array_equal(labels, make_labels(4))


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    kaggle = tmp_path / "train.csv"
    kaggle.write_bytes(b"\xef\xbb\xbf" + kaggle_text(make_images(2), make_labels(2)).encode())
    np.testing.assert_array_equal(read_kaggle_csv(kaggle)[1], make_labels(2))
    headerless = tmp_path / "mnist_train.csv"
    headerless.write_bytes(b"\xef\xbb\xbf" + headerless_text(3).encode())
    np.testing.assert_array_equal(read_mnist_csv(headerless)[1], make_labels(3))


@pytest.mark.parametrize("ending", ["\n", "\n\n\n", "\r\n\r\n"], ids=["one", "three", "crlf"])
def test_trailing_blank_lines_are_accepted(tmp_path: Path, headerless_csv: Path, ending: str) -> None:
    headerless_csv.write_text(headerless_csv.read_text() + ending)
    np.testing.assert_array_equal(read_mnist_csv(headerless_csv)[0], make_images(6))
    kaggle = kaggle_csv(tmp_path / "train.csv", make_images(2), make_labels(2))
    kaggle.write_text(kaggle.read_text() + ending)
    np.testing.assert_array_equal(read_kaggle_csv(kaggle)[1], make_labels(2))


# --- Bad lines -------------------------------------------------------------------------


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


def test_bad_line_in_a_compressed_file_is_reported_too(tmp_path: Path) -> None:
    lines = headerless_text(4).splitlines()
    lines[2] = set_cell(lines[2], 7, "x")
    path = tmp_path / "mnist_test.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    with pytest.raises(ValueError, match=r"mnist_test\.csv\.gz, line 3, column 8: 'x' is not an integer"):
        read_mnist_csv(path)


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
    for reader in READERS:
        with pytest.raises(ValueError, match=r"empty\.csv: the file is empty"):
            reader(tmp_path / "empty.csv")


def test_file_of_blank_lines_only(tmp_path: Path) -> None:
    (tmp_path / "blank.csv").write_text("\n\n\n")
    with pytest.raises(ValueError, match=r"blank\.csv: the file is empty"):
        read_mnist_csv(tmp_path / "blank.csv")


def test_blank_line_in_the_middle(headerless_csv: Path) -> None:
    replace_line(headerless_csv, 3, lambda line: "")
    with pytest.raises(ValueError, match=r"line 3: 0 columns, expected 785 \(a blank line\)"):
        read_mnist_csv(headerless_csv)


def test_blank_lines_in_the_middle_and_at_the_end(tmp_path: Path) -> None:
    path = kaggle_csv(tmp_path / "train.csv", make_images(4), make_labels(4))
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:3] + ["", ""] + lines[3:]) + "\n\n\n")
    with pytest.raises(ValueError, match=r"train\.csv, line 4: 0 columns, expected 785 \(a blank line\)"):
        read_kaggle_csv(path)


# --- Bad files: encodings and containers -----------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("reader", READERS)
def test_utf16_file_says_save_it_as_utf8(tmp_path: Path, encoding: str, reader) -> None:
    path = tmp_path / "train.csv"
    path.write_bytes(kaggle_text(make_images(2), make_labels(2)).encode(encoding))
    with pytest.raises(ValueError, match=r"train\.csv: looks like UTF-16: save it as UTF-8"):
        reader(path)


def test_utf32_file_says_save_it_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_bytes(kaggle_text(make_images(1), make_labels(1)).encode("utf-32"))
    with pytest.raises(ValueError, match=r"train\.csv: looks like UTF-32: save it as UTF-8"):
        read_kaggle_csv(path)


@pytest.mark.parametrize("reader", READERS)
def test_gzip_data_named_csv_says_name_it_csv_gz(tmp_path: Path, reader) -> None:
    path = tmp_path / "mnist_train.csv"
    path.write_bytes(gzip.compress(headerless_text(2).encode()))
    with pytest.raises(ValueError, match=r"mnist_train\.csv: it is gzip-compressed: name it mnist_train\.csv\.gz"):
        reader(path)


@pytest.mark.parametrize("reader", READERS)
def test_zip_archive_named_csv_says_name_it_zip(tmp_path: Path, reader) -> None:
    path = zip_with(tmp_path / "train.csv", {"train.csv": headerless_text(2)})
    with pytest.raises(ValueError, match=r"train\.csv: it is a ZIP archive: name it train\.zip .*Excel"):
        reader(path)


@pytest.mark.parametrize("reader", READERS)
def test_binary_garbage_names_the_file(tmp_path: Path, reader) -> None:
    path = tmp_path / "digits.csv"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match=r"digits\.csv: holds binary data \(NUL bytes\), not CSV text"):
        reader(path)
    path.write_bytes(bytes(range(0x80, 0x100)) * 20)  # No NUL byte, and not UTF-8.
    with pytest.raises(
        ValueError, match=r"digits\.csv: not UTF-8 text \(byte 0x80 cannot be decoded\): save it as UTF-8"
    ):
        reader(path)


@pytest.mark.parametrize("reader", READERS)
def test_non_utf8_byte_far_into_the_file(tmp_path: Path, reader) -> None:
    path = tmp_path / "train.csv"
    text = kaggle_text(make_images(60), make_labels(60))  # About 180 kB, past the first look.
    path.write_bytes(text.encode()[:-10] + "\u00e9".encode("latin-1") + text.encode()[-10:])
    with pytest.raises(ValueError, match=r"train\.csv: not UTF-8 text \(byte 0xe9 cannot be decoded\)"):
        reader(path)


def test_names_that_promise_another_container(tmp_path: Path) -> None:
    plain = tmp_path / "mnist_train.csv.gz"
    plain.write_text(headerless_text(2))
    with pytest.raises(
        ValueError,
        match=r"mnist_train\.csv\.gz: the name ends in \.gz, but it is not gzip-"
        r"compressed: name it mnist_train\.csv",
    ):
        read_mnist_csv(plain)
    not_zip = tmp_path / "train.zip"
    not_zip.write_bytes(gzip.compress(b"1,2\n"))
    with pytest.raises(
        ValueError,
        match=r"train\.zip: the name ends in \.zip, but it is not a ZIP archive: it is "
        r"gzip-compressed: name it train\.csv\.gz",
    ):
        read_kaggle_csv(not_zip)


@pytest.mark.parametrize("members", [{}, {"train.csv": "1\n", "test.csv": "2\n"}], ids=["empty", "two files"])
def test_zip_must_hold_exactly_one_csv(tmp_path: Path, members: dict[str, str]) -> None:
    path = zip_with(tmp_path / "digits.zip", members)
    with pytest.raises(ValueError, match=rf"digits\.zip: the ZIP archive holds {len(members)} files .*extract"):
        read_mnist_csv(path)


def test_encrypted_zip_says_extract_it(tmp_path: Path) -> None:
    path = zip_with(tmp_path / "digits.zip", {"mnist_train.csv": headerless_text(1)})
    payload = bytearray(path.read_bytes())
    for offset in (6, payload.rindex(b"PK\x01\x02") + 8):  # The "encrypted" flag, in both headers.
        payload[offset] |= 0x01
    path.write_bytes(bytes(payload))
    with pytest.raises(ValueError, match=r"digits\.zip: cannot read mnist_train\.csv from the ZIP archive .*encrypted"):
        read_mnist_csv(path)


def test_truncated_gz_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mnist_train.csv.gz"
    path.write_bytes(gzip.compress(headerless_text(20).encode())[:-200])
    with pytest.raises(ValueError, match=r"mnist_train\.csv\.gz: the compressed file is damaged or truncated"):
        read_mnist_csv(path)


def test_a_directory_given_as_the_file(tmp_path: Path) -> None:
    (tmp_path / "train.csv").mkdir()
    for reader in READERS:
        with pytest.raises(ValueError, match=r"train\.csv is a directory, not a CSV file"):
            reader(tmp_path / "train.csv")


def test_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.csv"):
        read_mnist_csv(tmp_path / "nothing.csv")


# --- Writing ---------------------------------------------------------------------------


def test_writer_rejects_mismatched_inputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        write_mnist_csv(tmp_path / "x.csv", np.zeros((2, 784), np.uint8), make_labels(2))
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        write_mnist_csv(tmp_path / "x.csv", make_images(2), make_labels(3))
    assert list(tmp_path.iterdir()) == []


def test_writer_failing_midway_leaves_the_old_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_mnist_csv(tmp_path / "mnist_test.csv", make_images(2), make_labels(2))
    before = path.read_bytes()

    def disk_full(stream, *args, **kwargs) -> None:
        stream.write(b"1,2,3")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savetxt", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_mnist_csv(path, make_images(3), make_labels(3))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["mnist_test.csv"]
