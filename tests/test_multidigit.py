"""The multi-digit generator, slot cutting and sequence scoring."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_helpers import multidigit
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


def test_fresh_strips_compose_new_images_every_epoch_with_the_same_digits() -> None:
    digits = np.zeros((20, 28, 28), np.uint8)
    for index in range(20):
        digits[index, 4 + index % 10 : 14 + index % 10, 10:18] = 255
    strips = multidigit.FreshStrips(
        digits, np.arange(20) % 10, kind="free", count=10, batch_size=4, seed=3
    )
    assert len(strips) == 3
    first_images, first_labels = strips[0]
    assert first_images.dtype == np.float32 and first_images.max() <= 1.0
    assert first_images.shape == (4, 28, 140, 1) and first_labels.shape == (4, 5)
    again = multidigit.FreshStrips(
        digits, np.arange(20) % 10, kind="free", count=10, batch_size=4, seed=3
    )
    np.testing.assert_array_equal(again[0][0], first_images)
    strips.on_epoch_end()
    assert not np.array_equal(strips[0][0], first_images)
    assert strips[2][0].shape == (2, 28, 140, 1)
    with pytest.raises(ValueError, match="batch_size"):
        multidigit.FreshStrips(digits, np.arange(20) % 10, kind="free", count=4, batch_size=0)
