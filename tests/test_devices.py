import os
import platform
import subprocess
import sys

import pytest
import torch

from painterly.cli import main
from painterly.errors import UserError
from painterly.nets import devices
from painterly.style import memory
from painterly.style.transfer import transfer

from .conftest import synthetic_painting, synthetic_photo

GB = 2**30
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_auto_picks_the_gpu_where_there_is_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.resolve_device("auto") == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert devices.resolve_device("auto") == "cpu"
    assert devices.resolve_device("cpu") == "cpu"


def test_a_device_that_cannot_be_used_is_a_user_error():
    with pytest.raises(UserError, match=r"device nonsense cannot be used here .*try auto"):
        devices.resolve_device("nonsense")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="device cuda cannot be used here"):
            devices.resolve_device("cuda")


def test_cli_names_a_bad_device_in_one_line(capsys, tmp_path, content_file, style_file):
    output = tmp_path / "out.png"
    code = main(["transfer", str(content_file), str(style_file), "-o", str(output),
                 "--size", "32", "--steps", "2", "--device", "gpu9", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--device gpu9" in err
    assert not output.exists()


def test_gpu_memory_holds_the_network_and_the_optimizer():
    # 2048x1536 fits the host whole; a GPU with 4 GB free must evaluate it in tiles
    whole = memory.plan(2048, 1536, method="lbfgs", history=20, limit=20 * GB)
    on_gpu = memory.plan(2048, 1536, method="lbfgs", history=20, limit=20 * GB,
                         device_limit=4 * GB)
    assert whole.tile is None and on_gpu.tile is not None and on_gpu.history == 20
    assert memory.device_bytes(2048, 1536, "lbfgs", 20, on_gpu.tile) <= 4 * GB
    # L-BFGS-B's history lives on the GPU too: with 2 GB free it gets shorter
    small = memory.plan(2048, 1536, method="lbfgs", history=20, limit=20 * GB,
                        device_limit=2 * GB)
    assert small.history < 20
    assert memory.device_bytes(2048, 1536, "lbfgs", small.history, small.tile) <= 2 * GB
    # the same host limit alone (CPU: everything shares it) is too small for a whole image;
    # with a GPU the host keeps only the image copies
    assert memory.plan(2048, 1536, method="lbfgs", history=20, limit=8 * GB).tile is not None
    assert memory.plan(2048, 1536, method="lbfgs", history=20, limit=2 * GB,
                       device_limit=40 * GB).tile is None
    with pytest.raises(UserError, match=r"GB of GPU memory but only 0\.1 GB are free; try"):
        memory.plan(2048, 1536, method="lbfgs", history=20, limit=20 * GB,
                    device_limit=GB // 10)


@needs_cuda
def test_transfer_on_the_gpu_matches_the_cpu():
    options = dict(size=48, steps=6, coarse_steps=0, precision="float32")
    results = {device: transfer(synthetic_photo(), synthetic_painting(), device=device,
                                **options) for device in ("cpu", "cuda")}
    assert results["cuda"].options.device == "cuda"
    assert results["cuda"].tensor.device.type == "cpu"  # results come back to the CPU
    cpu, gpu = (results[d].terms.total for d in ("cpu", "cuda"))
    assert gpu == pytest.approx(cpu, rel=0.05)
    difference = (results["cuda"].tensor.cpu() - results["cpu"].tensor).abs().mean()
    assert float(difference) < 0.02


@needs_cuda
def test_auto_runs_a_gpu_transfer_in_bfloat16_with_tiles():
    result = transfer(synthetic_photo(96, 72), synthetic_painting(), size=96, steps=4,
                      coarse_steps=0, tile_size=64)
    assert result.options.device == "cuda"
    assert devices.resolve_precision("auto", "cuda") == "bfloat16"
    assert result.image.size == (96, 72) and result.terms.total > 0


FAULTS_OF_FRESH_TENSORS = """
import resource, sys, torch
from painterly.nets.devices import keep_freed_host_memory
applied = keep_freed_host_memory() if sys.argv[1] == "keep" else False
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
torch.ones(16 << 20)  # 64 MiB, as a large activation
before = faults()
for _ in range(10):
    torch.ones(16 << 20)
print(applied, faults() - before)
"""


def _faults_of_fresh_tensors(mode: str, **environment: str) -> tuple[str, int]:
    env = {**os.environ, **environment}
    out = subprocess.run([sys.executable, "-c", FAULTS_OF_FRESH_TENSORS, mode], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_freed_host_memory_is_reused_instead_of_faulted_in_again():
    _, untuned = _faults_of_fresh_tensors("default")
    applied, kept = _faults_of_fresh_tensors("keep")
    assert applied == "True"
    assert untuned > 10 * (64 << 20) // 4096 // 2  # each 64 MiB tensor faulted in afresh
    # 10x fewer on the machines this was tuned on; 2.5x on one whose kernel reclaims idle pages
    # proactively (DAMON), still far from every tensor faulted in afresh
    assert kept < untuned / 2
    applied, _ = _faults_of_fresh_tensors("keep", MALLOC_MMAP_MAX_="65536")
    assert applied == "False"  # the user's own setting wins
