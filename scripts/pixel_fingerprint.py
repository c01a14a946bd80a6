"""SHA-256 of the pixels of a handful of tiny runs through the Python API: a refactoring that
must not change results compares this script's output before and after.

    nice -n 10 python scripts/pixel_fingerprint.py > before.txt   # ... change ... then again

Covers the three benchmark pairs at 128 px with every default, a coarse-to-fine ladder (with its
snapshots), a short single-scale ``gatys`` preset run, a tiled run, a mask run, a ``meanstd`` run,
colour preservation, Adam, and a content reconstruction. About a minute on two CPU cores.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from painterly import transfer

try:
    from painterly.lecture import experiments
except ImportError:  # the flat layout before the restructuring
    from painterly import experiments  # type: ignore[no-redef]


def digest(tensor: torch.Tensor) -> str:
    """Hash of the float32 pixels, exactly as computed (not rounded to 8 bits)."""
    array = tensor.detach().cpu().float().contiguous().numpy()
    return hashlib.sha256(array.tobytes()).hexdigest()[:16]


def two_region_mask(folder: Path) -> Path:
    """Left half black, right half white, the size of the Tübingen photo scaled to 128 px."""
    pixels = np.zeros((96, 128, 3), np.uint8)
    pixels[:, 64:] = 255
    path = folder / "mask.png"
    Image.fromarray(pixels).save(path)
    return path


def snapshot_listener(snapshots: list[torch.Tensor]) -> dict:
    """The keyword that collects the rung and periodic snapshots, in either API."""
    try:
        from painterly.style.events import Snapshot
    except ImportError:  # before typed events
        return {"snapshot": lambda image, *_: snapshots.append(image.clone())}

    def listen(event) -> None:
        if isinstance(event, Snapshot) and event.kind != "final":
            snapshots.append(event.image.clone())
    return {"on_event": listen}


def main() -> int:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    runs: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        mask = two_region_mask(Path(folder))
        for style in ("starry_night", "the_scream", "great_wave"):
            result = transfer("tubingen", style, size=128)
            runs.append((f"default tubingen x {style}", digest(result.tensor)))
        snapshots: list[torch.Tensor] = []
        result = transfer("tubingen", "starry_night", size=128, min_size=64, steps=8,
                          coarse_steps=4, save_every=4, **snapshot_listener(snapshots))
        runs.append(("ladder 64->128", digest(result.tensor)))
        runs += [(f"ladder snapshot {i}", digest(s)) for i, s in enumerate(snapshots)]
        runs.append(("preset gatys", digest(transfer(
            "tubingen", "the_scream", preset="gatys", size=96, steps=12).tensor)))
        runs.append(("tiled", digest(transfer(
            "tubingen", "great_wave", size=128, tile_size=64, steps=6, min_size=128).tensor)))
        runs.append(("mask", digest(transfer(
            "tubingen", ["starry_night", "the_scream"], mask=str(mask), size=128,
            steps=8).tensor)))
        runs.append(("meanstd", digest(transfer(
            "tubingen", "starry_night", style_loss="meanstd", size=96, steps=8).tensor)))
        runs.append(("preserve luminance", digest(transfer(
            "tubingen", "great_wave", preserve_colors="luminance", size=96, steps=6).tensor)))
        runs.append(("adam noise init", digest(transfer(
            "tubingen", "great_wave", optimizer="adam", init="noise", size=64, steps=6).tensor)))
        reconstruction = experiments.reconstruct_content("tubingen", "relu2_2", size=64,
                                                         steps=15)
        runs.append(("content reconstruction relu2_2", digest(reconstruction.tensor)))
    for name, value in runs:
        print(f"{value}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
