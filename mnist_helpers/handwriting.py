"""Your own handwriting: turn a photo or scan of digits into MNIST's format.

A model trained on MNIST has only seen white digits on black, cropped, scaled to fit a
20x20 box and centred by their centre of mass in a 28x28 frame. A photo of a digit on
paper is none of that, so it goes through the same steps MNIST's makers used:

1. read the file as grayscale (any size; huge images are downscaled first);
2. invert when the ink is dark on light paper, so that ink is bright;
3. remove the background with a threshold chosen by Otsu's method;
4. split into digits by connected components, left to right;
5. crop each to its ink, scale the longer side to 20 pixels and centre it by its centre
   of mass (:func:`mnist_helpers.segmentation.to_mnist_format`).

Example:
    >>> digits = prepare_digits("my_digits.jpg")  # doctest: +SKIP
    >>> digits.shape  # doctest: +SKIP
    (4, 28, 28)
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_helpers import segmentation
from mnist_helpers.constants import IMAGE_SIDE

MAX_SIDE = 1024
"""Images with a longer side are downscaled to this before anything else."""

MIN_SIDE = 8
"""The smallest image side that can hold a recognizable digit."""


def load_grayscale(path: str | Path, *, max_side: int = MAX_SIDE) -> np.ndarray:
    """Read an image file as grayscale float32 in [0, 1] (0 black, 1 white).

    Any format Pillow reads works (PNG, JPEG, ...). Transparent pixels count as white
    paper, the camera's orientation tag is applied, and an image whose longer side is
    above ``max_side`` is downscaled so that it is not, keeping the aspect ratio.

    Example:
        >>> gray = load_grayscale("digit.png")  # doctest: +SKIP
        >>> gray.dtype, float(gray.min()) >= 0.0  # doctest: +SKIP
        (dtype('float32'), True)
    """
    path = Path(path)
    if max_side < MIN_SIDE:
        raise ValueError(f"max_side must be at least {MIN_SIDE}; got {max_side}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes); save the image again")
    try:
        with warnings.catch_warnings():
            # Pillow warns about very large images (a decompression bomb check); they are
            # downscaled below, so the warning is not needed.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.draft("L", (max_side, max_side))  # JPEG decodes at a reduced size directly.
                image = ImageOps.exif_transpose(image)
                image.load()
                gray = _to_gray(image)
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file that Pillow can read (use PNG or JPEG)") from None
    except (OSError, SyntaxError) as error:
        raise ValueError(f"{path}: the image is damaged or truncated ({error})") from None
    if min(gray.size) < MIN_SIDE:
        raise ValueError(f"{path}: the image is {gray.size[0]}x{gray.size[1]} pixels; a digit needs at least {MIN_SIDE}x{MIN_SIDE}")
    if max(gray.size) > max_side:
        gray.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(gray, dtype=np.float32) / np.float32(255.0)


def _to_gray(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = array.max() or 1.0
        return Image.fromarray(np.round(array / top * 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("L")
    return image.convert("L")


def otsu_threshold(gray: np.ndarray, *, bins: int = 256) -> float:
    """The threshold that best splits the pixel values into two classes (Otsu, 1979).

    It maximizes the variance between the two classes' means, which is the same as
    minimizing the spread within each. ``skimage.filters.threshold_otsu`` computes the
    same; it is written out here so that the book does not need scikit-image.

    Example:
        >>> gray = np.array([0.1] * 50 + [0.9] * 50)
        >>> 0.1 <= otsu_threshold(gray) < 0.9
        True
    """
    values = np.asarray(gray, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("the image has no pixels")
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-6:
        raise ValueError("the image is one flat shade: there is no ink to separate from the paper")
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centres)
    mean_low = sum_low / np.maximum(weight_low, 1)
    mean_high = (sum_low[-1] - sum_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[1:][np.argmax(between[:-1])]) if bins > 1 else (low + high) / 2


def to_ink(gray: np.ndarray, *, invert: bool | None = None, min_contrast: float = 0.15) -> np.ndarray:
    """Turn a grayscale image into MNIST's ink: bright digits on a black background.

    ``invert=None`` decides by the paper: the most common shade, read from the image's
    border, is the background; if it is light, the image is inverted. Then every pixel
    on the paper's side of Otsu's threshold becomes 0, and the ink is stretched to
    [0, 1]. An image whose ink and paper differ by less than ``min_contrast`` is
    rejected as having no ink.

    Example:
        >>> paper = np.ones((40, 40), np.float32); paper[10:30, 18:22] = 0.1  # dark stroke
        >>> ink = to_ink(paper)
        >>> float(ink[20, 20]), float(ink[0, 0])
        (1.0, 0.0)
    """
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2:
        raise ValueError(f"expected a grayscale image of shape (height, width); got {gray.shape}")
    if gray.size == 0:
        raise ValueError("the image has no pixels")
    if invert is None:
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        invert = float(np.median(border)) > 0.5
    ink = 1.0 - gray if invert else gray
    if float(ink.max() - np.median(ink)) < min_contrast:
        raise ValueError(
            "the image has no ink: nothing stands out from the paper "
            f"(contrast {float(ink.max() - np.median(ink)):.2f}, needs {min_contrast}). Is it blank, or too faint?"
        )
    threshold = otsu_threshold(ink)
    paper_level = float(np.median(ink[ink <= threshold]))
    ink = np.where(ink > threshold, ink - paper_level, 0.0)
    return (ink / ink.max()).astype(np.float32)


def prepare_digits(
    source: str | Path | np.ndarray, *, invert: bool | None = None, max_side: int = MAX_SIDE, **component_options
) -> np.ndarray:
    """Read an image file (or a grayscale array in [0, 1]) as MNIST digits, left to right.

    Returns uint8 images of shape (N, 28, 28), one per digit found, ready for
    ``preprocess.to_images`` and a model trained on MNIST. Keyword arguments beyond
    ``invert`` and ``max_side`` go to :func:`mnist_helpers.segmentation.find_components`.

    Example:
        >>> digits = prepare_digits("house_number.jpg")  # doctest: +SKIP
        >>> model.predict(preprocess.to_images(digits)).argmax(axis=1)  # doctest: +SKIP
        array([4, 0, 7])
    """
    components, _ = _find_digits(source, invert=invert, max_side=max_side, **component_options)
    return np.stack([segmentation.to_mnist_format(component.ink) for component in components])


def prepare_digit(
    source: str | Path | np.ndarray, *, invert: bool | None = None, max_side: int = MAX_SIDE, centre_by: str = "mass", **component_options
) -> np.ndarray:
    """Read an image of one digit as a 28x28 uint8 MNIST digit.

    Like :func:`prepare_digits`, but all the ink (without specks) is one digit, so a
    digit drawn with a broken stroke stays whole. ``centre_by`` goes to
    :func:`mnist_helpers.segmentation.to_mnist_format`.

    Example:
        >>> paper = np.ones((60, 60), np.float32); paper[10:50, 28:32] = 0.0
        >>> prepare_digit(paper).shape
        (28, 28)
    """
    components, shape = _find_digits(source, invert=invert, max_side=max_side, **component_options)
    return segmentation.to_mnist_format(segmentation.join_components(components, shape), centre_by=centre_by)


def _find_digits(
    source: str | Path | np.ndarray, *, invert: bool | None, max_side: int, **component_options
) -> tuple[list[segmentation.Component], tuple[int, int]]:
    """Read a file or grayscale array, turn it into ink and find its digits (at least one)."""
    gray = load_grayscale(source, max_side=max_side) if isinstance(source, (str, Path)) else _check_gray(source)
    ink = to_ink(gray, invert=invert)
    components = segmentation.find_components(ink, **component_options)
    if not components:
        raise ValueError("no digit found: the only ink is specks; write larger or darker")
    return components, ink.shape


def _check_gray(gray: np.ndarray) -> np.ndarray:
    gray = np.asarray(gray)
    if gray.ndim != 2:
        raise ValueError(f"expected a grayscale image of shape (height, width); got {gray.shape}")
    if min(gray.shape) < MIN_SIDE:
        raise ValueError(f"the image is {gray.shape[1]}x{gray.shape[0]} pixels; a digit needs at least {MIN_SIDE}x{MIN_SIDE}")
    if not np.issubdtype(gray.dtype, np.floating) or gray.min() < 0 or gray.max() > 1:
        raise ValueError("pass grayscale as floats in [0, 1] (0 black, 1 white), or pass the image file's path")
    return gray.astype(np.float32)


def simulate_photo(
    digit: np.ndarray,
    *,
    size: int = 112,
    scale: float = 3.0,
    dark_on_light: bool = True,
    noise: float = 0.05,
    seed: int = 0,
) -> np.ndarray:
    """Render an MNIST digit as a phone photo of it would look: grayscale in [0, 1].

    The digit is enlarged ``scale`` times, put at a random place on a ``size`` x ``size``
    sheet, drawn dark on light paper (or not), lit unevenly and given Gaussian noise of
    standard deviation ``noise``. Used to measure what each preprocessing step is for.

    Example:
        >>> photo = simulate_photo(np.full((28, 28), 255, np.uint8), seed=1)
        >>> photo.shape, photo.dtype
        ((112, 112), dtype('float32'))
    """
    digit = np.asarray(digit)
    if digit.shape != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"expected one MNIST digit of shape ({IMAGE_SIDE}, {IMAGE_SIDE}); got {digit.shape}")
    enlarged_side = int(round(IMAGE_SIDE * scale))
    if not 28 <= enlarged_side <= size:
        raise ValueError(f"scale must keep the digit between 28 pixels and the sheet's {size}; got scale {scale}")
    rng = np.random.default_rng(seed)
    enlarged = np.asarray(Image.fromarray(digit.astype(np.uint8)).resize((enlarged_side, enlarged_side), Image.Resampling.BICUBIC), dtype=np.float32) / 255
    sheet = np.zeros((size, size), dtype=np.float32)
    top, left = rng.integers(0, size - enlarged_side + 1, size=2)
    sheet[top : top + enlarged_side, left : left + enlarged_side] = np.clip(enlarged, 0, 1)
    lighting = np.linspace(0.0, rng.uniform(0.05, 0.2), size, dtype=np.float32)[None, :]
    photo = 0.85 - 0.7 * sheet - lighting if dark_on_light else 0.1 + 0.7 * sheet + lighting
    photo = photo + rng.normal(0.0, noise, size=photo.shape).astype(np.float32)
    return np.clip(photo, 0.0, 1.0).astype(np.float32)


# Pen strokes of a few digits, as polylines in a unit box (x to the right, y down).
_STROKES = {
    "1": [[(0.35, 0.25), (0.55, 0.05), (0.55, 0.95)]],
    "4": [[(0.6, 0.05), (0.1, 0.65), (0.85, 0.65)], [(0.62, 0.3), (0.62, 0.95)]],
    "7": [[(0.1, 0.08), (0.85, 0.08), (0.4, 0.95)], [(0.3, 0.5), (0.75, 0.5)]],
    "2": [[(0.12, 0.25), (0.3, 0.06), (0.65, 0.05), (0.82, 0.25), (0.75, 0.45), (0.15, 0.93), (0.88, 0.93)]],
    "5": [[(0.8, 0.06), (0.25, 0.06), (0.2, 0.45), (0.6, 0.4), (0.82, 0.6), (0.75, 0.88), (0.45, 0.96), (0.15, 0.85)]],
}


def draw_digits(
    text: str,
    *,
    height: int = 240,
    pen_width: int = 16,
    dark_on_light: bool = True,
    slant: float = 0.15,
    seed: int = 0,
) -> np.ndarray:
    """Draw digits with pen strokes, as a person writes them: grayscale in [0, 1].

    Each digit in ``text`` (from 1, 2, 4, 5 and 7) is a few polylines, wobbled a little at
    random and slanted by ``slant``, drawn with a round pen on paper. Use it to try the
    preprocessing without a camera.

    Example:
        >>> draw_digits("147").shape
        (240, 624)
    """
    unknown = sorted(set(text) - set(_STROKES))
    if not text or unknown:
        raise ValueError(f"text must be made of the digits {''.join(sorted(_STROKES))}; got {text!r}")
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    cell = int(height * 0.7)
    width = cell * len(text) + height // 2
    paper, ink = (238, 25) if dark_on_light else (30, 230)
    image = Image.new("L", (width, height), paper)
    draw = ImageDraw.Draw(image)
    top = (height - cell) // 2
    for position, digit in enumerate(text):
        left = height // 4 + position * cell
        for stroke in _STROKES[digit]:
            points = []
            for x, y in stroke:
                x, y = x + rng.normal(0, 0.02), y + rng.normal(0, 0.02)
                x += slant * (1 - y)
                points.append((left + x * cell * 0.8, top + y * cell))
            draw.line(points, fill=ink, width=pen_width, joint="curve")
            for point in (points[0], points[-1]):
                draw.ellipse([point[0] - pen_width / 2, point[1] - pen_width / 2, point[0] + pen_width / 2, point[1] + pen_width / 2], fill=ink)
    return np.asarray(image, dtype=np.float32) / np.float32(255.0)


def render_text(text: str, *, size: int = 160, angle: float = -6.0, blur: float = 1.5, noise: float = 0.04, seed: int = 0) -> np.ndarray:
    """Render digits in Pillow's built-in font, then rotate, blur and add noise: grayscale in [0, 1].

    A stand-in for a photographed printed number (a house number, a form).

    Example:
        >>> render_text("2026").shape[0] > 100
        True
    """
    if not text.strip():
        raise ValueError("text must contain something to draw")
    from PIL import ImageDraw, ImageFilter, ImageFont

    font = ImageFont.load_default(size=size)
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=font)
    margin = size // 3
    image = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 235)
    ImageDraw.Draw(image).text((margin - left, margin - top), text, font=font, fill=35)
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=235).filter(ImageFilter.GaussianBlur(blur))
    rng = np.random.default_rng(seed)
    gray = np.asarray(image, dtype=np.float32) / 255 + rng.normal(0, noise, size=image.size[::-1]).astype(np.float32)
    return np.clip(gray, 0, 1).astype(np.float32)


def save_grayscale(gray: np.ndarray, path: str | Path, *, quality: int = 80) -> Path:
    """Save a grayscale image in [0, 1] as PNG or JPEG (by the suffix), atomically.

    Example:
        >>> save_grayscale(draw_digits("47"), "digits.png")  # doctest: +SKIP
        PosixPath('digits.png')
    """
    from mnist_helpers.paths import atomic_output

    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"expected one grayscale image (height, width); got shape {gray.shape}")
    path = Path(path)
    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
    if path.suffix.lower() not in formats:
        raise ValueError(f"save as .png or .jpg; got {path.name}")
    image = Image.fromarray(np.round(np.clip(gray, 0, 1) * 255).astype(np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, binary=True, suffix=path.suffix) as stream:
        image.save(stream, format=formats[path.suffix.lower()], quality=quality)
    return path
