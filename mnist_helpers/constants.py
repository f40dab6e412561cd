"""MNIST's constants and the book's split, defined once for every module and chapter.

Example:
    >>> IMAGE_SIDE * IMAGE_SIDE, NUM_CLASSES, TRAIN_IMAGES - VALIDATION_IMAGES
    (784, 10, 55000)
"""

from __future__ import annotations

IMAGE_SIDE = 28
"""Every MNIST image is IMAGE_SIDE x IMAGE_SIDE pixels."""

DIGIT_BOX = 20
"""MNIST size-normalised each digit to fit a DIGIT_BOX x DIGIT_BOX box, keeping its aspect ratio."""

NUM_CLASSES = 10
"""The ten digits 0-9."""

TRAIN_IMAGES = 60_000
TEST_IMAGES = 10_000

VALIDATION_IMAGES = 5_000
"""The book holds out this many training images for validation (chapter 1)."""

SPLIT_SEED = 0
"""The seed of the book's one stratified training/validation split."""
