"""The augmentation layers: the Gaussian kernel, displacement, elastic distortion, the block."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import scipy.ndimage

from mnist_helpers import augment
from mnist_helpers.models import build_small_cnn


def test_gaussian_kernel_is_normalised_and_validated() -> None:
    kernel = augment.gaussian_kernel(4.0)
    assert kernel.shape == (25,)
    assert np.isclose(kernel.sum(), 1.0)
    assert kernel.argmax() == 12
    with pytest.raises(ValueError, match="sigma"):
        augment.gaussian_kernel(0.0)


def test_displace_matches_scipy_map_coordinates() -> None:
    rng = np.random.default_rng(0)
    images = rng.random((3, 28, 28, 1)).astype("float32")
    field = (rng.normal(size=(3, 28, 28, 2)) * 3).astype("float32")
    moved = keras.ops.convert_to_numpy(augment.displace(images, field))
    rows, columns = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
    expected = np.stack(
        [
            scipy.ndimage.map_coordinates(
                images[index, :, :, 0], [rows + field[index, ..., 0], columns + field[index, ..., 1]],
                order=1, mode="grid-constant", cval=0.0,
            )
            for index in range(3)
        ]
    )
    np.testing.assert_allclose(moved[..., 0], expected, atol=1e-5)


def test_displace_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="displacement"):
        augment.displace(np.zeros((2, 28, 28, 1), "float32"), np.zeros((2, 20, 20, 2), "float32"))
    with pytest.raises(ValueError, match="displacement"):
        augment.displace(np.zeros((2, 28, 28), "float32"), np.zeros((2, 28, 28, 2), "float32"))


def test_elastic_distortion_moves_pixels_only_in_training_and_repeats_with_a_seed() -> None:
    images = np.zeros((4, 28, 28, 1), "float32")
    images[:, 6:22, 12:16] = 1.0
    first = augment.ElasticDistortion(alpha=34.0, sigma=4.0, seed=3)
    second = augment.ElasticDistortion(alpha=34.0, sigma=4.0, seed=3)
    distorted = keras.ops.convert_to_numpy(first(images, training=True))
    assert distorted.shape == images.shape
    assert np.abs(distorted - images).mean() > 0.01
    assert distorted.min() >= 0.0 and distorted.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(distorted, keras.ops.convert_to_numpy(second(images, training=True)))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(first(images, training=False)), images)
    assert augment.ElasticDistortion.from_config(first.get_config()).sigma == 4.0


def test_elastic_distortion_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="alpha"):
        augment.ElasticDistortion(alpha=-1.0)
    with pytest.raises(ValueError, match="sigma"):
        augment.ElasticDistortion(sigma=0.0)


def test_digit_augmentation_builds_the_requested_layers_and_fills_with_black() -> None:
    block = augment.digit_augmentation(rotation_degrees=15, zoom=0.1, translation=0.1, elastic_alpha=34, seed=0)
    assert [layer.name for layer in block.layers] == ["rotation", "zoom", "translation", "elastic"]
    assert all(layer.fill_mode == "constant" for layer in block.layers[:3])
    digits = np.zeros((8, 28, 28, 1), "float32")
    digits[:, 8:20, 8:20] = 1.0
    augmented = keras.ops.convert_to_numpy(block(digits, training=True))
    assert augmented.shape == digits.shape
    assert not np.allclose(augmented, digits)
    # The corners stay black paper: nothing is reflected in from the border.
    assert np.abs(augmented[:, :2, :2]).max() < 1e-3
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(block(digits, training=False)), digits)


def test_digit_augmentation_without_transforms_passes_images_through() -> None:
    block = augment.digit_augmentation()
    images = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(block(images, training=True)), images)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"rotation_degrees": 120}, "6 into a 9"), ({"zoom": -0.1}, "zoom"), ({"translation": 1.5}, "fractions")],
)
def test_digit_augmentation_rejects_bad_strengths(arguments, message) -> None:
    with pytest.raises(ValueError, match=message):
        augment.digit_augmentation(**arguments)


def test_a_model_with_augmentation_trains_with_an_unknown_batch_size() -> None:
    keras.utils.set_random_seed(0)
    block = augment.digit_augmentation(rotation_degrees=10, elastic_alpha=8.0, seed=1)
    model = build_small_cnn(filters=(4,), augmentation=block)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    images = np.random.default_rng(0).random((10, 28, 28, 1)).astype("float32")
    history = model.fit(images, np.arange(10) % 10, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_digit_augmentation_draws_each_transform_independently() -> None:
    # With one seed shared by all layers, a digit's angle would fix its zoom: the two
    # draws would be perfectly correlated.
    block = augment.digit_augmentation(rotation_degrees=10, zoom=0.1, seed=5)
    batch = np.zeros((512, 28, 28, 1), dtype="float32")
    angles = block.get_layer("rotation").get_random_transformation(batch, training=True)
    zooms = block.get_layer("zoom").get_random_transformation(batch, training=True)
    correlation = np.corrcoef(
        keras.ops.convert_to_numpy(angles["angle"]).ravel(),
        keras.ops.convert_to_numpy(zooms["height_zoom"]).ravel(),
    )[0, 1]
    assert abs(correlation) < 0.2


def test_random_affine_reads_each_pixel_at_its_composed_source_map() -> None:
    rng = np.random.default_rng(1)
    images = rng.random((6, 28, 28, 1)).astype("float32")
    # Two layers with the same seed draw the same maps: one gives them, one applies them.
    strengths = dict(rotation_degrees=10, zoom=0.1, translation=0.1, seed=4)
    transforms = keras.ops.convert_to_numpy(augment.RandomAffine(**strengths).random_transforms((6, 28, 28)))
    moved = keras.ops.convert_to_numpy(augment.RandomAffine(**strengths)(images, training=True))
    rows, columns = np.meshgrid(np.arange(28.0), np.arange(28.0), indexing="ij")
    for index, (a0, a1, a2, b0, b1, b2, _, _) in enumerate(transforms):
        expected = scipy.ndimage.map_coordinates(
            images[index, :, :, 0],
            [b0 * columns + b1 * rows + b2, a0 * columns + a1 * rows + a2],
            order=1, mode="grid-constant", cval=0.0,
        )
        np.testing.assert_allclose(moved[index, :, :, 0], expected, atol=1e-4)


def test_random_affine_draws_angle_scale_and_shift_within_their_ranges() -> None:
    transforms = keras.ops.convert_to_numpy(
        augment.RandomAffine(rotation_degrees=10, zoom=0.1, translation=0.1, seed=0).random_transforms(
            (4096, 28, 28)
        )
    )
    a0, a1, a2, b0, b1, b2 = transforms[:, :6].T
    angles = np.degrees(np.arctan2(b0, a0))
    scales = np.hypot(a0, b0)
    assert np.allclose(a1, -b0) and np.allclose(b1, a0)
    assert 9.5 < angles.max() <= 10 + 1e-4 and -10 - 1e-4 <= angles.min() < -9.5
    assert 1.09 < scales.max() <= 1.1 + 1e-6 and 0.9 - 1e-6 <= scales.min() < 0.91
    # s(x) = c + M (x - c - t) reads the centre c at c - M t, so t = -M^-1 (s(c) - c):
    # the shift, in pixels, as Keras' RandomTranslation draws it.
    centre = 13.5
    linear = np.stack([np.stack([a0, a1], axis=-1), np.stack([b0, b1], axis=-1)], axis=-2)
    source_of_centre = np.stack([a0 * centre + a1 * centre + a2, b0 * centre + b1 * centre + b2], axis=-1)
    shifts = -np.linalg.solve(linear, (source_of_centre - centre)[..., None])[..., 0]
    assert np.abs(shifts).max() <= 2.8 + 1e-3 and np.abs(shifts).max() > 2.7
    # Each component is uniform on [-2.8, 2.8]: its variance is 2.8^2 / 3.
    assert np.allclose(shifts.var(axis=0), 2.8**2 / 3, rtol=0.1)
    # Angle and scale come from separate draws.
    assert abs(np.corrcoef(angles, scales)[0, 1]) < 0.1


def test_one_resampling_keeps_strokes_sharper_than_three() -> None:
    digits = np.zeros((256, 28, 28, 1), "float32")
    digits[:, 6:22, 11:17] = 1.0
    strengths = dict(rotation_degrees=10, zoom=0.1, translation=0.1, seed=2)

    def sharpness(block):
        return augment.full_ink_share(keras.ops.convert_to_numpy(block(digits, training=True)))

    once = sharpness(augment.digit_augmentation(**strengths, resample_once=True))
    three_times = sharpness(augment.digit_augmentation(**strengths))
    assert once > three_times + 0.05


def test_random_affine_saves_and_loads_inside_a_model(tmp_path) -> None:
    block = augment.digit_augmentation(rotation_degrees=10, translation=0.1, resample_once=True, seed=3)
    model = build_small_cnn(filters=(4,), augmentation=block)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("augmentation").get_layer("affine")
    assert (layer.rotation_degrees, layer.zoom, layer.translation, layer.seed) == (10.0, 0.0, 0.1, 3)
    images = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


def test_random_affine_rejects_strengths_that_change_the_label() -> None:
    with pytest.raises(ValueError, match="6 into a 9"):
        augment.RandomAffine(rotation_degrees=100)
    with pytest.raises(TypeError):
        augment.RandomAffine(10, 0.1, 0.1)  # The strengths are keyword arguments.
    with pytest.raises(ValueError, match="fractions"):
        augment.RandomAffine(zoom=1.0)


def test_resample_once_without_affine_transforms_adds_no_affine_layer() -> None:
    block = augment.digit_augmentation(elastic_alpha=8.0, resample_once=True, seed=0)
    assert [layer.name for layer in block.layers] == ["elastic"]
    block = augment.digit_augmentation(zoom=0.1, elastic_alpha=8.0, resample_once=True, seed=0)
    assert [layer.name for layer in block.layers] == ["affine", "elastic"]


def test_full_ink_share_measures_sharpness_and_refuses_unscaled_images() -> None:
    assert augment.full_ink_share(np.array([0.0, 0.2, 0.95, 1.0])) == 2 / 3
    with pytest.raises(ValueError, match="scaled to"):
        augment.full_ink_share(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="ink < full"):
        augment.full_ink_share(np.ones(3), ink=0.9, full=0.5)
