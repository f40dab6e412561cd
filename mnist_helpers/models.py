"""Model builders shared between chapters.

The convolutional trunk that several chapters share is built in one place,
:func:`trunk_layers` (applied to a Functional input by :func:`conv_trunk`), so its layer
names, and therefore its trained weights, are the same in every model that uses it.

Builders return uncompiled Keras models, so each chapter shows its optimizer, loss and
metrics where the reader can see and change them.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
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
    _check_head(dropout_rate=dropout_rate, num_classes=num_classes)
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


def _check_head(*, dropout_rate: float, num_classes: int) -> None:
    """Check the arguments of a classifier's head: its dropout rate and class count."""
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate is a fraction in [0, 1); got {dropout_rate}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2; got {num_classes}")


def _check_stages(*, filters: Sequence[int], convolutions_per_stage: int) -> None:
    if not filters or any(int(count) < 1 for count in filters):
        raise ValueError(f"filters needs at least one positive count per stage; got {tuple(filters)}")
    if convolutions_per_stage < 1:
        raise ValueError(f"convolutions_per_stage must be at least 1; got {convolutions_per_stage}")


def trunk_layers(
    *,
    filters: Sequence[int] = (16, 32),
    convolutions_per_stage: int = 2,
    batch_norm_momentum: float = 0.9,
    horizontal_pooling: Sequence[int] | None = None,
    batch_norm_layer: type[layers.BatchNormalization] = layers.BatchNormalization,
) -> list[keras.Layer]:
    """Build the layers of the book's convolutional trunk, in order, ready to be stacked.

    Each stage holds ``convolutions_per_stage`` blocks of a 3x3 convolution (no bias:
    batch normalization adds its own), batch normalization and ReLU, then max pooling;
    the next stage has the next number of ``filters``. Pooling halves the height; it
    halves the width too, unless ``horizontal_pooling`` gives each stage's factor across
    (1 keeps the width, as a sequence reader wants). Batch normalization is
    ``batch_norm_layer``, Keras' ``layers.BatchNormalization`` unless told otherwise:
    :class:`~mnist_helpers.normalization.FusedBatchNormalization` computes the same on
    TensorFlow's fused kernel, in less processor time. The layers are named
    ``conv_<stage>_<block>``, ``batch_norm_<stage>_<block>``, ``relu_<stage>_<block>``
    and ``pool_<stage>`` in every model, so :func:`copy_trunk_weights` can hand a trained
    trunk from one model to another. :func:`build_small_cnn` stacks these layers in a
    ``Sequential`` model; :func:`conv_trunk` applies them to a Functional input.

    Example:
        >>> [layer.name for layer in trunk_layers(filters=(8,), convolutions_per_stage=1)]
        ['conv_1_1', 'batch_norm_1_1', 'relu_1_1', 'pool_1']
    """
    _check_stages(filters=filters, convolutions_per_stage=convolutions_per_stage)
    if not 0.0 < batch_norm_momentum < 1.0:
        raise ValueError(f"batch_norm_momentum must be in (0, 1); got {batch_norm_momentum}")
    if horizontal_pooling is not None and (
        len(horizontal_pooling) != len(filters) or any(int(factor) < 1 for factor in horizontal_pooling)
    ):
        raise ValueError(
            f"horizontal_pooling needs one positive factor per stage ({len(filters)}); got {tuple(horizontal_pooling)}"
        )
    stack: list[keras.Layer] = []
    for stage, count in enumerate(filters, start=1):
        for block in range(1, convolutions_per_stage + 1):
            stack.append(layers.Conv2D(int(count), 3, padding="same", use_bias=False, name=f"conv_{stage}_{block}"))
            stack.append(batch_norm_layer(momentum=batch_norm_momentum, name=f"batch_norm_{stage}_{block}"))
            stack.append(layers.ReLU(name=f"relu_{stage}_{block}"))
        across = 2 if horizontal_pooling is None else int(horizontal_pooling[stage - 1])
        stack.append(layers.MaxPooling2D((2, across), name=f"pool_{stage}"))
    return stack


def conv_trunk(
    inputs: keras.KerasTensor,
    *,
    filters: Sequence[int] = (16, 32),
    convolutions_per_stage: int = 2,
    batch_norm_momentum: float = 0.9,
    horizontal_pooling: Sequence[int] | None = None,
    batch_norm_layer: type[layers.BatchNormalization] = layers.BatchNormalization,
) -> keras.KerasTensor:
    """Apply the book's convolutional trunk (:func:`trunk_layers`) to a Functional input.

    Returns the feature map: for a (28, 140, 1) strip and the default two stages,
    (7, 35, 32); with ``horizontal_pooling=(2, 1)``, (7, 70, 32). The other keyword
    arguments go to :func:`trunk_layers`.

    Example:
        >>> inputs = keras.Input(shape=(28, 140, 1))
        >>> conv_trunk(inputs).shape
        (None, 7, 35, 32)
        >>> conv_trunk(inputs, horizontal_pooling=(2, 1)).shape
        (None, 7, 70, 32)
    """
    if len(inputs.shape) != 4:
        raise ValueError(f"the trunk reads images of shape (height, width, channels); got {inputs.shape[1:]}")
    height, width = inputs.shape[1:3]
    across = 2 ** len(filters) if horizontal_pooling is None else int(np.prod(horizontal_pooling))
    if (height is not None and height < 2 ** len(filters)) or (width is not None and width < across):
        raise ValueError(f"{len(filters)} pooling stages need images of at least {2 ** len(filters)} rows and {across} columns; got {inputs.shape[1:]}")
    features = inputs
    for layer in trunk_layers(
        filters=filters,
        convolutions_per_stage=convolutions_per_stage,
        batch_norm_momentum=batch_norm_momentum,
        horizontal_pooling=horizontal_pooling,
        batch_norm_layer=batch_norm_layer,
    ):
        features = layer(features)
    return features


def build_small_cnn(
    *,
    filters: Sequence[int] = (16, 32),
    convolutions_per_stage: int = 2,
    dropout_rate: float = 0.3,
    batch_norm_momentum: float = 0.9,
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    augmentation: keras.Layer | None = None,
    batch_norm_layer: type[layers.BatchNormalization] = layers.BatchNormalization,
    name: str = "small_cnn",
) -> keras.Model:
    """Build a small modern CNN: the book's convolutional trunk, then dropout and a softmax.

    The trunk is :func:`trunk_layers`: stages of ``convolutions_per_stage`` blocks of a
    3x3 convolution (no bias: batch normalization adds its own), batch normalization and
    ReLU, then 2x2 max pooling; the next stage has the next number of ``filters``.
    Dropout and a softmax read the flattened features. ``batch_norm_momentum`` is 0.9 rather than Keras' 0.99 so the
    statistics used at inference catch up within a few hundred steps, which matters for
    runs of one or two epochs. An ``augmentation`` layer, if given, comes first; Keras
    runs it only while training. ``batch_norm_layer`` goes to :func:`trunk_layers`.

    Example:
        >>> build_small_cnn().count_params()
        32346
        >>> build_small_cnn(filters=(32, 64), num_classes=47).count_params()
        213007
    """
    _check_stages(filters=filters, convolutions_per_stage=convolutions_per_stage)
    _check_head(dropout_rate=dropout_rate, num_classes=num_classes)
    height, width = input_shape[:2]
    if min(height, width) < 2 ** len(filters):
        raise ValueError(f"{len(filters)} pooling stages need images of at least {2 ** len(filters)} pixels; got {input_shape}")
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape, name="image"))
    if augmentation is not None:
        model.add(augmentation)
    for layer in trunk_layers(
        filters=filters,
        convolutions_per_stage=convolutions_per_stage,
        batch_norm_momentum=batch_norm_momentum,
        batch_norm_layer=batch_norm_layer,
    ):
        model.add(layer)
    model.add(layers.Flatten(name="flatten"))
    if dropout_rate > 0:
        model.add(layers.Dropout(dropout_rate, name="dropout"))
    model.add(layers.Dense(num_classes, activation="softmax", name="probabilities"))
    return model


def build_deotte_cnn(
    *,
    dropout_rate: float = 0.4,
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    augmentation: keras.Layer | None = None,
    batch_norm_layer: type[layers.BatchNormalization] = layers.BatchNormalization,
    name: str = "deotte_cnn",
) -> keras.Model:
    """Build Chris Deotte's Kaggle CNN for MNIST: 32C3-32C3-32C5S2, 64C3-64C3-64C5S2, 128C4.

    Each convolution uses ReLU and is followed by batch normalization; each strided 5x5
    convolution (which replaces max pooling) and the last 4x4 one are followed by
    dropout. The 3x3 and 4x4 convolutions have no padding, so the map shrinks from 28 to
    24, then 12, 8, 4 and 1. An ``augmentation`` layer, if given, comes first; Keras runs
    it only while training. Batch normalization is ``batch_norm_layer``, Keras'
    ``layers.BatchNormalization`` unless told otherwise:
    :class:`~mnist_helpers.normalization.FusedBatchNormalization` computes the same on
    TensorFlow's fused kernel (chapter 4's exercise 8 times the two).

    Example:
        >>> model = build_deotte_cnn()
        >>> model.count_params()
        327242
        >>> model.output_shape
        (None, 10)
    """
    _check_head(dropout_rate=dropout_rate, num_classes=num_classes)
    inputs = keras.Input(shape=input_shape, name="image")
    features = inputs if augmentation is None else augmentation(inputs)
    for stage, width in enumerate((32, 64), start=1):
        for block, (size, strides) in enumerate(((3, 1), (3, 1), (5, 2)), start=1):
            features = layers.Conv2D(
                width,
                size,
                strides=strides,
                padding="same" if strides > 1 else "valid",
                activation="relu",
                name=f"conv_{stage}_{block}",
            )(features)
            features = batch_norm_layer(name=f"batch_norm_{stage}_{block}")(features)
        features = layers.Dropout(dropout_rate, name=f"dropout_{stage}")(features)
    features = layers.Conv2D(128, 4, activation="relu", name="conv_3_1")(features)
    features = batch_norm_layer(name="batch_norm_3_1")(features)
    features = layers.Flatten(name="flatten")(features)
    features = layers.Dropout(dropout_rate, name="dropout_3")(features)
    outputs = layers.Dense(num_classes, activation="softmax", name="softmax")(features)
    return keras.Model(inputs, outputs, name=name)


def shift_averaging(
    model: keras.Model, *, shift: int = 1, name: str | None = None
) -> keras.Model:
    """Wrap an image classifier so that it averages its predictions over shifted copies.

    Test-time augmentation: the wrapper feeds ``model`` the image itself and the image
    moved by ``shift`` pixels up, down, left and right (zeros enter at the border), and
    returns the mean of the five probability vectors. It is built from Keras layers
    (``ZeroPadding2D``, ``Cropping2D``, ``Average``), so it saves and loads like any
    model, and it costs five forward passes per image.

    Example:
        >>> wrapped = shift_averaging(build_small_cnn(), shift=1)
        >>> wrapped.predict(np.zeros((2, 28, 28, 1)), verbose=0).shape
        (2, 10)
    """
    if shift < 1:
        raise ValueError(f"shift is a number of pixels, at least 1; got {shift}")
    height, width = model.input_shape[1:3]
    if height is None or width is None or 2 * shift >= min(height, width):
        raise ValueError(
            f"a shift of {shift} pixels needs images larger than {2 * shift}; "
            f"the model reads {model.input_shape[1:]}"
        )
    inputs = keras.Input(shape=model.input_shape[1:], name="image")
    padded = layers.ZeroPadding2D(shift, name="pad")(inputs)
    # Cropping the padded image from (top, left) moves the digit by (shift - top) rows
    # and (shift - left) columns.
    offsets = {
        "centre": (shift, shift),
        "down": (0, shift),
        "up": (2 * shift, shift),
        "right": (shift, 0),
        "left": (shift, 2 * shift),
    }
    predictions = []
    for direction, (top, left) in offsets.items():
        cropping = ((top, 2 * shift - top), (left, 2 * shift - left))
        view = layers.Cropping2D(cropping, name=f"view_{direction}")(padded)
        predictions.append(model(view))
    outputs = layers.Average(name="average")(predictions)
    return keras.Model(inputs, outputs, name=name or f"{model.name}_shift_averaged")


def average_predictions(members: Sequence[keras.Model], *, name: str) -> keras.Model:
    """Build one model that returns the mean of several models' probabilities.

    For an ensemble, or for one network at several epochs' weights
    (:func:`snapshot_average`): one input of the members' shape, every member applied to
    it, and an ``Average`` layer over their outputs. The members need different names.

    Example:
        >>> members = [build_small_cnn(name=f"member_{index}") for index in (1, 2)]
        >>> ensemble = average_predictions(members, name="ensemble")
        >>> [layer.name for layer in ensemble.layers]
        ['image', 'member_1', 'member_2', 'average']
    """
    if len(members) < 2:
        raise ValueError(
            f"an average needs at least two models; got {len(members)}: "
            "use a single model as it is"
        )
    shapes = {member.input_shape[1:] for member in members}
    if len(shapes) > 1:
        raise ValueError(f"the members read different inputs: {sorted(map(str, shapes))}")
    names = [member.name for member in members]
    if len(set(names)) < len(names):
        raise ValueError(f"the members need different names; got {names}")
    inputs = keras.Input(shape=members[0].input_shape[1:], name="image")
    outputs = layers.Average(name="average")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name=name)


def snapshot_average(
    network: keras.Model,
    weight_sets: Sequence[list[np.ndarray]],
    *,
    name: str | None = None,
) -> keras.Model:
    """Average a network's predictions over several sets of its weights.

    Each set, as ``network.get_weights()`` returns it (``training.KeepEpochWeights``
    keeps one per epoch), goes into a copy of ``network`` made by
    ``keras.models.clone_model``; :func:`average_predictions` averages the copies.
    ``network`` itself is left unchanged. Each set costs one forward pass per image.

    Example:
        >>> network = build_small_cnn()
        >>> averaged = snapshot_average(network, [network.get_weights()] * 2)
        >>> [layer.name for layer in averaged.layers]
        ['image', 'small_cnn_snapshot_1', 'small_cnn_snapshot_2', 'average']
    """
    if len(weight_sets) < 2:
        raise ValueError(
            f"snapshot_average needs at least two sets of weights; got {len(weight_sets)}"
        )
    copies = []
    for index, weights in enumerate(weight_sets, start=1):
        copy = keras.models.clone_model(network)
        copy.set_weights(weights)
        # A model of its own around each copy gives the copies different names.
        inputs = keras.Input(shape=network.input_shape[1:], name="image")
        copies.append(
            keras.Model(inputs, copy(inputs), name=f"{network.name}_snapshot_{index}")
        )
    return average_predictions(copies, name=name or f"{network.name}_snapshot_average")


def forward_flops(model: keras.Model) -> int:
    """Count the floating-point operations of one image's forward pass through a model.

    Convolutions, dense layers and recurrent layers (``SimpleRNN``, ``GRU`` and ``LSTM``,
    also inside ``Bidirectional``) dominate, so only they are counted: two operations (a multiply
    and an add) per weight use. A dense layer applied to every step of a sequence uses
    its weights once per step, and a recurrent layer uses its input and recurrent
    kernels once per time step. A training step costs about three times the forward
    pass (forward, then gradients with respect to inputs and to weights), which lets a
    chapter turn images per second into operations per second. Nested models (an
    augmentation block, say) are searched too. A sequence of no fixed length has no
    count per image: it raises ``ValueError``.

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
            # Steps between the batch and the feature axis (a sequence's time steps).
            steps = int(np.prod(_fixed_steps(layer, layer.output.shape[1:-1])))
            total += 2 * steps * units_in * units_out
        elif isinstance(layer, layers.Bidirectional) and isinstance(layer.forward_layer, _RECURRENT):
            (time_steps,) = _fixed_steps(layer, layer.input.shape[1:2])
            for direction in (layer.forward_layer, layer.backward_layer):
                total += _recurrent_flops(direction, time_steps=time_steps)
        elif isinstance(layer, _RECURRENT):
            (time_steps,) = _fixed_steps(layer, layer.input.shape[1:2])
            total += _recurrent_flops(layer, time_steps=time_steps)
    return int(total)


# The recurrent layers forward_flops counts: one input and one recurrent kernel each.
_RECURRENT = (layers.SimpleRNN, layers.GRU, layers.LSTM)


def _fixed_steps(layer: layers.Layer, steps: Sequence[int | None]) -> tuple[int, ...]:
    """Return a sequence layer's step counts, or say why they cannot be counted."""
    if any(step is None for step in steps):
        raise ValueError(
            f"layer {layer.name!r} reads sequences of no fixed length (shape "
            f"{tuple(steps)} between batch and features), so its operations per image "
            "cannot be counted: build the model with a fixed number of time steps "
            "(keras.Input(shape=(time_steps, features)))."
        )
    return tuple(int(step) for step in steps)


def _recurrent_flops(layer: layers.RNN, *, time_steps: int) -> int:
    """Two operations per weight of a recurrent layer's two kernels, per time step."""
    weights_per_step = int(np.prod(layer.cell.kernel.shape)) + int(
        np.prod(layer.cell.recurrent_kernel.shape)
    )
    return 2 * time_steps * weights_per_step


def copy_trunk_weights(source: keras.Model, target: keras.Model, *, prefixes: Sequence[str] = ("conv_", "batch_norm_")) -> list[str]:
    """Copy the weights of layers named alike (the convolutional trunk) from one model to another.

    :func:`trunk_layers` names the trunk's layers ``conv_<stage>_<block>`` and
    ``batch_norm_<stage>_<block>`` in every model built with it, so a single-digit CNN trained on MNIST can hand its
    trunk to a multi-digit model as a starting point. Returns the names copied.

    Example:
        >>> inputs = keras.Input(shape=(28, 140, 1), name="strip")
        >>> features = layers.Flatten()(conv_trunk(inputs))
        >>> strip_model = keras.Model(inputs, layers.Dense(11)(features))
        >>> copy_trunk_weights(build_small_cnn(), strip_model)[:2]
        ['conv_1_1', 'batch_norm_1_1']
    """
    copied = []
    target_names = {layer.name for layer in target.layers}
    for layer in source.layers:
        if layer.name.startswith(tuple(prefixes)) and layer.name in target_names:
            target_layer = target.get_layer(layer.name)
            shapes = [weight.shape for weight in layer.get_weights()]
            target_shapes = [weight.shape for weight in target_layer.get_weights()]
            if shapes != target_shapes:
                raise ValueError(f"layer {layer.name}: weights of shapes {shapes} do not fit {target_shapes}; build both with the same filters")
            target_layer.set_weights(layer.get_weights())
            copied.append(layer.name)
    if not copied:
        raise ValueError(f"no layer names starting with {tuple(prefixes)} are shared by {source.name} and {target.name}")
    return copied
