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
