"""``painterly digits train|eval|predict|download|pictures`` and ``painterly summary MODEL``:
parse options, call :mod:`painterly.digits` and :mod:`painterly.lecture.summary`."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from tqdm import tqdm

from painterly.cli.common import positive_int, say
from painterly.cli.options import add_option_fields, name_flag, options_from_args
from painterly.errors import UserError
from painterly.io.files import InputFiles, check_name

MODEL_ENV = "PAINTERLY_DIGITS_MODEL"
DEFAULT_MODEL = "digits.pt"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``digits`` (with its own subcommands) and ``summary``."""
    from painterly.digits.mnist import DATA_ENV, MIRROR_ENV
    from painterly.digits.training import TrainOptions
    from painterly.lecture.summary import MODEL_HELP

    digits = subparsers.add_parser(
        "digits", help="the lecture's handwritten-digit classifier on MNIST",
        description="Train, evaluate and use the lecture's digit CNN (6 and 12 feature maps, "
                    "5x5 kernels, no hidden layer) on MNIST.")
    commands = digits.add_subparsers(dest="digits_command", metavar="COMMAND", required=True)
    data_help = f"folder with the four MNIST files, .gz or not (default ${DATA_ENV})"

    train = commands.add_parser("train", help="train the network on MNIST",
                                description="Train on the 60,000 training digits, measuring the "
                                            "10,000 test digits after each epoch. A checkpoint "
                                            "beside MODEL.pt lets an interrupted run resume.")
    name_flag("data", "--data")
    train.add_argument("--data", help=data_help)
    train.add_argument("--output", required=True, type=Path, metavar="MODEL.pt",
                       help="where to write the trained network")
    add_option_fields(train, TrainOptions, title="training options")
    train.add_argument("--restart", action="store_true",
                       help="ignore an existing checkpoint and start from scratch")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("eval", help="test accuracy of a trained network")
    evaluate.add_argument("--data", help=data_help)
    evaluate.add_argument("--model", required=True, type=Path, metavar="MODEL.pt")
    evaluate.set_defaults(run=run_eval)

    predict = commands.add_parser("predict", help="classify a photo or drawing of a digit",
                                  description="Convert the picture the MNIST way (grayscale, "
                                              "inverted if needed, centred by mass in 28x28) and "
                                              "classify it.")
    predict.add_argument("image", help="an image file of one digit")
    predict.add_argument("--model", type=Path, metavar="MODEL.pt",
                         help=f"trained network (default ${MODEL_ENV} or ./{DEFAULT_MODEL})")
    predict.add_argument("--save-input", type=Path, metavar="PNG",
                         help="also write the 28x28 input the network saw")
    predict.set_defaults(run=run_predict)

    download = commands.add_parser("download", help="download MNIST and verify checksums")
    download.add_argument("--data", required=True, help="folder to put the files in")
    download.add_argument("--mirror", help=f"base URL (default ${MIRROR_ENV} or the PyTorch "
                                           "mirror)")
    download.set_defaults(run=run_download)

    pictures = commands.add_parser("pictures", help="learning curves, confusion matrix, "
                                                    "filters and feature maps as PNG files")
    pictures.add_argument("--data", help=data_help)
    pictures.add_argument("--model", required=True, type=Path, metavar="MODEL.pt")
    pictures.add_argument("--output-dir", type=Path, default=Path("."), metavar="DIR",
                          help="folder for digits_*.png (default: current folder)")
    pictures.add_argument("--index", type=int, default=0,
                          help="test digit whose feature maps are shown (default 0)")
    pictures.set_defaults(run=run_pictures)

    summary = subparsers.add_parser(
        "summary", help="layers, output volumes, neurons, weights and biases of a model",
        description="Per layer: output volume, neurons, weights, biases; and totals.")
    summary.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    summary.add_argument("--image-size", type=positive_int, default=224,
                         help="input side for vgg19 (default 224)")
    summary.set_defaults(run=run_summary)


class TrainingBar:
    """A tqdm bar over training steps, with the loss and the last test accuracy."""

    def __init__(self, quiet: bool):
        self.quiet, self.bar, self.accuracy = quiet, None, ""

    def __call__(self, event) -> None:
        if self.quiet:
            return
        if self.bar is None:
            self.bar = tqdm(total=event.steps, initial=event.step, desc="training",
                            unit="step", file=sys.stderr, dynamic_ncols=True)
        if event.record is not None and event.record.test_accuracy is not None:
            self.accuracy = f", test {event.record.test_accuracy:.2%}"
        loss = "" if math.isnan(event.loss) else f", loss {event.loss:.3f}"
        self.bar.set_postfix_str(f"epoch {event.epoch}/{event.epochs}{loss}{self.accuracy}",
                                 refresh=False)
        self.bar.update(event.step - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _check_writable(path: Path, inputs: list[Path]) -> None:
    check_name(path)
    InputFiles(inputs).check(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UserError(f"output path is a folder: {path}")
    if not parent.is_dir():
        raise UserError(f"output folder does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise UserError(f"output folder is not writable: {parent}")


def run_train(args: argparse.Namespace) -> int:
    from painterly.digits import mnist
    from painterly.digits import training as digits

    checkpoint = digits.checkpoint_path(args.output)
    for path in (args.output, checkpoint):
        _check_writable(path, mnist.data_files(args.data))
    options = digits.TrainOptions(**options_from_args(args, digits.TrainOptions)).validated()
    train, test = mnist.load_split(args.data, "train"), mnist.load_split(args.data, "test")
    if args.restart:
        checkpoint.unlink(missing_ok=True)
    bar = TrainingBar(args.quiet)
    try:
        result = digits.train(train, options, test=test, checkpoint=checkpoint, on_event=bar)
    except KeyboardInterrupt:
        bar.close()
        if checkpoint.exists():
            say(f"interrupted: rerun the same command to resume from {checkpoint}")
        raise
    finally:
        bar.close()
    digits.save_model(result.model, args.output, options, result.history)
    checkpoint.unlink(missing_ok=True)
    if result.resumed_from_epoch:
        say(f"resumed after epoch {result.resumed_from_epoch} of {options.epochs}")
    final = result.history[-1]
    say(f"test accuracy: {final.test_accuracy:.2%} after {options.epochs} epochs, "
        f"{final.seconds:.0f}s of training")
    say(f"wrote {args.output}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from painterly.digits import mnist
    from painterly.digits import training as digits

    model = digits.load_model(args.model).model
    evaluation = digits.evaluate(model, mnist.load_split(args.data, "test"))
    say(f"test accuracy: {evaluation.accuracy:.2%} ({evaluation.errors} errors in "
        f"{len(evaluation.labels)})")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from painterly.digits import training as digits
    from painterly.io import images

    model_path = args.model or Path(os.environ.get(MODEL_ENV) or DEFAULT_MODEL)
    if args.save_input:
        images.check_output_path(args.save_input, [args.image, model_path])
    pixels = digits.prepare_digit(args.image)
    if not model_path.exists():
        raise UserError(f"model not found: {model_path} (train one with 'painterly digits train "
                        f"--data DIR --output {model_path}', or pass --model)")
    prediction = digits.predict(digits.load_model(model_path).model, pixels)
    runner_up = prediction.probabilities.argsort()[-2]
    say(f"{prediction.digit} (probability {prediction.probabilities[prediction.digit]:.1%}; "
        f"next {runner_up}: {prediction.probabilities[runner_up]:.1%})")
    if args.save_input:
        from PIL import Image

        images.save_image(Image.fromarray(prediction.pixels, "L").convert("RGB"),
                          args.save_input)
        say(f"wrote {args.save_input}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from painterly.digits import mnist

    paths = mnist.download(args.data, args.mirror,
                           progress=lambda name, index, total: say(
                               f"[{index + 1}/{total}] {name}"))
    say(f"MNIST files verified in {paths[0].parent}")
    return 0


def run_pictures(args: argparse.Namespace) -> int:
    from painterly.digits import mnist
    from painterly.digits import pictures as digit_pictures
    from painterly.digits import training as digits

    loaded = digits.load_model(args.model)
    test = mnist.load_split(args.data, "test")
    if not 0 <= args.index < len(test):
        raise UserError(f"--index must be 0..{len(test) - 1}")
    if not args.output_dir.is_dir():
        raise UserError(f"output folder does not exist: {args.output_dir}")
    for path in digit_pictures.write_all(loaded, test, args.output_dir, args.index):
        say(f"wrote {path}")
    return 0


def run_summary(args: argparse.Namespace) -> int:
    from painterly.lecture.summary import summary_of

    say(summary_of(args.model, args.image_size).table())
    return 0
