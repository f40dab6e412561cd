"""Data augmentation for digits: Keras preprocessing layers and elastic distortions.

Everything here is a Keras layer, so augmentation runs on the model side: it is active
while the model trains and does nothing at inference, and it is seeded like the rest of
Keras (``keras.utils.set_random_seed``).
"""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np
from keras import layers


def gaussian_kernel(sigma: float, *, truncate: float = 3.0) -> np.ndarray:
    """A normalised 1-D Gaussian kernel, cut off at ``truncate`` standard deviations.

    Example:
        >>> kernel = gaussian_kernel(1.0)
        >>> kernel.shape, round(float(kernel.sum()), 6)
        ((7,), 1.0)
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    if truncate <= 0:
        raise ValueError(f"truncate must be positive; got {truncate}")
    radius = max(1, int(math.ceil(truncate * sigma)))
    offsets = np.arange(-radius, radius + 1, dtype="float64")
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    return (kernel / kernel.sum()).astype("float32")


def displace(images: keras.KerasTensor | np.ndarray, displacement: keras.KerasTensor | np.ndarray) -> keras.KerasTensor:
    """Resample images at pixel positions moved by a displacement field (bilinear, zeros outside).

    ``images`` is (batch, height, width, channels); ``displacement`` is (batch, height,
    width, 2) holding the (row, column) offset of each output pixel's source position.
    Each image goes through ``keras.ops.image.map_coordinates`` (the Keras port of
    ``scipy.ndimage.map_coordinates``; ``fill_mode="constant"`` here equals scipy's
    ``mode="grid-constant"``), which needs the image's shape, so the batch is mapped over:
    with ``keras.ops.vectorized_map`` while a model is traced with an unknown batch size,
    with ``keras.ops.map`` otherwise.

    Example:
        >>> images = np.random.rand(2, 28, 28, 1).astype("float32")
        >>> moved = displace(images, np.zeros((2, 28, 28, 2), "float32"))
        >>> bool(np.allclose(keras.ops.convert_to_numpy(moved), images))
        True
    """
    image_shape = tuple(images.shape)
    field_shape = tuple(displacement.shape)
    if len(image_shape) != 4 or len(field_shape) != 4 or field_shape[-1] != 2 or image_shape[1:3] != field_shape[1:3]:
        raise ValueError(
            "expected images (batch, height, width, channels) and displacement (batch, height, width, 2) "
            f"of the same height and width; got {image_shape} and {field_shape}"
        )
    pairs = (keras.ops.cast(images, "float32"), keras.ops.cast(displacement, "float32"))
    if image_shape[0] is None:
        # Inside a traced model the batch size is unknown: vectorize over it.
        return keras.ops.vectorized_map(_displace_one, pairs)
    # A batch of known size (eager calls, figures): map over it, which does not build and
    # trace a new vectorized function on every call as vectorized_map does when eager.
    return keras.ops.map(_displace_one, pairs)


def _displace_one(image_and_field):
    image, field = image_and_field
    height, width, channels = image.shape
    ones = keras.ops.ones((height, width, channels), dtype="float32")
    rows = keras.ops.reshape(keras.ops.arange(height, dtype="float32"), (height, 1, 1)) + field[..., 0:1]
    columns = keras.ops.reshape(keras.ops.arange(width, dtype="float32"), (1, width, 1)) + field[..., 1:2]
    channel = keras.ops.reshape(keras.ops.arange(channels, dtype="float32"), (1, 1, channels))
    coordinates = [rows * ones, columns * ones, channel * ones]
    return keras.ops.image.map_coordinates(image, coordinates, order=1, fill_mode="constant")


class ElasticDistortion(layers.Layer):
    """Elastic distortion of Simard, Steinkraus and Platt (2003), as a Keras layer.

    Every output pixel x reads the input at x + alpha * (G_sigma * u)(x): u holds two
    numbers per pixel drawn uniformly from [-1, 1], G_sigma is a Gaussian of standard
    deviation ``sigma`` pixels, and the input is interpolated bilinearly (zeros
    outside).
    A small ``sigma`` gives noise-like jitter; a large one moves whole strokes together,
    like a hand that wobbles. The paper used ``sigma=4`` and ``alpha=34`` on 28x28
    digits. The layer is active only in training (``training=True``); at inference it
    returns its input.

    Keras' ``RandomElasticTransform`` ties ``sigma`` to 5% of the image size (1.4 pixels
    on MNIST) and draws one strength per batch; this layer keeps the paper's two
    parameters so that its figures can be reproduced.

    Example:
        >>> layer = ElasticDistortion(alpha=34.0, sigma=4.0, seed=0)
        >>> images = np.random.rand(4, 28, 28, 1).astype("float32")
        >>> layer(images, training=True).shape
        TensorShape([4, 28, 28, 1])
    """

    def __init__(
        self,
        alpha: float = 34.0,
        sigma: float = 4.0,
        *,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if alpha < 0:
            raise ValueError(
                f"alpha (the displacement scale in pixels) must be >= 0; got {alpha}"
            )
        if sigma <= 0:
            raise ValueError(
                f"sigma (the smoothing in pixels) must be positive; got {sigma}"
            )
        self.alpha = float(alpha)
        self.sigma = float(sigma)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        kernel = gaussian_kernel(self.sigma)
        # One depthwise kernel per displacement direction, applied along rows, then
        # along columns: a 2-D Gaussian is the product of two 1-D ones.
        self._row_kernel = np.tile(kernel.reshape(-1, 1, 1, 1), (1, 1, 2, 1))
        self._column_kernel = np.tile(kernel.reshape(1, -1, 1, 1), (1, 1, 2, 1))

    def random_displacement(self, batch_shape: tuple) -> keras.KerasTensor:
        """Draw a smoothed, scaled displacement field (batch, height, width, 2)."""
        batch, height, width = batch_shape
        noise = keras.random.uniform(
            (batch, height, width, 2), minval=-1.0, maxval=1.0, seed=self.seed_generator
        )
        smooth = keras.ops.depthwise_conv(noise, self._row_kernel, padding="same")
        smooth = keras.ops.depthwise_conv(smooth, self._column_kernel, padding="same")
        return self.alpha * smooth

    def call(self, inputs, training=None):
        if not training or self.alpha == 0:
            return inputs
        shape = keras.ops.shape(inputs)
        displacement = self.random_displacement((shape[0], shape[1], shape[2]))
        return keras.ops.cast(displace(inputs, displacement), inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "alpha": self.alpha,
            "sigma": self.sigma,
            "seed": self.seed,
        }


def digit_augmentation(
    *,
    rotation_degrees: float = 0.0,
    zoom: float = 0.0,
    translation: float = 0.0,
    elastic_alpha: float = 0.0,
    elastic_sigma: float = 4.0,
    seed: int | None = None,
    name: str = "augmentation",
) -> keras.Sequential:
    """A block of random transforms for digits, to put first in a model.

    Rotation is in degrees either way, zoom and translation are fractions of the image
    size. Pixels that enter from outside the image are filled with zeros (black paper),
    not reflected: a reflected stroke would draw a second digit at the border. A
    transform with strength 0 is left out; with all at 0 the block passes images through.

    Example:
        >>> block = digit_augmentation(rotation_degrees=10, zoom=0.1, translation=0.1)
        >>> [layer.name for layer in block.layers]
        ['rotation', 'zoom', 'translation']
    """
    for argument, value in {"rotation_degrees": rotation_degrees, "zoom": zoom, "translation": translation}.items():
        if value < 0:
            raise ValueError(f"{argument} must be >= 0 (it is a range either way); got {value}")
    if rotation_degrees >= 90:
        raise ValueError(f"rotation_degrees={rotation_degrees} would turn a 6 into a 9; keep it well under 90")
    if zoom >= 1 or translation >= 1:
        raise ValueError(f"zoom and translation are fractions of the image size, below 1; got {zoom} and {translation}")
    # Each layer gets its own seed: with one seed for all, the layers would draw the
    # same random numbers, and a digit's angle would fix its zoom and shift. Layer k
    # of the block gets seed + k.
    layer_seeds = itertools.repeat(None) if seed is None else itertools.count(seed)
    block = keras.Sequential(name=name)
    if rotation_degrees:
        block.add(
            layers.RandomRotation(
                rotation_degrees / 360,
                fill_mode="constant",
                seed=next(layer_seeds),
                name="rotation",
            )
        )
    if zoom:
        block.add(
            layers.RandomZoom(
                zoom, fill_mode="constant", seed=next(layer_seeds), name="zoom"
            )
        )
    if translation:
        block.add(
            layers.RandomTranslation(
                translation,
                translation,
                fill_mode="constant",
                seed=next(layer_seeds),
                name="translation",
            )
        )
    if elastic_alpha:
        block.add(
            ElasticDistortion(
                elastic_alpha, elastic_sigma, seed=next(layer_seeds), name="elastic"
            )
        )
    if not block.layers:
        block.add(layers.Identity(name="identity"))
    return block
