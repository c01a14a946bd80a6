"""--trace: a JSON record of the run beside the output."""

import json

from painterly.cli import main
from painterly.nets.vgg import BUNDLED_WEIGHTS_SHA256
from painterly.style import trace
from painterly.style.transfer import transfer

from .conftest import synthetic_painting, synthetic_photo


def test_cli_trace_records_settings_versions_weights_and_every_evaluation(
        capsys, tmp_path, content_file, style_file):
    output = tmp_path / "out.jpg"
    code = main(["transfer", str(content_file), str(style_file), "-o", str(output), "--size",
                 "64", "--min-size", "32", "--coarse-steps", "2", "--steps", "3", "--quiet",
                 "--trace", "--preserve-colors", "yuv"])
    out = capsys.readouterr().out
    path = tmp_path / "out.trace.json"
    assert code == 0 and output.exists() and f"wrote trace {path}" in out
    record = json.loads(path.read_text())
    assert record["options"]["size"] == 64 and record["options"]["preserve_colors"] == "yuv"
    assert record["weights"]["sha256"] == BUNDLED_WEIGHTS_SHA256
    assert record["inputs"]["content"]["sha256"] == trace.file_sha256(content_file)
    assert record["inputs"]["styles"][0]["file"] == str(style_file)
    assert {"painterly", "torch", "python", "numpy", "pillow"} <= set(record["versions"])
    evaluations = record["evaluations"]
    assert len(evaluations) == record["result"]["evaluations"] == 2 + 3  # 32 px, then 64 px
    assert [e["scale"] for e in evaluations] == [0, 0, 1, 1, 1]
    times = [e["time"] for e in evaluations]
    assert times == sorted(times) and all(e["loss"] > 0 for e in evaluations)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_no_trace_unless_asked(capsys, tmp_path, content_file, style_file):
    main(["transfer", str(content_file), str(style_file), "-o", str(tmp_path / "o.png"),
          "--size", "32", "--min-size", "32", "--coarse-steps", "0", "--steps", "1", "--quiet"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["content.png", "o.png", "style.png"]


def test_api_trace_of_in_memory_images(tmp_path):
    result = transfer(synthetic_photo(), synthetic_painting(), size=32, min_size=32, steps=2,
                      coarse_steps=0, preset="gatys")
    record = trace.build_trace(result, synthetic_photo(), [synthetic_painting()])
    assert record["inputs"]["content"] == {"source": "in-memory image", "size": [64, 48]}
    assert record["options"]["preset"] == "gatys"
    assert record["options"]["layer_weights"] == "inverse-channels"
    assert record["options"]["steps"] == 2
    written = trace.write_trace(record, tmp_path / "run.trace.json")
    assert json.loads(written.read_text())["result"]["evaluations"] == 2
    assert trace.trace_path(tmp_path / "a.b.png") == tmp_path / "a.b.trace.json"
