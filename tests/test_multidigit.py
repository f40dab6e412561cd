"""The multi-digit generator, sequence scoring, segmentation and the chapter-6 models."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_helpers import multidigit, segmentation
from mnist_helpers.multidigit import BLANK, make_multidigit

from conftest import needs_real_mnist


def digit_bank(count: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Distinct synthetic digits: a bar whose position and height encode the index."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    for index in range(count):
        left = 6 + index % 12
        images[index, 4 : 10 + index % 14, left : left + 4] = rng.integers(1, 256, size=(6 + index % 14, 4), dtype=np.uint8)
    return images, np.arange(count) % 10


@pytest.mark.parametrize("kind", multidigit.KINDS)
def test_shapes_dtypes_and_label_range(kind: str) -> None:
    images, labels = digit_bank()
    sample = make_multidigit(images, labels, kind=kind, count=40, seed=3)
    assert sample.images.shape == (40, 28, 140)
    assert sample.images.dtype == np.uint8
    assert sample.labels.shape == sample.sources.shape == (40, 5)
    assert set(np.unique(sample.labels)) <= set(range(11))
    assert len(sample) == 40 and sample.kind == kind


def test_structured_images_are_the_digits_in_their_slots() -> None:
    images, labels = digit_bank()
    sample = make_multidigit(images, labels, kind="structured", count=10, seed=1)
    assert (sample.labels != BLANK).all() and (sample.sources >= 0).all()
    for row in range(10):
        for slot in range(5):
            np.testing.assert_array_equal(sample.images[row, :, 28 * slot : 28 * (slot + 1)], images[sample.sources[row, slot]])
            assert sample.labels[row, slot] == labels[sample.sources[row, slot]]


def test_structured_set_uses_every_digit_once_before_reusing_any() -> None:
    images, labels = digit_bank(count=50)
    sample = make_multidigit(images, labels, kind="structured", count=10, seed=2)
    assert sorted(sample.sources.ravel()) == list(range(50))


def test_variable_length_marks_empty_slots_blank_and_leaves_them_black() -> None:
    images, labels = digit_bank()
    sample = make_multidigit(images, labels, kind="variable", count=200, seed=4)
    lengths = sample.lengths
    assert lengths.min() == 1 and lengths.max() == 5
    assert ((sample.labels == BLANK) == (sample.sources == -1)).all()
    slots = multidigit.cut_into_slots(sample.images).reshape(200, 5, 28, 28)
    assert (slots[sample.labels == BLANK] == 0).all()
    assert (slots[sample.labels != BLANK].reshape(-1, 784).max(axis=1) > 0).all()
    # Blanks are not only at the end: the digits sit in randomly chosen slots.
    assert (sample.labels[:, 0] == BLANK).any()


def test_free_layout_labels_are_the_digits_left_to_right() -> None:
    images, labels = digit_bank()
    sample = make_multidigit(images, labels, kind="free", count=100, seed=5, width=160)
    assert sample.images.shape == (100, 28, 160)
    for row in range(100):
        length = sample.lengths[row]
        # Labels come first, padding after.
        assert (sample.labels[row, :length] != BLANK).all() and (sample.labels[row, length:] == BLANK).all()
        assert list(sample.labels[row, :length]) == list(labels[sample.sources[row, :length]])
        ink = sample.images[row].astype(int).sum()
        assert ink > 0
        # All of each digit's ink is on the canvas (overlap may hide some under a neighbour).
        assert ink <= sum(images[index].astype(int).sum() for index in sample.sources[row, :length])


def test_free_layout_overlaps_and_jitters_but_keeps_order() -> None:
    images, labels = digit_bank()
    sample = make_multidigit(images, labels, kind="free", count=300, seed=6, max_gap=0, max_overlap=4, vertical_jitter=2)
    # With gaps of at most zero, neighbouring digits touch or overlap: fewer separate ink runs than digits.
    columns_with_ink = (sample.images.max(axis=1) > 0).astype(int)
    runs = (np.diff(columns_with_ink, axis=1) == 1).sum(axis=1) + columns_with_ink[:, 0]
    assert (runs <= sample.lengths).all() and (runs < sample.lengths).any()


def test_same_seed_same_images_other_seed_other_images() -> None:
    images, labels = digit_bank()
    for kind in multidigit.KINDS:
        first = make_multidigit(images, labels, kind=kind, count=20, seed=7)
        again = make_multidigit(images, labels, kind=kind, count=20, seed=7)
        other = make_multidigit(images, labels, kind=kind, count=20, seed=8)
        np.testing.assert_array_equal(first.images, again.images)
        np.testing.assert_array_equal(first.labels, again.labels)
        assert not np.array_equal(first.images, other.images)


@needs_real_mnist
def test_no_mnist_test_digit_appears_in_a_training_image() -> None:
    from mnist_helpers.data import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist(download=False)
    train = make_multidigit(x_train[:3000], y_train[:3000], kind="structured", count=600, seed=0)
    test = make_multidigit(x_test, y_test, kind="structured", count=2000, seed=1)
    assert sorted(test.sources.ravel()) == list(range(10000))
    train_digits = {digit.tobytes() for digit in multidigit.cut_into_slots(train.images)}
    test_digits = {digit.tobytes() for digit in multidigit.cut_into_slots(test.images)}
    assert train_digits.isdisjoint(test_digits)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"kind": "spiral"}, "kind must be one of"),
        ({"count": 0}, "count must be at least 1"),
        ({"min_digits": 6}, "min_digits must be between"),
        ({"kind": "free", "width": 100}, "width must be at least 140"),
        ({"kind": "free", "vertical_jitter": 14}, "vertical_jitter must be under 14"),
    ],
)
def test_bad_arguments_are_explained(arguments: dict, message: str) -> None:
    images, labels = digit_bank()
    with pytest.raises(ValueError, match=message):
        make_multidigit(images, labels, **arguments)


def test_bad_digits_are_explained() -> None:
    images, labels = digit_bank()
    with pytest.raises(ValueError, match=r"shape \(N, 28, 28\)"):
        make_multidigit(images.reshape(50, 784), labels)
    with pytest.raises(ValueError, match="uint8"):
        make_multidigit(images.astype(np.float32), labels)
    with pytest.raises(ValueError, match="one per image"):
        make_multidigit(images, labels[:-1])
    with pytest.raises(ValueError, match="digits 0-9"):
        make_multidigit(images, labels + 5)


def test_sequences_scores_and_edit_distance() -> None:
    assert multidigit.label_sequences(np.array([[BLANK, 4, BLANK, 0, 7]])) == ["407"]
    assert multidigit.edit_distance("", "123") == 3
    assert multidigit.edit_distance("1234", "1243") == 2
    scores = multidigit.score_sequences(["12345", "1234", "99999"], ["12345", "12345", "12345"])
    assert scores.per_digit_accuracy == pytest.approx(1 - (0 + 1 + 5) / 15)
    assert scores.sequence_accuracy == pytest.approx(1 / 3)
    assert list(scores.wrong) == [False, True, True]
    with pytest.raises(ValueError, match="2 predictions for 1"):
        multidigit.score_sequences(["1", "2"], ["1"])


def test_slot_probabilities_are_read_by_argmax_per_slot() -> None:
    probabilities = np.full((1, 5, 11), 0.01)
    for slot, label in enumerate([3, BLANK, 3, 9, BLANK]):
        probabilities[0, slot, label] = 0.9
    assert multidigit.slot_probabilities_to_sequences(probabilities) == ["339"]
    with pytest.raises(ValueError, match=r"\(N, slots, 11\)"):
        multidigit.slot_probabilities_to_sequences(probabilities[..., :10])


def test_cut_into_slots_is_the_inverse_of_placing_digits() -> None:
    images, labels = digit_bank()
    sample = make_multidigit(images, labels, kind="structured", count=4, seed=0)
    slots = multidigit.cut_into_slots(sample.images)
    np.testing.assert_array_equal(slots, images[sample.sources.ravel()])
    with pytest.raises(ValueError, match="28, 140"):
        multidigit.cut_into_slots(np.zeros((2, 28, 100), np.uint8))


def test_to_mnist_format_crops_scales_and_centres() -> None:
    ink = np.zeros((300, 120), np.float32)
    ink[50:250, 20:100] = 1.0  # 200 x 80: the longer side becomes 20 pixels, the other 8.
    digit = segmentation.to_mnist_format(ink)
    rows = np.flatnonzero(digit.max(axis=1))
    columns = np.flatnonzero(digit.max(axis=0))
    assert digit.dtype == np.uint8 and digit.max() == 255
    assert len(rows) == 20 and len(columns) == 8
    from scipy import ndimage

    centre = ndimage.center_of_mass(digit.astype(float))
    assert abs(centre[0] - 13.5) <= 0.5 and abs(centre[1] - 13.5) <= 0.5


def test_to_mnist_format_keeps_an_off_centre_mass_inside_the_frame() -> None:
    ink = np.zeros((40, 40), np.float32)
    ink[0:40, 0:3] = 1.0
    ink[0:3, 0:40] = 1.0  # An "L" rotated: mass in one corner.
    digit = segmentation.to_mnist_format(ink)
    # The centre of mass cannot reach the middle without pushing ink out of the frame,
    # so the shift stops at the edge: nothing is cut off or wrapped round.
    rows = np.flatnonzero(digit.max(axis=1))
    columns = np.flatnonzero(digit.max(axis=0))
    assert rows[-1] - rows[0] == 19 and columns[-1] - columns[0] == 19


def test_to_mnist_format_rejects_an_image_without_ink() -> None:
    with pytest.raises(ValueError, match="no ink"):
        segmentation.to_mnist_format(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="grayscale"):
        segmentation.to_mnist_format(np.zeros((28, 28, 3)))
    with pytest.raises(ValueError, match="empty"):
        segmentation.to_mnist_format(np.zeros((0, 5)))


def test_components_are_found_left_to_right_and_noise_is_dropped() -> None:
    ink = np.zeros((40, 200), np.float32)
    ink[5:35, 150:160] = 1  # Right digit first in memory order.
    ink[5:35, 20:30] = 1
    ink[5:35, 80:84] = 1
    ink[2:6, 84:100] = 1  # A stroke touching the middle digit: same component.
    ink[38, 120] = 1  # A speck.
    ink[0:3, 60:63] = 1  # A dot lower than a quarter of the tallest digit.
    components = segmentation.find_components(ink)
    assert [(c.left, c.right) for c in components] == [(20, 30), (80, 100), (150, 160)]
    assert len(segmentation.split_digits(ink)) == 3


def test_components_over_the_same_columns_are_merged() -> None:
    ink = np.zeros((40, 60), np.float32)
    ink[15:35, 10:30] = 1
    ink[3:8, 12:28] = 1  # A detached top stroke, as in a "5".
    components = segmentation.find_components(ink)
    assert len(components) == 1 and (components[0].top, components[0].bottom) == (3, 35)


def test_split_digits_of_a_blank_image_is_empty() -> None:
    assert segmentation.split_digits(np.zeros((28, 140))) == []


def test_multi_head_and_multilabel_models_have_the_expected_outputs() -> None:
    from mnist_helpers import models

    heads = models.build_multi_head_cnn()
    assert heads.output_names == [f"slot_{slot}" for slot in range(1, 6)]
    assert all(tuple(output.shape) == (None, 11) for output in heads.outputs)
    assert models.build_multilabel_cnn().output_shape == (None, 55)
    assert models.build_crnn(input_shape=(28, 160, 1)).output_shape == (None, 40, 11)
    with pytest.raises(ValueError, match="room for 2 poolings"):
        models.build_crnn(input_shape=(3, 140, 1))


def test_ctc_loss_is_low_for_the_right_sequence_and_decoding_reads_it() -> None:
    from keras import ops

    from mnist_helpers import training

    steps = np.array([3, 10, 3, 10, 7, 7, 10, 10])
    logits = np.eye(11)[steps][None].astype(np.float32) * 8
    right = np.array([[3, 3, 7, BLANK, BLANK]])
    wrong = np.array([[3, 7, BLANK, BLANK, BLANK]])
    loss_right = float(ops.convert_to_numpy(training.ctc_loss(right, logits))[0])
    loss_wrong = float(ops.convert_to_numpy(training.ctc_loss(wrong, logits))[0])
    assert loss_right < 0.1 < loss_wrong
    assert training.ctc_decode_sequences(logits) == ["337"]
    assert training.ctc_decode_sequences(np.eye(11)[[[10, 10, 10]]]) == [""]


def test_copy_trunk_weights_copies_the_trunk_and_refuses_a_mismatch() -> None:
    from mnist_helpers import models

    digit_cnn = models.build_small_cnn(filters=(16, 32))
    heads = models.build_multi_head_cnn(filters=(16, 32), heads_see="own_slot")
    copied = models.copy_trunk_weights(digit_cnn, heads)
    assert len(copied) == 8
    for name in copied:
        for source, target in zip(digit_cnn.get_layer(name).get_weights(), heads.get_layer(name).get_weights()):
            np.testing.assert_array_equal(source, target)
    with pytest.raises(ValueError, match="do not fit"):
        models.copy_trunk_weights(models.build_small_cnn(filters=(8, 16)), heads)
    with pytest.raises(ValueError, match="no layer names"):
        models.copy_trunk_weights(models.build_mlp(), heads)


def test_own_slot_heads_read_only_their_slot() -> None:
    from mnist_helpers import models

    model = models.build_multi_head_cnn(heads_see="own_slot", dropout_rate=0.0)
    strip = np.random.default_rng(0).random((1, 28, 140, 1)).astype(np.float32)
    changed = strip.copy()
    changed[:, :, 120:, :] = 0.0  # Change only the last slot, away from its left neighbour.
    before = model.predict(strip, verbose=0)
    after = model.predict(changed, verbose=0)
    np.testing.assert_allclose(before[0], after[0], atol=1e-6)
    assert not np.allclose(before[4], after[4])
    with pytest.raises(ValueError, match="heads_see"):
        models.build_multi_head_cnn(heads_see="everything")


def test_crnn_stacks_recurrent_layers() -> None:
    from mnist_helpers import models

    two = models.build_crnn(recurrent_layers=2)
    assert [layer.name for layer in two.layers if "gru" in layer.name] == ["bidirectional_gru_1", "bidirectional_gru_2"]
    with pytest.raises(ValueError, match="recurrent_layers"):
        models.build_crnn(recurrent_layers=0)


def test_to_strips_scales_and_checks() -> None:
    from mnist_helpers import preprocess

    strips = preprocess.to_strips(np.full((2, 28, 140), 255, np.uint8))
    assert strips.shape == (2, 28, 140, 1) and strips.dtype == np.float32 and strips.max() == 1.0
    with pytest.raises(ValueError, match="width of at least 28"):
        preprocess.to_strips(np.zeros((2, 20, 140), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        preprocess.to_strips(np.zeros((2, 28, 140), np.float32))


def test_plot_sequences_marks_wrong_readings() -> None:
    from mnist_helpers import plots

    images = np.zeros((3, 28, 140), np.uint8)
    figure = plots.plot_sequences(images, ["12", "3", "45"], ["12", "8", "45"], columns=3)
    colors = [axis.title.get_color() for axis in figure.axes[:3]]
    assert colors == ["black", "firebrick", "black"]
    assert figure.axes[1].get_title() == "true 3, read 8"
    with pytest.raises(ValueError, match="one true"):
        plots.plot_sequences(images, ["1"])


def test_fit_timed_leaves_a_dataset_to_shuffle_itself(recwarn: pytest.WarningsRecorder) -> None:
    import tensorflow as tf

    from mnist_helpers import models, training

    model = models.build_mlp(hidden_units=(8,), input_size=4, num_classes=2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((32, 4)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.int64)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    run = training.fit_timed(model, dataset, validation_data=dataset, epochs=1, verbose=0)
    assert run.epochs == 1
    assert not [warning for warning in recwarn if "shuffle" in str(warning.message)]


def test_crnn_column_width_sets_the_number_of_steps() -> None:
    from mnist_helpers import models

    assert models.build_crnn(column_width=2).output_shape == (None, 70, 11)
    assert models.build_crnn(column_width=4, input_shape=(28, 160, 1)).output_shape == (None, 40, 11)
    with pytest.raises(ValueError, match="power of two up to 4"):
        models.build_crnn(column_width=3)
    with pytest.raises(ValueError, match="power of two up to 4"):
        models.build_crnn(column_width=8)
