"""Train, evaluate and use the lecture's digit classifier on MNIST.

One implementation for the CLI, the benchmark and the pictures: :func:`train` (progress events,
atomic checkpoints after every epoch, resume, repeatable with a seed), :func:`evaluate`,
:func:`load_model` / :func:`save_model`, and :func:`prepare_digit`, which turns any photo or
drawing of a digit into an MNIST-style 28x28 input.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from painterly.digits.mnist import Split
from painterly.errors import UserError
from painterly.io import images
from painterly.io.files import atomic_file, file_problem
from painterly.nets.digitnet import INPUT_SIZE, DigitNet, DigitNetConfig
from painterly.nets.layers import ACTIVATIONS, POOLING_KINDS
from painterly.options import option, validate
from painterly.runs import listener_of

MODEL_FORMAT = "painterly-digits/1"
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
"""Pixel mean and standard deviation of the MNIST training set (values 0..1)."""
EVAL_BATCH = 2000


@dataclass(frozen=True)
class TrainOptions:
    """Every training default, defined once (the CLI and the benchmark use these)."""

    epochs: int = option(20, "passes over the training set", low=1)
    batch_size: int = option(256, "digits per training step", low=1)
    learning_rate: float = option(0.01, "peak learning rate of the one-cycle schedule (AdamW)",
                                  positive=True)
    weight_decay: float = option(1e-4, "AdamW's weight decay", low=0)
    warmup: float = option(0.2, "fraction of the steps spent raising the learning rate to its "
                                "peak", low=0, high=1)
    shift: float = option(2.0, "augmentation: random translation of each training digit by up "
                               "to this many pixels", low=0)
    rotation: float = option(10.0, "augmentation: random rotation by up to this many degrees",
                             low=0)
    scale: float = option(0.1, "augmentation: random zoom by a factor within 1 +- this", low=0,
                          below=1)
    label_smoothing: float = option(0.0, "share of the target probability spread evenly over "
                                          "all ten digits", low=0, below=1)
    averaging: float = option(
        0.999, "decay of an exponential moving average of the weights (0 = off); with it, the "
               "averaged weights are the ones evaluated after each epoch and returned", low=0,
        below=1)
    seed: int = option(0, "random seed")
    threads: int = option(
        1, "CPU threads (one is fastest for this tiny net: two threads took 10x the time of "
           "one on a shared 2-core machine, OpenMP threads waiting for each other)", low=1)
    activation: str = option("relu", "activation function", choices=ACTIVATIONS)
    pooling: str = option("max", "pooling", choices=POOLING_KINDS)
    padding: tuple[int, int] = option((2, 2), "zero padding of the two convolutions", low=0)

    def model_config(self) -> DigitNetConfig:
        return DigitNetConfig(activation=self.activation, pooling=self.pooling,
                              padding=tuple(self.padding))

    def validated(self) -> TrainOptions:
        """Check the values a user can set; raises OptionError naming the field."""
        validate(self)
        try:
            self.model_config().side_after_stages()
        except ValueError as error:
            raise UserError(str(error)) from None
        return self


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch achieved: for the learning curves."""

    epoch: int
    seconds: float
    """Training time from the start until the end of this epoch (evaluation not counted)."""
    train_loss: float
    train_accuracy: float
    """On the augmented batches seen during the epoch."""
    test_accuracy: float | None = None
    test_loss: float | None = None
    cpu_seconds: float | None = None
    """CPU time of this process (all threads) spent training until the end of this epoch:
    unlike ``seconds`` it barely depends on other programs' load."""


@dataclass(frozen=True, kw_only=True)
class TrainProgress:
    """A progress event: sent after every ``report_every`` steps and after each epoch (built
    with keywords, like every product's events)."""

    step: int
    steps: int
    epoch: int
    epochs: int
    loss: float
    elapsed: float
    record: EpochRecord | None = None
    """Set on the event that ends an epoch."""


@dataclass
class TrainResult:
    model: DigitNet
    options: TrainOptions
    history: list[EpochRecord] = field(default_factory=list)
    resumed_from_epoch: int = 0

    @property
    def seconds(self) -> float:
        return self.history[-1].seconds if self.history else 0.0


# --- tensors -------------------------------------------------------------------------------------

def to_inputs(pixels: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) digits (0 = background) -> normalized float (N, 1, 28, 28)."""
    tensor = torch.as_tensor(np.asarray(pixels)) if not isinstance(pixels, torch.Tensor) \
        else pixels
    return (tensor.float().div(255).unsqueeze(1) - MNIST_MEAN) / MNIST_STD


def augment(batch: torch.Tensor, shift: float, rotation: float, generator: torch.Generator,
            scale: float = 0.0) -> torch.Tensor:
    """Random translation (pixels), rotation (degrees) and zoom (factor 1 +- ``scale``) of
    normalized digits, background kept."""
    count = batch.shape[0]
    if shift == 0 and rotation == 0 and scale == 0:
        return batch
    angle = (torch.rand(count, generator=generator) * 2 - 1) * math.radians(rotation)
    offset = (torch.rand(count, 2, generator=generator) * 2 - 1) * shift * 2 / INPUT_SIZE
    # the grid maps output to input coordinates, so dividing by the zoom enlarges the digit
    zoom = 1 / (1 + (torch.rand(count, generator=generator) * 2 - 1) * scale) if scale else 1.0
    theta = torch.zeros(count, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = torch.cos(angle) * zoom
    theta[:, 0, 1] = -torch.sin(angle) * zoom
    theta[:, 1, 0] = torch.sin(angle) * zoom
    theta[:, :, 2] = offset
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    background = -MNIST_MEAN / MNIST_STD
    moved = F.grid_sample(batch - background, grid, align_corners=False, padding_mode="zeros")
    return moved + background


# --- checkpoints and model files -----------------------------------------------------------------

def _save_atomically(payload: dict, path: Path) -> None:
    with atomic_file(path) as stream:
        torch.save(payload, stream)


def _options_dict(options: TrainOptions) -> dict:
    values = asdict(options)
    values["padding"] = list(options.padding)
    return values


def _recipe(values: dict) -> dict:
    """The options that decide the result (the thread count does not)."""
    return {key: value for key, value in values.items() if key != "threads"}


def _options_from(values: dict) -> TrainOptions:
    known = {item.name for item in fields(TrainOptions)}
    values = {key: value for key, value in values.items() if key in known}
    if "padding" in values:
        values["padding"] = tuple(values["padding"])
    return TrainOptions(**values)


def save_model(model: DigitNet, path: str | Path, options: TrainOptions | None = None,
               history: list[EpochRecord] | None = None) -> Path:
    """Write the trained network (weights, architecture, recipe, curves) atomically."""
    path = Path(path)
    _save_atomically({"format": MODEL_FORMAT, "config": model.config.to_dict(),
                      "state": model.state_dict(),
                      "options": _options_dict(options) if options else None,
                      "history": [asdict(record) for record in history or []]}, path)
    return path


def _load_payload(path: Path, what: str) -> dict:
    problem = file_problem(path)
    if problem is not None:
        raise UserError(f"{what} {problem}: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a file that is not its own
        raise UserError(f"{path} is not a painterly digits model ({type(error).__name__})") \
            from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise UserError(f"{path} is not a painterly digits model")
    return payload


@dataclass
class LoadedModel:
    model: DigitNet
    options: TrainOptions | None
    history: list[EpochRecord]


def load_model(path: str | Path) -> LoadedModel:
    """Read a file written by :func:`save_model` (or a training checkpoint)."""
    path = Path(path)
    payload = _load_payload(path, "model")
    try:
        config = payload["config"]
        model = DigitNet(DigitNetConfig(**config))
        model.load_state_dict(payload["state"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise UserError(f"{path}: damaged digits model ({error})") from None
    model.eval()
    try:
        options = _options_from(payload["options"]) if payload.get("options") else None
    except (AttributeError, TypeError, ValueError) as error:
        raise UserError(f"{path}: damaged training options ({error})") from None
    return LoadedModel(model, options, _history(payload.get("history"), path))


def _history(records: object, path: Path) -> list[EpochRecord]:
    """The epoch records of a model or checkpoint file; UserError naming the file if damaged."""
    try:
        return [EpochRecord(**record) for record in records or []]
    except TypeError as error:  # not a list of records with EpochRecord's fields
        raise UserError(f"{path}: damaged training history ({error})") from None


def checkpoint_path(output: str | Path) -> Path:
    """Where training of ``output`` keeps its checkpoint: ``MODEL.pt.checkpoint``."""
    output = Path(output)
    return output.with_name(output.name + ".checkpoint")


# --- training ------------------------------------------------------------------------------------

def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """Shuffling and augmentation of one epoch depend only on (seed, epoch): resuming after an
    interruption continues exactly as an uninterrupted run would."""
    return torch.Generator().manual_seed(seed * 100_003 + epoch)


def train(data: Split, options: TrainOptions | None = None, *, test: Split | None = None,
          checkpoint: str | Path | None = None, resume: bool = True,
          on_event: Callable[[TrainProgress], None] | None = None, report_every: int = 20,
          should_stop: Callable[[], bool] | None = None,
          progress: Callable[[TrainProgress], None] | None = None) -> TrainResult:
    """Train the digit net on ``data`` with ``options`` (default :class:`TrainOptions`).

    After each epoch the test accuracy is measured (if ``test`` is given) and, if ``checkpoint``
    is a path, the whole state is written there atomically. With ``resume`` an existing
    checkpoint of the same options is continued. ``on_event`` receives a
    :class:`TrainProgress` every ``report_every`` steps and after each epoch (``progress`` is
    its older name). ``should_stop()`` returning true or Ctrl-C ends training; the checkpoint of
    the last full epoch stays for a later resume.
    """
    progress = listener_of(on_event, progress)
    options = (options or TrainOptions()).validated()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(options.threads)
    try:
        return _train(data, options, test, checkpoint, resume, progress, report_every,
                      should_stop)
    finally:
        torch.set_num_threads(threads_before)


def _train(data: Split, options: TrainOptions, test: Split | None,
           checkpoint: str | Path | None, resume: bool,
           progress: Callable[[TrainProgress], None] | None, report_every: int,
           should_stop: Callable[[], bool] | None) -> TrainResult:
    torch.manual_seed(options.seed)
    model = DigitNet(options.model_config()).to(memory_format=torch.channels_last)
    averaged = copy.deepcopy(model) if options.averaging else None
    evaluated = averaged or model
    inputs, labels = to_inputs(data.images), torch.as_tensor(data.labels.astype(np.int64))
    batches = max(1, len(labels) // options.batch_size)
    steps = options.epochs * batches
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.learning_rate,
                                  weight_decay=options.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=options.learning_rate, total_steps=steps,
        pct_start=options.warmup, anneal_strategy="cos")
    result = TrainResult(model, options)
    checkpoint = Path(checkpoint) if checkpoint else None
    if checkpoint and resume and checkpoint.exists():
        state = _load_payload(checkpoint, "checkpoint")
        if _recipe(state.get("options") or {}) != _recipe(_options_dict(options)):
            raise UserError(f"{checkpoint} was made with other training options; remove it or "
                            "train with the same options to resume")
        model.load_state_dict(state.get("training_state", state["state"]))
        if averaged is not None:
            averaged.load_state_dict(state["state"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        result.history = _history(state["history"], checkpoint)
        result.resumed_from_epoch = len(result.history)
    test_inputs = to_inputs(test.images) if test is not None else None
    test_labels = torch.as_tensor(test.labels.astype(np.int64)) if test is not None else None
    elapsed_before = result.seconds
    cpu_before = (result.history[-1].cpu_seconds or 0.0) if result.history else 0.0
    if progress:
        done = result.resumed_from_epoch
        progress(TrainProgress(step=done * batches, steps=steps, epoch=done,
                               epochs=options.epochs, loss=math.nan, elapsed=elapsed_before))
    start, cpu_start = time.perf_counter(), time.process_time()
    for epoch in range(result.resumed_from_epoch, options.epochs):
        model.train()
        generator = _epoch_generator(options.seed, epoch)
        order = torch.randperm(len(labels), generator=generator)
        loss_sum, correct, seen = 0.0, 0, 0
        for batch in range(batches):
            if should_stop and should_stop():
                return result
            index = order[batch * options.batch_size:(batch + 1) * options.batch_size]
            x = augment(inputs[index], options.shift, options.rotation, generator,
                        options.scale)
            x = x.contiguous(memory_format=torch.channels_last)
            scores = model(x)
            loss = F.cross_entropy(scores, labels[index], label_smoothing=options.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step = epoch * batches + batch + 1
            if averaged is not None:
                _update_average(averaged, model, options.averaging, step)
            loss_sum += loss.item() * len(index)
            correct += int((scores.argmax(1) == labels[index]).sum())
            seen += len(index)
            if progress and (step % report_every == 0):
                progress(TrainProgress(step=step, steps=steps, epoch=epoch + 1,
                                       epochs=options.epochs, loss=loss.item(),
                                       elapsed=elapsed_before + time.perf_counter() - start))
        seconds = elapsed_before + time.perf_counter() - start
        cpu_seconds = cpu_before + time.process_time() - cpu_start
        test_accuracy = test_loss = None
        if test_inputs is not None:
            evaluation = _evaluate_tensors(evaluated, test_inputs, test_labels)
            test_accuracy, test_loss = evaluation.accuracy, evaluation.loss
        record = EpochRecord(epoch + 1, seconds, loss_sum / seen, correct / seen, test_accuracy,
                             test_loss, cpu_seconds)
        result.history.append(record)
        if checkpoint:
            _save_atomically({"format": MODEL_FORMAT, "config": model.config.to_dict(),
                              "state": evaluated.state_dict(),
                              "training_state": model.state_dict(),
                              "options": _options_dict(options),
                              "optimizer": optimizer.state_dict(),
                              "schedule": schedule.state_dict(),
                              "history": [asdict(item) for item in result.history]}, checkpoint)
        if progress:
            progress(TrainProgress(step=(epoch + 1) * batches, steps=steps, epoch=epoch + 1,
                                   epochs=options.epochs, loss=record.train_loss,
                                   elapsed=seconds, record=record))
        # time spent evaluating and checkpointing does not count as training time
        start, cpu_start = time.perf_counter(), time.process_time()
        elapsed_before, cpu_before = seconds, cpu_seconds
    if averaged is not None:
        model.load_state_dict(averaged.state_dict())
    model.eval()
    return result


def _update_average(averaged: DigitNet, model: DigitNet, decay: float, step: int) -> None:
    """Move the averaged weights towards the current ones. Early on the decay is smaller, so the
    average forgets the random initial weights quickly."""
    decay = min(decay, (1 + step) / (10 + step))
    with torch.no_grad():
        for mean, current in zip(averaged.parameters(), model.parameters(), strict=True):
            mean.lerp_(current, 1 - decay)


# --- evaluation ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    """Fraction correct, 0..1."""
    loss: float
    predictions: np.ndarray
    labels: np.ndarray

    @property
    def errors(self) -> int:
        return int((self.predictions != self.labels).sum())

    def confusion(self) -> np.ndarray:
        """10x10 counts: row = true digit, column = predicted digit."""
        matrix = np.zeros((10, 10), dtype=np.int64)
        np.add.at(matrix, (self.labels, self.predictions), 1)
        return matrix


def _evaluate_tensors(model: DigitNet, inputs: torch.Tensor, labels: torch.Tensor) -> Evaluation:
    was_training = model.training
    model.eval()
    predictions, loss_sum = [], 0.0
    with torch.no_grad():
        for start in range(0, len(labels), EVAL_BATCH):
            scores = model(inputs[start:start + EVAL_BATCH])
            loss_sum += F.cross_entropy(scores, labels[start:start + EVAL_BATCH],
                                        reduction="sum").item()
            predictions.append(scores.argmax(1))
    model.train(was_training)
    predicted = torch.cat(predictions).numpy()
    truth = labels.numpy()
    return Evaluation(float((predicted == truth).mean()), loss_sum / len(truth), predicted, truth)


def evaluate(model: DigitNet, data: Split) -> Evaluation:
    """Accuracy, mean cross-entropy and every prediction of ``model`` on ``data``."""
    return _evaluate_tensors(model, to_inputs(data.images),
                             torch.as_tensor(data.labels.astype(np.int64)))


# --- any picture of a digit -> MNIST style -------------------------------------------------------

DIGIT_BOX = 20
"""MNIST digits fit in a 20x20 box, centred by their centre of mass in the 28x28 image."""


def prepare_digit(source: images.ImageSource) -> np.ndarray:
    """Any photo or drawing of one digit -> 28x28 uint8 the MNIST way: grayscale, inverted if the
    background is light, background removed, the ink's bounding box scaled to fit 20x20 and
    centred by its centre of mass. Raises UserError for a blank picture."""
    gray = np.asarray(images.load_image(source, what="digit image").convert("L"), np.float64)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    if background > 127:  # dark ink on light paper: MNIST is light ink on black
        gray, background = 255 - gray, 255 - background
    gray = np.clip(gray - background, 0, None)
    if gray.max() < 32:
        raise UserError("the digit image is blank: no strokes stand out from the background")
    gray = gray / gray.max()
    ink = gray > 0.2
    rows, columns = np.nonzero(ink)
    top, bottom, left, right = rows.min(), rows.max() + 1, columns.min(), columns.max() + 1
    crop = gray[top:bottom, left:right]
    scale = DIGIT_BOX / max(crop.shape)
    width = max(1, round(crop.shape[1] * scale))
    height = max(1, round(crop.shape[0] * scale))
    small = Image.fromarray((crop * 255).astype(np.uint8), "L").resize(
        (width, height), Image.Resampling.LANCZOS)
    pixels = np.asarray(small, np.float64)
    total = pixels.sum()
    ys, xs = np.mgrid[0:height, 0:width]
    centre_y = (ys * pixels).sum() / total if total else height / 2
    centre_x = (xs * pixels).sum() / total if total else width / 2
    canvas = np.zeros((INPUT_SIZE, INPUT_SIZE), np.float64)
    top = round(float(INPUT_SIZE / 2 - centre_y))
    left = round(float(INPUT_SIZE / 2 - centre_x))
    top = min(max(top, 0), INPUT_SIZE - height)
    left = min(max(left, 0), INPUT_SIZE - width)
    canvas[top:top + height, left:left + width] = pixels
    return np.clip(canvas, 0, 255).round().astype(np.uint8)


@dataclass(frozen=True)
class Prediction:
    digit: int
    probabilities: np.ndarray
    """Softmax over the 10 digits."""
    pixels: np.ndarray
    """The 28x28 input the network saw."""


def predict(model: DigitNet, source: images.ImageSource | np.ndarray) -> Prediction:
    """Classify one picture of a digit (a file, a PIL image, or 28x28 MNIST-style pixels)."""
    pixels = source if isinstance(source, np.ndarray) else prepare_digit(source)
    model.eval()
    with torch.no_grad():
        scores = model(to_inputs(pixels[None]))
    probabilities = torch.softmax(scores, 1)[0].numpy()
    return Prediction(int(probabilities.argmax()), probabilities, pixels)

