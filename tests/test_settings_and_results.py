"""The quick-run setting, and results records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mnist_helpers.results import load_results, machine_description, read_records, record_result
from mnist_helpers.settings import full_or_quick, quick_run, time_goals_enforced


@pytest.mark.parametrize(("value", "expected"), [("", False), ("0", False), ("1", True), ("true", True)])
def test_quick_run_values(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("BOOK_QUICK", value)
    assert quick_run() is expected
    assert full_or_quick(full="full", quick="quick") == ("quick" if expected else "full")


def test_quick_run_rejects_unknown_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOK_QUICK", "fast")
    with pytest.raises(ValueError, match="BOOK_QUICK=.*use 1 for the quick run"):
        quick_run()


def record(directory: Path, **overrides):
    arguments = dict(model="MLP", test_error=0.0171, train_seconds=13.24, params=623290, epochs=10)
    arguments.update(overrides)
    return record_result("02_mlp", directory=directory, **arguments)


def test_record_writes_a_list_and_replaces_by_model_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BOOK_QUICK", raising=False)
    record(tmp_path)
    record(tmp_path, model="Wide MLP", test_error=0.013, note="dropout")
    record(tmp_path, test_error=0.0165)
    records = json.loads((tmp_path / "02_mlp.json").read_text())
    assert [entry["model"] for entry in records] == ["Wide MLP", "MLP"]
    assert records[1]["test_error"] == 0.0165 and records[1]["train_seconds"] == 13.2
    assert records[0]["note"] == "dropout" and "quick_run" not in records[0]
    assert "cores" in records[0]["machine"] or records[0]["machine"]
    assert list(tmp_path.iterdir()) == [tmp_path / "02_mlp.json"], "no temporary file is left"
    frame = load_results(tmp_path)
    assert frame["chapter"].tolist() == ["02_mlp", "02_mlp"]


def test_quick_runs_are_marked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BOOK_QUICK", "1")
    assert record(tmp_path)["quick_run"] is True


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("test_error", 1.71, r"fraction in \[0, 1\]"),
        ("test_error", float("nan"), "fraction"),
        ("train_seconds", -1.0, "non-negative number"),
        ("params", 12.5, "non-negative integer"),
        ("epochs", -1, "non-negative integer"),
        ("model", "", "non-empty name"),
    ],
)
def test_bad_records_are_refused_and_nothing_is_written(tmp_path: Path, field: str, value, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        record(tmp_path, **{field: value})
    assert not (tmp_path / "02_mlp.json").exists()


def test_reading_a_broken_results_file(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"broken\.json: not valid JSON"):
        read_records(tmp_path / "broken.json")
    (tmp_path / "broken.json").write_text('[{"model": "x"}]')
    with pytest.raises(ValueError, match=r"record 0: a results record needs the keys test_error"):
        read_records(tmp_path / "broken.json")


def test_machine_description_names_cores() -> None:
    assert machine_description().endswith("cores")


def test_committed_results_records_are_well_formed() -> None:
    files = sorted(Path(__file__).resolve().parents[1].joinpath("results").glob("*.json"))
    assert files, "the full run commits results/<chapter>.json records"
    for path in files:
        records = read_records(path)
        assert records, f"{path} holds no records"
        assert not any(entry.get("quick_run") for entry in records), f"{path} holds quick-run figures"


def test_chapter_summary_sums_full_runs_and_leaves_quick_runs_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mnist_helpers.results import chapter_summary, chapter_times_markdown

    monkeypatch.delenv("BOOK_QUICK", raising=False)
    record_result("03_cnn", model="a", test_error=0.008, train_seconds=60.0, params=1, epochs=1, directory=tmp_path)
    record_result("03_cnn", model="b", test_error=0.0055, train_seconds=75.5, params=1, epochs=1, directory=tmp_path)
    record_result("02_mlp", model="c", test_error=0.0138, train_seconds=40.0, params=1, epochs=1, directory=tmp_path)
    monkeypatch.setenv("BOOK_QUICK", "1")
    record_result("03_cnn", model="quick", test_error=0.001, train_seconds=999.0, params=1, epochs=1, directory=tmp_path)
    assert "quick" in set(load_results(tmp_path)["model"])
    assert "quick" not in set(load_results(tmp_path, full_runs_only=True)["model"])
    summary = chapter_summary(tmp_path).set_index("chapter")
    assert summary.loc["03_cnn", "models"] == 2
    assert summary.loc["03_cnn", "train_seconds"] == pytest.approx(135.5)
    assert summary.loc["03_cnn", "best_test_error"] == pytest.approx(0.0055)
    table = chapter_times_markdown(tmp_path)
    assert "| [02_mlp](chapters/02_mlp.ipynb) | 1 | 40 s | 1.38% |" in table
    assert "| [03_cnn](chapters/03_cnn.ipynb) | 2 | 2 min 16 s | 0.55% |" in table


def test_chapter_summary_takes_the_best_error_from_single_digit_records_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mnist_helpers.results import chapter_summary, chapter_times_markdown

    monkeypatch.delenv("BOOK_QUICK", raising=False)
    record_result("06_multidigit", model="slots", test_error=0.029, train_seconds=77.0, params=1, epochs=1, directory=tmp_path, test_set="structured")
    record_result("07_handwriting", model="digits", test_error=0.0069, train_seconds=43.0, params=1, epochs=1, directory=tmp_path)
    record_result("07_handwriting", model="folder", test_error=0.001, train_seconds=4.0, params=1, epochs=1, directory=tmp_path, test_set="own")
    summary = chapter_summary(tmp_path).set_index("chapter")
    assert summary.loc["07_handwriting", "best_test_error"] == pytest.approx(0.0069)
    assert summary.loc["07_handwriting", "models"] == 2
    table = chapter_times_markdown(tmp_path)
    assert "| [06_multidigit](chapters/06_multidigit.ipynb) | 1 | 1 min 17 s | see the chapter |" in table


def test_readme_table_of_chapter_times_matches_the_committed_records() -> None:
    from mnist_helpers.results import chapter_times_markdown

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert chapter_times_markdown(Path(__file__).resolve().parents[1] / "results") in readme, (
        "README's table of chapter times is stale; paste the output of `python -m mnist_helpers.results`"
    )


@pytest.mark.parametrize(
    ("time_goals", "quick", "expected"), [("", "", False), ("1", "", True), ("1", "1", False), ("0", "", False)]
)
def test_time_goals_are_enforced_only_in_full_reference_runs(
    monkeypatch: pytest.MonkeyPatch, time_goals: str, quick: str, expected: bool
) -> None:
    monkeypatch.setenv("BOOK_REFERENCE_RUN", time_goals)
    monkeypatch.setenv("BOOK_QUICK", quick)
    assert time_goals_enforced() is expected


def test_time_goals_setting_rejects_unknown_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOK_REFERENCE_RUN", "sometimes")
    with pytest.raises(ValueError, match="BOOK_REFERENCE_RUN"):
        time_goals_enforced()


def test_a_readers_run_never_rewrites_the_committed_records(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mnist_helpers import paths

    monkeypatch.delenv("BOOK_RESULTS_DIR", raising=False)
    monkeypatch.setenv("BOOK_ARTIFACTS_DIR", str(tmp_path))
    monkeypatch.setenv("BOOK_REFERENCE_RUN", "")
    assert paths.records_output_dir() == tmp_path / "results"
    monkeypatch.setenv("BOOK_REFERENCE_RUN", "1")
    assert paths.records_output_dir() == paths.results_dir()
    monkeypatch.setenv("BOOK_RESULTS_DIR", str(tmp_path / "ci"))
    assert paths.records_output_dir() == tmp_path / "ci"


def test_record_model_takes_params_epochs_and_seconds_from_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json

    from mnist_helpers.results import record_model

    class Model:
        def count_params(self) -> int:
            return 1234

    monkeypatch.setenv("BOOK_RESULTS_DIR", str(tmp_path))
    history = {"loss": [0.5, 0.3, 0.2], "elapsed_seconds": [1.0, 2.0, 3.25]}
    entry = record_model("99_test", "tiny", model=Model(), history=history, test_error=0.02)
    assert (entry["params"], entry["epochs"], entry["train_seconds"]) == (1234, 3, 3.2)
    assert json.loads((tmp_path / "99_test.json").read_text())[0]["model"] == "tiny"
    with pytest.raises(ValueError, match="elapsed_seconds"):
        record_model("99_test", "tiny", model=Model(), history={"loss": [1.0]}, test_error=0.1)
