from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_real_mnist

from mnist_helpers import distributed, workers


def test_global_batch_size_and_task_names() -> None:
    assert distributed.global_batch_size(per_worker=64, workers=3) == 192
    with pytest.raises(ValueError, match="positive"):
        distributed.global_batch_size(per_worker=0, workers=1)
    assert distributed.task_name("worker", 2) == "worker_2"
    assert distributed.task_name(None, None) == "single"


def test_read_summary_names_a_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="summary_worker_0.json does not exist"):
        distributed.read_summary(tmp_path, "worker_0")
    distributed.summary_path(tmp_path, "worker_0").write_text('{"steps": ')
    with pytest.raises(ValueError, match="not a JSON summary"):
        distributed.read_summary(tmp_path, "worker_0")
    distributed.summary_path(tmp_path, "worker_0").write_text(json.dumps({"steps": 3}))
    assert distributed.read_summary(tmp_path, "worker_0") == {"steps": 3}


@needs_real_mnist
def test_a_one_worker_cluster_trains_and_writes_weights_and_a_checkpoint(tmp_path: Path) -> None:
    command = workers.python_module_command(
        "mnist_helpers.distributed", "--output", str(tmp_path), "--images", "256", "--epochs", "1"
    )
    environments = workers.tf_config_environments(workers.loopback_cluster(workers=1))
    (finished,) = workers.run_tasks(command, environments, log_dir=tmp_path, timeout=300)
    summary = distributed.read_summary(tmp_path, finished.task)
    assert summary["workers"] == 1 and summary["steps"] == 256 // 64
    weights = np.load(tmp_path / "weights_worker_0.npz")
    assert len(weights.files) > 0
    assert list((tmp_path / "checkpoints").glob("ckpt-1*"))
