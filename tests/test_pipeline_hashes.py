"""Behaviour pinned across refactors: a fixed set of tiny CPU runs (a transfer at two sizes, a
tiled transfer, a masked transfer, a 6-frame video, a 4-job batch) must give bit-identical
pixels. The SHA-256 of each run's output pixels was recorded on the code before the change, in
tests/data/pipeline_hashes.json; ``PAINTERLY_REMAKE_FIXTURES=1 pytest
tests/test_pipeline_hashes.py`` records them again (only for a change that means to alter
pixels)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from painterly.batch import run_batch
from painterly.style.transfer import transfer
from painterly.video.run import video
from painterly.video.synthetic import SyntheticClip
from tests.conftest import synthetic_painting, synthetic_photo

HASHES = Path(__file__).parent / "data" / "pipeline_hashes.json"
QUICK = {"steps": 3, "coarse_steps": 0, "device": "cpu", "precision": "float32"}


def _digest(image: Image.Image) -> str:
    pixels = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    shape = "x".join(str(n) for n in pixels.shape).encode()
    return hashlib.sha256(shape + b":" + pixels.tobytes()).hexdigest()


def _folder_digests(folder: Path) -> list[str]:
    return [_digest(Image.open(path)) for path in sorted(folder.glob("*.png"))]


def _inputs(root: Path) -> dict[str, Path]:
    files = {"photo": root / "photo.png", "style": root / "style.png",
             "style2": root / "style2.png", "mask": root / "mask.png"}
    synthetic_photo(64, 48).save(files["photo"])
    synthetic_painting(64, 64).save(files["style"])
    synthetic_painting(48, 48, seed=7).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(
        files["style2"])
    mask = np.zeros((48, 64, 3), np.uint8)
    mask[:, 32:] = 255
    Image.fromarray(mask, "RGB").save(files["mask"])
    return files


def _runs(root: Path) -> dict[str, object]:
    files = _inputs(root)
    photo, style = str(files["photo"]), str(files["style"])
    found: dict[str, object] = {}
    for size in (48, 64):
        result = transfer(photo, style, size=size, min_size=size, **QUICK)
        found[f"transfer_{size}"] = _digest(result.image)
    tiled = transfer(photo, style, size=96, min_size=96, tile_size=64, **QUICK)
    found["transfer_tiled_96"] = _digest(tiled.image)
    masked = transfer(photo, [style, str(files["style2"])], size=64, min_size=64,
                      mask=str(files["mask"]), **QUICK)
    found["transfer_masked_64"] = _digest(masked.image)

    # the clip as PNG frames: an encoder's output may differ from run to run within a process
    clip = root / "clip"
    clip.mkdir()
    for index, pixels in enumerate(SyntheticClip(width=48, height=32, radius=6.0).frames(6)):
        Image.fromarray(pixels).save(clip / f"{index:03d}.png")
    frames = root / "frames"
    video(str(clip), style, frames, work_dir=root / "work", size=48, min_size=48,
          first_frame_steps=3, frame_steps=2, device="cpu", precision="float32")
    found["video_6_frames"] = _folder_digests(frames)

    photos = root / "photos"
    photos.mkdir()
    for index in range(2):
        synthetic_photo(32, 28, seed=index).save(photos / f"photo{index}.png")
    outdir = root / "batch"
    summary = run_batch(str(photos), [style, str(files["style2"])], outdir=outdir,
                        options={"size": 32, "min_size": 32, **QUICK}, workers=1, threads=1)
    assert summary.ok and summary.done_now == 4
    found["batch_4_jobs"] = _folder_digests(outdir)
    return found


def test_outputs_are_bit_identical_to_the_recorded_ones(tmp_path, one_thread):
    found = _runs(tmp_path)
    if os.environ.get("PAINTERLY_REMAKE_FIXTURES") or not HASHES.exists():
        HASHES.parent.mkdir(parents=True, exist_ok=True)
        HASHES.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(HASHES.read_text())
    assert len(found["video_6_frames"]) == 6 and len(found["batch_4_jobs"]) == 4
    for name, digest in recorded.items():
        assert found[name] == digest, f"{name}: pixels differ from the recorded run"
    assert set(found) == set(recorded)
