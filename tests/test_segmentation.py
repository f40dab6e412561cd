"""Segmentation: ink to an MNIST-format digit, and a line of digits split into components.

More segmentation is exercised through handwriting.prepare_digits in test_handwriting.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from mnist_helpers import segmentation


def test_to_mnist_format_crops_scales_and_centres() -> None:
    ink = np.zeros((300, 120), np.float32)
    ink[50:250, 20:100] = 1.0  # 200 x 80: the longer side becomes 20 pixels, the other 8.
    digit = segmentation.to_mnist_format(ink)
    rows = np.flatnonzero(digit.max(axis=1))
    columns = np.flatnonzero(digit.max(axis=0))
    assert digit.dtype == np.uint8 and digit.max() == 255
    assert len(rows) == 20 and len(columns) == 8
    from scipy import ndimage

    centre = ndimage.center_of_mass(digit.astype(float))
    assert abs(centre[0] - 13.5) <= 0.5 and abs(centre[1] - 13.5) <= 0.5


def test_to_mnist_format_keeps_an_off_centre_mass_inside_the_frame() -> None:
    ink = np.zeros((40, 40), np.float32)
    ink[0:40, 0:3] = 1.0
    ink[0:3, 0:40] = 1.0  # An "L" rotated: mass in one corner.
    digit = segmentation.to_mnist_format(ink)
    # The centre of mass cannot reach the middle without pushing ink out of the frame,
    # so the shift stops at the edge: nothing is cut off or wrapped round.
    rows = np.flatnonzero(digit.max(axis=1))
    columns = np.flatnonzero(digit.max(axis=0))
    assert rows[-1] - rows[0] == 19 and columns[-1] - columns[0] == 19


def test_to_mnist_format_rejects_an_image_without_ink() -> None:
    with pytest.raises(ValueError, match="no ink"):
        segmentation.to_mnist_format(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="grayscale"):
        segmentation.to_mnist_format(np.zeros((28, 28, 3)))
    with pytest.raises(ValueError, match="empty"):
        segmentation.to_mnist_format(np.zeros((0, 5)))


def test_components_are_found_left_to_right_and_noise_is_dropped() -> None:
    ink = np.zeros((40, 200), np.float32)
    ink[5:35, 150:160] = 1  # Right digit first in memory order.
    ink[5:35, 20:30] = 1
    ink[5:35, 80:84] = 1
    ink[2:6, 84:100] = 1  # A stroke touching the middle digit: same component.
    ink[38, 120] = 1  # A speck.
    ink[0:3, 60:63] = 1  # A dot lower than a quarter of the tallest digit.
    components = segmentation.find_components(ink)
    assert [(c.left, c.right) for c in components] == [(20, 30), (80, 100), (150, 160)]
    assert len(segmentation.split_digits(ink)) == 3


def test_components_over_the_same_columns_are_merged() -> None:
    ink = np.zeros((40, 60), np.float32)
    ink[15:35, 10:30] = 1
    ink[3:8, 12:28] = 1  # A detached top stroke, as in a "5".
    components = segmentation.find_components(ink)
    assert len(components) == 1 and (components[0].top, components[0].bottom) == (3, 35)


def test_split_digits_of_a_blank_image_is_empty() -> None:
    assert segmentation.split_digits(np.zeros((28, 140))) == []
