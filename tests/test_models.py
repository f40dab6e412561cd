"""The model builders (MLP, recurrent, simple and small CNN, the shared trunk), the prediction
averages (shifts, ensembles, snapshots) and the FLOP counter."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import make_images

from mnist_helpers import augment
from mnist_helpers.models import (
    average_predictions,
    build_deotte_cnn,
    build_mlp,
    build_recurrent_classifier,
    build_simple_cnn,
    build_small_cnn,
    conv_trunk,
    copy_trunk_weights,
    forward_flops,
    shift_averaging,
    snapshot_average,
)
from mnist_helpers.multidigit import BLANK
from mnist_helpers.normalization import FusedBatchNormalization
from mnist_helpers.preprocess import to_sequences


def test_seed_mlp_has_the_tutorial_parameter_count() -> None:
    # 784*784 + 784 weights and biases in the hidden layer, 784*10 + 10 in the output.
    assert build_mlp(hidden_units=(784,)).count_params() == 784 * 784 + 784 + 784 * 10 + 10


def test_mlp_with_dropout_and_two_layers() -> None:
    model = build_mlp(hidden_units=(32, 16), dropout_rate=0.2, num_classes=5)
    assert [layer.name for layer in model.layers] == [
        "hidden_1", "dropout_1", "hidden_2", "dropout_2", "probabilities"
    ]
    assert model.output_shape == (None, 5)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"hidden_units": ()}, "hidden_units"), ({"dropout_rate": 1.0}, "dropout_rate"), ({"num_classes": 1}, "num_classes")],
)
def test_mlp_rejects_bad_arguments(arguments, message) -> None:
    with pytest.raises(ValueError, match=message):
        build_mlp(**arguments)


def test_blog_lstm_parameter_count() -> None:
    # LSTM(50) on 28 features: 4 gates x (28 + 50 + 1) x 50; the second on 50 inputs;
    # then a dense softmax over 10 classes.
    expected = 4 * (28 + 50 + 1) * 50 + 4 * (50 + 50 + 1) * 50 + 50 * 10 + 10
    assert build_recurrent_classifier(units=(50, 50)).count_params() == expected


def test_recurrent_variants_shapes() -> None:
    gru = build_recurrent_classifier(cell="gru", units=(8,))
    bidirectional = build_recurrent_classifier(units=(8, 8), bidirectional=True)
    assert gru.output_shape == (None, 10)
    assert bidirectional.layers[0].name == "bidirectional_lstm_1"
    assert bidirectional.layers[0].output.shape[-1] == 16


def test_open_time_dimension_reads_prefixes() -> None:
    model = build_recurrent_classifier(units=(4,))
    rows = to_sequences(make_images(3))
    assert model.predict(rows[:, :7], verbose=0).shape == (3, 10)
    unrolled = build_recurrent_classifier(units=(4,), unroll=True)
    assert unrolled.input_shape == (None, 28, 28)


@pytest.mark.parametrize(("arguments", "message"), [({"cell": "rnn"}, "cell must be one of"), ({"units": ()}, "units")])
def test_recurrent_builder_rejects_bad_arguments(arguments, message) -> None:
    with pytest.raises(ValueError, match=message):
        build_recurrent_classifier(**arguments)


def test_simple_cnn_parameter_count() -> None:
    # 32 5x5 filters, then 12x12x32 pooled features into 128 units, then 10.
    expected = 32 * (25 + 1) + (12 * 12 * 32 + 1) * 128 + (128 + 1) * 10
    assert build_simple_cnn().count_params() == expected


def test_simple_cnn_has_the_tutorial_parameter_count() -> None:
    # 32 5x5 filters with biases, 12x12x32 pooled features to 128 units, 128 to 10.
    assert build_simple_cnn().count_params() == (25 * 32 + 32) + (12 * 12 * 32 * 128 + 128) + (128 * 10 + 10) == 592_074


def test_small_cnn_layout_and_parameters() -> None:
    model = build_small_cnn(filters=(16, 32), convolutions_per_stage=2)
    conv_names = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert conv_names == ["conv_1_1", "conv_1_2", "conv_2_1", "conv_2_2"]
    # Convolutions without bias, four batch norms of 4 weights per channel, 7x7x32 features to 10 classes.
    expected = 9 * 16 + 9 * 16 * 16 + 9 * 16 * 32 + 9 * 32 * 32 + 4 * (16 + 16 + 32 + 32) + 7 * 7 * 32 * 10 + 10
    assert model.count_params() == expected
    assert model.output_shape == (None, 10)


def test_small_cnn_takes_other_shapes_classes_and_an_augmentation_block() -> None:
    block = augment.digit_augmentation(zoom=0.1)
    model = build_small_cnn(filters=(8,), input_shape=(32, 32, 3), num_classes=47, augmentation=block)
    assert model.layers[0] is block
    assert model.output_shape == (None, 47)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"filters": ()}, "filters"),
        ({"filters": (8, 0)}, "filters"),
        ({"convolutions_per_stage": 0}, "convolutions_per_stage"),
        ({"dropout_rate": 1.0}, "dropout_rate"),
        ({"batch_norm_momentum": 1.0}, "batch_norm_momentum"),
        ({"num_classes": 1}, "num_classes"),
        ({"filters": (8, 8, 8, 8, 8, 8), "input_shape": (28, 28, 1)}, "pooling stages"),
    ],
)
def test_small_cnn_rejects_bad_arguments(arguments, message) -> None:
    with pytest.raises(ValueError, match=message):
        build_small_cnn(**arguments)


def test_forward_flops_counts_convolutions_and_dense_layers() -> None:
    # Simple CNN: 24x24 outputs x 5x5 kernel x 32 filters, then 4608->128 and 128->10, two operations each.
    assert forward_flops(build_simple_cnn()) == 2 * (24 * 24 * 25 * 32 + 4608 * 128 + 128 * 10)
    with_block = build_small_cnn(augmentation=augment.digit_augmentation(rotation_degrees=5))
    assert forward_flops(with_block) == forward_flops(build_small_cnn())


def test_forward_flops_counts_recurrent_layers_and_dense_layers_per_time_step() -> None:
    import keras
    from keras import layers

    inputs = keras.Input(shape=(35, 64))
    sequence = layers.Bidirectional(layers.GRU(16, return_sequences=True))(inputs)
    sequence = layers.LSTM(8, return_sequences=True)(sequence)
    model = keras.Model(inputs, layers.Dense(11)(sequence))
    # GRU: 3 gates, input 64 and recurrent 16 weights per gate unit, both directions;
    # LSTM: 4 gates over 32 inputs and 8 recurrent; the dense layer at all 35 steps.
    gru = 2 * 35 * (64 * 48 + 16 * 48) * 2
    lstm = 2 * 35 * (32 * 32 + 8 * 32)
    assert forward_flops(model) == gru + lstm + 2 * 35 * 8 * 11


def test_forward_flops_counts_a_bare_simple_rnn_and_refuses_sequences_of_no_fixed_length() -> None:
    import keras
    from keras import layers

    inputs = keras.Input(shape=(10, 4))
    model = keras.Model(inputs, layers.SimpleRNN(3)(inputs))
    assert forward_flops(model) == 2 * 10 * (4 * 3 + 3 * 3)
    open_length = keras.Input(shape=(None, 4))
    with pytest.raises(ValueError, match="no fixed length.*fixed number of time steps"):
        forward_flops(keras.Model(open_length, layers.LSTM(3)(open_length)))


def strip_model(*, horizontal_pooling=None, name: str = "strip_model"):
    """A Functional model on 28x140 strips built on the shared trunk, as chapter 6 builds them."""
    import keras
    from keras import layers

    from mnist_helpers import models

    inputs = keras.Input(shape=(28, 140, 1), name="strip")
    features = models.conv_trunk(inputs, horizontal_pooling=horizontal_pooling)
    outputs = layers.Dense(11, name="logits")(layers.Flatten()(features))
    return keras.Model(inputs, outputs, name=name)


def test_the_trunk_is_the_same_layers_in_the_small_cnn_and_a_functional_model() -> None:
    from mnist_helpers import models

    trunk_names = [layer.name for layer in models.trunk_layers(filters=(16, 32))]
    assert trunk_names[:4] == ["conv_1_1", "batch_norm_1_1", "relu_1_1", "conv_1_2"]
    assert trunk_names[-1] == "pool_2" and len(trunk_names) == 2 * (2 * 3 + 1)
    small_cnn = models.build_small_cnn(filters=(16, 32))
    assert [layer.name for layer in small_cnn.layers][: len(trunk_names)] == trunk_names
    functional = strip_model()
    assert [layer.name for layer in functional.layers][1 : len(trunk_names) + 1] == trunk_names


def test_conv_trunk_pools_rows_by_two_and_columns_as_asked() -> None:
    import keras

    from mnist_helpers import models

    inputs = keras.Input(shape=(28, 140, 1))
    assert tuple(models.conv_trunk(inputs).shape) == (None, 7, 35, 32)
    assert tuple(models.conv_trunk(inputs, horizontal_pooling=(2, 1)).shape) == (None, 7, 70, 32)
    assert tuple(models.conv_trunk(inputs, filters=(8,), convolutions_per_stage=1).shape) == (None, 14, 70, 8)
    with pytest.raises(ValueError, match="one positive factor per stage"):
        models.conv_trunk(inputs, horizontal_pooling=(2,))
    with pytest.raises(ValueError, match="at least 4 rows"):
        models.conv_trunk(keras.Input(shape=(3, 140, 1)))
    with pytest.raises(ValueError, match="height, width, channels"):
        models.conv_trunk(keras.Input(shape=(28, 140)))
    with pytest.raises(ValueError, match="filters"):
        models.trunk_layers(filters=())
    with pytest.raises(ValueError, match="batch_norm_momentum"):
        models.trunk_layers(batch_norm_momentum=1.0)


def test_copy_trunk_weights_copies_the_trunk_and_refuses_a_mismatch() -> None:
    from mnist_helpers import models

    digit_cnn = models.build_small_cnn(filters=(16, 32))
    strips = strip_model()
    copied = models.copy_trunk_weights(digit_cnn, strips)
    assert copied == ["conv_1_1", "batch_norm_1_1", "conv_1_2", "batch_norm_1_2",
                      "conv_2_1", "batch_norm_2_1", "conv_2_2", "batch_norm_2_2"]
    for name in copied:
        for source, target in zip(digit_cnn.get_layer(name).get_weights(), strips.get_layer(name).get_weights()):
            np.testing.assert_array_equal(source, target)
    # Pooling has no weights, so a trunk that pools columns differently takes them too.
    assert len(models.copy_trunk_weights(digit_cnn, strip_model(horizontal_pooling=(2, 1)))) == 8
    with pytest.raises(ValueError, match="do not fit"):
        models.copy_trunk_weights(models.build_small_cnn(filters=(8, 16)), strips)
    with pytest.raises(ValueError, match="no layer names"):
        models.copy_trunk_weights(models.build_mlp(), strips)


def test_a_ctc_model_on_the_trunk_trains_one_step() -> None:
    import keras
    from keras import layers

    from mnist_helpers import models, training

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(28, 140, 1))
    features = models.conv_trunk(inputs, filters=(4, 8), horizontal_pooling=(2, 1))
    columns = layers.Reshape((70, 7 * 8))(layers.Permute((2, 1, 3))(features))
    model = keras.Model(inputs, layers.Dense(11)(columns))
    model.compile(optimizer="adam", loss=training.ctc_loss)
    images = np.random.default_rng(0).random((4, 28, 140, 1)).astype(np.float32)
    labels = np.array([[1, 2, 3, BLANK, BLANK]] * 4)
    history = model.fit(images, labels, epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert len(training.ctc_decode_sequences(model.predict(images, verbose=0))) == 4


def test_deotte_cnn_shrinks_the_map_to_one_pixel_and_validates_its_arguments() -> None:
    model = build_deotte_cnn()
    assert model.get_layer("conv_3_1").output.shape[1:3] == (1, 1)
    assert model.count_params() == 327_242
    with pytest.raises(ValueError, match="dropout_rate"):
        build_deotte_cnn(dropout_rate=1.0)


def test_deotte_cnn_computes_the_same_with_keras_batch_norm_and_the_fused_layer() -> None:
    fused = build_deotte_cnn(batch_norm_layer=FusedBatchNormalization)
    plain = build_deotte_cnn()
    assert all(isinstance(fused.get_layer(f"batch_norm_{stage}_1"), FusedBatchNormalization) for stage in (1, 2, 3))
    assert not any(isinstance(layer, FusedBatchNormalization) for layer in plain.layers)
    images = make_images(8).astype("float32")[..., None] / 255
    fused(images, training=True)  # Moves the moving averages; the copy carries them over.
    plain.set_weights(fused.get_weights())
    np.testing.assert_allclose(plain.predict(images, verbose=0), fused.predict(images, verbose=0), atol=1e-5)


def test_trunk_takes_the_fused_batch_norm_layer_and_hands_weights_to_a_keras_trunk() -> None:
    inputs = keras.Input(shape=(28, 140, 1))
    fused = keras.Model(inputs, conv_trunk(inputs, batch_norm_layer=FusedBatchNormalization))
    inputs = keras.Input(shape=(28, 140, 1))
    plain = keras.Model(inputs, conv_trunk(inputs))
    fused_norms = [layer for layer in fused.layers if layer.name.startswith("batch_norm_")]
    assert len(fused_norms) == 4 and all(isinstance(layer, FusedBatchNormalization) for layer in fused_norms)
    assert not any(isinstance(layer, FusedBatchNormalization) for layer in plain.layers)
    assert fused_norms[0].momentum == 0.9
    strips = np.random.default_rng(0).random((4, 28, 140, 1)).astype("float32")
    fused(strips, training=True)  # Moves the moving averages; the copy carries them over.
    assert len(copy_trunk_weights(fused, plain)) == 8
    np.testing.assert_allclose(plain.predict(strips, verbose=0), fused.predict(strips, verbose=0), atol=1e-5)


def test_small_cnn_passes_its_batch_norm_layer_to_the_trunk() -> None:
    fused = build_small_cnn(batch_norm_layer=FusedBatchNormalization)
    norms = [layer for layer in fused.layers if layer.name.startswith("batch_norm_")]
    assert len(norms) == 4 and all(isinstance(layer, FusedBatchNormalization) for layer in norms)
    assert not any(isinstance(layer, FusedBatchNormalization) for layer in build_small_cnn().layers)


def _shifted(images: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Move images by whole pixels, zeros entering at the border (the test's reference)."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return padded[:, 1 - rows : 29 - rows, 1 - columns : 29 - columns]


def test_shift_averaging_averages_the_model_over_the_image_and_four_shifts() -> None:
    keras.utils.set_random_seed(0)
    model = build_small_cnn(filters=(4,), convolutions_per_stage=1)
    images = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    wrapped = shift_averaging(model, shift=1)
    views = [_shifted(images, rows, columns) for rows, columns in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))]
    expected = np.mean([model.predict(view, verbose=0) for view in views], axis=0)
    np.testing.assert_allclose(wrapped.predict(images, verbose=0), expected, atol=1e-5)
    down = keras.Model(wrapped.input, wrapped.get_layer("view_down").output)
    np.testing.assert_array_equal(down.predict(images, verbose=0), _shifted(images, 1, 0))


def test_shift_averaging_rejects_a_shift_too_large_for_the_image() -> None:
    with pytest.raises(ValueError, match="shift"):
        shift_averaging(build_small_cnn(), shift=0)
    with pytest.raises(ValueError, match="larger than"):
        shift_averaging(build_small_cnn(), shift=14)


def _tiny_cnn(name: str) -> keras.Model:
    return build_small_cnn(filters=(4,), convolutions_per_stage=1, name=name)


def test_average_predictions_is_the_mean_of_the_members() -> None:
    keras.utils.set_random_seed(0)
    members = [_tiny_cnn(f"member_{index}") for index in range(3)]
    images = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    ensemble = average_predictions(members, name="ensemble")
    expected = np.mean([member.predict(images, verbose=0) for member in members], axis=0)
    np.testing.assert_allclose(ensemble.predict(images, verbose=0), expected, atol=1e-6)


@pytest.mark.parametrize(
    ("names", "message"),
    [(("one",), "at least two"), (("same", "same"), "different names")],
)
def test_average_predictions_rejects_bad_members(names, message) -> None:
    with pytest.raises(ValueError, match=message):
        average_predictions([_tiny_cnn(name) for name in names], name="ensemble")


def test_average_predictions_rejects_members_reading_different_inputs() -> None:
    members = [_tiny_cnn("a"), build_mlp(hidden_units=(4,), name="b")]
    with pytest.raises(ValueError, match="different inputs"):
        average_predictions(members, name="ensemble")


def test_snapshot_average_averages_the_network_at_each_set_of_weights(tmp_path) -> None:
    keras.utils.set_random_seed(0)
    network = _tiny_cnn("network")
    first_weights = network.get_weights()
    other = _tiny_cnn("other")
    images = np.random.default_rng(1).random((4, 28, 28, 1)).astype("float32")
    averaged = snapshot_average(network, [first_weights, other.get_weights()])
    expected = (network.predict(images, verbose=0) + other.predict(images, verbose=0)) / 2
    np.testing.assert_allclose(averaged.predict(images, verbose=0), expected, atol=1e-6)
    # The network keeps its own weights, and the average saves and loads like any model.
    for kept, original in zip(network.get_weights(), first_weights):
        np.testing.assert_array_equal(kept, original)
    averaged.save(tmp_path / "averaged.keras")
    reloaded = keras.saving.load_model(tmp_path / "averaged.keras")
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), expected, atol=1e-6)


def test_snapshot_average_needs_two_sets_of_weights() -> None:
    network = _tiny_cnn("network")
    with pytest.raises(ValueError, match="at least two sets"):
        snapshot_average(network, [network.get_weights()])
