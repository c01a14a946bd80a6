"""What the products share to run on a Ray cluster (batch jobs, a video's chunks): connecting
(with this copy of painterly as the actors' code), how many actors and what each reserves, a
worker process's preparation, and the declared options ``ray``, ``workers`` and ``threads`` that
:class:`~painterly.video.options.VideoOptions` and :class:`~painterly.batch.options.BatchOptions`
take from here (:func:`painterly.options.same_as`).

Ray is optional (``pip install 'painterly[ray]'``) and imported only here, only when asked for.
Errors name the option ``ray``; the command line says ``--ray``."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from painterly.errors import UserError
from painterly.nets.devices import keep_freed_host_memory
from painterly.nets.vgg import load_vgg19
from painterly.options import OptionError, option

CONNECT_TIMEOUT_S = 10.0
"""Seconds to wait for the cluster's address to answer at all."""
MAX_WORKER_DEATHS = 3
"""Worker deaths in a row (no job finished between them), per worker, before a run stops."""


@dataclass
class WorkerOptions:
    """Where a run's work happens: the declarations the products share."""

    ray: str | None = option(
        None, "run on a Ray cluster: auto (the one 'ray start' made) or HOST:PORT (needs pip "
              "install 'painterly[ray]')", metavar="ADDRESS", web=False)
    workers: int | None = option(
        None, "worker processes or, with --ray, Ray actors, each keeping a VGG-19 loaded (off: "
              "a batch's processes sized to the machine; Ray actors one per GPU, else one per "
              "--threads CPUs of the cluster)", low=1, metavar="N", web=False)
    threads: int | None = option(
        None, "torch threads of each worker (off: sized to the machine and the image size)",
        low=1, metavar="N", web=False)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise OptionError("ray", "needs Ray: pip install 'painterly[ray]'") from None
    return ray


def runtime_env() -> dict[str, Any]:
    """Ray's runtime environment for painterly's actors: this copy of the package, uploaded to
    the cluster, so every worker runs the driver's code (pass it to ``ray.init`` when connecting
    yourself)."""
    return {"py_modules": [str(Path(__file__).resolve().parent)],
            "excludes": ["__pycache__", "*.pyc"]}


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
        raise OptionError("ray", f"needs auto or HOST:PORT, got '{address}'")
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


def prepare_worker(threads: int | None) -> None:
    """Once per worker process: its torch threads, the heap setting painterly's CLI uses, and
    the VGG-19 loaded (cached for every later job)."""
    if threads:
        torch.set_num_threads(threads)
    keep_freed_host_memory()
    load_vgg19()


def worker_label() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:200]

