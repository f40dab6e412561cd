"""Results records: writing, validating and reading them, and the summaries built from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mnist_helpers.results import load_results, machine_description, read_records, record_result


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
    assert "matrix-multiplication peak" not in table


def test_chapter_times_markdown_gives_the_range_of_the_recorded_matmul_peaks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mnist_helpers.results import chapter_times_markdown

    monkeypatch.delenv("BOOK_QUICK", raising=False)
    record_result("03_cnn", model="a", test_error=0.01, train_seconds=6.0, params=1, epochs=1, directory=tmp_path, matmul_peak_gflops=435)
    table = chapter_times_markdown(tmp_path)
    assert table.endswith("reference runs of chapter 3: 435 GFLOP/s.")
    record_result("05_row_lstm", model="b", test_error=0.01, train_seconds=6.0, params=1, epochs=1, directory=tmp_path, matmul_peak_gflops=452)
    record_result("06_multidigit", model="c", test_error=0.01, train_seconds=6.0, params=1, epochs=1, directory=tmp_path, matmul_peak_gflops=430)
    table = chapter_times_markdown(tmp_path)
    assert table.endswith("reference runs of chapters 3, 5 and 6: 430 to 452 GFLOP/s.")


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
    assert record_model("99_test", "tiny", model=Model(), history=history, test_error=0.02) is None
    entry = json.loads((tmp_path / "99_test.json").read_text())[0]
    assert (entry["model"], entry["params"], entry["epochs"], entry["train_seconds"]) == ("tiny", 1234, 3, 3.2)
    record_model("99_test", "reuses", model=Model(), history=history, test_error=0.02, shared_train_seconds=10.0)
    reused = json.loads((tmp_path / "99_test.json").read_text())[1]
    assert (reused["train_seconds"], reused["shared_train_seconds"]) == (13.2, 10.0)
    with pytest.raises(ValueError, match="elapsed_seconds"):
        record_model("99_test", "tiny", model=Model(), history={"loss": [1.0]}, test_error=0.1)


def test_pareto_front_keeps_the_models_no_other_beats_on_both_time_and_error() -> None:
    import pandas as pd

    from mnist_helpers.results import pareto_front

    frame = pd.DataFrame(
        {
            "train_seconds": [10.0, 20.0, 30.0, 40.0, 20.0, 50.0, 50.0],
            "test_error": [0.02, 0.03, 0.01, 0.01, 0.015, 0.005, 0.005],
        },
        index=list("abcdefg"),
    )
    front = pareto_front(frame)
    # b is beaten by a (faster and better), d by c (slower, no better); e is slower than
    # a but better; f and g tie, and neither beats the other.
    expected = {"a": True, "b": False, "c": True, "d": False, "e": True, "f": True, "g": True}
    assert front.to_dict() == expected
    assert pareto_front(frame, x="test_error", y="train_seconds").index.equals(frame.index)


def test_chapter_summary_counts_shared_training_seconds_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mnist_helpers.results import chapter_summary, chapter_times_markdown

    monkeypatch.delenv("BOOK_QUICK", raising=False)
    record_result("06_multidigit", model="trunk", test_error=0.03, train_seconds=77.0, params=1, epochs=1, directory=tmp_path, test_set="structured")
    record_result("06_multidigit", model="heads", test_error=0.04, train_seconds=117.0, params=1, epochs=1, directory=tmp_path, test_set="structured", shared_train_seconds=77.0)
    summary = chapter_summary(tmp_path).set_index("chapter")
    assert summary.loc["06_multidigit", "train_seconds"] == pytest.approx(117.0)
    assert summary.loc["06_multidigit", "models"] == 2
    assert chapter_times_markdown(tmp_path).endswith(f"Measured on: {machine_description()}.")
