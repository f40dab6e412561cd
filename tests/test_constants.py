"""MNIST's constants and the book's split agree with the data and with the functions that use them."""

from __future__ import annotations

import inspect

import numpy as np

from mnist_helpers import constants
from mnist_helpers.data import MNIST_FINGERPRINTS
from mnist_helpers.preprocess import train_validation_split


def test_the_split_sizes_add_up_to_mnist() -> None:
    assert constants.TRAIN_IMAGES == MNIST_FINGERPRINTS["train"].count == sum(MNIST_FINGERPRINTS["train"].label_counts)
    assert constants.TEST_IMAGES == MNIST_FINGERPRINTS["test"].count == sum(MNIST_FINGERPRINTS["test"].label_counts)
    assert constants.NUM_CLASSES == len(MNIST_FINGERPRINTS["train"].label_counts) == 10
    assert 0 < constants.VALIDATION_IMAGES < constants.TRAIN_IMAGES
    assert constants.TRAIN_IMAGES - constants.VALIDATION_IMAGES == 55_000
    assert constants.DIGIT_BOX < constants.IMAGE_SIDE == 28


def test_the_split_defaults_are_the_constants() -> None:
    parameters = inspect.signature(train_validation_split).parameters
    assert parameters["validation_size"].default == constants.VALIDATION_IMAGES
    assert parameters["seed"].default == constants.SPLIT_SEED


def test_the_default_split_of_a_training_set_of_mnist_size() -> None:
    # Labels in MNIST's class proportions; the images are blank, only the counts matter.
    labels = np.repeat(np.arange(10), MNIST_FINGERPRINTS["train"].label_counts).astype(np.uint8)
    images = np.zeros((constants.TRAIN_IMAGES, constants.IMAGE_SIDE, constants.IMAGE_SIDE), np.uint8)
    (x_train, y_train), (x_val, y_val) = train_validation_split(images, labels)
    assert len(x_train) == len(y_train) == constants.TRAIN_IMAGES - constants.VALIDATION_IMAGES
    assert len(x_val) == len(y_val) == constants.VALIDATION_IMAGES
    np.testing.assert_array_equal(np.bincount(y_train) + np.bincount(y_val), MNIST_FINGERPRINTS["train"].label_counts)
