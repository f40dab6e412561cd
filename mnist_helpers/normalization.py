"""Batch normalization computed by TensorFlow's fused kernel.

Keras 3's ``layers.BatchNormalization`` is written once for every backend: in training it
computes the batch mean and variance, then the normalisation, as a handful of separate
operations (reductions and element-wise steps), each of which reads the whole feature
map. TensorFlow has one kernel that does all of it (``FusedBatchNormV3``, reached
through ``tf.compat.v1.nn.fused_batch_norm``), and its gradient is one kernel too. :class:`FusedBatchNormalization` is the Keras layer with that kernel underneath: the
same weights, the same formula, the same moving averages, so a model can swap one layer
for the other without retraining.
"""

from __future__ import annotations

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="mnist_helpers")
class FusedBatchNormalization(layers.BatchNormalization):
    """``layers.BatchNormalization`` on TensorFlow's fused kernel, for channels-last images.

    In training, each channel is normalised with the batch's mean and (biased) variance
    over batch, height and width, then scaled by ``gamma`` and shifted by ``beta``; the
    moving averages follow ``moving = momentum * moving + (1 - momentum) * batch``, as in
    Keras. At inference the moving averages are used. Only the computation differs: one
    fused TensorFlow kernel instead of several separate operations. Inputs it does not
    cover (another backend, a rank other than 4, a channel axis other than the last, a
    dtype other than float32, a mask, ``center`` or ``scale`` switched off,
    ``synchronized``, ``renorm``, or an ``epsilon`` below the kernel's 1.001e-5) go
    through Keras' own implementation.

    Example:
        >>> import numpy as np
        >>> images = np.random.default_rng(0).normal(3.0, 2.0, (8, 5, 5, 4)).astype("float32")
        >>> normalised = FusedBatchNormalization()(images, training=True)
        >>> abs(round(float(keras.ops.mean(normalised)), 4)), round(float(keras.ops.std(normalised)), 2)
        (0.0, 1.0)
    """

    def _uses_fused_kernel(self, inputs, mask) -> bool:
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and self.center
            and self.scale
            and not self.synchronized
            and not self.renorm
            and self.epsilon >= 1.001e-5
            and keras.backend.standardize_dtype(inputs.dtype) == "float32"
        )

    def call(self, inputs, training=None, mask=None):
        if not self._uses_fused_kernel(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf  # Only reached on the TensorFlow backend.

        if training and self.trainable:
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, self.gamma, self.beta, epsilon=self.epsilon, is_training=True
            )
            # The kernel returns the unbiased variance (divided by n - 1); Keras' moving
            # average uses the biased one (divided by n), which normalised the batch.
            count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), variance.dtype)
            variance = variance * (count - 1.0) / count
            momentum = self.momentum
            self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
            self.moving_variance.assign(
                self.moving_variance * momentum + variance * (1.0 - momentum)
            )
            return outputs
        outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
            inputs,
            self.gamma,
            self.beta,
            mean=self.moving_mean,
            variance=self.moving_variance,
            epsilon=self.epsilon,
            is_training=False,
        )
        return outputs
