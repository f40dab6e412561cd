"""The standard error of a measured accuracy and of a difference of two."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mnist_helpers.uncertainty import (
    TIE_STANDARD_ERRORS,
    standard_error,
    standard_error_of_difference,
    standard_errors_apart,
    within_noise,
)


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


def test_standard_errors_apart_is_the_gap_over_its_standard_error() -> None:
    noise = standard_error_of_difference(0.99, 0.98, examples=5_000)
    ahead = standard_errors_apart(0.99, 0.98, examples=5_000)
    behind = standard_errors_apart(0.98, 0.99, examples=5_000)
    assert ahead == pytest.approx(0.01 / noise)
    assert behind == pytest.approx(-ahead)


def test_standard_errors_apart_without_any_noise() -> None:
    assert standard_errors_apart(1.0, 1.0, examples=100) == 0.0
    assert standard_errors_apart(1.0, 0.0, examples=100) == math.inf
    assert standard_errors_apart(0.0, 1.0, examples=100) == -math.inf


def test_within_noise_splits_at_the_tie_threshold() -> None:
    noise = standard_error_of_difference(0.97, 0.97, examples=2_000)
    just_inside = 0.97 + 0.9 * TIE_STANDARD_ERRORS * noise
    just_outside = 0.97 + 1.2 * TIE_STANDARD_ERRORS * noise
    assert within_noise(just_inside, 0.97, examples=2_000)
    assert not within_noise(just_outside, 0.97, examples=2_000)
    assert not within_noise(0.97, just_outside, examples=2_000)


def test_within_noise_flags_equal_models_about_five_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    first = rng.binomial(5_000, 0.98, size=4_000) / 5_000
    second = rng.binomial(5_000, 0.98, size=4_000) / 5_000
    ties = [within_noise(a, b, examples=5_000) for a, b in zip(first, second)]
    assert 0.93 < np.mean(ties) < 0.97


def test_within_noise_checks_its_inputs() -> None:
    with pytest.raises(ValueError, match="fraction between 0 and 1"):
        within_noise(99.0, 0.98, examples=100)
