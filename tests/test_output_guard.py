"""The one output guard, over every command that writes: an output that is one of the command's
inputs (spelled as the same path, through ``..``, a symlink or a hard link) is refused before
any work, and the input is left as it was. A batch refuses such a row (a reported row problem,
exit code 3) and never reads its own results as inputs."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from painterly.cli import main
from painterly.video.synthetic import SyntheticClip
from tests.conftest import synthetic_painting, synthetic_photo

SPELLINGS = ("same", "dotdot", "symlink", "hardlink")
FAST = ["--size", "32", "--steps", "1", "--quiet"]


def spelled(target: Path, how: str) -> Path:
    """Another name for ``target``."""
    if how == "dotdot":
        (target.parent / "sub").mkdir(exist_ok=True)
        return target.parent / "sub" / ".." / target.name
    if how == "symlink":
        link = target.with_name("link-" + target.name)
        link.symlink_to(target)
        return link
    if how == "hardlink":
        link = target.with_name("hard-" + target.name)
        os.link(target, link)
        return link
    return target


def photo(tmp_path: Path, name: str = "photo.png") -> Path:
    path = tmp_path / name
    synthetic_photo(32, 24).save(path)
    return path


def painting(tmp_path: Path, name: str = "style.png") -> Path:
    path = tmp_path / name
    synthetic_painting(32, 32).save(path)
    return path


def clip(tmp_path: Path) -> Path:
    return SyntheticClip(width=32, height=24).write(tmp_path / "same.mp4", 2, fps=8)


def mnist_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (folder / f"{name}.gz").write_bytes(b"not checked before the guard")
    return folder


def manifest_row(tmp_path: Path, column: str, how: str) -> tuple[list[str], Path]:
    """A manifest whose one row names a file in OUTDIR as its content or style and as its
    output."""
    outdir = tmp_path / "out"
    outdir.mkdir()
    protected = photo(outdir, "own.png")
    named = spelled(protected, how)
    row = {"content": str(photo(tmp_path)), "style": "starry_night", "output": named.name}
    row[column] = str(named)
    manifest = tmp_path / "rows.csv"
    manifest.write_text("content,style,output\n" + ",".join(row.values()) + "\n")
    if how in ("symlink", "hardlink"):  # the output names the other spelling: still one file
        row["output"] = protected.name
        manifest.write_text("content,style,output\n" + ",".join(row.values()) + "\n")
    return ["batch", str(manifest), "-o", str(outdir), *FAST], protected


Case = Callable[[Path, str], tuple[list[str], Path]]
"""(tmp_path, spelling) -> (arguments, the input file that must survive)."""

CASES: dict[str, Case] = {
    "transfer content": lambda t, how: (
        ["transfer", str(photo(t)), "starry_night", "-o", str(spelled(t / "photo.png", how)),
         *FAST], t / "photo.png"),
    "transfer style": lambda t, how: (
        ["transfer", "tubingen", str(painting(t)), "-o", str(spelled(t / "style.png", how)),
         *FAST], t / "style.png"),
    "grid": lambda t, how: (
        ["grid", str(photo(t)), "--styles", "starry_night", "-o",
         str(spelled(t / "photo.png", how)), *FAST], t / "photo.png"),
    "features": lambda t, how: (
        ["features", str(photo(t)), "-o", str(spelled(t / "photo.png", how))], t / "photo.png"),
    "reconstruct-content": lambda t, how: (
        ["reconstruct-content", str(photo(t)), "--grid", str(spelled(t / "photo.png", how)),
         *FAST], t / "photo.png"),
    "video clip": lambda t, how: (
        ["video", str(clip(t)), "starry_night", "-o", str(spelled(t / "same.mp4", how)),
         "--quiet"], t / "same.mp4"),
    "video style": lambda t, how: (
        ["video", str(clip(t)), str(painting(t, "style.gif")), "-o",
         str(spelled(t / "style.gif", how)), "--quiet"], t / "style.gif"),
    "batch row content": lambda t, how: manifest_row(t, "content", how),
    "batch row style": lambda t, how: manifest_row(t, "style", how),
    "digits train": lambda t, how: (
        ["digits", "train", "--data", str(mnist_folder(t)), "--output",
         str(spelled(t / "mnist" / "t10k-images-idx3-ubyte.gz", how))],
        t / "mnist" / "t10k-images-idx3-ubyte.gz"),
    "digits predict": lambda t, how: (
        ["digits", "predict", str(photo(t)), "--save-input",
         str(spelled(t / "photo.png", how))], t / "photo.png"),
}


@pytest.mark.parametrize("how", SPELLINGS)
@pytest.mark.parametrize("command", CASES)
def test_no_command_replaces_its_input(tmp_path, capsys, command, how):
    arguments, protected = CASES[command](tmp_path, how)
    before = protected.read_bytes()
    code = main(arguments)
    out, err = capsys.readouterr()
    assert protected.read_bytes() == before
    if command.startswith("batch"):  # a row problem: reported with its line, the batch goes on
        assert code == 3
        assert "rows.csv:2: the output own.png is one of the inputs" in out
    else:
        assert code == 2
        assert err.count("\n") == 1 and "is one of the inputs" in err, err


def test_a_batch_into_its_own_contents_folder_never_reads_its_results(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    photo(folder)
    for _ in range(2):
        assert main(["batch", str(folder), str(folder / "*"), "--style", "starry_night",
                     "-o", str(folder), *FAST]) == 0
    db = sqlite3.connect(folder / "painterly-batch.sqlite")
    assert [row[0] for row in db.execute("SELECT output FROM jobs")] == [
        "photo--starry_night.png"]
    db.close()
    assert sorted(p.name for p in folder.glob("*.png")) == ["photo--starry_night.png",
                                                            "photo.png"]
    assert "1 of 1 jobs done" in capsys.readouterr().out
