from __future__ import annotations

from pathlib import Path

import keras_tuner
import pytest

from mnist_helpers import tuning


def test_the_search_space_sets_width_dropout_and_learning_rate() -> None:
    hyperparameters = keras_tuner.HyperParameters()
    hyperparameters.Fixed("filters", 8)
    hyperparameters.Fixed("dropout", 0.5)
    hyperparameters.Fixed("learning_rate", 0.001)
    model = tuning.build_tunable_cnn(hyperparameters)
    assert model.get_layer("conv_1_1").filters == 8
    assert model.get_layer("conv_2_1").filters == 16
    assert float(model.optimizer.learning_rate) == pytest.approx(0.001)
    assert any(getattr(layer, "rate", None) == 0.5 for layer in model.layers)


def test_make_tuner_judges_on_validation_accuracy_and_checks_trials(tmp_path: Path) -> None:
    tuner = tuning.make_tuner(directory=tmp_path, project_name="test", max_trials=3)
    assert tuner.oracle.objective.name == "val_accuracy"
    assert tuner.oracle.max_trials == 3
    with pytest.raises(ValueError, match="max_trials"):
        tuning.make_tuner(directory=tmp_path, project_name="test", max_trials=0)
    # Without initial_points, KerasTuner's own default number of random trials applies.
    assert tuner.oracle.num_initial_points is None
    with pytest.raises(ValueError, match="initial_points"):
        tuning.make_tuner(
            directory=tmp_path, project_name="none", max_trials=8, initial_points=0
        )


def _third_trial(tmp_path: Path, *, initial_points: int) -> dict:
    """The hyper-parameters of a tuner's third trial, after two finished with scores."""
    tuner = tuning.make_tuner(
        directory=tmp_path / str(initial_points),
        project_name="test",
        max_trials=5,
        initial_points=initial_points,
    )
    oracle = tuner.oracle
    for score in (0.9, 0.5):
        trial = oracle.create_trial("tuner0")
        oracle.update_trial(trial.trial_id, {"val_accuracy": score})
        trial.status = keras_tuner.engine.trial.TrialStatus.COMPLETED
        oracle.end_trial(trial)
    return oracle.create_trial("tuner0").hyperparameters.values


# With two finished trials, scikit-learn's fit of the Gaussian process puts its length
# scales at their bounds and warns; the fit is still the one KerasTuner uses.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_gaussian_process_chooses_the_trials_after_the_initial_points(
    tmp_path: Path,
) -> None:
    # The same seed draws the same random points, so the third trial differs only where
    # the Gaussian process, fitted to the first two, chose it.
    random_third = _third_trial(tmp_path, initial_points=5)
    guided_third = _third_trial(tmp_path, initial_points=2)
    assert guided_third != random_third


def test_main_builds_the_tuner_its_flags_describe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    searched = {}
    monkeypatch.setattr(
        tuning,
        "search",
        lambda *, tuner, images, epochs: searched.update(
            tuner=tuner, images=images, epochs=epochs
        ),
    )
    tuning.main(
        [
            "--directory", str(tmp_path),
            "--project", "cli",
            "--max-trials", "4",
            "--initial-points", "2",
            "--images", "100",
        ]
    )  # fmt: skip
    assert searched["tuner"].oracle.max_trials == 4
    assert searched["tuner"].oracle.num_initial_points == 2
    assert (searched["images"], searched["epochs"]) == (100, 2)
