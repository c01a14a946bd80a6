"""painterly batch throughput and recovery: jobs per hour for local executor layouts and for Ray
with 1 and 2 actors, Ray's overhead per job, and recovery after kill -9 of the driver and of a
worker (time to resume, jobs lost, jobs repeated: both must be 0).

Jobs are crops of the built-in Tübingen photo x built-in paintings, at ``--size`` with
``--steps`` evaluations at one scale (cost per job ~ evaluations x pixels). Every configuration
starts its own workers, so "wall" includes start-up; "steady" is the rate between the first and the
last finished job. ``--model-cores N`` also predicts the local layouts of an N-core node from the
measured thread scaling (Amdahl's law fitted to the 1-thread and all-core worker times: a model,
not a measurement). Run small on a shared machine, e.g.:

    nice -n 10 env PYTHONPATH=. python benchmarks/batch.py --size 64 --steps 4 --contents 4 \\
        --styles 2 --ray --recovery
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from painterly.batch import run_batch
from painterly.batch.raycluster import runtime_env
from painterly.batch.store import DATABASE_NAME
from painterly.examples import STYLE_EXAMPLES, example_path

REPOSITORY = Path(__file__).resolve().parents[1]


def make_contents(folder: Path, count: int) -> Path:
    """``count`` different crops of the Tübingen photo."""
    photo = Image.open(example_path("tubingen")).convert("RGB")
    width, height = photo.size
    folder.mkdir(parents=True)
    for index in range(count):
        shift = index * width // (4 * max(count, 1))
        photo.crop((shift, 0, shift + width * 3 // 4, height)).save(folder / f"crop{index}.png")
    return folder


class Recorder:
    """Times of the batch's events: when each job started and finished, and its worker time."""

    def __init__(self):
        self.start = time.perf_counter()
        self.started: dict[str, float] = {}
        self.done: dict[str, tuple[float, float]] = {}

    def __call__(self, event) -> None:
        now = time.perf_counter() - self.start
        if event.kind == "started":
            self.started[event.output] = now
        elif event.kind == "done":
            self.done[event.output] = (now, event.seconds)

    def summary(self, wall: float) -> dict:
        finished = sorted(t for t, _ in self.done.values())
        steady = (len(finished) - 1) / (finished[-1] - finished[0]) * 3600 \
            if len(finished) > 2 and finished[-1] > finished[0] else None
        overheads = [t - self.started[o] - s for o, (t, s) in self.done.items()
                     if o in self.started]
        worker = [s for _, s in self.done.values()]
        return {"jobs": len(self.done), "wall_s": round(wall, 1),
                "jobs_per_hour_wall": round(len(self.done) / wall * 3600),
                "jobs_per_hour_steady": None if steady is None else round(steady),
                "first_result_s": round(finished[0], 1) if finished else None,
                "worker_s_per_job": round(sum(worker) / len(worker), 3) if worker else None,
                "overhead_s_per_job": round(sum(overheads) / len(overheads), 3)
                if overheads else None}


def throughput(contents: Path, styles: list[str], options: dict, work: Path, name: str,
               **executor) -> dict:
    recorder = Recorder()
    started = time.perf_counter()
    summary = run_batch(str(contents), styles, outdir=work / name, options=options,
                        progress=recorder, **executor)
    assert summary.ok, summary.lines()
    result = recorder.summary(time.perf_counter() - started) | {"executor": summary.executor}
    print(f"{name:24} {json.dumps(result)}", flush=True)
    return result


def lost_and_repeated(outdir: Path, total: int) -> tuple[int, int]:
    db = sqlite3.connect(outdir / DATABASE_NAME)
    done = dict(db.execute("SELECT output, count(*) FROM attempts WHERE outcome='done' "
                           "GROUP BY output"))
    db.close()
    files = {p.name for p in outdir.glob("*.png")}
    lost = total - len(set(done) & files)
    return lost, sum(count - 1 for count in done.values())


def driver_kill(contents: Path, styles: list[str], cli_options: list[str], work: Path,
                name: str, extra: list[str], after: int) -> dict:
    """Kill -9 the driver after ``after`` results; time from the restart to its first result."""
    outdir = work / name
    args = [sys.executable, "-m", "painterly", "batch", str(contents), "--style", *styles,
            "-o", str(outdir), "--json-progress", *cli_options, *extra]
    env = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env=env)
    done = 0
    for line in first.stdout:
        done += json.loads(line)["event"] == "done"
        if done >= after:
            break
    first.send_signal(signal.SIGKILL)
    first.wait()
    restarted = time.perf_counter()
    second = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, env=env)
    resume = None
    total = 0
    for line in second.stdout:
        event = json.loads(line)
        total = event["total"]
        if event["event"] == "done" and resume is None:
            resume = time.perf_counter() - restarted
    second.wait()
    lost, repeated = lost_and_repeated(outdir, total)
    result = {"killed_after": after, "resume_to_first_result_s": round(resume or 0, 1),
              "jobs_lost": lost, "jobs_repeated": repeated, "exit_code": second.returncode}
    print(f"{name:24} {json.dumps(result)}", flush=True)
    return result


def worker_kill(contents: Path, styles: list[str], options: dict, work: Path, name: str,
                **executor) -> dict:
    """Kill -9 the worker of a running job (once one result is in); time from the kill to that
    job's result on a replacement worker."""
    killed: dict[str, float] = {}
    done: dict[str, float] = {}

    def on_event(event):
        if event.kind == "started" and event.counts.done and "pid " in (event.worker or "") \
                and not killed:
            os.kill(int(event.worker.split("pid ")[1].split()[0].rstrip(")")), signal.SIGKILL)
            killed[event.output] = time.perf_counter()
        if event.kind == "done":
            done[event.output] = time.perf_counter()

    summary = run_batch(str(contents), styles, outdir=work / name, options=options,
                        progress=on_event, **executor)
    victim = next(iter(killed))
    lost, repeated = lost_and_repeated(work / name, summary.counts.total)
    result = {"kill_to_result_of_killed_job_s": round(done[victim] - killed[victim], 1),
              "jobs_lost": lost, "jobs_repeated": repeated, "ok": summary.ok}
    print(f"{name:24} {json.dumps(result)}", flush=True)
    return result


def layout_model(one_thread_s: float, all_cores_s: float, cores: int, target: int) -> dict:
    """Predicted jobs per hour of each ``processes x threads`` layout of a ``target``-core node,
    from a job's worker time with 1 thread and with all ``cores`` threads measured here
    (Amdahl's law: serial fraction f from the measured speed-up S, S(t) = 1 / (f + (1 - f) / t))."""
    speedup = one_thread_s / all_cores_s
    serial = min(1.0, max(0.0, (cores / speedup - 1) / (cores - 1)))
    model = {"serial_fraction": round(serial, 3)}
    threads = 1
    while threads <= target:
        processes = target // threads
        per_job = one_thread_s * (serial + (1 - serial) / threads)
        model[f"{processes}x{threads}"] = round(processes * 3600 / per_job)
        threads *= 2
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--contents", type=int, default=4)
    parser.add_argument("--styles", type=int, default=2)
    parser.add_argument("--ray", action="store_true", help="also Ray with 1 and 2 actors")
    parser.add_argument("--recovery", action="store_true", help="also kill -9 driver / worker")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/out/batch.json"))
    parser.add_argument("--model-cores", type=int, default=0,
                        help="also predict the local layouts of a node with this many cores")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    options = {"size": args.size, "steps": args.steps, "min_size": args.size,
               "coarse_steps": 0, "device": "cpu"}
    cli_options = ["--size", str(args.size), "--steps", str(args.steps), "--min-size",
                   str(args.size), "--coarse-steps", "0", "--device", "cpu"]
    styles = list(STYLE_EXAMPLES[:args.styles])
    results: dict = {"size": args.size, "steps": args.steps, "cores": cores,
                     "jobs": args.contents * args.styles, "load_average": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="painterly-batch-bench-") as folder:
        work = Path(folder)
        contents = make_contents(work / "contents", args.contents)
        layouts = sorted({(1, cores), (cores, 1), (max(1, cores // 2), 2)})
        for processes, threads in layouts:
            results[f"local {processes}x{threads}"] = throughput(
                contents, styles, options, work, f"local-{processes}x{threads}",
                workers=processes, threads=threads)
        if args.model_cores and cores > 1:
            results[f"model {args.model_cores} cores"] = layout_model(
                results[f"local {cores}x1"]["worker_s_per_job"],
                results[f"local 1x{cores}"]["worker_s_per_job"], cores, args.model_cores)
            print(f"model {args.model_cores} cores".ljust(24),
                  json.dumps(results[f"model {args.model_cores} cores"]))
        if args.recovery:
            results["local driver kill -9"] = driver_kill(
                contents, styles, cli_options, work, "local-driver-kill",
                ["--workers", str(cores), "--threads", "1"], after=2)
            results["local worker kill -9"] = worker_kill(
                contents, styles, options, work, "local-worker-kill", workers=cores, threads=1)
        if args.ray:
            import ray

            context = ray.init(num_cpus=cores, include_dashboard=False, logging_level="ERROR",
                               log_to_driver=False, runtime_env=runtime_env(),
                               _node_ip_address="127.0.0.1")
            address = context.address_info["gcs_address"]
            try:
                for actors in (1, 2):
                    results[f"ray {actors} actor(s)"] = throughput(
                        contents, styles, options, work, f"ray-{actors}", ray=address,
                        workers=actors, threads=max(1, cores // actors))
                if args.recovery:
                    results["ray worker kill -9"] = worker_kill(
                        contents, styles, options, work, "ray-worker-kill", ray=address,
                        workers=cores, threads=1)
                    results["ray driver kill -9"] = driver_kill(
                        contents, styles, cli_options, work, "ray-driver-kill",
                        ["--ray", address, "--workers", str(cores), "--threads", "1"], after=2)
            finally:
                ray.shutdown()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
