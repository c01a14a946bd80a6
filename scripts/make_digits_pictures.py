"""Regenerate the digit pictures of docs/lecture.md (docs/images/digits_*.png) from a trained model.

    PYTHONPATH=. python scripts/make_digits_pictures.py --data /path/to/mnist --model digits.pt

Trains the default network first if MODEL does not exist (as ``painterly digits train`` does).
Besides the four pictures of ``painterly digits pictures`` it draws digits_predict.png: digits
typed in Pillow's font, dark on light and light on dark, as the MNIST-style inputs the network
sees after ``prepare_digit``, with its predictions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

from painterly.digits import mnist
from painterly.digits import pictures as digit_pictures
from painterly.digits import training as digits
from painterly.io import images
from painterly.io.figures import font, image_grid


def typed_digit(digit: int, dark_on_light: bool, angle: float) -> Image.Image:
    """A digit drawn with Pillow's font on a 'photo' of uneven size and background."""
    paper, ink = ((235, 230, 215), (30, 30, 60)) if dark_on_light else ((15, 15, 20),
                                                                       (240, 240, 240))
    image = Image.new("RGB", (160, 120), paper)
    ImageDraw.Draw(image).text((70, 60), str(digit), fill=ink, font=font(90), anchor="mm")
    return image.rotate(angle, fillcolor=paper)


def predict_picture(model: digits.DigitNet) -> Image.Image:
    tiles, titles = [], []
    for digit in range(10):
        photo = typed_digit(digit, dark_on_light=digit % 2 == 0, angle=(digit - 5) * 2.0)
        prediction = digits.predict(model, photo)
        tiles += [photo.resize((112, 84)),
                  Image.fromarray(prediction.pixels, "L").resize((84, 84), Image.NEAREST)]
        titles += ["picture", f"-> {prediction.digit} "
                              f"({prediction.probabilities[prediction.digit]:.0%})"]
    return image_grid(tiles, titles, columns=6, font_size=13,
                      heading="painterly digits predict: any picture -> 28x28 MNIST style -> "
                              "digit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help=f"MNIST folder (default ${mnist.DATA_ENV})")
    parser.add_argument("--model", type=Path, default=Path("digits.pt"))
    parser.add_argument("--output-dir", type=Path, default=Path("docs/images"))
    parser.add_argument("--index", type=int, default=0, help="test digit for the feature maps")
    args = parser.parse_args()
    test = mnist.load_split(args.data, "test")
    if not args.model.exists():
        train = mnist.load_split(args.data, "train")
        options = digits.TrainOptions()
        result = digits.train(train, options, test=test)
        digits.save_model(result.model, args.model, options, result.history)
    loaded = digits.load_model(args.model)
    for path in digit_pictures.write_all(loaded, test, args.output_dir, args.index):
        print(f"wrote {path}")
    path = images.save_image(predict_picture(loaded.model), args.output_dir /
                             "digits_predict.png")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
