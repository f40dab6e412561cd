"""Results records: one JSON file per chapter, one object per trained model.

``results/<notebook stem>.json`` holds a list of objects with at least ``model``,
``test_error`` (a fraction), ``train_seconds``, ``params``, ``epochs`` and ``machine``.
A chapter writes its records during its full run; the README and the results chapter
read them back with ``load_results``.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import platform
from pathlib import Path
from typing import Any

from mnist_helpers.paths import atomic_output, records_output_dir, results_dir
from mnist_helpers.settings import quick_run

REQUIRED_KEYS = ("model", "test_error", "train_seconds", "params", "epochs", "machine")


def machine_description() -> str:
    """Describe where the numbers were measured: the CPU model and core count, or the GPU.

    Example:
        >>> machine_description()  # doctest: +SKIP
        'Intel(R) Xeon(R) Platinum 8488C, 2 cores'
    """
    gpus = _gpu_names()
    if gpus:
        return ", ".join(gpus)
    return f"{_cpu_model()}, {os.cpu_count()} cores"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _gpu_names() -> list[str]:
    import sys

    if "tensorflow" not in sys.modules:
        return []
    import tensorflow as tf

    names = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        names.append(details.get("device_name", device.name))
    return names


def _check_entry(entry: dict[str, Any]) -> None:
    missing = [key for key in REQUIRED_KEYS if key not in entry]
    if missing:
        raise ValueError(f"a results record needs the keys {', '.join(missing)}")
    if not isinstance(entry["model"], str) or not entry["model"]:
        raise ValueError("model must be a non-empty name")
    error = entry["test_error"]
    if not isinstance(error, numbers.Real) or math.isnan(error) or not 0.0 <= error <= 1.0:
        raise ValueError(f"test_error is a fraction in [0, 1] (0.0142 for 1.42%); got {error!r}")
    seconds = entry["train_seconds"]
    if not isinstance(seconds, numbers.Real) or math.isnan(seconds) or seconds < 0:
        raise ValueError(f"train_seconds must be a non-negative number; got {seconds!r}")
    for key in ("params", "epochs"):
        value = entry[key]
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{key} must be a non-negative integer; got {value!r}")


def record_result(
    chapter: str,
    *,
    model: str,
    test_error: float,
    train_seconds: float,
    params: int,
    epochs: int,
    directory: str | Path | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Add or replace the record of ``model`` in ``<directory>/<chapter>.json``.

    ``directory`` defaults to ``paths.records_output_dir()``: the committed ``results/``
    only in the reference run, ``artifacts/results/`` in a reader's run. The
    file is rewritten atomically; a record with the same model name is replaced, so a
    re-run updates the figures instead of adding duplicates. Quick runs are marked
    with ``"quick_run": true``. Extra keyword arguments become extra keys.

    Example:
        >>> record_result("02_mlp", model="MLP 784", test_error=0.0171,
        ...               train_seconds=13.2, params=623290, epochs=10)  # doctest: +SKIP
        {'model': 'MLP 784', 'test_error': 0.0171, ...}
    """
    entry: dict[str, Any] = {
        "model": model,
        "test_error": test_error,
        "train_seconds": train_seconds,
        "params": params,
        "epochs": epochs,
        "machine": machine_description(),
        **extra,
    }
    if quick_run():
        entry["quick_run"] = True
    _check_entry(entry)
    entry.update(
        test_error=round(float(test_error), 6),
        train_seconds=round(float(train_seconds), 1),
        params=int(params),
        epochs=int(epochs),
    )
    path = Path(directory) if directory is not None else records_output_dir()
    path.mkdir(parents=True, exist_ok=True)
    target = path / f"{chapter}.json"
    records = [record for record in read_records(target) if record["model"] != model] if target.exists() else []
    records.append(entry)
    _write_atomically(target, json.dumps(records, indent=2) + "\n")
    return entry


def record_model(
    chapter: str,
    name: str,
    *,
    model: Any,
    history: Any,
    test_error: float,
    **extra: Any,
) -> None:
    """Record a trained Keras model in one line: parameters, epochs and seconds come from it.

    ``history`` is what ``model.fit`` returned, trained with ``training.EpochLog()`` or
    ``training.ElapsedTime()`` so that it holds the elapsed seconds. Pass
    ``train_seconds=`` or ``epochs=`` to override them (an ensemble, a model trained in
    two ``fit`` calls); other keyword arguments become extra keys, as in ``record_result``.
    ``shared_train_seconds=`` names the seconds of another record's training that this
    model reuses (a trunk trained once): they are added to its ``train_seconds``, its
    whole cost, and ``chapter_summary`` counts them once. It returns nothing, so the
    cell that records shows nothing.

    Example:
        >>> record_model("02_mlp", "MLP 784 (seed)", model=seed_model,
        ...              history=seed_history, test_error=seed_error)  # doctest: +SKIP
    """
    from mnist_helpers.training import training_seconds

    logs = getattr(history, "history", history)
    # A model that reuses another record's training (a trunk) costs that training too.
    extra.setdefault("train_seconds", training_seconds(logs) + extra.get("shared_train_seconds", 0.0))
    extra.setdefault("epochs", len(logs["loss"]))
    record_result(chapter, model=name, test_error=test_error, params=model.count_params(), **extra)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Read and check one chapter's results file.

    Example:
        >>> read_records("results/02_mlp.json")[0]["model"]  # doctest: +SKIP
        'MLP 784 (seed)'
    """
    path = Path(path)
    try:
        records = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(records, list):
        raise ValueError(f"{path}: expected a JSON list of records, got {type(records).__name__}")
    for index, record in enumerate(records):
        try:
            _check_entry(record)
        except ValueError as error:
            raise ValueError(f"{path}, record {index}: {error}") from None
    return records


def load_results(directory: str | Path | None = None, *, full_runs_only: bool = False):
    """Return every chapter's records as one pandas DataFrame with a ``chapter`` column.

    With ``full_runs_only=True``, records marked ``"quick_run": true`` are left out.

    Example:
        >>> load_results()[["chapter", "model", "test_error"]]  # doctest: +SKIP
    """
    import pandas as pd

    path = Path(directory) if directory is not None else results_dir()
    rows = [
        {"chapter": file.stem, **record}
        for file in sorted(path.glob("*.json"))
        for record in read_records(file)
        if not (full_runs_only and record.get("quick_run"))
    ]
    return pd.DataFrame(rows)


def _write_atomically(target: Path, text: str) -> None:
    with atomic_output(target) as stream:
        stream.write(text)


def chapter_summary(directory: str | Path | None = None):
    """One row per chapter: models recorded, their training seconds, best test error.

    A chapter records its final models, not every run of its experiments, and a model it
    reuses from another chapter (``trained_in``) with no training seconds of its own.
    Quick-run records are left out: the summary describes full runs. The best test error
    is over the records of MNIST's single-digit test set; records scored on another test
    set (they carry a ``test_set`` key, as the multi-digit chapter's do) count towards
    models and seconds only, and a chapter with no single-digit record gets NaN. A record
    whose ``train_seconds`` include the training of a part it shares with another record
    (a trunk trained once and reused) says so in ``shared_train_seconds``; those seconds
    are subtracted, so that the chapter's total counts them once. The
    README's table of chapter times is generated from this (``python -m mnist_helpers.results``).

    Example:
        >>> chapter_summary()  # doctest: +SKIP
                chapter  models  train_seconds  best_test_error
        0        02_mlp       2           78.5           0.0138
    """
    import pandas as pd

    frame = load_results(directory, full_runs_only=True)
    columns = ["chapter", "models", "train_seconds", "best_test_error"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    single_digit = frame["test_set"].isna() if "test_set" in frame else pd.Series(True, index=frame.index)
    shared = frame["shared_train_seconds"].fillna(0.0) if "shared_train_seconds" in frame else 0.0
    frame = frame.assign(
        single_digit_error=frame["test_error"].where(single_digit),
        own_train_seconds=frame["train_seconds"] - shared,
    )
    summary = frame.groupby("chapter").agg(
        models=("model", "count"),
        train_seconds=("own_train_seconds", "sum"),
        best_test_error=("single_digit_error", "min"),
    )
    return summary.reset_index()[columns]


def chapter_times_markdown(directory: str | Path | None = None) -> str:
    """The README's table of training time per chapter, as Markdown.

    Example:
        >>> print(chapter_times_markdown())  # doctest: +SKIP
        | chapter | models recorded | training time | best test error |
        ...
    """
    lines = [
        "| chapter | models recorded | training time | best test error |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in chapter_summary(directory).itertuples(index=False):
        minutes, seconds = divmod(int(round(row.train_seconds)), 60)
        duration = f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"
        best = "see the chapter" if math.isnan(row.best_test_error) else f"{row.best_test_error:.2%}"
        lines.append(f"| [{row.chapter}](chapters/{row.chapter}.ipynb) | {row.models} | {duration} | {best} |")
    frame = load_results(directory, full_runs_only=True)
    if not frame.empty:
        machines = ", ".join(sorted(set(frame["machine"])))
        lines += ["", f"Measured on: {machines}."]
        peak_sentence = _matmul_peak_sentence(frame)
        if peak_sentence:
            lines += ["", peak_sentence]
    return "\n".join(lines)


def _matmul_peak_sentence(frame) -> str:
    """Say which chapters measured the float32 matmul peak, and its range; or nothing.

    Two machines of the same name can differ several-fold in speed, so the peaks the
    chapters measured in their own runs say whether their times compare.
    """
    if "matmul_peak_gflops" not in frame:
        return ""
    peaks = frame.dropna(subset=["matmul_peak_gflops"]).groupby("chapter")["matmul_peak_gflops"].max()
    if peaks.empty:
        return ""
    chapters = [str(int(chapter.split("_")[0])) if chapter[:2].isdigit() else chapter for chapter in peaks.index]
    listed = chapters[0] if len(chapters) == 1 else ", ".join(chapters[:-1]) + " and " + chapters[-1]
    low, high = peaks.min(), peaks.max()
    measured = f"{low:.0f}" if round(low) == round(high) else f"{low:.0f} to {high:.0f}"
    return (
        f"Float32 matrix-multiplication peak measured in the reference runs of "
        f"chapter{'s' if len(chapters) > 1 else ''} {listed}: {measured} GFLOP/s."
    )


def pareto_front(frame, *, x: str = "train_seconds", y: str = "test_error"):
    """Mark the records that no other record beats on ``x`` and ``y`` (lower is better).

    A record is on the front unless another record is at least as fast (``x``) and at
    least as accurate (``y``), and strictly better in one of the two: the front holds the
    models worth considering at some budget of time. Returns a boolean Series aligned
    with ``frame``.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame(
        ...     {"train_seconds": [10, 20, 30], "test_error": [0.02, 0.03, 0.01]}
        ... )
        >>> pareto_front(frame).tolist()
        [True, False, True]
    """
    import pandas as pd

    times = frame[x].to_numpy(dtype=float)
    errors = frame[y].to_numpy(dtype=float)
    # beaten[i, j]: record j is no worse than record i on both, and better on one.
    no_worse = (times[None, :] <= times[:, None]) & (errors[None, :] <= errors[:, None])
    better = (times[None, :] < times[:, None]) | (errors[None, :] < errors[:, None])
    beaten = no_worse & better
    return pd.Series(~beaten.any(axis=1), index=frame.index, dtype=bool)


if __name__ == "__main__":
    print(chapter_times_markdown())
