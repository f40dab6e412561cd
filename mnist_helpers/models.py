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


def _check_stages(*, filters: Sequence[int], convolutions_per_stage: int) -> None:
    if not filters or any(int(count) < 1 for count in filters):
        raise ValueError(f"filters needs at least one positive count per stage; got {tuple(filters)}")
    if convolutions_per_stage < 1:
        raise ValueError(f"convolutions_per_stage must be at least 1; got {convolutions_per_stage}")


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
    _check_stages(filters=filters, convolutions_per_stage=convolutions_per_stage)
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


def _convolution_stages(
    inputs: keras.KerasTensor,
    *,
    filters: Sequence[int],
    convolutions_per_stage: int,
    batch_norm_momentum: float,
    horizontal_pooling: Sequence[int] | None = None,
) -> keras.KerasTensor:
    """The small CNN's trunk as Functional layers: 3x3 convolutions, batch norm, ReLU, then
    pooling by 2 vertically and by ``horizontal_pooling[stage]`` (2 unless given) horizontally."""
    _check_stages(filters=filters, convolutions_per_stage=convolutions_per_stage)
    x = inputs
    for stage, count in enumerate(filters, start=1):
        for block in range(1, convolutions_per_stage + 1):
            x = layers.Conv2D(int(count), 3, padding="same", use_bias=False, name=f"conv_{stage}_{block}")(x)
            x = layers.BatchNormalization(momentum=batch_norm_momentum, name=f"batch_norm_{stage}_{block}")(x)
            x = layers.ReLU(name=f"relu_{stage}_{block}")(x)
        across = 2 if horizontal_pooling is None else int(horizontal_pooling[stage - 1])
        x = layers.MaxPooling2D((2, across), name=f"pool_{stage}")(x)
    return x


def _check_strip(input_shape: tuple[int, int, int], filters: Sequence[int]) -> None:
    if len(input_shape) != 3 or min(input_shape[:2]) < 2 ** len(filters):
        raise ValueError(f"input_shape is (height, width, channels) with room for {len(filters)} poolings; got {input_shape}")


def _check_slots(*, num_slots: int, num_classes: int, dropout_rate: float) -> None:
    if num_slots < 1 or num_classes < 2:
        raise ValueError(f"need at least one slot and two classes; got num_slots={num_slots}, num_classes={num_classes}")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate is a fraction in [0, 1); got {dropout_rate}")


def build_multi_head_cnn(
    *,
    num_slots: int = 5,
    filters: Sequence[int] = (16, 32),
    convolutions_per_stage: int = 2,
    dropout_rate: float = 0.3,
    batch_norm_momentum: float = 0.9,
    heads_see: str = "whole_image",
    input_shape: tuple[int, int, int] = (28, 140, 1),
    num_classes: int = 11,
    name: str = "multi_head_cnn",
) -> keras.Model:
    """Build a shared convolutional trunk with one softmax head per slot.

    The trunk is :func:`build_small_cnn`'s (same layer names, so its trained weights can
    be copied in). Its features feed ``num_slots`` heads named ``slot_1``, ``slot_2``,
    ..., each a softmax over ``num_classes`` (ten digits and a blank). With
    ``heads_see="whole_image"`` every head reads all the features and must learn where
    its slot is; with ``"own_slot"`` each head reads only the feature columns of its own
    slot (the image's width split in ``num_slots`` equal parts). Train it with one loss
    per head: a dictionary of labels keyed by head name, or a list in head order.

    Example:
        >>> model = build_multi_head_cnn()
        >>> model.output_names
        ['slot_1', 'slot_2', 'slot_3', 'slot_4', 'slot_5']
        >>> build_multi_head_cnn(heads_see="own_slot").count_params() < model.count_params()
        True
    """
    _check_strip(input_shape, filters)
    _check_slots(num_slots=num_slots, num_classes=num_classes, dropout_rate=dropout_rate)
    if heads_see not in ("whole_image", "own_slot"):
        raise ValueError(f"heads_see is 'whole_image' or 'own_slot'; got {heads_see!r}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = _convolution_stages(inputs, filters=filters, convolutions_per_stage=convolutions_per_stage, batch_norm_momentum=batch_norm_momentum)
    feature_width = x.shape[2]
    if heads_see == "own_slot" and feature_width % num_slots:
        raise ValueError(f"the trunk's {feature_width} feature columns do not split into {num_slots} equal slots; check input_shape")
    outputs = []
    for slot in range(1, num_slots + 1):
        if heads_see == "own_slot":
            slot_width = feature_width // num_slots
            features = layers.Cropping2D(((0, 0), ((slot - 1) * slot_width, (num_slots - slot) * slot_width)), name=f"slot_{slot}_columns")(x)
        else:
            features = x
        features = layers.Flatten(name=f"slot_{slot}_flatten")(features)
        features = layers.Dropout(dropout_rate, name=f"slot_{slot}_dropout")(features)
        outputs.append(layers.Dense(num_classes, activation="softmax", name=f"slot_{slot}")(features))
    return keras.Model(inputs, outputs, name=name)


def build_multilabel_cnn(
    *,
    num_slots: int = 5,
    filters: Sequence[int] = (16, 32),
    convolutions_per_stage: int = 2,
    dropout_rate: float = 0.3,
    batch_norm_momentum: float = 0.9,
    input_shape: tuple[int, int, int] = (28, 140, 1),
    num_classes: int = 11,
    name: str = "multilabel_cnn",
) -> keras.Model:
    """Build the same trunk with one layer of ``num_slots * num_classes`` sigmoid outputs.

    This is the forum answer's model: 55 independent yes/no outputs, trained with binary
    cross-entropy against the concatenated one-hot slot labels, and read by the argmax
    of each block of ``num_classes``.

    Example:
        >>> build_multilabel_cnn().output_shape
        (None, 55)
    """
    _check_strip(input_shape, filters)
    _check_slots(num_slots=num_slots, num_classes=num_classes, dropout_rate=dropout_rate)
    inputs = keras.Input(shape=input_shape, name="image")
    x = _convolution_stages(inputs, filters=filters, convolutions_per_stage=convolutions_per_stage, batch_norm_momentum=batch_norm_momentum)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = layers.Dense(num_slots * num_classes, activation="sigmoid", name="sigmoids")(x)
    return keras.Model(inputs, outputs, name=name)


def build_crnn(
    *,
    filters: Sequence[int] = (16, 32),
    convolutions_per_stage: int = 2,
    recurrent_units: int = 64,
    recurrent_layers: int = 1,
    column_width: int = 4,
    batch_norm_momentum: float = 0.9,
    dropout_rate: float = 0.25,
    input_shape: tuple[int, int, int] = (28, 140, 1),
    num_classes: int = 11,
    name: str = "crnn",
) -> keras.Model:
    """Build a convolutional-recurrent network that reads an image column by column.

    The convolutional trunk turns the image into a sequence of feature columns, each
    ``column_width`` pixels wide (a power of two; 35 steps for 140 pixels at the default
    4): the trunk pools by 2 across until the columns are that wide, then only
    vertically. A bidirectional GRU reads
    them (``recurrent_layers`` of them, stacked), and a dense layer gives each step's
    logits over ``num_classes``: the ten
    digits, and the CTC blank as the last class. Train it with
    :func:`mnist_helpers.training.ctc_loss`; read it with
    :func:`mnist_helpers.training.ctc_decode_sequences`.

    Example:
        >>> build_crnn().output_shape
        (None, 35, 11)
    """
    _check_strip(input_shape, filters)
    if recurrent_units < 1 or recurrent_layers < 1:
        raise ValueError(f"recurrent_units and recurrent_layers must be at least 1; got {recurrent_units} and {recurrent_layers}")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate is a fraction in [0, 1); got {dropout_rate}")
    if column_width < 1 or column_width & (column_width - 1) or column_width > 2 ** len(filters):
        raise ValueError(f"column_width is a power of two up to {2 ** len(filters)} (one halving per stage); got {column_width}")
    halvings = column_width.bit_length() - 1
    horizontal_pooling = [2 if stage < halvings else 1 for stage in range(len(filters))]
    inputs = keras.Input(shape=input_shape, name="image")
    x = _convolution_stages(
        inputs, filters=filters, convolutions_per_stage=convolutions_per_stage, batch_norm_momentum=batch_norm_momentum,
        horizontal_pooling=horizontal_pooling,
    )
    height, width, channels = x.shape[1:]
    # Columns become time steps: (height, width, channels) -> (width, height * channels).
    x = layers.Permute((2, 1, 3), name="columns_first")(x)
    x = layers.Reshape((width, height * channels), name="column_features")(x)
    x = layers.Dropout(dropout_rate, name="dropout")(x)
    for layer in range(1, recurrent_layers + 1):
        name = "bidirectional_gru" if recurrent_layers == 1 else f"bidirectional_gru_{layer}"
        x = layers.Bidirectional(layers.GRU(recurrent_units, return_sequences=True), name=name)(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def copy_trunk_weights(source: keras.Model, target: keras.Model, *, prefixes: Sequence[str] = ("conv_", "batch_norm_")) -> list[str]:
    """Copy the weights of layers named alike (the convolutional trunk) from one model to another.

    The builders in this module name their trunk layers ``conv_<stage>_<block>`` and
    ``batch_norm_<stage>_<block>``, so a single-digit CNN trained on MNIST can hand its
    trunk to a multi-digit model as a starting point. Returns the names copied.

    Example:
        >>> copied = copy_trunk_weights(build_small_cnn(), build_multi_head_cnn())
        >>> copied[:2]
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
