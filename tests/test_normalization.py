"""FusedBatchNormalization: the same function as Keras' BatchNormalization, on the fused kernel."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from mnist_helpers.normalization import FusedBatchNormalization


def feature_maps(shape=(16, 6, 6, 5), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(2.0, 3.0, shape).astype("float32")


def twin_layers(channels: int = 5, **options) -> tuple[layers.BatchNormalization, FusedBatchNormalization]:
    """A Keras layer and a fused one with the same random weights and moving statistics."""
    keras_layer = layers.BatchNormalization(**options)
    fused_layer = FusedBatchNormalization(**options)
    shape = (None, 6, 6, channels)
    keras_layer.build(shape)
    fused_layer.build(shape)
    rng = np.random.default_rng(1)
    weights = [
        rng.normal(1.0, 0.3, channels),  # gamma
        rng.normal(0.0, 0.3, channels),  # beta
        rng.normal(0.5, 0.3, channels),  # moving mean
        rng.uniform(0.5, 2.0, channels),  # moving variance
    ]
    keras_layer.set_weights(weights)
    fused_layer.set_weights(weights)
    return keras_layer, fused_layer


def test_training_outputs_and_moving_statistics_match_keras() -> None:
    keras_layer, fused_layer = twin_layers(momentum=0.9)
    images = feature_maps()
    np.testing.assert_allclose(
        fused_layer(images, training=True), keras_layer(images, training=True), atol=1e-5
    )
    np.testing.assert_allclose(fused_layer.moving_mean, keras_layer.moving_mean, atol=1e-6)
    np.testing.assert_allclose(fused_layer.moving_variance, keras_layer.moving_variance, rtol=1e-5)


def test_the_moving_variance_follows_the_biased_batch_variance() -> None:
    layer = FusedBatchNormalization(momentum=0.0)  # The moving averages become the batch's.
    images = feature_maps(shape=(3, 2, 2, 4))
    layer(images, training=True)
    np.testing.assert_allclose(layer.moving_mean, images.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance, images.var(axis=(0, 1, 2)), rtol=1e-4)


def test_inference_outputs_match_keras() -> None:
    keras_layer, fused_layer = twin_layers()
    images = feature_maps(seed=3)
    expected = keras_layer(images, training=False)
    np.testing.assert_allclose(fused_layer(images, training=False), expected, atol=1e-5)
    np.testing.assert_allclose(fused_layer(images), expected, atol=1e-5)


def test_gradients_match_keras() -> None:
    keras_layer, fused_layer = twin_layers()
    images = tf.constant(feature_maps(seed=4))
    upstream = tf.constant(feature_maps(seed=5))
    gradients = []
    for layer in (keras_layer, fused_layer):
        with tf.GradientTape() as tape:
            tape.watch(images)
            loss = tf.reduce_sum(layer(images, training=True) * upstream)
        gradients.append(tape.gradient(loss, [images, layer.gamma.value, layer.beta.value]))
    for expected, fused in zip(*gradients):
        np.testing.assert_allclose(fused, expected, rtol=1e-4, atol=1e-4)


def test_a_frozen_layer_uses_its_moving_statistics() -> None:
    keras_layer, fused_layer = twin_layers()
    keras_layer.trainable = False
    fused_layer.trainable = False
    images = feature_maps(seed=6)
    before = keras.ops.convert_to_numpy(fused_layer.moving_mean)
    np.testing.assert_allclose(
        fused_layer(images, training=True), keras_layer(images, training=True), atol=1e-5
    )
    np.testing.assert_array_equal(fused_layer.moving_mean, before)


def counting_fused_kernel(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the calls of TensorFlow's fused kernel (the layer's only way to reach it)."""
    calls: list[int] = []
    kernel = tf.compat.v1.nn.fused_batch_norm

    def counted(*args, **kwargs):
        calls.append(1)
        return kernel(*args, **kwargs)

    monkeypatch.setattr(tf.compat.v1.nn, "fused_batch_norm", counted)
    return calls


def test_channels_last_float32_images_take_the_fused_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting_fused_kernel(monkeypatch)
    layer = FusedBatchNormalization()
    layer(feature_maps(), training=True)
    layer(feature_maps(), training=False)
    assert len(calls) == 2


@pytest.mark.parametrize(
    "shape, options",
    [
        ((8, 5), {}),
        ((4, 3, 3, 3, 5), {}),
        ((4, 5, 6, 6), {"axis": 1}),
        ((16, 6, 6, 5), {"center": False}),
        ((16, 6, 6, 5), {"scale": False}),
        ((16, 6, 6, 5), {"renorm": True}),
        ((16, 6, 6, 5), {"epsilon": 1e-6}),
    ],
)
def test_inputs_the_kernel_does_not_take_go_through_keras(
    monkeypatch: pytest.MonkeyPatch, shape, options
) -> None:
    calls = counting_fused_kernel(monkeypatch)
    keras_layer = layers.BatchNormalization(**options)
    fused_layer = FusedBatchNormalization(**options)
    images = feature_maps(shape=shape, seed=7)
    np.testing.assert_allclose(
        fused_layer(images, training=True), keras_layer(images, training=True), atol=1e-5
    )
    assert not calls


def test_float16_inputs_go_through_keras(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting_fused_kernel(monkeypatch)
    layer = FusedBatchNormalization(dtype="float16")
    outputs = layer(feature_maps().astype("float16"), training=True)
    assert keras.backend.standardize_dtype(outputs.dtype) == "float16"
    assert not calls


def test_fit_moves_the_moving_statistics_as_keras_does() -> None:
    # model.fit traces the layer into a graph; the moving averages must still follow Keras'.
    images = feature_maps(shape=(32, 6, 6, 5), seed=9)
    targets = np.random.default_rng(10).normal(size=(32, 180)).astype("float32")
    fitted = []
    for layer_class in (layers.BatchNormalization, FusedBatchNormalization):
        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(6, 6, 5))
        normalised = layer_class(momentum=0.5, name="normalise")(inputs)
        model = keras.Model(inputs, layers.Dense(180)(layers.Flatten()(normalised)))
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        model.fit(images, targets, batch_size=8, epochs=2, shuffle=False, verbose=0)
        fitted.append(model.get_layer("normalise"))
    keras_layer, fused_layer = fitted
    np.testing.assert_allclose(fused_layer.moving_mean, keras_layer.moving_mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fused_layer.moving_variance, keras_layer.moving_variance, rtol=1e-4)
    np.testing.assert_allclose(fused_layer.gamma, keras_layer.gamma, rtol=1e-4, atol=1e-5)


def test_a_model_with_the_layer_saves_and_loads(tmp_path: Path) -> None:
    inputs = keras.Input(shape=(6, 6, 5))
    outputs = layers.Flatten()(FusedBatchNormalization(name="normalise")(inputs))
    model = keras.Model(inputs, outputs)
    images = feature_maps(seed=8)
    model(images, training=True)  # Moves the moving averages away from their start.
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded.get_layer("normalise"), FusedBatchNormalization)
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
