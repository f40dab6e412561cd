"""The standard error of a measured accuracy and of a difference of two."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mnist_helpers.uncertainty import standard_error, standard_error_of_difference


def test_standard_error_matches_the_binomial_formula() -> None:
    assert standard_error(0.9, examples=100) == pytest.approx(0.03)
    assert standard_error(1.0, examples=100) == 0.0


def test_standard_error_shrinks_with_the_square_root_of_the_examples() -> None:
    small = standard_error(0.95, examples=1_000)
    large = standard_error(0.95, examples=4_000)
    assert small / large == pytest.approx(2.0)


def test_standard_error_agrees_with_simulated_accuracies() -> None:
    rng = np.random.default_rng(0)
    accuracies = rng.binomial(2_000, 0.97, size=20_000) / 2_000
    assert accuracies.std() == pytest.approx(standard_error(0.97, examples=2_000), rel=0.03)


def test_difference_adds_the_two_errors_in_quadrature() -> None:
    first = standard_error(0.99, examples=5_000)
    second = standard_error(0.98, examples=5_000)
    difference = standard_error_of_difference(0.99, 0.98, examples=5_000)
    assert difference == pytest.approx(math.sqrt(first**2 + second**2))
    assert difference > max(first, second)


@pytest.mark.parametrize("accuracy", [-0.1, 1.5, 99.0])
def test_accuracy_outside_zero_to_one_is_rejected(accuracy: float) -> None:
    with pytest.raises(ValueError, match="fraction between 0 and 1"):
        standard_error(accuracy, examples=100)


@pytest.mark.parametrize("examples", [0, -5, 2.5])
def test_examples_must_be_a_positive_whole_number(examples: float) -> None:
    with pytest.raises(ValueError, match="whole number of at least 1"):
        standard_error(0.9, examples=examples)
