import subprocess
import sys

import pytest
from PIL import Image

from painterly.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_transfer_writes_the_output_and_says_where(capsys, tmp_path, content_file, style_file):
    output = tmp_path / "out.png"
    code, out, _ = run(capsys, "transfer", content_file, style_file, "-o", output, "--size", 48,
                       "--steps", 6, "--min-size", 48, "--save-every", 3, "--quiet")
    assert code == 0
    assert f"wrote {output}" in out and "% of the content image's own" in out
    assert Image.open(output).size == (48, 36)
    assert (tmp_path / "out_0003.png").exists() and (tmp_path / "out_0006.png").exists()


def test_same_seed_same_bytes(capsys, tmp_path, content_file, style_file):
    outputs = []
    for name in ("a.png", "b.png"):
        outputs.append(tmp_path / name)
        code, _, _ = run(capsys, "transfer", content_file, style_file, "-o", outputs[-1],
                         "--size", 40, "--steps", 5, "--min-size", 24, "--coarse-steps", 3,
                         "--init", "noise", "--seed", 7, "--quiet")
        assert code == 0
    assert outputs[0].read_bytes() == outputs[1].read_bytes()


def bad_inputs(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "text.jpg"
    text.write_text("not an image")
    truncated = tmp_path / "cut.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:60])
    return {"missing": tmp_path / "missing.jpg", "directory": tmp_path, "empty": empty,
            "text": text, "truncated": truncated}


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "text", "truncated"])
@pytest.mark.parametrize("role", ["content", "style"])
def test_bad_images_give_one_line_and_exit_2(capsys, tmp_path, content_file, style_file, kind,
                                             role):
    bad = bad_inputs(tmp_path)[kind]
    content, style = (bad, style_file) if role == "content" else (content_file, bad)
    output = tmp_path / "out.png"
    code, _, err = run(capsys, "transfer", content, style, "-o", output, "--size", 32,
                       "--steps", 1, "--quiet")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("painterly: error: ")
    assert f"{role} image" in err
    assert not output.exists()


@pytest.mark.parametrize("option, message", [
    (["--size", "-3"], "--size"),
    (["--size", "100000"], "--size"),
    (["--content-layer", "conv9_1"], "--content-layer must be one of conv1_1, relu1_1"),
    (["--style-layers", "relu1_1,bogus"], "bogus"),
    (["-o", "/nonexistent-dir/out.png"], "does not exist"),
    (["-o", "out.gif"], "output format"),
])
def test_bad_options_give_one_line_and_exit_2(capsys, tmp_path, content_file, style_file, option,
                                              message):
    argv = ["transfer", content_file, style_file, "-o", tmp_path / "out.png", "--steps", "1",
            "--quiet", *option]
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and err.count("\n") == 1


def test_usage_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["transfer", "--steps", "zero"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_existing_output_is_kept_when_the_run_fails(capsys, tmp_path, style_file):
    output = tmp_path / "out.png"
    output.write_bytes(b"previous result")
    code, _, _ = run(capsys, "transfer", tmp_path / "missing.jpg", style_file, "-o", output)
    assert code == 2 and output.read_bytes() == b"previous result"


def test_real_entry_point_has_no_traceback(tmp_path):
    process = subprocess.run([sys.executable, "-m", "painterly", "transfer", "nope.jpg",
                              "starry_night", "-o", str(tmp_path / "x.png")],
                             capture_output=True, text=True, timeout=120)
    assert process.returncode == 2
    assert "Traceback" not in process.stderr
    assert process.stderr.strip() == ("painterly: error: content image not found: nope.jpg "
                                      "(built-in examples: tubingen, starry_night, the_scream, "
                                      "shipwreck_of_the_minotaur, composition_vii, great_wave)")


def test_examples_lists_builtins(capsys):
    code, out, _ = run(capsys, "examples")
    assert code == 0 and "tubingen" in out and "starry_night" in out


def test_sigterm_ends_a_run_early_and_keeps_its_best_image(tmp_path, content_file, style_file):
    output = tmp_path / "out.png"
    process = subprocess.Popen(
        [sys.executable, "-m", "painterly", "transfer", str(content_file), str(style_file),
         "-o", str(output), "--size", "32", "--steps", "100000", "--precision", "float32"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    while "transfer" not in seen:  # the progress bar: evaluations are running
        seen += process.stderr.read(1) or "(exited)"
        assert "(exited)" not in seen, seen
    process.terminate()
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "interrupted: wrote the best image so far" in out
    assert Image.open(output).size == (32, 24)
