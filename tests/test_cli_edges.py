"""The command line at its edges: Ctrl-C while it starts, outputs that would overwrite an
input, a disk that fills up while the result is written. Each is one line on stderr."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
STARTER = ("import sys, painterly.cli; print('ready', flush=True); "
           "sys.exit(painterly.cli.main(sys.argv[1:]))")


# not 0: a signal that lands before main() is called interrupts the test's own starter script
@pytest.mark.parametrize("delay", [0.05, 0.1, 0.3, 0.8])
def test_ctrl_c_while_starting_is_one_line(tmp_path, delay):
    process = subprocess.Popen(
        [sys.executable, "-c", STARTER, "transfer", "tubingen", "starry_night", "--size", "32",
         "--steps", "2000", "--min-size", "32", "-o", str(tmp_path / "out.png"), "--quiet"],
        cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=str(REPOSITORY)),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert process.stdout.readline() == b"ready\n"  # painterly's code runs: torch loads next
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130
    if err:  # interrupted before the run began
        assert err.decode() == "painterly: interrupted\n"
    else:  # or in the run: it keeps its best image so far
        assert out.decode().startswith("interrupted: wrote the best image so far")


def test_an_output_that_is_one_of_the_inputs_is_refused(tmp_path, capsys):
    from painterly.cli import main
    from tests.conftest import synthetic_photo

    photo = tmp_path / "photo.png"
    synthetic_photo(32, 24).save(photo)
    before = photo.read_bytes()
    (tmp_path / "link.png").symlink_to(photo)
    for output in (photo, tmp_path / "sub" / ".." / "photo.png", tmp_path / "link.png"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        assert main(["transfer", str(photo), "starry_night", "--size", "32", "--steps", "1",
                     "-o", str(output), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is one of the inputs" in err
    assert main(["reconstruct-content", str(photo), "--size", "32", "--steps", "1",
                 "--grid", str(photo), "--quiet"]) == 2
    assert "is one of the inputs" in capsys.readouterr().err
    assert photo.read_bytes() == before


@pytest.fixture
def full_disk(tmp_path):
    """A real, nearly full file system (a 64 kB tmpfs with 60 kB taken); skipped where this
    process may not mount one."""
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        (folder / "filler").write_bytes(bytes(60 * 1024))
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_full_disk_is_one_line_and_the_result_is_saved_elsewhere(full_disk, capsys):
    from PIL import Image

    from painterly.cli import main

    output = full_disk / "out.png"
    code = main(["transfer", "tubingen", "starry_night", "--size", "64", "--steps", "2",
                 "--min-size", "64", "-o", str(output), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"cannot write {output}: No space left on device" in err and ".part" not in err
    spare = Path(err.split("the result was saved to ")[1].split(" instead")[0])
    try:
        assert Image.open(spare).size == (64, 48)
    finally:
        spare.unlink()
    assert not output.exists() and [p.name for p in full_disk.iterdir()] == ["filler"]


def test_a_machine_error_while_writing_names_the_users_file_not_the_temporary_one():
    import errno

    from painterly.cli import _file_problem

    error = OSError(errno.EIO, "Input/output error", "/data/.out.png.k2j4h1.part")
    assert _file_problem(error) == "Input/output error: /data/out.png"
