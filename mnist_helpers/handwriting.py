"""Your own handwriting: turn a photo or scan of digits into MNIST's format.

A model trained on MNIST has only seen white digits on black, cropped, scaled to fit a
20x20 box and centred by their centre of mass in a 28x28 frame. A photo of a digit on
paper is none of that. MNIST started from NIST's binary scans (ink or no ink, nothing
else); steps 2 and 3 turn a photo into something close to such a scan, and step 5 is
what MNIST's makers did to it:

1. read the file as grayscale (huge images are downscaled first; animations, and
   images too large to decode, are refused: see :func:`load_grayscale`);
2. invert when the ink is dark on light paper, so that ink is bright;
3. remove the background with a threshold chosen by Otsu's method, so that the paper is
   exactly 0 (the ink keeps its shades);
4. split into digits by connected components, left to right;
5. crop each to its ink, scale the longer side to 20 pixels and centre it by its centre
   of mass (:func:`mnist_helpers.segmentation.to_mnist_format`).

Every error raised while reading a file starts with the file's path.

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

MAX_DECODED_PIXELS = 100_000_000
"""The most pixels an image may have when it must be decoded at full size (100 megapixels).

A baseline JPEG (what cameras and phones write) of any size is decoded directly at 1/2,
1/4 or 1/8 of its size (libjpeg's scaling), so a 200-megapixel photo costs a few
megabytes. Other images can only be decoded whole: PNG, WebP, TIFF, GIF, ... at up to 4
bytes a pixel, and a progressive JPEG, whose decoder holds 2 bytes a pixel for each
colour channel whatever the scale. Above this they are refused with a message saying
to resize the image or save it as a baseline JPEG. Pillow's own decompression-bomb
limit (``PIL.Image.MAX_IMAGE_PIXELS``) is neither needed nor changed.
"""

_JPEG_SIGNATURE = b"\xff\xd8\xff"

# Formats whose first frame is the whole picture and whose other frames are extras:
# a phone's JPEG with previews or a depth map (MPO), Photoshop's layers (PSD).
_FIRST_FRAME_IS_THE_PICTURE = frozenset({"MPO", "PSD"})


def load_grayscale(path: str | Path, *, max_side: int = MAX_SIDE) -> np.ndarray:
    """Read an image file as grayscale float32 in [0, 1] (0 black, 1 white).

    Any format Pillow reads works (PNG, JPEG, ...). Transparent pixels count as white
    paper, the camera's orientation tag is applied, and an image whose longer side is
    above ``max_side`` is downscaled so that it is not, keeping the aspect ratio.

    A baseline JPEG of any size is decoded directly at a reduced size; other images
    must have at most :data:`MAX_DECODED_PIXELS` pixels. Animations and multi-page
    files are refused rather than read from their first frame. Float images (mode "F",
    e.g. a 32-bit TIFF) with values in [0, 1] are read as they are; other float ranges
    are stretched from their minimum (black) to their maximum (white).

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
            # Pillow warns about very large images (a decompression bomb check); the size
            # is checked below, against what will actually be decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with _open_image(path) as image:
                _refuse_several_frames(path, image)
                full_size = image.size
                image.draft("L", (max_side, max_side))  # JPEG decodes at a reduced size directly.
                # A progressive JPEG's decoder holds the whole image, whatever the scale.
                _refuse_too_many_pixels(path, full_size if image.info.get("progressive") else image.size)
                image = ImageOps.exif_transpose(image)
                image.load()
                gray = _to_gray(path, image)
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file that Pillow can read (use PNG or JPEG)") from None
    except Image.DecompressionBombError:
        # Pillow refuses the file before its size can be read (not a JPEG), or while
        # reading one of its frames or tiles.
        pillow_limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise ValueError(_too_large_message(path, f"over Pillow's safety limit of {pillow_limit:,} pixels")) from None
    except (OSError, SyntaxError) as error:
        raise ValueError(f"{path}: the image is damaged or truncated ({error})") from None
    if min(gray.size) < MIN_SIDE:
        raise ValueError(f"{path}: the image is {gray.size[0]}x{gray.size[1]} pixels; a digit needs at least {MIN_SIDE}x{MIN_SIDE}")
    if max(gray.size) > max_side:
        gray.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(gray, dtype=np.float32) / np.float32(255.0)


def _open_image(path: Path) -> Image.Image:
    """``Image.open``, which reads only the header, but also for a JPEG over Pillow's limit.

    Pillow refuses to open an image above twice ``Image.MAX_IMAGE_PIXELS`` (about 179
    megapixels), whatever will be decoded. A JPEG is opened anyway, with Pillow's JPEG
    class, since a baseline one is decoded at a reduced size (and a progressive one is
    refused by its size before decoding); other formats keep Pillow's error.
    """
    try:
        return Image.open(path)
    except Image.DecompressionBombError:
        with path.open("rb") as stream:
            if stream.read(len(_JPEG_SIGNATURE)) != _JPEG_SIGNATURE:
                raise
        from PIL import JpegImagePlugin

        return JpegImagePlugin.JpegImageFile(path)


def _refuse_several_frames(path: Path, image: Image.Image) -> None:
    """Refuse an animation or a multi-page file, rather than read its first frame unasked."""
    frames = getattr(image, "n_frames", 1)
    if frames > 1 and image.format not in _FIRST_FRAME_IS_THE_PICTURE:
        raise ValueError(
            f"{path}: the {image.format} file has {frames} frames (an animation or several "
            "pages); save the one frame or page you want as its own PNG or JPEG"
        )


def _refuse_too_many_pixels(path: Path, size: tuple[int, int]) -> None:
    """Refuse an image whose decoding would hold more than ``MAX_DECODED_PIXELS`` pixels."""
    width, height = size
    if width * height > MAX_DECODED_PIXELS:
        raise ValueError(_too_large_message(path, f"{width}x{height} pixels ({width * height / 1e6:.0f} megapixels)"))


def _too_large_message(path: Path, size: str) -> str:
    """The message for an image too large to decode whole.

    Example:
        >>> _too_large_message(Path("scan.png"), "20000x10000 pixels")[:52]
        'scan.png: the image is 20000x10000 pixels, too large'
    """
    limit = MAX_DECODED_PIXELS // 1_000_000
    return (
        f"{path}: the image is {size}, too large to decode whole (the limit is {limit} "
        f"megapixels, except for a baseline JPEG, which is read reduced); resize it below "
        f"{limit} megapixels, or save it as a baseline JPEG"
    )


def _to_gray(path: Path, image: Image.Image) -> Image.Image:
    """An 8-bit grayscale ("L") copy of a loaded image; ``path`` is for error messages."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = array.max() or 1.0
        return Image.fromarray(np.round(array / top * 255).astype(np.uint8))
    if image.mode == "F":
        try:
            return Image.fromarray(_float_levels(np.asarray(image)))
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("L")
    return image.convert("L")


def _float_levels(values: np.ndarray) -> np.ndarray:
    """8-bit gray levels (uint8) of a float image: [0, 1] as it is, else min to max.

    Pillow's own conversion would read floats as levels 0-255, so an image in [0, 1]
    would come out black.

    Example:
        >>> _float_levels(np.array([[0.0, 0.5, 1.0]], np.float32))
        array([[  0, 128, 255]], dtype=uint8)
        >>> _float_levels(np.array([[-2.0, 0.0, 2.0]], np.float32))
        array([[  0, 128, 255]], dtype=uint8)
    """
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError(
            "the float image has NaN or infinite pixels; replace them "
            "(or save the image as an 8-bit PNG) and try again"
        )
    low, high = float(values.min()), float(values.max())
    if not (low >= 0.0 and high <= 1.0):
        values = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return np.round(values * 255).astype(np.uint8)


def otsu_threshold(gray: np.ndarray, *, bins: int = 256) -> float:
    """The threshold that best splits the pixel values into two classes (Otsu, 1979).

    For each candidate threshold t, the pixels at or below t form class 0 (a fraction
    w0 of them, mean m0) and the others class 1 (w1, m1). Otsu's threshold maximizes
    the variance between the classes, w0 * w1 * (m0 - m1) ** 2, which is the same as
    minimizing the spread within each. Here the weights are pixel counts rather than
    fractions: that scales every candidate's score alike, so the best t is the same.
    ``skimage.filters.threshold_otsu`` computes the same; it is written out here so
    that the book does not need scikit-image.

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
        raise ValueError(
            "the image is one flat shade: there is no ink to separate from the paper"
        )
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    # Class 0 holds the bins up to each candidate threshold, class 1 the rest.
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centres)
    mean_low = sum_low / np.maximum(weight_low, 1)
    mean_high = (sum_low[-1] - sum_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    if bins == 1:
        return (low + high) / 2
    # The last candidate puts every pixel in class 0, so it is left out.
    return float(edges[1:][np.argmax(between[:-1])])


def to_ink(
    gray: np.ndarray, *, invert: bool | None = None, min_contrast: float = 0.15
) -> np.ndarray:
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
        raise ValueError(
            f"expected a grayscale image of shape (height, width); got {gray.shape}"
        )
    if gray.size == 0:
        raise ValueError("the image has no pixels")
    if invert is None:
        # The border is mostly paper: light paper means dark ink, so invert.
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        invert = float(np.median(border)) > 0.5
    ink = 1.0 - gray if invert else gray
    contrast = float(ink.max() - np.median(ink))
    if contrast < min_contrast:
        raise ValueError(
            "the image has no ink: nothing stands out from the paper "
            f"(contrast {contrast:.2f}, needs {min_contrast}). Is it blank, or too faint?"
        )
    # Pixels on the paper's side of Otsu's threshold become exactly 0; the ink keeps
    # its shades, measured from the paper's level and stretched to [0, 1].
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
    """Read a file or grayscale array, turn it into ink and find its digits (at least one).

    Errors about a file start with its path, as ``load_grayscale``'s do.
    """
    if not isinstance(source, (str, Path)):
        return _digits_in(_check_gray(source), invert=invert, **component_options)
    gray = load_grayscale(source, max_side=max_side)
    try:
        return _digits_in(gray, invert=invert, **component_options)
    except ValueError as error:
        raise ValueError(f"{Path(source)}: {error}") from None


def _digits_in(
    gray: np.ndarray, *, invert: bool | None, **component_options
) -> tuple[list[segmentation.Component], tuple[int, int]]:
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
    spacing: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Draw digits with pen strokes, as a person writes them: grayscale in [0, 1].

    Each digit in ``text`` (from 1, 2, 4, 5 and 7) is a few polylines, wobbled a little at
    random and slanted by ``slant``, drawn with a round pen on paper. ``spacing`` below 1
    writes the digits closer together, until they touch. Use it to try the
    preprocessing without a camera.

    Example:
        >>> draw_digits("147").shape
        (240, 624)
    """
    unknown = sorted(set(text) - set(_STROKES))
    if not text or unknown:
        raise ValueError(f"text must be made of the digits {''.join(sorted(_STROKES))}; got {text!r}")
    if not 0 < spacing <= 2:
        raise ValueError(f"spacing must be in (0, 2]; got {spacing}")
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    cell = int(height * 0.7)
    step = int(round(cell * spacing))
    width = step * (len(text) - 1) + cell + height // 2
    paper, ink = (238, 25) if dark_on_light else (30, 230)
    image = Image.new("L", (width, height), paper)
    draw = ImageDraw.Draw(image)
    top = (height - cell) // 2
    for position, digit in enumerate(text):
        left = height // 4 + position * step
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
