"""The newer commands (video, batch, digits, summary) at their edges, as the older ones are: every
bad option, file or manifest row is one line (exit code 2, or a reported row with exit code 3),
refused before any work, never an internal error."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
import torch

from painterly.cli import main
from painterly.errors import UserError
from painterly.video.reader import open_clip
from painterly.video.synthetic import SyntheticClip
from tests.conftest import synthetic_photo

FAST = ["--size", "32", "--steps", "1", "--quiet"]
CLIP = SyntheticClip(width=32, height=24)


def one_line_error(capsys, code: int, expected: str) -> None:
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "internal error" not in err, err


@pytest.mark.parametrize("arguments, expected", [
    (["--fps", "0.0001"], "--fps must be"),
    (["--fps", "1e-300"], "--fps must be"),
    (["-o", "x" * 250 + ".mp4"], "more than 240"),
    (["-o", "frames\0.mp4"], "NUL"),
    (["--style-blend", "1,2"], "--style-blend has 2 weights for 1 style images"),  # property test
])
def test_video_options_and_names_are_refused_before_any_work(tmp_path, capsys, arguments,
                                                             expected):
    source = CLIP.write(tmp_path / "in.mp4", 2, fps=8)
    output = ["-o", str(tmp_path / "out.mp4")] if arguments[0] != "-o" else \
        ["-o", str(tmp_path / arguments[1])]
    arguments = arguments if arguments[0] != "-o" else []
    try:
        code = main(["video", str(source), "starry_night", *output, *arguments,
                     "--work-dir", str(tmp_path / "work"), "--quiet"])
    except ValueError:  # argv with a NUL cannot reach a real process; in-process it must not
        pytest.fail("a NUL in the output name is an internal error")
    one_line_error(capsys, code, expected)
    assert not (tmp_path / "work").exists()


def test_a_still_image_named_like_a_video_is_refused(tmp_path, capsys):
    synthetic_photo(32, 24).save(tmp_path / "photo.png")
    os.replace(tmp_path / "photo.png", tmp_path / "clip.mp4")
    code = main(["video", str(tmp_path / "clip.mp4"), "starry_night", "-o",
                 str(tmp_path / "out.mp4"), *FAST[:2]])
    one_line_error(capsys, code, "still image, not a video")


def test_a_frame_over_the_pixel_cap_is_refused_before_decoding(tmp_path):
    with pytest.raises(UserError, match=r"more than the limit of 0\.0005 megapixels"):
        open_clip(CLIP.write(tmp_path / "in.mp4", 2, fps=8), max_pixels=500)
    frames = tmp_path / "frames"
    frames.mkdir()
    from PIL import Image

    Image.new("1", (12_000, 9_000)).save(frames / "frame0.png")  # 108 MP in a few kB
    with pytest.raises(UserError, match="12000x9000 pixels are more than the limit of 100"):
        open_clip(frames)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_fifos_and_devices_are_named_as_such(tmp_path, capsys, kind):
    if kind == "fifo":
        path, expected = tmp_path / "pipe.png", "is a FIFO (named pipe)"
        os.mkfifo(path)
    else:
        path, expected = "/dev/null", "is a device file"
    code = main(["transfer", str(path), "starry_night", "-o", str(tmp_path / "o.png"), *FAST])
    one_line_error(capsys, code, f"content image {expected}")
    code = main(["video", str(path), "starry_night", "-o", str(tmp_path / "o.mp4"), "--quiet"])
    one_line_error(capsys, code, f"input {expected}")
    code = main(["transfer", "tubingen", "starry_night", "--weights", str(path), "-o",
                 str(tmp_path / "o.png"), *FAST])
    one_line_error(capsys, code, f"weights file {expected}")
    one_line_error(capsys, main(["summary", str(path)]), f"model {expected}")
    assert main(["batch", str(path), "--style", "starry_night", "-o", str(tmp_path / "out"),
                 *FAST]) == 3
    assert f"content image {expected}" in capsys.readouterr().out


def test_batch_checks_style_counts_and_retries_before_any_work(tmp_path, capsys):
    synthetic_photo(32, 24).save(tmp_path / "photo.png")
    base = ["batch", str(tmp_path / "photo.png"), "--style", "starry_night", "-o",
            str(tmp_path / "out"), *FAST]
    one_line_error(capsys, main([*base, "--style-blend", "1,2"]),
                   "--style-blend has 2 weights for 1 style images")
    one_line_error(capsys, main([*base, "--retries", "1" + "0" * 23]),
                   "--retries must be between 0 and")


def test_a_foreign_sqlite_file_is_refused_not_adopted(tmp_path, capsys):
    outdir = tmp_path / "out"
    outdir.mkdir()
    store = outdir / "painterly-batch.sqlite"
    db = sqlite3.connect(store)
    db.execute("CREATE TABLE jobs (name TEXT, salary INTEGER)")
    db.commit()
    db.close()
    before = store.read_bytes()
    synthetic_photo(32, 24).save(tmp_path / "photo.png")
    for arguments in (["batch", str(tmp_path / "photo.png"), "--style", "starry_night", "-o",
                       str(outdir), *FAST], ["batch", "status", str(outdir)]):
        one_line_error(capsys, main(arguments), "is not a painterly job store")
    assert store.read_bytes() == before


def test_manifest_rows_with_bad_names_or_deep_json_are_reported_rows(tmp_path, capsys):
    synthetic_photo(32, 24).save(tmp_path / "photo.png")
    rows = [{"content": "photo.png", "style": "starry_night", "output": "a\0b"},
            {"content": "photo.png", "style": "starry_night", "output": "x" * 250}]
    manifest = tmp_path / "rows.jsonl"
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows)
                        + "[" * 100_000 + "]" * 100_000 + "\n")
    assert main(["batch", str(manifest), "-o", str(tmp_path / "out"), *FAST]) == 3
    out = capsys.readouterr().out
    assert "0 of 3 jobs done" in out
    assert "rows.jsonl:1: output: a file name cannot hold a NUL character" in out
    assert "rows.jsonl:2: output: the file name is 254 bytes long, more than 240" in out
    assert "rows.jsonl:3: not JSON: nested more than 32 levels deep" in out


def test_summary_of_a_net_too_large_for_torch_is_one_line(capsys):
    one_line_error(capsys, main(["summary", "fc:99999999999-99999999999"]),
                   "fc:99999999999-99999999999:")


def test_a_digits_model_with_a_foreign_history_is_one_line(tmp_path, capsys):
    from painterly.digits import training
    from painterly.nets.digitnet import DigitNet

    path = training.save_model(DigitNet(), tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    for history in (["not a record"], [{"epoch": 1, "colour": "red"}], 7):
        torch.save(payload | {"history": history}, path)
        one_line_error(capsys, main(["summary", str(path)]), "damaged training history")


def test_a_model_name_too_long_is_refused_before_training(tmp_path, capsys):
    folder = tmp_path / "mnist"
    folder.mkdir()
    code = main(["digits", "train", "--data", str(folder), "--output",
                 str(tmp_path / ("m" * 240 + ".pt"))])
    one_line_error(capsys, code, "more than 240")
