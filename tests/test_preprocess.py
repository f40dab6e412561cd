"""Preprocessing into the three shapes, the validation split, and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_images, make_labels
from mnist_helpers.preprocess import to_flat, to_images, to_sequences, train_validation_split


@pytest.mark.parametrize(
    ("convert", "shape"), [(to_flat, (5, 784)), (to_images, (5, 28, 28, 1)), (to_sequences, (5, 28, 28))]
)
def test_shapes_dtype_and_range(convert, shape) -> None:
    images = make_images(5)
    converted = convert(images)
    assert converted.shape == shape and converted.dtype == np.float32
    assert converted.min() >= 0.0 and converted.max() <= 1.0
    np.testing.assert_allclose(converted.reshape(5, 28, 28), images / 255.0, rtol=1e-6)


def test_sequences_are_rows_as_time_steps() -> None:
    images = make_images(1)
    np.testing.assert_allclose(to_sequences(images)[0, 3], images[0, 3] / 255.0, rtol=1e-6)


def test_rejects_already_scaled_images() -> None:
    with pytest.raises(ValueError, match="Were they scaled already"):
        to_flat(make_images(2).astype(np.float32) / 255)


@pytest.mark.parametrize("shape", [(2, 784), (2, 28, 28, 1), (2, 32, 32)])
def test_rejects_wrong_shapes(shape) -> None:
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 28, 28\)"):
        to_images(np.zeros(shape, np.uint8))


def test_split_is_stratified_disjoint_and_seeded() -> None:
    images, labels = make_images(200), make_labels(200)
    (x_train, y_train), (x_val, y_val) = train_validation_split(images, labels, validation_size=50, seed=3)
    assert len(x_train) == 150 and len(x_val) == 50
    assert np.bincount(y_val).tolist() == [5] * 10
    train_rows = {image.tobytes() for image in x_train}
    assert not any(image.tobytes() in train_rows for image in x_val)
    (_, _), (x_val_again, _) = train_validation_split(images, labels, validation_size=50, seed=3)
    np.testing.assert_array_equal(x_val, x_val_again)


@pytest.mark.parametrize("size", [0, 200, 1.5, -0.1])
def test_split_rejects_bad_sizes(size) -> None:
    with pytest.raises(ValueError, match="validation_size"):
        train_validation_split(make_images(200), make_labels(200), validation_size=size)


def test_split_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        train_validation_split(make_images(10), make_labels(9))


def test_to_strips_scales_and_checks() -> None:
    from mnist_helpers import preprocess

    strips = preprocess.to_strips(np.full((2, 28, 140), 255, np.uint8))
    assert strips.shape == (2, 28, 140, 1) and strips.dtype == np.float32 and strips.max() == 1.0
    with pytest.raises(ValueError, match="width of at least 28"):
        preprocess.to_strips(np.zeros((2, 20, 140), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        preprocess.to_strips(np.zeros((2, 28, 140), np.float32))
