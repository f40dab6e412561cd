"""Reading your own handwriting: file loading, ink, MNIST format, and every bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from mnist_helpers import handwriting, segmentation


def drawn_digits(path: Path, *, size: tuple[int, int] = (400, 200), dark_on_light: bool = True) -> Path:
    """A "1" and a "7" drawn with a thick pen, saved as an image file."""
    paper, ink = (235, 30) if dark_on_light else (20, 220)
    image = Image.new("L", size, paper)
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.line([(0.2 * width, 0.2 * height), (0.2 * width, 0.8 * height)], fill=ink, width=max(2, width // 40))
    draw.line([(0.55 * width, 0.2 * height), (0.85 * width, 0.2 * height), (0.65 * width, 0.8 * height)], fill=ink, width=max(2, width // 40))
    image.save(path)
    return path


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
@pytest.mark.parametrize("dark_on_light", [True, False])
def test_a_drawn_image_becomes_two_mnist_digits(tmp_path: Path, suffix: str, dark_on_light: bool) -> None:
    digits = handwriting.prepare_digits(drawn_digits(tmp_path / f"digits{suffix}", dark_on_light=dark_on_light))
    assert digits.shape == (2, 28, 28) and digits.dtype == np.uint8
    # White ink on black, fitted to a 20-pixel box: the "1" is 20 rows tall and narrow.
    assert digits[:, 0, :].max() == 0 and digits.max() == 255
    rows = np.flatnonzero(digits[0].max(axis=1))
    columns = np.flatnonzero(digits[0].max(axis=0))
    assert len(rows) == 20 and len(columns) < 8


def test_an_mnist_digit_survives_the_round_trip_through_a_photo(tmp_path: Path) -> None:
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    digit[6:10, 8:16] = 255  # A "1" with a flag: off-centre mass, as MNIST digits have.
    # Soft edges and MNIST's format, as a real test digit has.
    digit = segmentation.to_mnist_format(ndimage.gaussian_filter(digit.astype(float), 1.0))
    photo = handwriting.simulate_photo(digit, seed=3, noise=0.03)
    path = tmp_path / "photo.png"
    Image.fromarray(np.round(photo * 255).astype(np.uint8)).save(path)
    (recovered,) = handwriting.prepare_digits(path)
    correlation = np.corrcoef(recovered.ravel().astype(float), digit.ravel().astype(float))[0, 1]
    shifted = np.corrcoef(np.roll(recovered, 3, axis=1).ravel().astype(float), digit.ravel().astype(float))[0, 1]
    assert correlation > 0.8 > shifted


def test_transparent_png_counts_as_white_paper(tmp_path: Path) -> None:
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))  # Transparent black: paper.
    ImageDraw.Draw(image).line([(50, 15), (50, 85)], fill=(0, 0, 0, 255), width=6)
    image.save(tmp_path / "transparent.png")
    assert handwriting.prepare_digits(tmp_path / "transparent.png").shape == (1, 28, 28)


def test_a_huge_image_is_downscaled_not_a_crash(tmp_path: Path) -> None:
    path = drawn_digits(tmp_path / "huge.png", size=(12000, 6000))
    gray = handwriting.load_grayscale(path)
    assert max(gray.shape) == handwriting.MAX_SIDE and gray.shape == (512, 1024)
    assert handwriting.prepare_digits(path).shape == (2, 28, 28)


def test_a_file_that_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels\n")
    with pytest.raises(ValueError, match="not an image file"):
        handwriting.load_grayscale(path)


def test_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        handwriting.prepare_digits(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        handwriting.prepare_digits(tmp_path / "nowhere.png")


def test_a_truncated_image(tmp_path: Path) -> None:
    path = drawn_digits(tmp_path / "whole.png")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="damaged or truncated"):
        handwriting.prepare_digits(truncated)


@pytest.mark.parametrize("shade", [0, 255, 128])
def test_a_blank_image(tmp_path: Path, shade: int) -> None:
    Image.new("L", (64, 64), shade).save(tmp_path / "blank.png")
    with pytest.raises(ValueError, match="one flat shade|no ink"):
        handwriting.prepare_digits(tmp_path / "blank.png")


def test_an_image_with_no_ink_only_paper_texture(tmp_path: Path) -> None:
    texture = np.random.default_rng(0).normal(225, 3, size=(80, 80)).clip(0, 255).astype(np.uint8)
    Image.fromarray(texture).save(tmp_path / "paper.png")
    with pytest.raises(ValueError, match="no ink"):
        handwriting.prepare_digits(tmp_path / "paper.png")


def test_an_image_with_only_specks(tmp_path: Path) -> None:
    image = Image.new("L", (80, 80), 255)
    image.putpixel((40, 40), 0)
    image.putpixel((10, 70), 0)
    image.save(tmp_path / "specks.png")
    with pytest.raises(ValueError, match="no digit found"):
        handwriting.prepare_digits(tmp_path / "specks.png")


@pytest.mark.parametrize("size", [(1, 1), (5, 300)])
def test_a_tiny_image(tmp_path: Path, size: tuple[int, int]) -> None:
    Image.new("L", size, 0).save(tmp_path / "tiny.png")
    with pytest.raises(ValueError, match="needs at least 8x8"):
        handwriting.prepare_digits(tmp_path / "tiny.png")


def test_bad_arrays_are_explained() -> None:
    with pytest.raises(ValueError, match="floats in \\[0, 1\\]"):
        handwriting.prepare_digits(np.full((40, 40), 200, np.uint8))
    with pytest.raises(ValueError, match="height, width"):
        handwriting.prepare_digits(np.zeros((40, 40, 3)))
    with pytest.raises(ValueError, match="needs at least 8x8"):
        handwriting.prepare_digits(np.zeros((1, 1)))


def test_otsu_threshold_splits_two_shades() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0.2, 0.03, 500), rng.normal(0.8, 0.03, 100)])
    threshold = handwriting.otsu_threshold(values)
    assert values[:500].max() <= threshold < values[500:].min()
    with pytest.raises(ValueError, match="flat shade"):
        handwriting.otsu_threshold(np.full(10, 0.5))


def test_simulated_photo_is_dark_on_light_and_checks_its_arguments() -> None:
    digit = np.zeros((28, 28), np.uint8)
    digit[5:23, 12:16] = 255
    photo = handwriting.simulate_photo(digit, seed=0)
    assert photo.shape == (112, 112) and np.median(photo) > 0.5 and photo.min() < 0.4
    with pytest.raises(ValueError, match="scale"):
        handwriting.simulate_photo(digit, scale=5.0)
    with pytest.raises(ValueError, match="28, 28"):
        handwriting.simulate_photo(np.zeros((10, 10)))


def test_prepare_digit_keeps_a_broken_stroke_whole_and_centres_by_box_on_request() -> None:
    paper = np.ones((100, 100), np.float32)
    paper[10:45, 40:46] = 0.0
    paper[55:90, 40:46] = 0.0  # A "1" drawn in two strokes with a gap.
    paper[80:90, 60:90] = 0.0  # A foot off to the right: the mass is off-centre.
    assert handwriting.prepare_digits(paper).shape[0] == 2
    by_mass = handwriting.prepare_digit(paper)
    by_box = handwriting.prepare_digit(paper, centre_by="box")
    assert (by_mass.max(axis=1) > 0).sum() == 20
    from scipy import ndimage as scipy_ndimage

    assert abs(scipy_ndimage.center_of_mass(by_mass.astype(float))[1] - 13.5) < abs(scipy_ndimage.center_of_mass(by_box.astype(float))[1] - 13.5)
    with pytest.raises(ValueError, match="centre_by"):
        handwriting.prepare_digit(paper, centre_by="middle")


def test_sample_makers_and_save_grayscale(tmp_path: Path) -> None:
    drawn = handwriting.draw_digits("2147", seed=1)
    assert drawn.dtype == np.float32 and np.median(drawn) > 0.8 and drawn.min() < 0.2
    assert handwriting.prepare_digits(drawn).shape == (4, 28, 28)
    printed = handwriting.render_text("4075", seed=3)
    path = handwriting.save_grayscale(printed, tmp_path / "printed.jpg")
    assert Image.open(path).format == "JPEG"
    assert handwriting.prepare_digits(path).shape == (4, 28, 28)
    with pytest.raises(ValueError, match="digits 12457"):
        handwriting.draw_digits("39")
    with pytest.raises(ValueError, match=".png or .jpg"):
        handwriting.save_grayscale(drawn, tmp_path / "digits.gif")
    assert not (tmp_path / "digits.gif").exists()


def test_plot_prepared_titles_the_top_three() -> None:
    from mnist_helpers import plots

    probabilities = np.full((2, 10), 0.01)
    probabilities[0, 7], probabilities[0, 1] = 0.9, 0.02
    probabilities[1, 4] = 0.91
    figure = plots.plot_prepared(np.ones((40, 80)), np.zeros((2, 28, 28), np.uint8), probabilities)
    assert figure.axes[1].get_title().splitlines()[:2] == ["7 90%", "1 2%"]
    with pytest.raises(ValueError, match="rows of probabilities"):
        plots.plot_prepared(np.ones((40, 80)), np.zeros((2, 28, 28), np.uint8), probabilities[:1])
