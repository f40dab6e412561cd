"""Reading your own handwriting: file loading, ink, MNIST format, and every bad input."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, features
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


def _write_bad_file(path: Path, kind: str) -> None:
    """Write one kind of file that cannot be read as digits (or nothing, for "missing")."""
    if kind == "not an image":
        path.write_text("a shopping list, not a picture\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        whole = drawn_digits(path.with_name("whole.png"))
        path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    elif kind == "tiny":
        Image.new("L", (1, 1), 0).save(path)
    elif kind == "blank":
        Image.new("L", (64, 64), 255).save(path)
    elif kind == "paper texture":
        texture = np.random.default_rng(0).normal(225, 3, size=(80, 80))
        Image.fromarray(texture.clip(0, 255).astype(np.uint8)).save(path)
    elif kind == "specks":
        image = Image.new("L", (80, 80), 255)
        image.putpixel((40, 40), 0)
        image.save(path)
    elif kind == "animated":
        frame = Image.open(drawn_digits(path.with_name("frame.png")))
        frame.save(path, format="GIF", save_all=True, append_images=[frame.rotate(180)])
    elif kind == "float with NaN":
        Image.fromarray(np.full((40, 40), np.nan, np.float32)).save(path, format="TIFF")
    elif kind == "too large":
        write_png(path, 20000, 10000, whole=False)


@pytest.mark.parametrize(
    "kind",
    [
        "missing", "not an image", "empty", "truncated", "tiny", "blank", "paper texture", "specks",
        "animated", "float with NaN", "too large",
    ],
)
@pytest.mark.parametrize("reader", ["prepare_digits", "prepare_digit"])
def test_every_error_about_a_file_starts_with_its_path(tmp_path: Path, kind: str, reader: str) -> None:
    path = tmp_path / "digit.png"
    _write_bad_file(path, kind)
    with pytest.raises((ValueError, FileNotFoundError)) as raised:
        getattr(handwriting, reader)(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: "), message
    # The path is named once, not once per layer that passed the error on.
    assert message.count(str(path)) == 1, message


def test_errors_about_arrays_name_no_file() -> None:
    with pytest.raises(ValueError) as raised:
        handwriting.prepare_digits(np.ones((40, 40), np.float32))
    assert str(raised.value).startswith("the image is one flat shade") or str(raised.value).startswith("the image has no ink")


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
    # Written close together, the digits touch and become one component.
    assert handwriting.prepare_digits(handwriting.draw_digits("47", seed=1)).shape[0] == 2
    touching = handwriting.draw_digits("47", spacing=0.5, seed=1)
    assert handwriting.prepare_digits(touching).shape[0] == 1
    with pytest.raises(ValueError, match="spacing"):
        handwriting.draw_digits("47", spacing=0)
    with pytest.raises(ValueError, match=".png or .jpg"):
        handwriting.save_grayscale(drawn, tmp_path / "digits.gif")
    assert not (tmp_path / "digits.gif").exists()


# --- Huge photos, animations and float images ------------------------------------------

MiB = 2**20

# Reads one image file in a fresh interpreter and prints what came of it, then the peak
# memory after the imports and at the end (ru_maxrss: KiB on Linux, bytes on macOS).
PEAK_MEMORY_SCRIPT = """
import resource, sys
from mnist_helpers import handwriting
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
imported = peak()
try:
    print(handwriting.load_grayscale(sys.argv[1]).shape, len(handwriting.prepare_digits(sys.argv[1])))
except ValueError as error:
    print(error)
print(imported, peak())
"""

# Linux keeps a process's peak memory across exec, and a child started by vfork (as
# subprocess does) starts from its parent's peak: pytest's, after a 200 MB fixture. So the
# script runs as the child of a small Python process, whose own peak is a few MB.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"


def peak_memory(path: Path) -> tuple[str, int, int]:
    """Read ``path`` with ``load_grayscale`` and ``prepare_digits`` in a fresh interpreter.

    Returns what it printed (shape and digit count, or the error), the peak memory in
    bytes after the imports, and the peak at the end.
    """
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, sys.executable, "-c", PEAK_MEMORY_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    output, peaks = result.stdout.strip().rsplit("\n", 1)
    imported, peak = map(int, peaks.split())
    assert imported < 200 * MiB, f"the peak after the imports, {imported / MiB:.0f} MiB, is not the script's own"
    return output, imported, peak


def write_png(path: Path, width: int, height: int, *, whole: bool = True) -> Path:
    """A grey PNG of any size, written a row at a time (little memory, no pixels held).

    With ``whole=False`` only the header is right: the pixel data stops after one row,
    so a reader that decodes the image fails as on a truncated file.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(1)
    row = b"\x00" + b"\xc8" * width  # Filter "none", then grey level 200.
    pixels = b"".join(compressor.compress(row) for _ in range(height if whole else 1)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey.
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return path


def progressive_jpeg_header(path: Path, width: int, height: int) -> Path:
    """A small progressive JPEG whose header is changed to say ``width`` x ``height``.

    Only the header is right, so a reader that decodes it fails as on a damaged file.
    """
    Image.new("L", (16, 16), 200).save(path, progressive=True)
    data = bytearray(path.read_bytes())
    start = data.index(b"\xff\xc2")  # SOF2: marker, length, precision, height, width.
    data[start + 5 : start + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def huge_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200-megapixel JPEG (16000x12500, a phone camera's) of a "1" and a "7" in grey.

    About 0.3 s and 200 MB while it is written; the file is 2.5 MB.
    """
    image = Image.new("L", (16000, 12500), 235)
    draw = ImageDraw.Draw(image)
    draw.line([(3200, 2500), (3200, 10000)], fill=30, width=400)
    draw.line([(8800, 2500), (13600, 2500), (10400, 10000)], fill=30, width=400)
    path = tmp_path_factory.mktemp("huge") / "camera.jpg"
    image.save(path, quality=75)
    return path


def test_a_200_megapixel_jpeg_is_read_reduced_with_little_memory(huge_jpeg: Path) -> None:
    # Pillow itself refuses to open it: the test goes past its decompression-bomb limit.
    assert 16000 * 12500 > 2 * Image.MAX_IMAGE_PIXELS
    with pytest.raises(Image.DecompressionBombError):
        Image.open(huge_jpeg)
    limit_before = Image.MAX_IMAGE_PIXELS
    output, imported, peak = peak_memory(huge_jpeg)
    assert output == "(800, 1024) 2"
    # Decoded at 1/8 (2000x1563), then downscaled: a full decode alone would take 191 MiB.
    assert peak - imported < 100 * MiB and peak < 300 * MiB, f"peak {peak / MiB:.0f} MiB, imports {imported / MiB:.0f} MiB"
    assert Image.MAX_IMAGE_PIXELS == limit_before  # Pillow's limit is left alone.


def test_a_200_megapixel_progressive_jpeg_is_refused_before_decoding(tmp_path: Path) -> None:
    # A progressive JPEG's decoder holds 2 bytes a pixel at any scale (447 MiB for this one).
    path = progressive_jpeg_header(tmp_path / "web.jpg", 16000, 12500)
    output, imported, peak = peak_memory(path)
    assert output.startswith(f"{path}: the image is 16000x12500 pixels (200 megapixels), too large"), output
    assert peak - imported < 40 * MiB, f"peak {peak / MiB:.0f} MiB, imports {imported / MiB:.0f} MiB"


@pytest.mark.parametrize("size", [(12000, 9000), (20000, 10000)], ids=["over our limit", "over Pillow's too"])
def test_a_png_too_large_to_decode_is_refused_before_decoding(tmp_path: Path, size: tuple[int, int]) -> None:
    # Only the header is right: decoding would fail as "damaged or truncated" instead.
    path = write_png(tmp_path / "scan.png", *size, whole=False)
    with pytest.raises(ValueError) as raised:
        handwriting.load_grayscale(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: the image is ") and "resize it below 100 megapixels, or save it as a baseline JPEG" in message
    if size == (12000, 9000):
        assert "12000x9000 pixels (108 megapixels)" in message


def test_a_real_200_megapixel_png_is_refused_with_little_memory(tmp_path: Path) -> None:
    path = write_png(tmp_path / "scan.png", 20000, 10000)
    output, imported, peak = peak_memory(path)
    assert output.startswith(f"{path}: the image is over Pillow's safety limit of 178,956,970 pixels") and "100 megapixels" in output
    assert peak - imported < 40 * MiB, f"peak {peak / MiB:.0f} MiB, imports {imported / MiB:.0f} MiB"


def test_pillows_limit_is_not_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pillow's limit lowered so that small files play the huge ones: 400x200 pixels.
    png = drawn_digits(tmp_path / "digits.png")
    jpeg = drawn_digits(tmp_path / "digits.jpg")
    expected = handwriting.load_grayscale(jpeg)
    # Between Pillow's warning and its error: read, and the warning does not leak.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert handwriting.load_grayscale(png).shape == (200, 400)
    # Past Pillow's error: a JPEG is still read, and the same; another format is refused.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    np.testing.assert_array_equal(handwriting.load_grayscale(jpeg), expected)
    with pytest.raises(ValueError, match="over Pillow's safety limit of 20,000 pixels") as raised:
        handwriting.load_grayscale(png)
    assert str(raised.value).startswith(f"{png}: ")


@pytest.mark.parametrize("image_format", ["GIF", "PNG", "WEBP", "TIFF"])
def test_an_animation_or_multi_page_file_is_refused(tmp_path: Path, image_format: str) -> None:
    if image_format == "WEBP" and not features.check("webp"):
        pytest.skip("this Pillow has no WebP support")
    first = Image.open(drawn_digits(tmp_path / "first.png"))
    path = tmp_path / f"animation.{image_format.lower()}"
    first.save(path, format=image_format, save_all=True, append_images=[first.rotate(180), first])
    assert Image.open(path).n_frames == 3
    with pytest.raises(ValueError) as raised:
        handwriting.prepare_digits(path)
    assert str(raised.value) == (
        f"{path}: the {image_format} file has 3 frames (an animation or several pages); "
        "save the one frame or page you want as its own PNG or JPEG"
    )


def test_a_jpeg_with_extra_pictures_is_read_from_its_photo(tmp_path: Path) -> None:
    # Phones add previews or depth maps to a JPEG (MPO): the first frame is the photo.
    first = Image.open(drawn_digits(tmp_path / "first.png"))
    path = tmp_path / "phone.jpg"
    first.save(path, format="MPO", save_all=True, append_images=[first.resize((100, 50))])
    assert Image.open(path).format == "MPO" and Image.open(path).n_frames == 2
    assert handwriting.prepare_digits(path).shape == (2, 28, 28)


def test_a_float_image_in_0_1_reads_as_its_8_bit_twin(tmp_path: Path) -> None:
    eight_bit = drawn_digits(tmp_path / "digits.png")
    levels = np.asarray(Image.open(eight_bit), dtype=np.float32)
    Image.fromarray(levels / 255).save(tmp_path / "digits.tif")
    assert Image.open(tmp_path / "digits.tif").mode == "F"
    gray = handwriting.load_grayscale(tmp_path / "digits.tif")
    np.testing.assert_array_equal(gray, handwriting.load_grayscale(eight_bit))
    assert handwriting.prepare_digits(tmp_path / "digits.tif").shape == (2, 28, 28)


def test_a_float_image_in_another_range_is_stretched_from_min_to_max(tmp_path: Path) -> None:
    levels = np.asarray(Image.open(drawn_digits(tmp_path / "digits.png")), dtype=np.float32)
    Image.fromarray(levels * 40.0 - 1000.0).save(tmp_path / "digits.tif")  # -1000 to 8400.
    gray = handwriting.load_grayscale(tmp_path / "digits.tif")
    assert gray.min() == 0.0 and gray.max() == 1.0
    assert handwriting.prepare_digits(tmp_path / "digits.tif").shape == (2, 28, 28)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_a_float_image_with_nan_or_infinity_is_refused(tmp_path: Path, bad_value: float) -> None:
    values = np.ones((40, 40), np.float32)
    values[5, 5] = bad_value
    Image.fromarray(values).save(tmp_path / "digits.tif")
    with pytest.raises(ValueError, match="NaN or infinite") as raised:
        handwriting.load_grayscale(tmp_path / "digits.tif")
    assert str(raised.value).startswith(f"{tmp_path / 'digits.tif'}: ")
