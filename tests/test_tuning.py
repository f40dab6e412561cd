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
