"""Pictures of the digit classifier: learning curves, confusion matrix, learned filters of both
stages and the feature maps of one digit (the lecture's 'features map interpretation')."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from painterly.digits.mnist import Split
from painterly.digits.training import EpochRecord, LoadedModel, evaluate, to_inputs
from painterly.io import images
from painterly.io.figures import INK, font, image_grid
from painterly.nets.digitnet import DigitNet

GRID = (225, 225, 225)
COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189))


def _tile(values: np.ndarray, size: int, symmetric: bool = False) -> Image.Image:
    """A 2-D array as a gray tile of ``size`` px (nearest neighbour, so pixels stay visible).
    ``symmetric``: zero is mid-gray, positive lighter, negative darker (for weights)."""
    values = np.asarray(values, np.float64)
    if symmetric:
        scale = np.abs(values).max() or 1.0
        scaled = 0.5 + 0.5 * values / scale
    else:
        low, high = values.min(), values.max()
        scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    pixels = (scaled * 255).round().astype(np.uint8)
    return Image.fromarray(pixels, "L").resize((size, size), Image.Resampling.NEAREST)


def _stack(figures: Sequence[Image.Image], gap: int = 8) -> Image.Image:
    """Figures one under the other, centred, on white."""
    width = max(figure.width for figure in figures)
    height = sum(figure.height for figure in figures) + gap * (len(figures) - 1)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    top = 0
    for figure in figures:
        canvas.paste(figure, ((width - figure.width) // 2, top))
        top += figure.height + gap
    return canvas


def _tick_label(value: float, span: float) -> str:
    """Few digits: whole numbers for wide ranges, two decimals for narrow ones."""
    if span >= 20:
        return f"{value:.0f}"
    return f"{value:.1f}" if span >= 2 else f"{value:.2f}"


def line_chart(series: dict[str, tuple[Sequence[float], Sequence[float]]], *, title: str,
               x_label: str, y_label: str, size: tuple[int, int] = (560, 380),
               y_range: tuple[float, float] | None = None) -> Image.Image:
    """A small line chart with axes, ticks and a legend, drawn with Pillow."""
    width, height = size
    left, right, top, bottom = 72, 24, 36, 48
    chart = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(chart)
    all_x = [x for xs, _ in series.values() for x in xs]
    all_y = [y for _, ys in series.values() for y in ys]
    x_low, x_high = 0.0, max(all_x) or 1.0
    y_low, y_high = y_range or (min(all_y), max(all_y))
    if y_high <= y_low:
        y_high = y_low + 1

    def position(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x_low) / (x_high - x_low) * (width - left - right),
                height - bottom - (y - y_low) / (y_high - y_low) * (height - top - bottom))

    small = font(12)
    for tick in np.linspace(y_low, y_high, 6):
        _, y = position(x_low, tick)
        draw.line([(left, y), (width - right, y)], fill=GRID)
        draw.text((left - 6, y), _tick_label(tick, y_high - y_low), fill=INK, font=small,
                  anchor="rm")
    for tick in np.linspace(x_low, x_high, 6):
        x, _ = position(tick, y_low)
        draw.line([(x, top), (x, height - bottom)], fill=GRID)
        draw.text((x, height - bottom + 6), _tick_label(tick, x_high - x_low), fill=INK,
                  font=small, anchor="mt")
    draw.rectangle([left, top, width - right, height - bottom], outline=INK)
    # the legend's right edge 8 px inside the frame, however long its longest name
    legend_x = width - right - 8 - 28 - max(draw.textlength(name, font=small) for name in series)
    for index, (name, (xs, ys)) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        points = [position(x, min(max(y, y_low), y_high)) for x, y in zip(xs, ys, strict=True)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        legend_y = top + 10 + 18 * index
        draw.line([(legend_x, legend_y), (legend_x + 22, legend_y)], fill=colour, width=3)
        draw.text((legend_x + 28, legend_y), name, fill=INK, font=small, anchor="lm")
    draw.text((width / 2, 16), title, fill=INK, font=font(15), anchor="mm")
    draw.text((left + (width - left - right) / 2, height - 14), x_label, fill=INK, font=small,
              anchor="mm")
    label = Image.new("RGB", (height - top - bottom, 16), (255, 255, 255))
    ImageDraw.Draw(label).text((label.width / 2, 8), y_label, fill=INK, font=small, anchor="mm")
    chart.paste(label.rotate(90, expand=True), (4, top))
    return chart


def learning_curves(history: Sequence[EpochRecord]) -> Image.Image:
    """Test accuracy against training time, and the losses per epoch."""
    if not history:
        raise ValueError("the model has no training history to plot")
    seconds = [record.seconds for record in history]
    epochs = [record.epoch for record in history]
    losses = {"train (augmented)": (epochs, [r.train_loss for r in history])}
    if all(record.test_accuracy is not None for record in history):
        curve = [100 * record.test_accuracy for record in history]
        name = "test"
        losses["test"] = (epochs, [r.test_loss for r in history])
    else:
        curve = [100 * record.train_accuracy for record in history]
        name = "train (augmented)"
    low = min(float(np.floor(min(curve) * 2) / 2), 99.0)
    left = line_chart({name: (seconds, curve)}, title="test accuracy against training time",
                      x_label="training time (s)", y_label="accuracy (%)",
                      y_range=(low, 100.0))
    right = line_chart(losses, title="cross-entropy per epoch", x_label="epoch",
                       y_label="loss")
    canvas = Image.new("RGB", (left.width + right.width, left.height), (255, 255, 255))
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width, 0))
    return canvas


def confusion_picture(matrix: np.ndarray, cell: int = 44) -> Image.Image:
    """Rows: true digit, columns: predicted; the diagonal in green, mistakes in red."""
    margin = 56
    size = margin + 10 * cell + 12
    picture = Image.new("RGB", (size, size + 24), (255, 255, 255))
    draw = ImageDraw.Draw(picture)
    off_diagonal = matrix.copy()
    np.fill_diagonal(off_diagonal, 0)
    worst = max(int(off_diagonal.max()), 1)
    label_font, small = font(14), font(12)
    for true in range(10):
        for guess in range(10):
            count = int(matrix[true, guess])
            x, y = margin + guess * cell, margin + true * cell
            if true == guess:
                colour = (200, 235, 200)
            elif count:
                strength = 0.25 + 0.75 * count / worst
                colour = (255, round(255 * (1 - strength)), round(255 * (1 - strength)))
            else:
                colour = (255, 255, 255)
            draw.rectangle([x, y, x + cell, y + cell], fill=colour, outline=GRID)
            if count:
                draw.text((x + cell / 2, y + cell / 2), str(count), fill=INK, font=small,
                          anchor="mm")
        draw.text((margin - 10, margin + true * cell + cell / 2), str(true), fill=INK,
                  font=label_font, anchor="rm")
        draw.text((margin + true * cell + cell / 2, margin - 10), str(true), fill=INK,
                  font=label_font, anchor="mb")
    draw.text((margin + 5 * cell, 16), "predicted digit", fill=INK, font=label_font, anchor="mm")
    draw.text((8, margin - 10), "true", fill=INK, font=label_font, anchor="lb")
    errors = int(off_diagonal.sum())
    draw.text((size / 2, size + 8), f"{errors} errors in {int(matrix.sum())} test digits",
              fill=INK, font=label_font, anchor="mm")
    return picture


def filters_picture(model: DigitNet, tile: int = 40) -> Image.Image:
    """First-stage kernels (one per map) and second-stage kernels (one row per map, one column
    per first-stage map it reads); light = positive weight, dark = negative."""
    first = model.features.conv1.weight.detach().numpy()
    second = model.features.conv2.weight.detach().numpy()
    stage1 = image_grid([_tile(kernel[0], tile * 2, symmetric=True) for kernel in first],
                        [f"map {index + 1}" for index in range(len(first))],
                        heading="first stage: 6 kernels 5x5 on the digit", font_size=13)
    rows = []
    for kernel in second:
        row = np.concatenate([np.pad(np.asarray(_tile(channel, tile, True)), ((0, 0), (0, 4)),
                                     constant_values=255) for channel in kernel], axis=1)
        rows.append(Image.fromarray(row, "L"))
    stage2 = image_grid(rows, [f"map {index + 1}" for index in range(len(rows))], columns=3,
                        heading=f"second stage: {len(second)} maps, each {second.shape[1]} "
                                f"kernels 5x5 (one per first-stage map)", font_size=13)
    return _stack([stage1, stage2])


def feature_maps_picture(model: DigitNet, pixels: np.ndarray, label: int | None = None,
                         tile: int = 84) -> Image.Image:
    """One digit and the maps after each stage's activation (light = strong response)."""
    model.eval()
    with torch.no_grad():
        stages = model.stages(to_inputs(pixels[None]))
    predicted = int(stages["classifier"].argmax())
    digit = _tile(pixels, tile)
    truth = f", label {label}" if label is not None else ""
    maps1 = stages["act1"][0].numpy()
    maps2 = stages["act2"][0].numpy()
    row1 = image_grid([digit] + [_tile(item, tile) for item in maps1],
                      [f"input{truth}"] + [f"map {i + 1}" for i in range(len(maps1))],
                      heading=f"first stage: {len(maps1)} feature maps "
                              f"{maps1.shape[2]}x{maps1.shape[1]}", font_size=13)
    row2 = image_grid([_tile(item, tile) for item in maps2],
                      [f"map {i + 1}" for i in range(len(maps2))], columns=6,
                      heading=f"second stage: {len(maps2)} feature maps "
                              f"{maps2.shape[2]}x{maps2.shape[1]} (predicted {predicted})",
                      font_size=13)
    return _stack([row1, row2])


def write_all(loaded: LoadedModel, test: Split, directory: str | Path,
              index: int = 0) -> list[Path]:
    """digits_curves.png, digits_confusion.png, digits_filters.png, digits_feature_maps.png."""
    directory = Path(directory)
    written = []
    if loaded.history:
        written.append(images.save_image(learning_curves(loaded.history),
                                         directory / "digits_curves.png"))
    evaluation = evaluate(loaded.model, test)
    written.append(images.save_image(confusion_picture(evaluation.confusion()),
                                     directory / "digits_confusion.png"))
    written.append(images.save_image(filters_picture(loaded.model),
                                     directory / "digits_filters.png"))
    written.append(images.save_image(
        feature_maps_picture(loaded.model, test.images[index], int(test.labels[index])),
        directory / "digits_feature_maps.png"))
    return written
