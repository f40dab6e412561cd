"""Where the book reads and writes: environment overrides, and atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_helpers import paths


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


@pytest.mark.parametrize(
    ("variable", "function", "default"),
    [
        ("BOOK_RESULTS_DIR", paths.results_dir, "results"),
        ("BOOK_ARTIFACTS_DIR", paths.artifacts_dir, "artifacts"),
        ("MNIST_DATA_DIR", paths.data_dir, "data"),
    ],
)
def test_directories_honour_their_environment_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, function, default: str
) -> None:
    monkeypatch.setenv("BOOK_QUICK", "0")
    monkeypatch.setenv(variable, str(tmp_path / "elsewhere"))
    assert function() == tmp_path / "elsewhere"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(variable, "~/mine")
    assert function() == tmp_path / "mine"
    for unset in ("", "   "):
        monkeypatch.setenv(variable, unset)
        assert function() == paths.book_root() / default
    monkeypatch.delenv(variable)
    assert function() == paths.book_root() / default


def test_records_output_dir_honours_the_results_variable_outside_the_reference_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BOOK_REFERENCE_RUN", "0")
    monkeypatch.setenv("BOOK_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("BOOK_RESULTS_DIR", str(tmp_path / "ci"))
    assert paths.records_output_dir() == tmp_path / "ci"
    monkeypatch.setenv("BOOK_RESULTS_DIR", " ")
    assert paths.records_output_dir() == tmp_path / "artifacts" / "results"
    monkeypatch.delenv("BOOK_RESULTS_DIR")
    monkeypatch.setenv("BOOK_REFERENCE_RUN", "1")
    assert paths.records_output_dir() == paths.book_root() / "results"


def test_atomic_output_replaces_the_file_when_the_block_completes(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    target.write_text("old")
    with paths.atomic_output(target) as stream:
        stream.write("new")
        assert target.read_text() == "old", "the target is untouched until the block completes"
    assert target.read_text() == "new"
    with paths.atomic_output(target, binary=True) as stream:
        stream.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert [path.name for path in tmp_path.iterdir()] == ["record.json"], "no temporary file is left"


def test_atomic_output_leaves_the_old_file_when_the_block_raises(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="midway"):
        with paths.atomic_output(target) as stream:
            stream.write("half of the new")
            raise RuntimeError("midway")
    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["record.json"], "no temporary file is left"


def test_atomic_output_creates_nothing_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        with paths.atomic_output(tmp_path / "new.json") as stream:
            stream.write("partial")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_quick_run_keeps_its_models_apart_from_a_full_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOOK_ARTIFACTS_DIR", raising=False)
    monkeypatch.setenv("BOOK_QUICK", "0")
    full = paths.artifacts_dir()
    monkeypatch.setenv("BOOK_QUICK", "1")
    assert paths.artifacts_dir() == full / "quick"
