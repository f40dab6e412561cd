"""Data augmentation for digits: Keras preprocessing layers, one composed affine map, and
elastic distortions.

Everything here is a Keras layer, so augmentation runs on the model side: it is active
while the model trains and does nothing at inference, and it is seeded like the rest of
Keras (``keras.utils.set_random_seed``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

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


def full_ink_share(images: np.ndarray, *, ink: float = 0.1, full: float = 0.9) -> float:
    """Of the pixels with ink (above ``ink``), the share at nearly full intensity (above ``full``).

    A measure of how sharp a set of digits on [0, 1] is: every bilinear interpolation
    that moves a stroke between pixels lowers its peak and widens its edges.

    Example:
        >>> full_ink_share(np.array([0.0, 0.5, 1.0, 1.0]))
        0.6666666666666666
    """
    if not 0 <= ink < full <= 1:
        raise ValueError(f"expected 0 <= ink < full <= 1 (intensities on [0, 1]); got ink={ink}, full={full}")
    images = np.asarray(images)
    inked = images[images > ink]
    if inked.size == 0:
        raise ValueError(f"no pixel is above ink={ink}: are the images scaled to [0, 1]?")
    return float(np.mean(inked > full))


def check_affine_strengths(*, rotation_degrees: float, zoom: float, translation: float) -> None:
    """Raise a ValueError unless the affine strengths keep a digit's label.

    Example:
        >>> check_affine_strengths(rotation_degrees=10, zoom=0.1, translation=0.1)
        >>> check_affine_strengths(rotation_degrees=120, zoom=0.1, translation=0.1)
        Traceback (most recent call last):
        ...
        ValueError: rotation_degrees=120 would turn a 6 into a 9; keep it well under 90
    """
    for argument, value in {"rotation_degrees": rotation_degrees, "zoom": zoom, "translation": translation}.items():
        if value < 0:
            raise ValueError(f"{argument} must be >= 0 (it is a range either way); got {value}")
    if rotation_degrees >= 90:
        raise ValueError(f"rotation_degrees={rotation_degrees} would turn a 6 into a 9; keep it well under 90")
    if zoom >= 1 or translation >= 1:
        raise ValueError(f"zoom and translation are fractions of the image size, below 1; got {zoom} and {translation}")


@keras.saving.register_keras_serializable(package="mnist_helpers")
class RandomAffine(layers.Layer):
    """Random rotation, zoom and translation composed into one map and resampled once.

    For each image the layer draws an angle theta uniformly from
    [-``rotation_degrees``, ``rotation_degrees``], a scale z from [1 - ``zoom``,
    1 + ``zoom``] and a shift t whose two components are uniform in
    [-``translation``, ``translation``] times the image's side, and every output pixel x
    reads the input at the composed source map

        s(x) = c + z R(theta) (x - c - t),

    with c the image's centre and R(theta) the rotation matrix: the digit is moved by
    t, then turned by theta and scaled by 1/z about its new centre, with one bilinear
    interpolation (zeros outside). Keras' ``RandomRotation``, ``RandomZoom`` and
    ``RandomTranslation`` one after another move a digit by the same composed map (theta
    and t are drawn symmetrically about zero, so their signs do not matter) but
    interpolate three times, and each interpolation blurs the strokes a little more.
    Active only in training (``training=True``); at inference it returns its input.

    Example:
        >>> layer = RandomAffine(rotation_degrees=10, zoom=0.1, translation=0.1, seed=0)
        >>> images = np.random.rand(4, 28, 28, 1).astype("float32")
        >>> layer(images, training=True).shape
        TensorShape([4, 28, 28, 1])
        >>> bool(np.array_equal(layer(images, training=False), images))
        True
    """

    def __init__(
        self,
        *,
        rotation_degrees: float = 0.0,
        zoom: float = 0.0,
        translation: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        check_affine_strengths(rotation_degrees=rotation_degrees, zoom=zoom, translation=translation)
        self.rotation_degrees = float(rotation_degrees)
        self.zoom = float(zoom)
        self.translation = float(translation)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def random_transforms(self, batch_shape: tuple) -> keras.KerasTensor:
        """Draw one composed source map per image, as rows of 8 numbers for ``affine_transform``.

        Row ``[a0, a1, a2, b0, b1, b2, 0, 0]`` makes output pixel (column x, row y) read
        the input at column a0 x + a1 y + a2, row b0 x + b1 y + b2.

        Example:
            >>> identity = RandomAffine(seed=0).random_transforms((1, 28, 28))
            >>> keras.ops.convert_to_numpy(identity).tolist()
            [[1.0, -0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]]
        """
        batch, height, width = batch_shape
        height = keras.ops.cast(height, "float32")
        width = keras.ops.cast(width, "float32")

        def uniform(limit: float) -> keras.KerasTensor:
            return keras.random.uniform((batch,), minval=-limit, maxval=limit, seed=self.seed_generator)

        angle = uniform(math.radians(self.rotation_degrees))
        scale = 1.0 + uniform(self.zoom)
        shift_x = uniform(self.translation) * width
        shift_y = uniform(self.translation) * height
        # s(x) = c + z R(theta) (x - c - t): the linear part z R(theta), and the offset
        # c - z R(theta) (c + t), which holds the centre c and the shift t.
        cosine = scale * keras.ops.cos(angle)
        sine = scale * keras.ops.sin(angle)
        source_x = (width - 1) / 2 + shift_x
        source_y = (height - 1) / 2 + shift_y
        offset_x = (width - 1) / 2 - cosine * source_x + sine * source_y
        offset_y = (height - 1) / 2 - sine * source_x - cosine * source_y
        zeros = keras.ops.zeros_like(angle)
        return keras.ops.stack([cosine, -sine, offset_x, sine, cosine, offset_y, zeros, zeros], axis=1)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        shape = keras.ops.shape(inputs)
        transforms = self.random_transforms((shape[0], shape[1], shape[2]))
        moved = keras.ops.image.affine_transform(
            keras.ops.cast(inputs, "float32"), transforms, interpolation="bilinear", fill_mode="constant"
        )
        return keras.ops.cast(moved, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rotation_degrees": self.rotation_degrees,
            "zoom": self.zoom,
            "translation": self.translation,
            "seed": self.seed,
        }


def digit_augmentation(
    *,
    rotation_degrees: float = 0.0,
    zoom: float = 0.0,
    translation: float = 0.0,
    elastic_alpha: float = 0.0,
    elastic_sigma: float = 4.0,
    resample_once: bool = False,
    seed: int | None = None,
    name: str = "augmentation",
) -> keras.Sequential:
    """A block of random transforms for digits, to put first in a model.

    Rotation is in degrees either way, zoom and translation are fractions of the image
    size. Pixels that enter from outside the image are filled with zeros (black paper),
    not reflected: a reflected stroke would draw a second digit at the border. A
    transform with strength 0 is left out; with all at 0 the block passes images through.
    By default each affine transform is its own Keras layer and resamples the image;
    with ``resample_once=True`` they are composed into one :class:`RandomAffine` layer,
    which interpolates once.

    Example:
        >>> block = digit_augmentation(rotation_degrees=10, zoom=0.1, translation=0.1)
        >>> [layer.name for layer in block.layers]
        ['rotation', 'zoom', 'translation']
        >>> block = digit_augmentation(rotation_degrees=10, zoom=0.1, resample_once=True)
        >>> [layer.name for layer in block.layers]
        ['affine']
    """
    check_affine_strengths(rotation_degrees=rotation_degrees, zoom=zoom, translation=translation)
    # Each layer gets its own seed: with one seed for all, the layers would draw the
    # same random numbers, and a digit's angle would fix its zoom and shift. Layer k
    # of the block gets seed + k.
    layer_seeds = itertools.repeat(None) if seed is None else itertools.count(seed)
    block = keras.Sequential(name=name)
    if resample_once and (rotation_degrees or zoom or translation):
        block.add(
            RandomAffine(
                rotation_degrees=rotation_degrees,
                zoom=zoom,
                translation=translation,
                seed=next(layer_seeds),
                name="affine",
            )
        )
    else:
        _add_affine_layers(
            block,
            rotation_degrees=rotation_degrees,
            zoom=zoom,
            translation=translation,
            layer_seeds=layer_seeds,
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


def _add_affine_layers(
    block: keras.Sequential,
    *,
    rotation_degrees: float,
    zoom: float,
    translation: float,
    layer_seeds: Iterator[int | None],
) -> None:
    """Add Keras' rotation, zoom and translation layers (those with strength > 0) to block."""
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
