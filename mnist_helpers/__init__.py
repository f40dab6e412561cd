"""Helpers for the MNIST tutorial book.

The package is split by responsibility; import the module you need::

    from mnist_helpers import data, preprocess, models, training, plots, results, settings

Importing the package does nothing else: no downloads, no seeding, no plotting
configuration, and Keras is only imported by the modules that build or train models.
"""

__version__ = "0.1.0"
