"""Model builders shared between chapters.

Builders return uncompiled Keras models, so each chapter shows its optimizer, loss and
metrics where the reader can see and change them.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers


def build_mlp(
    *,
    hidden_units: Sequence[int] = (784,),
    dropout_rate: float = 0.0,
    input_size: int = 784,
    num_classes: int = 10,
    name: str = "mlp",
) -> keras.Model:
    """Build a multilayer perceptron: ReLU hidden layers, then a softmax over the classes.

    Each hidden layer is followed by dropout when ``dropout_rate`` is above zero.

    Example:
        >>> model = build_mlp(hidden_units=(784,))
        >>> model.count_params()
        623290
    """
    if not hidden_units or any(int(units) < 1 for units in hidden_units):
        raise ValueError(f"hidden_units needs at least one positive layer width; got {tuple(hidden_units)}")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate is a fraction in [0, 1); got {dropout_rate}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2; got {num_classes}")
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=(input_size,), name="pixels"))
    for index, units in enumerate(hidden_units, start=1):
        model.add(layers.Dense(int(units), activation="relu", name=f"hidden_{index}"))
        if dropout_rate > 0:
            model.add(layers.Dropout(dropout_rate, name=f"dropout_{index}"))
    model.add(layers.Dense(num_classes, activation="softmax", name="probabilities"))
    return model


_RECURRENT_CELLS = {"lstm": layers.LSTM, "gru": layers.GRU}


def build_recurrent_classifier(
    *,
    cell: str = "lstm",
    units: Sequence[int] = (50, 50),
    bidirectional: bool = False,
    features: int = 28,
    num_classes: int = 10,
    unroll: bool = False,
    name: str = "row_lstm",
) -> keras.Model:
    """Build stacked recurrent layers that read an image as a sequence, then a softmax.

    The input is (time steps, features): 28 rows of 28 pixels for MNIST read row by row.
    The time dimension is left open, so the same model can read only the first rows of an
    image. Every recurrent layer but the last returns its whole sequence to the next; the
    last returns only its final state, which has seen every row.

    Example:
        >>> model = build_recurrent_classifier(cell="lstm", units=(50, 50))
        >>> model.count_params()
        36510
    """
    if cell not in _RECURRENT_CELLS:
        raise ValueError(f"cell must be one of {sorted(_RECURRENT_CELLS)}; got {cell!r}")
    if not units or any(int(size) < 1 for size in units):
        raise ValueError(f"units needs at least one positive layer size; got {tuple(units)}")
    layer_class = _RECURRENT_CELLS[cell]
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=(None if not unroll else 28, features), name="rows"))
    for index, size in enumerate(units, start=1):
        recurrent = layer_class(int(size), return_sequences=index < len(units), unroll=unroll, name=f"{cell}_{index}")
        if bidirectional:
            recurrent = layers.Bidirectional(recurrent, name=f"bidirectional_{cell}_{index}")
        model.add(recurrent)
    model.add(layers.Dense(num_classes, activation="softmax", name="probabilities"))
    return model


def build_simple_cnn(*, num_classes: int = 10, name: str = "simple_cnn") -> keras.Model:
    """Build the simple CNN of the classic Keras MNIST tutorial.

    Convolution (32 filters, 5x5, ReLU), 2x2 max pooling, dropout 0.2, flatten, dense 128
    ReLU, softmax. It reads (28, 28, 1) images.

    Example:
        >>> build_simple_cnn().count_params()
        592074
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2; got {num_classes}")
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1), name="image"),
            layers.Conv2D(32, 5, activation="relu", name="conv"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Dropout(0.2, name="dropout"),
            layers.Flatten(name="flatten"),
            layers.Dense(128, activation="relu", name="dense"),
            layers.Dense(num_classes, activation="softmax", name="probabilities"),
        ],
        name=name,
    )


def build_small_cnn(
    *,
    filters: Sequence[int] = (16, 32),
    convolutions_per_stage: int = 2,
    dropout_rate: float = 0.3,
    batch_norm_momentum: float = 0.9,
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    augmentation: keras.Layer | None = None,
    name: str = "small_cnn",
) -> keras.Model:
    """Build a small modern CNN: stages of 3x3 convolutions with batch normalization.

    Each stage holds ``convolutions_per_stage`` blocks of convolution (no bias: batch
    normalization adds its own), batch normalization and ReLU, then 2x2 max pooling;
    the next stage has the next number of ``filters``. Dropout and a softmax read the
    flattened features. ``batch_norm_momentum`` is 0.9 rather than Keras' 0.99 so the
    statistics used at inference catch up within a few hundred steps, which matters for
    runs of one or two epochs. An ``augmentation`` layer, if given, comes first; Keras
    runs it only while training.

    Example:
        >>> build_small_cnn().count_params()
        32346
        >>> build_small_cnn(filters=(32, 64), num_classes=47).count_params()
        213007
    """
    if not filters or any(int(count) < 1 for count in filters):
        raise ValueError(f"filters needs at least one positive count per stage; got {tuple(filters)}")
    if convolutions_per_stage < 1:
        raise ValueError(f"convolutions_per_stage must be at least 1; got {convolutions_per_stage}")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate is a fraction in [0, 1); got {dropout_rate}")
    if not 0.0 < batch_norm_momentum < 1.0:
        raise ValueError(f"batch_norm_momentum must be in (0, 1); got {batch_norm_momentum}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2; got {num_classes}")
    height, width = input_shape[:2]
    if min(height, width) < 2 ** len(filters):
        raise ValueError(f"{len(filters)} pooling stages need images of at least {2 ** len(filters)} pixels; got {input_shape}")
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape, name="image"))
    if augmentation is not None:
        model.add(augmentation)
    for stage, count in enumerate(filters, start=1):
        for block in range(1, convolutions_per_stage + 1):
            model.add(layers.Conv2D(int(count), 3, padding="same", use_bias=False, name=f"conv_{stage}_{block}"))
            model.add(layers.BatchNormalization(momentum=batch_norm_momentum, name=f"batch_norm_{stage}_{block}"))
            model.add(layers.ReLU(name=f"relu_{stage}_{block}"))
        model.add(layers.MaxPooling2D(2, name=f"pool_{stage}"))
    model.add(layers.Flatten(name="flatten"))
    if dropout_rate > 0:
        model.add(layers.Dropout(dropout_rate, name="dropout"))
    model.add(layers.Dense(num_classes, activation="softmax", name="probabilities"))
    return model


def forward_flops(model: keras.Model) -> int:
    """Count the floating-point operations of one image's forward pass through a model.

    Convolutions and dense layers dominate, so only they are counted: two operations
    (a multiply and an add) per weight use. A training step costs about three times the
    forward pass (forward, then gradients with respect to inputs and to weights), which
    lets a chapter turn images per second into operations per second. Nested models
    (an augmentation block, say) are searched too.

    Example:
        >>> forward_flops(build_simple_cnn())
        2103808
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
        elif isinstance(layer, layers.Conv2D):
            kernel_height, kernel_width, channels_in, channels_out = layer.kernel.shape
            _, height, width, _ = layer.output.shape
            total += 2 * height * width * kernel_height * kernel_width * channels_in * channels_out
        elif isinstance(layer, layers.Dense):
            units_in, units_out = layer.kernel.shape
            total += 2 * units_in * units_out
    return int(total)
