from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from mnist_helpers import workers


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = workers.free_ports(3)
    assert len(set(ports)) == 3
    with pytest.raises(ValueError, match="count"):
        workers.free_ports(0)


def test_tf_config_names_the_cluster_and_the_task() -> None:
    cluster = workers.loopback_cluster(workers=2, chief=True)
    config = json.loads(workers.tf_config(cluster, task_type="worker", task_index=1))
    assert config["task"] == {"type": "worker", "index": 1}
    assert all(address.startswith("127.0.0.1:") for address in config["cluster"]["worker"])
    with pytest.raises(ValueError, match="task_index"):
        workers.tf_config(cluster, task_type="worker", task_index=2)
    with pytest.raises(ValueError, match="not in the cluster"):
        workers.tf_config(cluster, task_type="ps", task_index=0)
    assert sorted(workers.tf_config_environments(cluster)) == ["chief 0", "worker 0", "worker 1"]


def test_kerastuner_environments_share_one_oracle_on_loopback() -> None:
    environments = workers.kerastuner_environments(workers=2)
    ports = {environment["KERASTUNER_ORACLE_PORT"] for environment in environments.values()}
    assert len(ports) == 1
    assert {environment["KERASTUNER_ORACLE_IP"] for environment in environments.values()} == {"127.0.0.1"}
    with pytest.raises(ValueError, match="at least one worker"):
        workers.kerastuner_environments(workers=0)


def test_run_tasks_gives_each_task_its_environment_and_log(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import os; print(os.environ['TASK_NUMBER'])"]
    finished = workers.run_tasks(command, {"a": {"TASK_NUMBER": "1"}, "b c": {"TASK_NUMBER": "2"}}, log_dir=tmp_path)
    assert [(task.task, task.returncode, task.output.strip()) for task in finished] == [("a", 0, "1"), ("b c", 0, "2")]
    assert (tmp_path / "b_c.log").read_text().strip() == "2"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by anyone) counts as stopped.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


def test_run_tasks_reports_a_failed_task_and_stops_the_others(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    script = (
        "import os, sys, time\n"
        "if os.environ['ROLE'] == 'fail':\n"
        "    time.sleep(0.5); print('bad input'); sys.exit(3)\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(60)\n"
    )
    with pytest.raises(RuntimeError, match=r"task 'failing' failed with exit code 3(.|\n)*bad input"):
        workers.run_tasks(
            [sys.executable, "-c", script],
            {"failing": {"ROLE": "fail"}, "sleeping": {"ROLE": "sleep"}},
            log_dir=tmp_path,
            timeout=30,
        )
    assert not _alive(int(pid_file.read_text()))


def test_run_tasks_stops_every_process_after_the_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    script = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="still running after"):
        workers.run_tasks([sys.executable, "-c", script], {"sleeping": {}}, log_dir=tmp_path, timeout=2)
    assert time.perf_counter() - start < 30
    assert not _alive(int(pid_file.read_text()))
    with pytest.raises(ValueError, match="at least one task"):
        workers.run_tasks([sys.executable, "-c", "pass"], {}, log_dir=tmp_path)
