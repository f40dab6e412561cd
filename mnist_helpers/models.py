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
        592234
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
