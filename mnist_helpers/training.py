"""Training and evaluation helpers: the epoch log, timing and weight-keeping callbacks,
timing an epoch, the book's learning-rate recipe and compile step, test error, and CTC
loss and decoding."""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np


class ElapsedTime(keras.callbacks.Callback):
    """Add ``elapsed_seconds`` since the start of training to every epoch's logs.

    The value lands in ``history``, so the time at which a metric first reached a target
    can be read from it afterwards with ``seconds_to_reach``.

    Example:
        >>> history = model.fit(x, y, validation_data=(x_val, y_val), epochs=5,
        ...                     callbacks=[ElapsedTime()])  # doctest: +SKIP
        >>> history.history["elapsed_seconds"]  # doctest: +SKIP
        [5.1, 9.8, 14.6, 19.3, 24.0]
    """

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["elapsed_seconds"] = time.perf_counter() - self._start


class EpochLog(ElapsedTime):
    """Print one compact line per epoch, with the seconds since training started.

    Keras' own ``verbose=2`` log takes two lines per epoch and ``verbose=1`` stores a
    progress bar's control characters in the notebook; train with ``verbose=0`` and this
    callback instead. Like ``ElapsedTime`` it adds ``elapsed_seconds`` to the history.

    Example:
        >>> history = model.fit(x, y, validation_data=(x_val, y_val), epochs=2,
        ...                     verbose=0, callbacks=[EpochLog()])  # doctest: +SKIP
        epoch  1/2  loss 0.2875  accuracy 0.9198  val_loss 0.1547  val_accuracy 0.9552  2.1 s
        epoch  2/2  loss 0.1168  accuracy 0.9667  val_loss 0.1033  val_accuracy 0.9688  3.4 s
        >>> format_epoch(0, 10, {"loss": 0.28754, "val_accuracy": 0.9552, "elapsed_seconds": 2.08})
        'epoch  1/10  loss 0.2875  val_accuracy 0.9552  2.1 s'
    """

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        total = (self.params or {}).get("epochs") or epoch + 1
        print(format_epoch(epoch, total, logs or {}), flush=True)


class KeepEpochWeights(keras.callbacks.Callback):
    """Keep the model's weights at the end of each of the last ``count`` epochs.

    ``weights`` holds them oldest first, each as ``model.get_weights()`` returns it. They
    are the weights the last steps left, before ``fit`` copies a moving average into the
    model (``use_ema=True``), so the two can be compared, and several epochs' weights can
    be averaged at prediction time (``models.snapshot_average``).

    Example:
        >>> keep = KeepEpochWeights(count=2)
        >>> model.fit(x, y, epochs=5, callbacks=[keep])  # doctest: +SKIP
        >>> len(keep.weights)  # doctest: +SKIP
        2
        >>> KeepEpochWeights(count=0)
        Traceback (most recent call last):
        ...
        ValueError: count is how many epochs' weights to keep, at least 1; got 0
    """

    def __init__(self, *, count: int = 1) -> None:
        super().__init__()
        if count < 1:
            raise ValueError(
                f"count is how many epochs' weights to keep, at least 1; got {count}"
            )
        self.count = count
        self.weights: list[list[np.ndarray]] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.weights = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.weights = [*self.weights, self.model.get_weights()][-self.count :]


def format_epoch(epoch: int, total: int, logs: dict) -> str:
    """One line of ``EpochLog``: the epoch, every metric to 4 decimals, the elapsed seconds."""
    width = len(str(total))
    metrics = "  ".join(
        f"{name} {float(value):.4f}"
        for name, value in logs.items()
        if name not in ("elapsed_seconds", "learning_rate")
    )
    line = f"epoch {epoch + 1:>{width}}/{total}  {metrics}"
    if "elapsed_seconds" in logs:
        line += f"  {float(logs['elapsed_seconds']):.1f} s"
    return line


def training_seconds(history: keras.callbacks.History | dict) -> float:
    """Return the seconds a ``fit`` call took, from a history recorded with ``ElapsedTime``.

    Example:
        >>> training_seconds({"loss": [0.3, 0.1], "elapsed_seconds": [5.0, 9.5]})
        9.5
    """
    logs = history.history if isinstance(history, keras.callbacks.History) else history
    if not logs.get("elapsed_seconds"):
        raise ValueError("the history has no elapsed_seconds; train with callbacks=[EpochLog()] or [ElapsedTime()]")
    return float(logs["elapsed_seconds"][-1])


def seconds_per_epoch(
    model: keras.Model,
    inputs: Any,
    labels: np.ndarray | None = None,
    *,
    batch_size: int,
    timed_images: int,
    epoch_images: int,
    warmup_batches: int = 5,
) -> float:
    """Time ``model.fit`` on ``timed_images`` images and scale it to ``epoch_images``.

    ``model`` must be compiled. ``inputs`` is an array of examples, with ``labels``, or
    a ``tf.data.Dataset`` of ``(inputs, labels)`` batches of ``batch_size`` that
    shuffles itself. A fit on ``warmup_batches`` batches first builds the training
    graph, so only training is timed, and only whole batches: a smaller last batch has
    a new shape, and building the graph for it would count as training time.

    Example:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        >>> x, y = np.zeros((64, 4), "float32"), np.zeros(64, "int32")
        >>> seconds = seconds_per_epoch(
        ...     model, x, y, batch_size=8, timed_images=32, epoch_images=640
        ... )
        >>> seconds > 0
        True
    """
    if batch_size < 1 or epoch_images < 1 or warmup_batches < 1:
        raise ValueError(
            "batch_size, epoch_images and warmup_batches must be positive; got "
            f"{batch_size}, {epoch_images} and {warmup_batches}"
        )
    timed_batches = timed_images // batch_size
    if timed_batches < 1:
        raise ValueError(
            f"timed_images={timed_images} holds no whole batch of {batch_size}; "
            "time at least one batch"
        )
    timed = timed_batches * batch_size
    if isinstance(inputs, np.ndarray):
        if labels is None or len(labels) != len(inputs):
            got = "no labels" if labels is None else f"{len(labels):,} labels"
            raise ValueError(f"{len(inputs):,} inputs need as many labels; got {got}")
        if len(inputs) < timed:
            raise ValueError(
                f"timing {timed:,} images needs as many inputs; got {len(inputs):,}"
            )

        def fit_batches(count: int) -> None:
            images = count * batch_size
            model.fit(
                inputs[:images],
                labels[:images],
                batch_size=batch_size,
                epochs=1,
                verbose=0,
            )

    elif hasattr(inputs, "take"):
        if labels is not None:
            raise ValueError("a dataset carries its own labels; pass labels=None")
        # A dataset of known length must hold the batches to time (a cardinality of
        # -1 means infinite, -2 unknown).
        batches = int(inputs.cardinality())
        if 0 <= batches < timed_batches:
            raise ValueError(
                f"timing {timed_batches} batches needs as many in the dataset; it has "
                f"{batches}"
            )

        def fit_batches(count: int) -> None:
            # The dataset shuffles itself, so fit is told not to.
            model.fit(inputs.take(count), epochs=1, verbose=0, shuffle=False)

    else:
        raise ValueError(
            "inputs must be a NumPy array (with labels) or a tf.data.Dataset of "
            f"batches; got {type(inputs).__name__}"
        )
    fit_batches(warmup_batches)
    start = time.perf_counter()
    fit_batches(timed_batches)
    return (time.perf_counter() - start) * epoch_images / timed


def steps_per_epoch(examples: int, *, batch_size: int) -> int:
    """Return how many batches of ``batch_size`` one pass over ``examples`` takes.

    Example:
        >>> steps_per_epoch(55000, batch_size=128)
        430
    """
    if examples < 1 or batch_size < 1:
        raise ValueError(f"examples and batch_size must be positive; got {examples} and {batch_size}")
    return -(-examples // batch_size)


def seconds_to_reach(history: dict[str, list[float]], *, metric: str, target: float) -> float | None:
    """Return the elapsed seconds at the first epoch where ``metric`` reached ``target``.

    Needs a history recorded with the ``ElapsedTime`` callback; returns None when the
    target was never reached.

    Example:
        >>> seconds_to_reach({"val_accuracy": [0.97, 0.99], "elapsed_seconds": [5.0, 10.0]},
        ...                  metric="val_accuracy", target=0.98)
        10.0
    """
    if "elapsed_seconds" not in history:
        raise ValueError("the history has no elapsed_seconds; train with callbacks=[ElapsedTime()]")
    if metric not in history:
        raise ValueError(f"the history has no {metric!r}; it has {sorted(history)}")
    for value, seconds in zip(history[metric], history["elapsed_seconds"]):
        if value >= target:
            return float(seconds)
    return None


def warmup_cosine_schedule(
    peak_learning_rate: float,
    *,
    epochs: int,
    steps_per_epoch: int,
    warmup_epochs: float = 1.0,
    initial_fraction: float = 0.1,
) -> keras.optimizers.schedules.LearningRateSchedule:
    """A learning rate that rises linearly to its peak, then follows a cosine to zero.

    The warm-up keeps the first large steps from throwing the weights somewhere bad; the
    cosine decay lets training settle at the end. This is Keras' ``CosineDecay`` with
    warm-up, sized in epochs instead of steps.

    Example:
        >>> schedule = warmup_cosine_schedule(0.005, epochs=20, steps_per_epoch=215)
        >>> round(float(schedule(215)), 6)
        0.005
    """
    if peak_learning_rate <= 0:
        raise ValueError(f"peak_learning_rate must be positive; got {peak_learning_rate}")
    if epochs < 1 or steps_per_epoch < 1:
        raise ValueError(f"epochs and steps_per_epoch must be positive; got {epochs} and {steps_per_epoch}")
    if not 0 <= warmup_epochs < epochs:
        raise ValueError(f"warmup_epochs must be in [0, epochs); got {warmup_epochs} of {epochs}")
    warmup_steps = int(round(warmup_epochs * steps_per_epoch))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak_learning_rate * initial_fraction,
        decay_steps=epochs * steps_per_epoch - warmup_steps,
        warmup_target=peak_learning_rate,
        warmup_steps=warmup_steps,
    )


def check_ema_momentum(ema_momentum: float | None) -> None:
    """Refuse a moving-average momentum outside (0, 1); ``None`` means no moving average.

    Example:
        >>> check_ema_momentum(0.99)
        >>> check_ema_momentum(1.0)
        Traceback (most recent call last):
        ...
        ValueError: ema_momentum must be in (0, 1), e.g. 0.99, or None for no moving average; got 1.0
    """
    if ema_momentum is not None and not 0.0 < ema_momentum < 1.0:
        raise ValueError(
            f"ema_momentum must be in (0, 1), e.g. 0.99, or None for no moving average; got {ema_momentum}"
        )


def warmup_cosine_adam(
    peak_learning_rate: float,
    *,
    epochs: int,
    steps_per_epoch: int,
    warmup_epochs: float = 1.0,
    clipnorm: float | None = None,
    ema_momentum: float | None = None,
) -> keras.optimizers.Adam:
    """The book's training recipe: Adam with a linear warm-up, then a cosine decay to zero.

    Chapters 3 to 7 compile with it; the schedule is ``warmup_cosine_schedule``. With an
    ``ema_momentum``, the optimizer also keeps an exponential moving average of the
    weights (Keras' ``use_ema``), and ``model.fit`` ends by copying the average into the
    model.

    Example:
        >>> optimizer = warmup_cosine_adam(0.005, epochs=20, steps_per_epoch=430)
        >>> round(float(optimizer.learning_rate), 6)  # the first step's learning rate
        0.0005
        >>> warmup_cosine_adam(0.003, epochs=7, steps_per_epoch=469, ema_momentum=0.99).use_ema
        True
    """
    check_ema_momentum(ema_momentum)
    schedule = warmup_cosine_schedule(
        peak_learning_rate, epochs=epochs, steps_per_epoch=steps_per_epoch, warmup_epochs=warmup_epochs
    )
    return keras.optimizers.Adam(
        learning_rate=schedule,
        clipnorm=clipnorm,
        use_ema=ema_momentum is not None,
        ema_momentum=0.99 if ema_momentum is None else ema_momentum,
    )


def compile_classifier(
    model: keras.Model,
    *,
    peak_learning_rate: float,
    epochs: int,
    examples: int,
    batch_size: int,
    ema_momentum: float | None = None,
) -> None:
    """Compile a digit classifier with the book's recipe for ``epochs`` epochs over ``examples``.

    The optimizer is :func:`warmup_cosine_adam`, the loss sparse categorical
    cross-entropy on integer labels, the metric accuracy.

    Example:
        >>> from mnist_helpers.models import build_small_cnn
        >>> model = build_small_cnn()
        >>> compile_classifier(model, peak_learning_rate=0.003, epochs=5, examples=1_000, batch_size=100)
        >>> model.loss, model.optimizer.use_ema
        ('sparse_categorical_crossentropy', False)
    """
    model.compile(
        optimizer=warmup_cosine_adam(
            peak_learning_rate,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch(examples, batch_size=batch_size),
            ema_momentum=ema_momentum,
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def classification_error(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Return the fraction of examples whose most probable class is not the label.

    Example:
        >>> classification_error(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]))
        0.5
    """
    from sklearn.metrics import zero_one_loss

    y_true = np.asarray(y_true)
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or len(probabilities) != len(y_true):
        raise ValueError(
            f"expected probabilities of shape ({len(y_true)}, classes); got {probabilities.shape}"
        )
    # Count the mistakes and divide, so 80 errors in 10,000 is exactly 0.008 (1 - 0.992 is not).
    return zero_one_loss(y_true, probabilities.argmax(axis=1), normalize=False) / len(y_true)


# Registered, so that a model compiled with it can be cloned, saved and loaded.
@keras.saving.register_keras_serializable(package="mnist_helpers")
def ctc_loss(labels: Any, logits: Any, *, blank: int = 10) -> Any:
    """Connectionist temporal classification loss, usable as a Keras ``loss``.

    ``labels`` are digit sequences padded with ``blank`` (shape (batch, max_length));
    ``logits`` are a sequence model's outputs (shape (batch, steps, classes)) with the
    CTC blank at index ``blank``. Every output step is used, and each label's length
    is the number of entries that are not ``blank``. The function is registered with
    Keras, so ``keras.models.clone_model`` and ``keras.saving.load_model`` find it.

    Example:
        >>> model.compile(optimizer="adam", loss=ctc_loss)  # doctest: +SKIP
    """
    from keras import ops

    labels = ops.cast(labels, "int32")
    batch_size, steps = ops.shape(logits)[0], ops.shape(logits)[1]
    label_length = ops.sum(ops.cast(ops.not_equal(labels, blank), "int32"), axis=1)
    output_length = ops.full((batch_size,), steps, dtype="int32")
    return ops.ctc_loss(labels, logits, label_length, output_length, mask_index=blank)


def ctc_decode_sequences(
    logits: np.ndarray, *, blank: int = 10, beam_width: int | None = None
) -> list[str]:
    """Read a CTC model's logits, shape (N, steps, classes), as digit strings.

    Greedy decoding (the default) takes the most likely class at every step, merges
    repeats and drops blanks. With a ``beam_width``, a beam search keeps that many
    candidate strings while it reads the steps and returns the most probable string,
    summed over all of its paths.

    Example:
        >>> logits = np.eye(11)[[[3, 3, 10, 3, 10, 7]]] * 10
        >>> ctc_decode_sequences(logits)
        ['337']
        >>> ctc_decode_sequences(logits, beam_width=8)
        ['337']
    """
    from keras import ops

    logits = np.asarray(logits)
    if logits.ndim != 3 or not 0 <= blank < logits.shape[-1]:
        raise ValueError(f"logits must have shape (N, steps, classes) with the blank among the classes; got {logits.shape}")
    if beam_width is not None and beam_width < 1:
        raise ValueError(f"beam_width must be at least 1; got {beam_width}")
    lengths = np.full(len(logits), logits.shape[1], dtype="int32")
    if beam_width is None:
        decoded, _ = ops.ctc_decode(logits, lengths, strategy="greedy", mask_index=blank)
    else:
        decoded, _ = ops.ctc_decode(
            logits, lengths, strategy="beam_search", beam_width=beam_width, mask_index=blank
        )
    paths = ops.convert_to_numpy(decoded)[0]
    return ["".join(str(int(label)) for label in path if 0 <= label != blank) for path in paths]


def matmul_peak_gflops(*, size: int = 4096, repeats: int = 5) -> float:
    """Measure this machine's float32 matrix-multiplication rate, in GFLOP/s.

    A product of two ``size`` x ``size`` matrices costs ``2 * size**3`` floating-point
    operations; the rate of ``repeats`` products, after one to warm up, is about the
    most the machine's linear algebra can do, the yardstick for a training run's
    GFLOP/s. Machines differ several-fold, so compare a run only with the peak measured
    in the same session.

    Example:
        >>> matmul_peak_gflops(size=256, repeats=2) > 0
        True
    """
    if size < 1 or repeats < 1:
        raise ValueError(f"size and repeats must be positive; got {size} and {repeats}")
    first = keras.random.normal((size, size), seed=1)
    second = keras.random.normal((size, size), seed=2)
    keras.ops.convert_to_numpy(keras.ops.matmul(first, second))
    start = time.perf_counter()
    for _ in range(repeats):
        product = keras.ops.matmul(first, second)
    keras.ops.convert_to_numpy(product)
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9
