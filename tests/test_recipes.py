"""Chapter 4's reader recipe: its checks, its record, and short training runs."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import make_images, make_labels

from mnist_helpers import augment, models, recipes, results, training
from mnist_helpers.preprocess import to_images
from mnist_helpers.recipes import ReaderRecipe


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"epochs": 1}, "epochs must be a whole number of at least 2; got 1"),
        ({"epochs": 2.5}, "epochs must be a whole number"),
        ({"batch_size": True}, "batch_size must be a whole number"),
        ({"peak_learning_rate": 0.0}, "peak_learning_rate must be a positive number"),
        ({"transforms": {"rotation": 10}}, "'rotation' is not a transform .* rotation_degrees, zoom"),
        ({"transforms": {"zoom": -0.1}}, "the strength of zoom must be a number of at least 0"),
        ({"transforms": {"resample_once": 1}}, "'resample_once' is not a transform"),
        ({"seeds": ()}, "seeds needs at least one seed"),
        ({"seeds": (42, 42)}, "the members' seeds must differ"),
        ({"seeds": (4.5,)}, "each seed must be a whole number"),
        ({"ema_momentum": 1.5}, "ema_momentum must be in"),
        ({"snapshot_epochs": 1}, r"from 2 to epochs \(7\); got 1 \(None switches the average off\)"),
        ({"epochs": 3, "snapshot_epochs": 4}, r"from 2 to epochs \(3\); got 4"),
        ({"snapshot_epochs": 2.5}, "snapshot_epochs must be a whole number"),
        ({"test_time_shift": 0}, "test_time_shift must be a whole number of at least 1"),
    ],
)
def test_a_recipe_refuses_settings_that_cannot_train(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReaderRecipe(**settings)


def test_transforms_given_as_a_dictionary_make_the_same_recipe() -> None:
    as_dictionary = ReaderRecipe(transforms={"rotation_degrees": 10, "zoom": 0.1, "translation": 0.1})
    assert as_dictionary == ReaderRecipe() and hash(as_dictionary) == hash(ReaderRecipe())


def test_a_quick_recipe_trains_two_members_for_two_epochs_and_stays_valid() -> None:
    quick = ReaderRecipe(epochs=9, snapshot_epochs=4, test_time_shift=1).quick()
    assert (quick.epochs, quick.seeds, quick.snapshot_epochs, quick.test_time_shift) == (2, (42, 43), 2, 1)
    assert ReaderRecipe(seeds=(7,)).quick().seeds == (7,)


def test_a_recipe_survives_its_json_record() -> None:
    recipe = ReaderRecipe(epochs=3, seeds=(7, 8), ema_momentum=0.99, snapshot_epochs=2, test_time_shift=1)
    record = json.loads(json.dumps(recipe.to_record()))
    assert record["transforms"] == {"rotation_degrees": 10, "zoom": 0.1, "translation": 0.1}
    assert ReaderRecipe.from_record(record) == recipe


def test_a_partial_or_foreign_record_is_refused() -> None:
    record = ReaderRecipe().to_record()
    del record["snapshot_epochs"]
    with pytest.raises(ValueError, match="lacks snapshot_epochs.*run chapter 4 again"):
        ReaderRecipe.from_record(record)
    with pytest.raises(ValueError, match="no setting 'colour', 'size'"):
        ReaderRecipe.from_record({**ReaderRecipe().to_record(), "size": 1, "colour": "red"})


def _record(directory: Path, model: str, **extra) -> None:
    results.record_result(
        "04_augmentation", model=model, test_error=0.01, train_seconds=1.0, params=1, epochs=2, directory=directory, **extra
    )


def test_recorded_recipe_reads_the_record_that_carries_it(tmp_path: Path) -> None:
    recipe = ReaderRecipe(epochs=2, snapshot_epochs=2)
    _record(tmp_path, "single")
    _record(tmp_path, "ensemble", **{recipes.RECORD_KEY: recipe.to_record()})
    assert recipes.recorded_recipe(tmp_path / "04_augmentation.json") == recipe


def test_recorded_recipe_says_which_chapter_writes_a_missing_record(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run chapter 4"):
        recipes.recorded_recipe(tmp_path / "04_augmentation.json")
    _record(tmp_path, "single")
    with pytest.raises(ValueError, match="no record with a 'reader_recipe'"):
        recipes.recorded_recipe(tmp_path / "04_augmentation.json")


def test_compile_reader_schedules_the_recipes_epochs_and_batches() -> None:
    network = recipes.build_reader(recipe=ReaderRecipe(), seed=1)
    recipes.compile_reader(network, recipe=ReaderRecipe(epochs=4, batch_size=50), images=1_000)
    schedule = network.optimizer._learning_rate
    # 20 steps per epoch: the first epoch warms up, the other three decay.
    assert (schedule.warmup_steps, schedule.decay_steps) == (20, 60)
    assert network.loss == "sparse_categorical_crossentropy" and not network.optimizer.use_ema


def test_finish_reader_refuses_too_few_kept_epochs() -> None:
    network = recipes.build_reader(recipe=ReaderRecipe(), seed=1)
    with pytest.raises(ValueError, match=r"KeepEpochWeights\(count=3\)"):
        recipes.finish_reader(network, [network.get_weights()] * 2, recipe=ReaderRecipe(snapshot_epochs=3))


def test_finish_reader_without_additions_keeps_the_last_epochs_weights() -> None:
    network = recipes.build_reader(recipe=ReaderRecipe(), seed=1)
    last = [np.full_like(weights, 0.5) for weights in network.get_weights()]
    finished = recipes.finish_reader(network, [network.get_weights(), last], recipe=ReaderRecipe())
    assert finished is network
    np.testing.assert_array_equal(finished.get_weights()[0], last[0])


def test_train_reader_is_the_seed_build_compile_fit_sequence_written_out() -> None:
    # Chapter 4 once trained its members with these steps written out; train_reader must
    # draw the same random numbers, or the chapter's figures would change.
    images, labels = to_images(make_images(64)), make_labels(64)
    recipe = ReaderRecipe(epochs=2, batch_size=32, seeds=(5,))
    reader, _ = recipes.train_reader(images, labels, recipe=recipe, seed=5)
    keras.utils.set_random_seed(5)
    network = models.build_deotte_cnn(
        augmentation=augment.digit_augmentation(rotation_degrees=10, zoom=0.1, translation=0.1, seed=5),
        name="deotte_cnn_5",
    )
    network.compile(
        optimizer=training.warmup_cosine_adam(0.003, epochs=2, steps_per_epoch=2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    network.fit(images, labels, epochs=2, batch_size=32, verbose=0)
    for ours, written_out in zip(reader.get_weights(), network.get_weights()):
        np.testing.assert_array_equal(ours, written_out)


def test_train_reader_applies_the_additions() -> None:
    images, labels = to_images(make_images(64)), make_labels(64)
    recipe = ReaderRecipe(epochs=2, batch_size=32, snapshot_epochs=2, test_time_shift=1)
    reader, history = recipes.train_reader(images, labels, recipe=recipe, seed=5)
    assert reader.name == "deotte_cnn_5_snapshots_shifts"
    assert len(history.history["loss"]) == 2
    probabilities = reader.predict(images[:8], verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
