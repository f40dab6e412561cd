"""Data-parallel training of the book's small CNN across processes.

Every worker runs this same script; ``TF_CONFIG`` tells each one the cluster and which
task it is (:mod:`mnist_helpers.workers` builds it for local workers).
``tf.distribute.MultiWorkerMirroredStrategy`` keeps one copy of the model per worker,
splits every global batch between the workers, adds up their gradients with an
all-reduce after every step, and so keeps the copies identical. The loop is written
with ``tf.GradientTape`` instead of ``model.fit``, because Keras 3's ``fit`` fails under
this strategy (keras-team/keras issue 20585).

Run it as ``python -m mnist_helpers.distributed --output DIR --images 12000 --epochs 2``
in every worker. Each worker writes ``DIR/weights_<task>.npz`` (one array per variable of
``model.weights``, named ``<index>_trainable`` or ``<index>_statistic``) and
``DIR/summary_<task>.json`` (read it with :func:`read_summary`: the log also holds
TensorFlow's own messages, which may come after the last line the script prints), and
prints one JSON line per epoch and one at the end; the chief (worker 0) also keeps checkpoints in
``DIR/checkpoints``, which let a restarted run resume.

Example:
    >>> global_batch_size(per_worker=64, workers=2)
    128
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Sequence


def global_batch_size(*, per_worker: int, workers: int) -> int:
    """The batch of one step across the cluster: each worker takes ``per_worker`` images.

    Example:
        >>> global_batch_size(per_worker=128, workers=1)
        128
    """
    if per_worker < 1 or workers < 1:
        raise ValueError(f"per_worker and workers must be positive; got {per_worker} and {workers}")
    return per_worker * workers


def task_name(task_type: str | None, task_id: int | None) -> str:
    """A file-name-safe name for a task: ``worker_0``, or ``single`` without a cluster.

    Example:
        >>> task_name("worker", 1), task_name(None, None)
        ('worker_1', 'single')
    """
    return "single" if task_type is None else f"{task_type}_{task_id}"


def summary_path(output_dir: str | Path, task: str) -> Path:
    """Where ``task`` writes the summary of its run in ``output_dir``.

    ``task`` is the name the worker gives itself (``worker_1``) or the one
    :func:`mnist_helpers.workers.run_tasks` reports (``worker 1``).

    Example:
        >>> summary_path("runs", "worker 1").as_posix()
        'runs/summary_worker_1.json'
    """
    return Path(output_dir) / f"summary_{task.replace(' ', '_')}.json"


def read_summary(output_dir: str | Path, task: str) -> dict[str, Any]:
    """The summary ``task`` wrote at the end of its run: workers, steps, seconds, speed.

    Example:
        >>> directory = getfixture("tmp_path")
        >>> _ = summary_path(directory, "worker_0").write_text('{"steps": 20}')
        >>> read_summary(directory, "worker_0")
        {'steps': 20}
    """
    path = summary_path(output_dir, task)
    if not path.is_file():
        raise ValueError(
            f"{path} does not exist: task {task!r} did not finish a run with "
            f"--output {output_dir}. Read its log in that directory, then run it again."
        )
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not a JSON summary ({error}); delete it and run the task again."
        ) from None


def train(
    *, output_dir: Path, images: int, epochs: int, per_worker_batch: int = 64, seed: int = 42
) -> dict[str, Any]:
    """Train the small CNN on ``images`` digits for ``epochs`` epochs in this worker."""
    import keras
    import numpy as np
    import tensorflow as tf

    from mnist_helpers import data, models, preprocess

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    resolver = strategy.cluster_resolver
    task = task_name(resolver.task_type, resolver.task_id)
    is_chief = resolver.task_type in (None, "chief") or (
        resolver.task_type == "worker" and resolver.task_id == 0
    )
    workers = strategy.num_replicas_in_sync
    batch = global_batch_size(per_worker=per_worker_batch, workers=workers)

    # Every worker builds the same dataset; the strategy gives each worker its share of
    # every global batch (sharding by data, since the images are in memory).
    keras.utils.set_random_seed(seed)
    (x_train, y_train), _ = data.load_mnist()
    (x_fit, y_fit), _ = preprocess.train_validation_split(x_train, y_train)
    dataset = (
        tf.data.Dataset.from_tensor_slices((preprocess.to_images(x_fit[:images]), y_fit[:images]))
        .shuffle(images, seed=seed)
        .batch(batch, drop_remainder=True)
    )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    batches = strategy.experimental_distribute_dataset(dataset.with_options(options))

    with strategy.scope():
        model = models.build_small_cnn()
        optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    per_image_loss = keras.losses.SparseCategoricalCrossentropy(reduction=None)

    def replica_step(batch_images, batch_labels):
        with tf.GradientTape() as tape:
            probabilities = model(batch_images, training=True)
            # Divide by the global batch: the all-reduce then sums to the batch mean.
            loss = tf.nn.compute_average_loss(
                per_image_loss(batch_labels, probabilities), global_batch_size=batch
            )
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    @tf.function
    def cluster_step(batch_images, batch_labels):
        losses = strategy.run(replica_step, args=(batch_images, batch_labels))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    # Only the chief's checkpoints are kept; the others must write too (saving is a
    # collective operation), so they write to their own scratch directories.
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    checkpoint_dir = output_dir / ("checkpoints" if is_chief else f"scratch_{task}")
    manager = tf.train.CheckpointManager(checkpoint, str(checkpoint_dir), max_to_keep=1)
    restored_from = manager.restore_or_initialize()

    start = time.perf_counter()
    steps = 0
    for epoch in range(1, epochs + 1):
        total_loss, epoch_steps = 0.0, 0
        for batch_images, batch_labels in batches:
            total_loss += float(cluster_step(batch_images, batch_labels))
            epoch_steps += 1
        steps += epoch_steps
        manager.save()
        print(json.dumps({"task": task, "epoch": epoch, "loss": round(total_loss / epoch_steps, 4),
                          "seconds": round(time.perf_counter() - start, 2)}), flush=True)
    seconds = time.perf_counter() - start
    # One array per variable, in model.weights order; the name says whether training
    # updates it (the all-reduce keeps those identical) or it is a batch-norm statistic.
    np.savez(
        output_dir / f"weights_{task}.npz",
        **{
            f"{index:03d}_{'trainable' if variable.trainable else 'statistic'}": np.asarray(variable)
            for index, variable in enumerate(model.weights)
        },
    )
    summary = {
        "task": task,
        "workers": workers,
        "global_batch": batch,
        "steps": steps,
        "seconds": round(seconds, 2),
        "images_per_second": round(steps * batch / seconds, 1),
        "restored_from": restored_from,
    }
    summary_path(output_dir, task).write_text(json.dumps(summary))
    print(json.dumps(summary), flush=True)
    return summary


def main(arguments: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True, help="directory for weights and checkpoints")
    parser.add_argument("--images", type=int, default=12_000, help="training images")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--per-worker-batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=42)
    options = parser.parse_args(arguments)
    if options.images < 1 or options.epochs < 1:
        parser.error("--images and --epochs must be positive")
    options.output.mkdir(parents=True, exist_ok=True)
    train(
        output_dir=options.output,
        images=options.images,
        epochs=options.epochs,
        per_worker_batch=options.per_worker_batch,
        seed=options.seed,
    )


if __name__ == "__main__":
    main()
