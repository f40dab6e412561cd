"""Figures the chapters share: samples, class balance, training curves, errors.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot, so nothing is
drawn twice and no global plotting state changes; a notebook shows the figure when it is
the cell's last expression.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

# Modest size and resolution keep the stored notebooks small.
DPI = 80


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 28, 28)
    if images.ndim != 3:
        raise ValueError(f"expected images of shape (N, 28, 28), (N, 28, 28, 1) or (N, 784); got {images.shape}")
    return images


def _grid(count: int, columns: int, cell_inches: float = 1.0) -> tuple[Figure, np.ndarray]:
    rows = max(1, int(np.ceil(count / columns)))
    figure = Figure(figsize=(columns * cell_inches, rows * cell_inches * 1.15), dpi=DPI, layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False).ravel())
    for axis in axes:
        axis.set_axis_off()
    return figure, axes


def plot_samples(
    images: np.ndarray,
    labels: Sequence[int],
    *,
    count: int = 30,
    columns: int = 10,
    title: str | None = None,
) -> Figure:
    """Show the first ``count`` images in a grid, each titled with its label.

    Example:
        >>> plot_samples(x_train, y_train, count=20)  # doctest: +SKIP
    """
    images = _check_images(images)
    if count < 1 or columns < 1:
        raise ValueError(f"count and columns must be positive; got count={count}, columns={columns}")
    count = min(count, len(images))
    figure, axes = _grid(count, min(columns, count))
    for axis, image, label in zip(axes, images[:count], labels[:count]):
        axis.imshow(image, cmap="gray_r", vmin=0, vmax=image.max() or 1)
        axis.set_title(str(label), fontsize=10)
    if title:
        figure.suptitle(title)
    return figure


def plot_class_balance(labels_by_split: Mapping[str, np.ndarray], *, num_classes: int = 10) -> Figure:
    """Bar chart of how many examples of each digit every split holds.

    Example:
        >>> plot_class_balance({"train": y_train, "test": y_test})  # doctest: +SKIP
    """
    import pandas as pd
    import seaborn as sns

    if not labels_by_split:
        raise ValueError("pass at least one split, for example {'train': y_train}")
    counts = pd.DataFrame(
        [
            {"split": split, "digit": digit, "share": share}
            for split, labels in labels_by_split.items()
            for digit, share in enumerate(np.bincount(np.asarray(labels), minlength=num_classes) / len(labels))
        ]
    )
    figure = Figure(figsize=(7, 3), dpi=DPI, layout="constrained")
    axis = figure.subplots()
    sns.barplot(data=counts, x="digit", y="share", hue="split", ax=axis)
    axis.axhline(1 / num_classes, color="black", linewidth=0.8, linestyle="--")
    axis.set_ylabel("share of the split")
    axis.set_title("Examples of each digit (dashed: a perfectly even 10%)")
    return figure


def plot_history(history: Mapping[str, Sequence[float]], *, title: str | None = None) -> Figure:
    """Training and validation loss and accuracy per epoch, side by side.

    A history without accuracy (a CTC model's, say) gets the loss panel only.

    Example:
        >>> plot_history(run.history)  # doctest: +SKIP
    """
    for key in ("loss", "val_loss"):
        if key not in history:
            raise ValueError(f"history has no '{key}'; train with validation_data (keys: {sorted(history)})")
    metrics = ["loss"] + (["accuracy"] if "accuracy" in history else [])
    figure = Figure(figsize=(4.5 * len(metrics), 3.2), dpi=DPI, layout="constrained")
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    epochs = np.arange(1, len(history["loss"]) + 1)
    for axis, metric in zip(axes, metrics):
        axis.plot(epochs, history[metric], marker="o", markersize=3, label="training")
        axis.plot(epochs, history[f"val_{metric}"], marker="o", markersize=3, label="validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    if title:
        figure.suptitle(title)
    return figure


def plot_confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    num_classes: int = 10,
    title: str | None = None,
) -> Figure:
    """Heatmap of the confusion matrix (scikit-learn), errors only on a light scale.

    The diagonal holds nearly all examples and would wash out the colours, so the cells
    are coloured by count with the diagonal masked, and every cell is annotated.

    Example:
        >>> plot_confusion_matrix(y_test, predictions.argmax(axis=1))  # doctest: +SKIP
    """
    import seaborn as sns
    from sklearn.metrics import confusion_matrix

    classes = list(range(num_classes))
    matrix = confusion_matrix(y_true, y_pred, labels=classes)
    figure = Figure(figsize=(6, 5), dpi=DPI, layout="constrained")
    axis = figure.subplots()
    sns.heatmap(
        matrix,
        mask=np.eye(num_classes, dtype=bool),
        annot=True,
        fmt="d",
        cmap="Reds",
        cbar_kws={"label": "misclassified test digits"},
        linewidths=0.5,
        linecolor="lightgray",
        ax=axis,
    )
    # Write the correct counts on the masked diagonal in a neutral colour.
    for digit in classes:
        axis.text(digit + 0.5, digit + 0.5, str(matrix[digit, digit]), ha="center", va="center", fontsize=7, color="gray")
    axis.set_xlabel("predicted digit")
    axis.set_ylabel("true digit")
    axis.set_title(title or f"Confusion matrix: {int(matrix.sum() - np.trace(matrix))} errors")
    return figure


def plot_misclassified(
    images: np.ndarray,
    y_true: np.ndarray,
    probabilities: np.ndarray,
    *,
    count: int = 30,
    columns: int = 10,
    title: str | None = None,
) -> Figure:
    """Gallery of misclassified digits, most confident mistakes first.

    Each title reads ``true→predicted`` with the model's confidence in its prediction.

    Example:
        >>> plot_misclassified(x_test, y_test, probabilities)  # doctest: +SKIP
    """
    images = _check_images(images)
    y_true = np.asarray(y_true)
    probabilities = np.asarray(probabilities)
    if probabilities.shape[0] != len(y_true) or len(images) != len(y_true):
        raise ValueError(
            f"images ({len(images)}), labels ({len(y_true)}) and probabilities ({len(probabilities)}) must match"
        )
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")][:count]
    if wrong.size == 0:
        figure = Figure(figsize=(4, 1), dpi=DPI)
        figure.text(0.5, 0.5, "No misclassified digits", ha="center", va="center")
        return figure
    figure, axes = _grid(wrong.size, min(columns, wrong.size), cell_inches=1.1)
    for axis, index in zip(axes, wrong):
        axis.imshow(images[index], cmap="gray_r")
        axis.set_title(f"{y_true[index]}→{predicted[index]} ({confidence[index]:.0%})", fontsize=8, color="firebrick")
    figure.suptitle(title or f"{wrong.size} misclassified test digits, most confident first (true→predicted)")
    return figure


def plot_image_grid(
    images: np.ndarray,
    *,
    titles: Sequence[str] | None = None,
    columns: int = 8,
    cmap: str = "gray_r",
    symmetric: bool = False,
    title: str | None = None,
) -> Figure:
    """Show any stack of 2-D arrays in a grid: filters, feature maps, augmented digits.

    ``images`` is (N, height, width) or (N, height, width, 1). Each image gets its own
    colour scale; with ``symmetric=True`` the scale is centred on zero, which suits
    learned filters whose weights are positive and negative.

    Example:
        >>> kernels = model.get_layer("conv").get_weights()[0]  # doctest: +SKIP
        >>> plot_image_grid(np.moveaxis(kernels[:, :, 0, :], -1, 0), cmap="RdBu_r", symmetric=True)  # doctest: +SKIP
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected a non-empty stack of images (N, height, width); got shape {images.shape}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    if columns < 1:
        raise ValueError(f"columns must be positive; got {columns}")
    figure, axes = _grid(len(images), min(columns, len(images)), cell_inches=0.9)
    for index, (axis, image) in enumerate(zip(axes, images)):
        if symmetric:
            limit = float(np.abs(image).max()) or 1.0
            axis.imshow(image, cmap=cmap, vmin=-limit, vmax=limit)
        else:
            axis.imshow(image, cmap=cmap)
        if titles is not None:
            axis.set_title(titles[index], fontsize=8)
    if title:
        figure.suptitle(title)
    return figure


def plot_sequences(
    images: np.ndarray,
    true: Sequence[str],
    predicted: Sequence[str] | None = None,
    *,
    count: int = 12,
    columns: int = 3,
    title: str | None = None,
) -> Figure:
    """Show multi-digit images titled with their true digits and, if given, the predicted ones.

    A title reads ``true 40712`` or ``true 40712, read 40112``; wrong readings are in red.
    Each image has a thin grey frame and white space around it, so neighbouring images
    on the white page cannot be read as one long strip.

    Example:
        >>> plot_sequences(test_set.images, test_set.sequences(), predicted)  # doctest: +SKIP
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"expected images of shape (N, height, width); got {images.shape}")
    if len(true) != len(images) or (predicted is not None and len(predicted) != len(images)):
        raise ValueError("pass one true (and one predicted) sequence per image")
    if count < 1 or columns < 1:
        raise ValueError(f"count and columns must be positive; got count={count}, columns={columns}")
    count = min(count, len(images))
    if count == 0:
        raise ValueError("there are no images to show")
    aspect = images.shape[2] / images.shape[1]
    rows = int(np.ceil(count / columns))
    figure = Figure(figsize=(columns * 0.45 * aspect, rows * 0.8), dpi=DPI, layout="constrained")
    # Gaps between the images, as fractions of an image's width and height.
    figure.get_layout_engine().set(wspace=0.08, hspace=0.08)
    axes = np.atleast_1d(figure.subplots(rows, min(columns, count), squeeze=False).ravel())
    for axis in axes[count:]:
        axis.set_axis_off()
    for index, axis in enumerate(axes[:count]):
        axis.imshow(images[index], cmap="gray_r", vmin=0, vmax=images[index].max() or 1)
        axis.set_xticks([])
        axis.set_yticks([])
        for spine in axis.spines.values():
            spine.set_edgecolor("0.6")
        label = f"true {true[index] or '(none)'}"
        color = "black"
        if predicted is not None:
            label += f", read {predicted[index] or '(none)'}"
            color = "black" if predicted[index] == true[index] else "firebrick"
        axis.set_title(label, fontsize=10, color=color)
    if title:
        figure.suptitle(title)
    return figure


def plot_prepared(
    original: np.ndarray,
    digits: np.ndarray,
    probabilities: np.ndarray | None = None,
    *,
    top: int = 3,
    title: str | None = None,
) -> Figure:
    """Show an original image next to the MNIST-format digits made from it.

    With ``probabilities`` (one row per digit), each digit is titled with the model's
    ``top`` most probable classes, one a line, as ``7 98%``, ``1 1%``, ``9 <1%``.

    Example:
        >>> digits = handwriting.prepare_digits("house_number.jpg")  # doctest: +SKIP
        >>> plot_prepared(handwriting.load_grayscale("house_number.jpg"), digits, model.predict(...))  # doctest: +SKIP
    """
    original = np.asarray(original)
    digits = _check_images(digits)
    if original.ndim != 2:
        raise ValueError(f"the original must be one grayscale image (height, width); got {original.shape}")
    if probabilities is not None and len(probabilities) != len(digits):
        raise ValueError(f"got {len(probabilities)} rows of probabilities for {len(digits)} digits")
    if top < 1:
        raise ValueError(f"top must be at least 1; got {top}")
    # Legible at page width (about 7 inches): the original on top, at most five digits
    # a row below it, 11-point labels.
    columns = min(len(digits), 5)
    rows = -(-len(digits) // columns)
    aspect = original.shape[1] / original.shape[0]
    width = min(7.0, max(1.4 * columns, 1.8 * aspect))
    figure = Figure(figsize=(width, 1.8 + 1.8 * rows), dpi=DPI, layout="constrained")
    grid = figure.add_gridspec(1 + rows, columns, height_ratios=[1.8] + [1.8] * rows)
    axes = [figure.add_subplot(grid[0, :])]
    axes += [figure.add_subplot(grid[1 + i // columns, i % columns]) for i in range(len(digits))]
    axes[0].imshow(original, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("original", fontsize=11)
    for axis, index in zip(axes[1:], range(len(digits))):
        axis.imshow(digits[index], cmap="gray", vmin=0, vmax=255)
        if probabilities is not None:
            best = np.argsort(-probabilities[index])[:top]
            axis.set_title("\n".join(f"{label} {_percent(probabilities[index][label])}" for label in best), fontsize=11)
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])
    if title:
        figure.suptitle(title, fontsize=12)
    return figure


def _percent(probability: float) -> str:
    """A probability as a whole percentage, with "<1%" rather than a misleading "0%"."""
    return f"{probability:.0%}" if probability >= 0.005 else "<1%"


def plot_error_against_time(
    records,
    *,
    x: str = "train_seconds",
    y: str = "test_error",
    hue: str = "chapter",
    style: str | None = None,
    title: str | None = None,
    label: str | None = None,
    front: bool = False,
) -> Figure:
    """Scatter test error against training time, both on log scales, one point per model.

    ``records`` is a DataFrame such as :func:`mnist_helpers.results.load_results` returns;
    models with zero training seconds are left out (a log scale has no zero). ``label``
    names a column of text written beside each point (a number, a name). With
    ``front=True`` the Pareto front (:func:`mnist_helpers.results.pareto_front`: the
    models that no other model beats on both time and error) is drawn as a step line:
    for every training time, the lowest error reached by a model at most that slow. Its
    points' labels are bold, and a key under the plot gives their ``model`` names.

    Example:
        >>> plot_error_against_time(results.load_results())  # doctest: +SKIP
    """
    import pandas as pd
    import seaborn as sns

    missing = [column for column in (x, y, hue, style, label) if column is not None and column not in records]
    if missing:
        raise ValueError(f"records has no column {', '.join(missing)}; columns: {', '.join(map(str, records.columns))}")
    shown = records[(records[x] > 0) & (records[y] > 0)]
    if shown.empty:
        raise ValueError("no record has both a positive training time and a positive test error to plot")
    from mnist_helpers.results import pareto_front

    on_front = pareto_front(shown, x=x, y=y) if front else pd.Series(False, index=shown.index)
    best = shown[on_front].sort_values(x)
    figure = Figure(figsize=(8, 5 + 0.22 * len(best)), dpi=DPI, layout="constrained")
    axis = figure.subplots()
    if front:
        axis.step(best[x], best[y], where="post", color="0.4", linewidth=1.2, zorder=1)
    hue_order = sorted(shown[hue].unique()) if hue else None
    sns.scatterplot(data=shown, x=x, y=y, hue=hue, hue_order=hue_order, style=style, s=60, ax=axis, zorder=2)
    axis.set_xscale("log")
    axis.set_yscale("log")

    def tick(value: float, percent: bool) -> str:
        mantissa = round(value / 10 ** np.floor(np.log10(value)), 6)
        if mantissa not in (1, 2, 3, 5):
            return ""
        return f"{value:.1%}" if percent else f"{value:g}"

    for axis_part, percent in ((axis.xaxis, False), (axis.yaxis, True)):
        for formatter in (axis_part.set_major_formatter, axis_part.set_minor_formatter):
            formatter(lambda value, _, percent=percent: tick(value, percent))
    axis.set_xlabel("training time (seconds, log scale)")
    axis.set_ylabel("test error (log scale)")
    axis.grid(True, which="major", linewidth=0.5, alpha=0.5)
    chapters = axis.legend(fontsize=9, title=hue, loc="upper left", bbox_to_anchor=(1.01, 1.0)) if hue else None
    if front:
        from matplotlib.lines import Line2D

        names = best["model"] if "model" in best else best.index.astype(str)
        keys = [f"{text}. {name}" if label else str(name) for text, name in zip(best[label] if label else names, names)]
        handles = [Line2D([], [], linestyle="none")] * len(keys)
        axis.legend(
            handles, keys, title="Pareto front (step line), fastest first", fontsize=10, title_fontsize=10,
            loc="upper left", bbox_to_anchor=(0.0, -0.1), handlelength=0, handletextpad=0, frameon=False,
        )
        if chapters is not None:
            axis.add_artist(chapters)
    axis.set_title(title or f"Test error against training time: {len(shown)} models")
    figure.draw_without_rendering()  # lay the figure out, so label positions are final
    # Each label takes the first place beside its point that is clear of the markers and of
    # earlier labels (centres compared in points on the page), so labels do not overprint.
    markers = axis.transData.transform(shown[[x, y]].to_numpy(dtype=float)) * 72 / DPI
    placed: list[np.ndarray] = []
    labelled = shown[[x, y]].assign(text=shown[label] if label else "", bold=on_front)
    for *point, text, bold in labelled.sort_values("bold", ascending=False).itertuples(index=False, name=None) if label else ():
        anchor = axis.transData.transform(point) * 72 / DPI
        for offset in ((4, 3), (4, -11), (-14, 3), (-14, -11), (4, 14), (-14, 14), (-22, -4), (10, -4)):
            centre = anchor + offset + (4, 4)
            clear_of_labels = all((np.abs(centre - other) >= (10, 9)).any() for other in placed)
            if clear_of_labels and (np.abs(markers - centre) >= 6).any(axis=1).all():
                break
        placed.append(anchor + offset + (4, 4))
        axis.annotate(
            str(text), point, xytext=offset, textcoords="offset points",
            fontsize=10 if bold else 8, fontweight="bold" if bold else "normal", in_layout=False,
        )
    return figure
