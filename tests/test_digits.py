"""The digit net, training (repeatable, checkpointed, resumable), evaluation, MNIST-style
preprocessing of any picture, the pictures and the ``painterly digits`` commands, on tiny
synthetic data."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from painterly.cli import main
from painterly.digits import mnist
from painterly.digits import pictures as digit_pictures
from painterly.digits import training as digits
from painterly.errors import UserError
from painterly.nets.digitnet import DigitNet, DigitNetConfig
from painterly.nets.layers import ACTIVATIONS, POOLING_KINDS

FAST = digits.TrainOptions(epochs=2, batch_size=32, learning_rate=0.02, threads=1)


def synthetic_digits(count: int, seed: int) -> mnist.Split:
    """'Digits' the net can learn in a few steps: class k is a bright blob in cell k of a
    4x3 grid, slightly jittered, with noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    pictures = rng.integers(0, 40, (count, 28, 28)).astype(np.uint8)
    for picture, label in zip(pictures, labels, strict=True):
        row, column = divmod(int(label), 4)
        top, left = 2 + 8 * row + rng.integers(0, 3), 2 + 6 * column + rng.integers(0, 3)
        picture[top:top + 5, left:left + 5] = 250
    return mnist.Split(pictures, labels)


@pytest.fixture(scope="module")
def data():
    return synthetic_digits(320, 0), synthetic_digits(100, 1)


@pytest.fixture
def data_dir(tmp_path, data):
    train, test = data
    mnist.write_split(tmp_path, "train", train.images, train.labels)
    mnist.write_split(tmp_path, "test", test.images, test.labels, compress=False)
    return tmp_path


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("pooling", POOLING_KINDS)
def test_net_keeps_the_lectures_sizes_for_every_choice(activation, pooling):
    model = DigitNet(DigitNetConfig(activation=activation, pooling=pooling))
    stages = model.stages(torch.zeros(2, 1, 28, 28))
    assert stages["pool1"].shape == (2, 6, 14, 14)
    assert stages["pool2"].shape == (2, 12, 7, 7)
    assert stages["classifier"].shape == (2, 10)
    assert model.features.conv1.kernel_size == (5, 5)
    assert [type(layer).__name__ for layer in model.children()] == ["Sequential", "Linear"]


def test_training_learns_and_is_repeatable_with_a_seed(data):
    train, test = data
    events = []
    threads = torch.get_num_threads()
    first = digits.train(train, FAST, test=test, progress=events.append)
    assert torch.get_num_threads() == threads
    second = digits.train(train, FAST, test=test)
    other = digits.train(train, replace(FAST, seed=1), test=test)
    assert [record.epoch for record in first.history] == [1, 2]
    assert first.history[-1].test_accuracy > 0.5  # chance is 0.1
    assert all(torch.equal(a, b) for a, b in zip(first.model.state_dict().values(),
                                                 second.model.state_dict().values(), strict=True))
    assert not torch.equal(first.model.classifier.weight, other.model.classifier.weight)
    assert events[0].step == 0 and events[-1].step == events[-1].steps == 20
    assert [event.record.epoch for event in events if event.record] == [1, 2]


def test_interrupted_training_resumes_to_the_same_result(tmp_path, data):
    train = data[0]
    checkpoint = tmp_path / "m.pt.checkpoint"
    calls = iter(range(1000))
    stopped = digits.train(train, FAST, checkpoint=checkpoint,
                           should_stop=lambda: next(calls) >= 13)  # in the second epoch
    assert len(stopped.history) == 1 and checkpoint.exists()
    resumed = digits.train(train, FAST, checkpoint=checkpoint)
    whole = digits.train(train, FAST)
    assert resumed.resumed_from_epoch == 1 and len(resumed.history) == 2
    assert torch.allclose(resumed.model.classifier.weight, whole.model.classifier.weight)
    with pytest.raises(UserError, match="made with other training options"):
        digits.train(train, replace(FAST, seed=5), checkpoint=checkpoint)


def test_model_file_round_trip_and_bad_model_files(tmp_path, data):
    train, test = data
    result = digits.train(train, replace(FAST, epochs=1), test=test)
    path = digits.save_model(result.model, tmp_path / "m.pt", result.options, result.history)
    loaded = digits.load_model(path)
    assert loaded.options == result.options and loaded.history == result.history
    assert digits.evaluate(loaded.model, test).accuracy == result.history[-1].test_accuracy
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(UserError, match="is not a painterly digits model"):
        digits.load_model(tmp_path / "junk.pt")
    with pytest.raises(UserError, match="model not found"):
        digits.load_model(tmp_path / "missing.pt")


def test_confusion_matrix_counts():
    evaluation = digits.Evaluation(0.75, 0.0, np.array([1, 2, 3, 3]), np.array([1, 2, 3, 5]))
    matrix = evaluation.confusion()
    assert matrix.sum() == 4 and matrix[5, 3] == 1 and np.trace(matrix) == 3
    assert evaluation.errors == 1


def _drawing(ink: int, paper: int, size=(120, 80), box=(70, 10, 100, 60)) -> Image.Image:
    image = Image.new("RGB", size, (paper,) * 3)
    ImageDraw.Draw(image).rectangle(box, outline=(ink,) * 3, width=6)  # a '0' off to one side
    return image


@pytest.mark.parametrize(("ink", "paper"), [(10, 240), (250, 0)])
def test_any_drawing_becomes_an_mnist_style_digit(ink, paper):
    pixels = digits.prepare_digit(_drawing(ink, paper))
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8
    assert pixels[0].max() == 0 and pixels[:, 0].max() == 0  # black background
    assert pixels.max() == 255
    rows, columns = np.nonzero(pixels > 30)
    assert max(rows.max() - rows.min(), columns.max() - columns.min()) + 1 <= 21
    ys, xs = np.mgrid[0:28, 0:28]
    mass = pixels.astype(float)
    assert abs((ys * mass).sum() / mass.sum() - 14) < 1
    assert abs((xs * mass).sum() / mass.sum() - 14) < 1


def test_blank_picture_is_refused():
    with pytest.raises(UserError, match="the digit image is blank"):
        digits.prepare_digit(Image.new("RGB", (50, 50), (255, 255, 255)))


def test_pictures_are_written(tmp_path, data):
    train, test = data
    result = digits.train(train, replace(FAST, epochs=1), test=test)
    loaded = digits.LoadedModel(result.model, result.options, result.history)
    paths = digit_pictures.write_all(loaded, test, tmp_path, index=3)
    assert sorted(path.name for path in paths) == ["digits_confusion.png", "digits_curves.png",
                                                   "digits_feature_maps.png",
                                                   "digits_filters.png"]
    for path in paths:
        with Image.open(path) as image:
            assert image.width > 300 and image.height > 200


def test_cli_train_eval_predict(tmp_path, data_dir, capsys):
    model = tmp_path / "m.pt"
    assert main(["digits", "train", "--data", str(data_dir), "--output", str(model),
                 "--epochs", "1", "--seed", "3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {model}" in out and model.exists()
    assert not digits.checkpoint_path(model).exists()
    assert digits.load_model(model).options.seed == 3
    assert main(["digits", "eval", "--data", str(data_dir), "--model", str(model)]) == 0
    assert re.fullmatch(r"test accuracy: \d+\.\d\d% \(\d+ errors in 100\)\n",
                        capsys.readouterr().out)
    picture = tmp_path / "seven.png"
    _drawing(0, 255).save(picture)
    assert main(["digits", "predict", str(picture), "--model", str(model),
                 "--save-input", str(tmp_path / "seen.png")]) == 0
    assert re.match(r"\d \(probability \d+\.\d%", capsys.readouterr().out)
    assert Image.open(tmp_path / "seen.png").size == (28, 28)


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    return captured.err


def test_cli_errors_are_one_line_with_exit_2(tmp_path, data_dir, capsys):
    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_text("hello")
    (tmp_path / "m.pt").write_bytes(b"x")
    err = _one_line_error(capsys, ["digits", "predict", str(not_an_image),
                                   "--model", str(tmp_path / "m.pt")])
    assert "not an image file" in err
    broken = data_dir / "t10k-images-idx3-ubyte"
    broken.write_bytes(broken.read_bytes()[:-10])
    err = _one_line_error(capsys, ["digits", "eval", "--data", str(data_dir),
                                   "--model", str(tmp_path / "m.pt")])
    assert "is not a painterly digits model" in err
    err = _one_line_error(capsys, ["digits", "train", "--data", str(data_dir),
                                   "--output", str(tmp_path / "new.pt"), "--quiet"])
    assert "truncated: the header promises 100x28x28 values" in err
    assert not (tmp_path / "new.pt").exists()
    small = synthetic_digits(5, 2)
    mnist.write_split(data_dir, "test", small.images, small.labels[:4], compress=False)
    err = _one_line_error(capsys, ["digits", "train", "--data", str(data_dir),
                                   "--output", str(tmp_path / "new.pt"), "--quiet"])
    assert "test set has 5 images" in err and "but 4 labels" in err


def test_zoom_augmentation_scales_the_ink():
    digit = torch.zeros(1, 1, 28, 28, dtype=torch.uint8)
    digit[0, 0, 9:19, 9:19] = 255
    batch = digits.to_inputs(digit[:, 0]).repeat(200, 1, 1, 1)
    background = float(batch.min())
    zoomed = digits.augment(batch, 0, 0, torch.Generator().manual_seed(0), scale=0.2)
    ink = (zoomed > background + 1).flatten(1).sum(1).float()
    assert ink.min() < 100 * 0.85 and ink.max() > 100 * 1.2  # area of a 10x10 square zoomed
    assert torch.equal(digits.augment(batch, 0, 0, torch.Generator()), batch)


def test_weight_averaging_returns_the_averaged_weights(tmp_path, data):
    train, test = data
    plain = digits.train(train, replace(FAST, averaging=0.0), test=test)
    averaged = digits.train(train, replace(FAST, averaging=0.9), test=test,
                            checkpoint=tmp_path / "m.pt.checkpoint")
    assert not torch.allclose(plain.model.classifier.weight, averaged.model.classifier.weight)
    assert averaged.history[-1].test_accuracy > 0.5
    saved = torch.load(tmp_path / "m.pt.checkpoint", weights_only=True)
    assert torch.equal(saved["state"]["classifier.weight"], averaged.model.classifier.weight)
    assert not torch.equal(saved["training_state"]["classifier.weight"],
                           averaged.model.classifier.weight)
    with pytest.raises(UserError, match="averaging"):
        digits.train(train, replace(FAST, averaging=1.0))
