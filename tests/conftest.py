"""Shared fixtures: small synthetic MNIST-like files, built fresh for every test."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from mnist_helpers.data import MNIST_FILES, local_copy, resolve_data_dir, write_idx


def make_images(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(count, 28, 28), dtype=np.uint8)


def make_labels(count: int) -> np.ndarray:
    return (np.arange(count) % 10).astype(np.uint8)


@pytest.fixture
def mnist_dir(tmp_path: Path) -> Path:
    """A directory with the four gzipped IDX files: 30 training and 20 test examples."""
    write_idx(tmp_path / MNIST_FILES["train_images"].name, make_images(30, seed=1))
    write_idx(tmp_path / MNIST_FILES["train_labels"].name, make_labels(30))
    write_idx(tmp_path / MNIST_FILES["test_images"].name, make_images(20, seed=2))
    write_idx(tmp_path / MNIST_FILES["test_labels"].name, make_labels(20))
    return tmp_path


def gzip_bytes(path: Path, payload: bytes) -> Path:
    with gzip.open(path, "wb") as stream:
        stream.write(payload)
    return path


def real_mnist_available() -> bool:
    """True when the loader's data directory holds the four real MNIST files."""
    return all(local_copy(resolve_data_dir(), file) for file in MNIST_FILES.values())


needs_real_mnist = pytest.mark.skipif(
    not real_mnist_available(), reason="needs the four MNIST files in $MNIST_DATA_DIR or data/"
)
