"""Turning uint8 MNIST images into the three shapes the book's models read.

* ``to_flat``: (N, 784) float32 in [0, 1], for the multilayer perceptrons;
* ``to_images``: (N, 28, 28, 1) float32 in [0, 1], for convolutional networks;
* ``to_sequences``: (N, 28, 28) float32 in [0, 1], each image read as 28 time steps
  (its rows) of 28 features, for recurrent networks.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from mnist_helpers.constants import IMAGE_SIDE, SPLIT_SEED, VALIDATION_IMAGES


def _scaled(images: np.ndarray, *, any_width: bool = False) -> np.ndarray:
    images = np.asarray(images)
    if any_width:
        if images.ndim != 3 or images.shape[1] != IMAGE_SIDE or images.shape[2] < IMAGE_SIDE:
            raise ValueError(f"expected strips of shape (N, 28, width) with width of at least 28; got {images.shape}")
    elif images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(
            f"expected images of shape (N, 28, 28) as load_mnist returns them; got {images.shape}"
        )
    if images.dtype != np.uint8:
        raise ValueError(
            f"expected uint8 pixels in 0-255 as load_mnist returns them; got dtype {images.dtype}. "
            "Were they scaled already? Pass the raw images."
        )
    return images.astype(np.float32) / np.float32(255.0)


def to_flat(images: np.ndarray) -> np.ndarray:
    """Return (N, 784) float32 pixels in [0, 1], one row per image, for an MLP.

    Example:
        >>> to_flat(np.zeros((2, 28, 28), np.uint8)).shape
        (2, 784)
    """
    return _scaled(images).reshape(-1, IMAGE_SIDE * IMAGE_SIDE)


def to_images(images: np.ndarray) -> np.ndarray:
    """Return (N, 28, 28, 1) float32 pixels in [0, 1]: one grey channel, for a CNN.

    Example:
        >>> to_images(np.zeros((2, 28, 28), np.uint8)).shape
        (2, 28, 28, 1)
    """
    return _scaled(images)[..., np.newaxis]


def to_sequences(images: np.ndarray) -> np.ndarray:
    """Return (N, 28, 28) float32 in [0, 1]: 28 time steps (rows) of 28 features, for an RNN.

    Example:
        >>> to_sequences(np.zeros((2, 28, 28), np.uint8)).shape
        (2, 28, 28)
    """
    return _scaled(images)


def train_validation_split(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    validation_size: int | float = VALIDATION_IMAGES,
    seed: int = SPLIT_SEED,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split training data into training and validation sets, stratified by label.

    ``validation_size`` is a count, or a fraction of the data. The split is random
    (seeded) rather than "the last 10%", so it does not depend on the order of the file.
    The defaults give the book's one split, used by every chapter: 55,000 images to train
    on and 5,000 to validate on.

    Example:
        >>> x = np.zeros((100, 28, 28), np.uint8); y = np.arange(100) % 10
        >>> (x_train, y_train), (x_val, y_val) = train_validation_split(x, y, validation_size=20)
        >>> len(x_train), len(x_val)
        (80, 20)
    """
    if len(images) != len(labels):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels")
    if isinstance(validation_size, float) and not 0.0 < validation_size < 1.0:
        raise ValueError(f"a fractional validation_size must be between 0 and 1; got {validation_size}")
    if isinstance(validation_size, int) and not 0 < validation_size < len(images):
        raise ValueError(
            f"validation_size must be between 1 and {len(images) - 1} images; got {validation_size}"
        )
    x_train, x_validation, y_train, y_validation = train_test_split(
        images, labels, test_size=validation_size, random_state=seed, stratify=labels
    )
    return (x_train, y_train), (x_validation, y_validation)


def to_strips(images: np.ndarray) -> np.ndarray:
    """Return (N, 28, width, 1) float32 pixels in [0, 1] for images of several digits side by side.

    Example:
        >>> to_strips(np.zeros((2, 28, 140), np.uint8)).shape
        (2, 28, 140, 1)
    """
    return _scaled(images, any_width=True)[..., np.newaxis]
