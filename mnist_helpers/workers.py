"""Start local worker processes for distributed training and search, and always stop them.

TensorFlow's multi-worker strategies learn who is in the cluster from the ``TF_CONFIG``
environment variable of each process; KerasTuner's distributed mode reads
``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT``. This
module builds those environments for processes on the loopback address, with ports the
operating system reports free, and runs one process per task: :func:`run_tasks` waits
for all of them and stops every process still running when it returns, whether the
tasks succeeded, failed or ran out of time. Pointed at N machines, only the addresses
in the environments change.

Example:
    >>> cluster = loopback_cluster(workers=2)
    >>> sorted(tf_config_environments(cluster))
    ['worker 0', 'worker 1']
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

LOOPBACK = "127.0.0.1"
"""The only address the book's workers listen on: nothing outside the machine reaches them."""


def free_ports(count: int, *, host: str = LOOPBACK) -> list[int]:
    """Return ``count`` distinct ports that are free on ``host`` now.

    The operating system picks each port (binding to port 0); all sockets stay open
    until every port is chosen, so the ports differ. Another program could take a port
    before a worker binds it, which is unlikely on a laptop and reported clearly by the
    worker if it happens.

    Example:
        >>> ports = free_ports(2)
        >>> len(set(ports)) == 2 and all(1024 <= port < 65536 for port in ports)
        True
    """
    if count < 1:
        raise ValueError(f"count must be at least 1; got {count}")
    sockets = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.bind((host, 0))
            sockets.append(probe)
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def loopback_cluster(*, workers: int, chief: bool = False) -> dict[str, list[str]]:
    """A cluster of ``workers`` worker tasks (and a chief) on free loopback ports.

    Example:
        >>> cluster = loopback_cluster(workers=2, chief=True)
        >>> [len(cluster["chief"]), len(cluster["worker"])]
        [1, 2]
        >>> cluster["worker"][0].startswith("127.0.0.1:")
        True
    """
    if workers < 1:
        raise ValueError(f"a cluster needs at least one worker; got {workers}")
    ports = free_ports(workers + int(chief))
    addresses = [f"{LOOPBACK}:{port}" for port in ports]
    cluster = {"worker": addresses[int(chief) :]}
    if chief:
        cluster["chief"] = addresses[:1]
    return cluster


def tf_config(cluster: Mapping[str, Sequence[str]], *, task_type: str, task_index: int) -> str:
    """The ``TF_CONFIG`` value for one task of ``cluster``: the cluster and who this is.

    Example:
        >>> tf_config({"worker": ["127.0.0.1:1234"]}, task_type="worker", task_index=0)
        '{"cluster": {"worker": ["127.0.0.1:1234"]}, "task": {"type": "worker", "index": 0}}'
    """
    if task_type not in cluster:
        raise ValueError(f"task_type {task_type!r} is not in the cluster ({', '.join(cluster)})")
    if not 0 <= task_index < len(cluster[task_type]):
        raise ValueError(
            f"task_index must be below {len(cluster[task_type])} for {task_type!r}; got {task_index}"
        )
    return json.dumps(
        {"cluster": {name: list(addresses) for name, addresses in cluster.items()},
         "task": {"type": task_type, "index": task_index}}
    )


def tf_config_environments(cluster: Mapping[str, Sequence[str]]) -> dict[str, dict[str, str]]:
    """One environment per task of ``cluster``, each with its ``TF_CONFIG``, keyed by task name.

    Example:
        >>> environments = tf_config_environments({"worker": ["127.0.0.1:1", "127.0.0.1:2"]})
        >>> json.loads(environments["worker 1"]["TF_CONFIG"])["task"]
        {'type': 'worker', 'index': 1}
    """
    return {
        f"{task_type} {index}": {"TF_CONFIG": tf_config(cluster, task_type=task_type, task_index=index)}
        for task_type, addresses in cluster.items()
        for index in range(len(addresses))
    }


def kerastuner_environments(*, workers: int, port: int | None = None) -> dict[str, dict[str, str]]:
    """Environments for KerasTuner's distributed mode: one chief (the oracle) and ``workers``.

    The chief serves the oracle, which hands out trials, on ``LOOPBACK:port`` (a free port
    when not given); each worker runs the trials it is handed.

    Example:
        >>> environments = kerastuner_environments(workers=2, port=8000)
        >>> sorted(environments), environments["tuner1"]["KERASTUNER_TUNER_ID"]
        (['chief', 'tuner0', 'tuner1'], 'tuner1')
    """
    if workers < 1:
        raise ValueError(f"the search needs at least one worker; got {workers}")
    oracle = {"KERASTUNER_ORACLE_IP": LOOPBACK, "KERASTUNER_ORACLE_PORT": str(port or free_ports(1)[0])}
    tasks = {"chief": {**oracle, "KERASTUNER_TUNER_ID": "chief"}}
    for index in range(workers):
        tasks[f"tuner{index}"] = {**oracle, "KERASTUNER_TUNER_ID": f"tuner{index}"}
    return tasks


@dataclass(frozen=True)
class TaskResult:
    """How one task ended: its name, exit code, seconds and what it printed."""

    task: str
    returncode: int
    seconds: float
    output: str


def run_tasks(
    command: Sequence[str],
    environments: Mapping[str, Mapping[str, str]],
    *,
    log_dir: str | Path,
    timeout: float = 600.0,
    base_environment: Mapping[str, str] | None = None,
) -> list[TaskResult]:
    """Run ``command`` once per task, each with its environment, and wait for all of them.

    Each task's output goes to ``log_dir/<task>.log``. Every process still running when
    the function returns or raises (a task failed, ``timeout`` seconds passed, the
    kernel was interrupted) is terminated, then killed, so no worker outlives the call.
    Raises ``RuntimeError`` naming the task and the end of its log if a task fails.

    Example:
        >>> results = run_tasks([sys.executable, "-c", "import os; print(os.environ['N'])"],
        ...                     {"a": {"N": "1"}, "b": {"N": "2"}}, log_dir=getfixture("tmp_path"))
        >>> [(result.task, result.output.strip()) for result in results]
        [('a', '1'), ('b', '2')]
    """
    if not environments:
        raise ValueError("run_tasks needs at least one task")
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    base = dict(os.environ if base_environment is None else base_environment)
    processes: dict[str, tuple[subprocess.Popen, Path, float]] = {}
    try:
        for task, environment in environments.items():
            log_path = log_dir / f"{task.replace(' ', '_')}.log"
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    list(command), env={**base, **environment}, stdout=log, stderr=subprocess.STDOUT
                )
            processes[task] = (process, log_path, time.perf_counter())
        deadline = time.perf_counter() + timeout
        ended: dict[str, float] = {}
        # Poll every task, so that the first failure stops the run at once (the other
        # workers would otherwise wait for it forever at their next all-reduce).
        while len(ended) < len(processes):
            for task, (process, log_path, started) in processes.items():
                if task in ended or process.poll() is None:
                    continue
                ended[task] = time.perf_counter() - started
                if process.returncode != 0:
                    raise RuntimeError(
                        f"task {task!r} failed with exit code {process.returncode}; the end "
                        f"of its log ({log_path}):\n{_tail(log_path)}"
                    )
            if len(ended) < len(processes) and time.perf_counter() > deadline:
                running = [task for task in processes if task not in ended]
                raise RuntimeError(
                    f"task {running[0]!r} was still running after {timeout:.0f} s; its log "
                    f"so far ({processes[running[0]][1]}):\n{_tail(processes[running[0]][1])}"
                )
            time.sleep(0.1)
        results = [
            TaskResult(task, process.returncode, ended[task], log_path.read_text(errors="replace"))
            for task, (process, log_path, _) in processes.items()
        ]
        return results
    finally:
        _stop(process for process, _, _ in processes.values())


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(processes) -> None:
    """Terminate every process still running, then kill those that ignore it."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def python_module_command(module: str, *arguments: str) -> list[str]:
    """The command that runs ``python -m module arguments`` with this kernel's Python.

    Example:
        >>> python_module_command("mnist_helpers.distributed", "--epochs", "2")[1:]
        ['-m', 'mnist_helpers.distributed', '--epochs', '2']
    """
    return [sys.executable, "-m", module, *arguments]
