"""Split an image of handwriting into digits and put each one into MNIST's format.

MNIST's digits were made by cropping each digit to the box around its ink, scaling it
so that the longer side is 20 pixels (keeping the aspect ratio, with anti-aliasing), and
placing it in a 28x28 frame so that its centre of mass is at the centre. A model trained
on MNIST expects exactly that, so any other digit has to go through the same steps.

Images here are "ink" images: white (high values) on black (zero), as in MNIST. To turn
a photo or scan into one, see :mod:`mnist_helpers.handwriting`.

Example:
    >>> ink = np.zeros((60, 200)); ink[10:50, 20:40] = 1.0; ink[10:50, 100:130] = 1.0
    >>> [digit.shape for digit in split_digits(ink)]
    [(28, 28), (28, 28)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from mnist_helpers.constants import DIGIT_BOX as MNIST_BOX
from mnist_helpers.constants import IMAGE_SIDE as MNIST_SIZE


def _check_ink(ink: np.ndarray) -> np.ndarray:
    ink = np.asarray(ink)
    if ink.ndim != 2:
        raise ValueError(f"expected one grayscale image of shape (height, width); got shape {ink.shape}")
    if ink.size == 0:
        raise ValueError("the image is empty (it has no pixels)")
    if not np.issubdtype(ink.dtype, np.number) or np.issubdtype(ink.dtype, np.complexfloating):
        raise ValueError(f"expected a numeric image; got dtype {ink.dtype}")
    ink = ink.astype(np.float32)
    if not np.isfinite(ink).all() or ink.min() < 0:
        raise ValueError("ink values must be finite and non-negative (white ink on a black, zero background)")
    return ink


def to_mnist_format(
    ink: np.ndarray,
    *,
    box: int = MNIST_BOX,
    size: int = MNIST_SIZE,
    centre_by: str = "mass",
) -> np.ndarray:
    """Turn one digit's ink image into a ``size`` x ``size`` uint8 image the way MNIST did.

    Crop to the ink's bounding box, scale the longer side to ``box`` pixels keeping the
    aspect ratio (Lanczos resampling, which anti-aliases), scale the brightest pixel to
    255, and place it so its centre of mass is at the centre of the frame
    (``centre_by="mass"``, as MNIST did) or its box is (``centre_by="box"``). The
    centre of mass is the ink-weighted mean position, (sum of x * ink) / (sum of ink)
    and the same for y; the shift is rounded to whole pixels.

    Example:
        >>> digit = np.zeros((100, 40)); digit[10:90, 5:35] = 1.0
        >>> out = to_mnist_format(digit)
        >>> out.shape, out.dtype, int((out.max(axis=1) > 0).sum())
        ((28, 28), dtype('uint8'), 20)
    """
    ink = _check_ink(ink)
    if not 1 <= box <= size:
        raise ValueError(f"box must be between 1 and size ({size}); got {box}")
    if centre_by not in ("mass", "box"):
        raise ValueError(f"centre_by is 'mass' or 'box'; got {centre_by!r}")
    # Crop to the rows and columns that hold ink.
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    columns = np.flatnonzero(ink.max(axis=0) > 0)
    if rows.size == 0:
        raise ValueError("the image has no ink: every pixel is background")
    cropped = ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    # Scale the longer side to `box` pixels, keeping the aspect ratio.
    height, width = cropped.shape
    scale = box / max(height, width)
    new_height, new_width = max(1, round(height * scale)), max(1, round(width * scale))
    resized = Image.fromarray(cropped).resize(
        (new_width, new_height), Image.Resampling.LANCZOS
    )
    resized = np.clip(np.asarray(resized), 0, None)
    if resized.max() <= 0:
        resized = np.ones_like(resized)
    resized = resized / resized.max()
    # Put the box in the middle of the frame.
    frame = np.zeros((size, size), dtype=np.float32)
    top, left = (size - new_height) // 2, (size - new_width) // 2
    frame[top : top + new_height, left : left + new_width] = resized
    if centre_by == "box":
        return np.round(frame * 255).astype(np.uint8)
    # Shift the centre of mass to the frame's centre, (size - 1) / 2 in pixel indices.
    centre_row, centre_column = ndimage.center_of_mass(frame)
    shift_rows = int(round((size - 1) / 2 - centre_row))
    shift_columns = int(round((size - 1) / 2 - centre_column))
    # Keep the whole digit in the frame: shift no further than its margins allow.
    shift_rows = int(np.clip(shift_rows, -top, size - top - new_height))
    shift_columns = int(np.clip(shift_columns, -left, size - left - new_width))
    frame = np.roll(frame, (shift_rows, shift_columns), axis=(0, 1))
    return np.round(frame * 255).astype(np.uint8)


@dataclass(frozen=True)
class Component:
    """One digit found in an image: its columns and rows, and its ink alone."""

    left: int
    right: int
    top: int
    bottom: int
    ink: np.ndarray


def find_components(
    ink: np.ndarray, *, min_pixels: int = 10, min_height_fraction: float = 0.25, merge_overlap: float = 0.5
) -> list[Component]:
    """Find the digits in an ink image by connected components, left to right.

    Pixels touch when they share an edge or a corner. Specks smaller than
    ``min_pixels`` pixels or lower than ``min_height_fraction`` of the tallest
    component are dropped as noise. Components whose columns overlap by more than
    ``merge_overlap`` of the narrower one are merged (a "5" whose top stroke is not
    joined, a broken "4"). Touching digits stay one component: that is where this
    classical method fails.

    Example:
        >>> ink = np.zeros((28, 80)); ink[5:20, 5:10] = 1; ink[5:20, 50:60] = 1
        >>> [(c.left, c.right) for c in find_components(ink)]
        [(5, 10), (50, 60)]
    """
    ink = _check_ink(ink)
    if min_pixels < 1:
        raise ValueError(f"min_pixels must be at least 1; got {min_pixels}")
    labelled, count = ndimage.label(ink > 0, structure=np.ones((3, 3)))
    boxes = ndimage.find_objects(labelled)
    sizes = ndimage.sum_labels(np.ones_like(ink), labelled, index=np.arange(1, count + 1)) if count else np.array([])
    kept = [(index + 1, box) for index, box in enumerate(boxes) if sizes[index] >= min_pixels]
    if kept:
        tallest = max(box[0].stop - box[0].start for _, box in kept)
        kept = [(label, box) for label, box in kept if box[0].stop - box[0].start >= min_height_fraction * tallest]
    kept.sort(key=lambda item: item[1][1].start)
    groups: list[list[tuple[int, tuple[slice, slice]]]] = []
    for label, box in kept:
        if groups:
            left = min(b[1].start for _, b in groups[-1])
            right = max(b[1].stop for _, b in groups[-1])
            overlap = min(right, box[1].stop) - max(left, box[1].start)
            narrower = min(right - left, box[1].stop - box[1].start)
            if overlap > merge_overlap * narrower:
                groups[-1].append((label, box))
                continue
        groups.append([(label, box)])
    components = []
    for group in groups:
        labels = [label for label, _ in group]
        top = min(box[0].start for _, box in group)
        bottom = max(box[0].stop for _, box in group)
        left = min(box[1].start for _, box in group)
        right = max(box[1].stop for _, box in group)
        mask = np.isin(labelled[top:bottom, left:right], labels)
        components.append(Component(left=left, right=right, top=top, bottom=bottom, ink=np.where(mask, ink[top:bottom, left:right], 0)))
    return components


def join_components(components: list[Component], shape: tuple[int, int]) -> np.ndarray:
    """Paint components back onto an empty ink image of ``shape``: the ink without the specks.

    Example:
        >>> ink = np.zeros((28, 80)); ink[5:20, 5:10] = 1; ink[0, 79] = 1
        >>> int(join_components(find_components(ink), ink.shape).sum())
        75
    """
    joined = np.zeros(shape, dtype=np.float32)
    for component in components:
        region = joined[component.top : component.bottom, component.left : component.right]
        np.maximum(region, component.ink, out=region)
    return joined


def split_digits(ink: np.ndarray, **component_options) -> list[np.ndarray]:
    """Split an ink image into digits, left to right, each in MNIST's 28x28 format.

    Keyword arguments go to :func:`find_components`. An image with no ink gives an
    empty list.

    Example:
        >>> ink = np.zeros((28, 80)); ink[5:20, 5:10] = 1; ink[5:20, 50:60] = 1
        >>> len(split_digits(ink))
        2
    """
    return [to_mnist_format(component.ink) for component in find_components(ink, **component_options)]
