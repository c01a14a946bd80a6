"""Runs of ``painterly serve``: a queue, a bounded number of worker threads that call
:func:`painterly.style.transfer.transfer`, for the lecture's reconstruction figures the
reconstructions of :mod:`painterly.lecture.experiments`, or for a clip :func:`painterly.video`
(PyTorch releases the GIL while it computes), cancellation through ``should_stop``, and state
kept in ``runs/<id>/run.json`` so a reload finds everything."""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

import painterly
from painterly.errors import UserError
from painterly.io import images, jsonio
from painterly.io.files import finite, write_json
from painterly.lecture import experiments
from painterly.nets.vgg import min_side
from painterly.options import OptionError
from painterly.runs import eta
from painterly.style.events import Evaluated, Event, PartStarted, Snapshot
from painterly.style.options import TransferOptions
from painterly.style.transfer import check_memory, check_size, check_style_counts, transfer
from painterly.video.events import FrameEvaluated, FrameEvent, FrameFinished, FrameResumed
from painterly.video.options import VideoOptions
from painterly.web.options import (
    MAX_WEB_FRAMES,
    RUN_KINDS,
    parse_options,
    parse_reconstruction_options,
    parse_video_options,
)
from painterly.web.storage import DataFolder, Upload, check_id, new_id

log = logging.getLogger("painterly.web")

ACTIVE_STATES = ("queued", "running")
FINAL_STATES = ("done", "cancelled", "failed", "interrupted")
MAX_QUEUED = 8
"""Runs waiting beyond this are refused (HTTP 429)."""
MIN_TILE_HEIGHT = 96
"""Reconstructions smaller than this are enlarged in their figure, so that its titles fit."""
SNAPSHOT_SECONDS = 2.0
"""The live image is rewritten at most this often (and after each scale)."""
RESULT_FILES = {"video": "result.mp4"}
"""The result file of a run by kind (else ``result.png``): a video run's is H.264 in .mp4, which
every browser plays (a GIF would be many times larger, in 256 colours)."""


class QueueFull(UserError):
    """Too many runs waiting."""


@dataclass
class Run:
    id: str
    content: str
    styles: list[str]
    options: dict
    created: float
    state: str = "queued"
    progress: dict | None = None
    error: str | None = None
    result: dict | None = None
    started: float | None = None
    finished: float | None = None
    image_version: int = 0
    """How many live images were written (0: none yet): the page reloads the image when it grows."""
    version: int = 0
    """Grows with every change; the event stream sends the state when it does."""
    names: dict = field(default_factory=dict)
    """Display names of the images (file names of uploads)."""
    kind: str = "transfer"
    """One of RUN_KINDS; for a reconstruction ``content`` is the image reconstructed and
    ``styles`` is empty (run.json files of older versions have no kind: transfers)."""
    stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def as_dict(self, position: int | None = None) -> dict:
        """The run as the API shows it (strict JSON: a NaN loss becomes null)."""
        base = f"/api/runs/{self.id}"
        return finite({
            "id": self.id, "kind": self.kind, "content": self.content, "styles": self.styles,
            "names": self.names, "options": self.options, "created": self.created,
            "state": self.state, "queue_position": position, "progress": self.progress,
            "error": self.error, "result": self.result, "started": self.started,
            "finished": self.finished, "image_version": self.image_version,
            "image": f"{base}/current.png" if self.image_version else None,
            "download": f"{base}/{self.result_file}" if self.result else None,
        })

    @property
    def result_file(self) -> str:
        return RESULT_FILES.get(self.kind, "result.png")

    def stored(self) -> dict:
        data = self.as_dict()
        for key in ("queue_position", "image", "download"):
            data.pop(key)
        return finite(data)

    @classmethod
    def from_record(cls, data: Any, run_id: str) -> Run:
        """The run a ``run.json`` describes; ValueError naming what is wrong with it (a record
        of the wrong shape, with a wrong-typed field, or of a kind this version does not know)."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if data.get("id") != run_id:
            raise ValueError("its id is not its folder's name")
        checks = {
            "content": lambda v: isinstance(v, str),
            "styles": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            "options": lambda v: isinstance(v, dict),
            "created": _is_number,
            "state": lambda v: v in ACTIVE_STATES + FINAL_STATES,
            "progress": lambda v: v is None or isinstance(v, dict),
            "error": lambda v: v is None or isinstance(v, str),
            "result": lambda v: v is None or isinstance(v, dict),
            "started": lambda v: v is None or _is_number(v),
            "finished": lambda v: v is None or _is_number(v),
            "image_version": _is_count, "version": _is_count,
            "names": lambda v: isinstance(v, dict) and all(
                isinstance(x, str) for x in v.values()),
            "kind": lambda v: v in RUN_KINDS,
        }
        required = ("content", "styles", "options", "created")
        for key, check in checks.items():
            if key not in data:
                if key in required:
                    raise ValueError(f"{key} is missing")
                continue
            if not check(data[key]):
                raise ValueError(f"{key} has a wrong value ({str(data[key])[:40]!r})")
        return cls(**{key: data[key] for key in checks if key in data}, id=run_id)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _finite(value: float, digits: int = 2) -> float | None:
    """``value`` rounded, or None where JSON has no number for it (inf, nan)."""
    return round(value, digits) if math.isfinite(value) else None


def _check_video_selection(upload: Upload | None, options: dict, max_frames: int) -> None:
    """Refuse a video run that would stylize more than ``max_frames`` frames, or none
    (estimated from the clip's length and rate, and the selection)."""
    if upload is None or not upload.seconds or not upload.fps:
        return
    settings = VideoOptions(**{key: value for key, value in options.items()
                               if key in VideoOptions.__dataclass_fields__})
    selection = settings.selection()
    rate = selection.fps or upload.fps
    if selection.frames is not None:
        first, end = selection.frames
        available = upload.seconds * rate
        frames = min(available, end if end is not None else available) - first
        where = "frames"
    else:
        left = upload.seconds - selection.start
        span = left if selection.duration is None else min(selection.duration, left)
        frames, where = span * rate, "start" if span == left else "duration"
    if frames < 1:
        raise OptionError(where, f"leaves no frames: the clip is {upload.seconds:g} s long "
                                 f"({upload.frames} frames at {float(rate):g} fps)")
    if round(frames) > max_frames:
        raise OptionError("duration", f"gives about {round(frames)} frames, more than the "
                                      f"{max_frames} of a video run on the web page: "
                                      "choose a shorter duration or a lower frame rate")


def _progress_dict(event: Evaluated) -> dict:
    return {"scale": event.rung + 1, "scales": event.rungs, "width": event.size[0],
            "height": event.size[1], "step": event.step, "steps": event.steps,
            "done": event.done, "total": event.total, "loss": event.terms.total,
            "content_loss": event.terms.content, "style_loss": event.terms.style,
            "elapsed": round(event.elapsed, 2),
            "eta": None if event.eta is None else round(event.eta, 1)}


class _FrameClock:
    """Progress of a video run over its frames, with an ETA: the seconds per evaluation times the
    evaluations still planned (the current frame's rest, then ``frame_steps`` for each later
    frame, or a full run each when the frames are independent). Once a later frame has started,
    the rate is measured on later frames only (the first frame's coarse scales are cheaper)."""

    def __init__(self, frame_steps: int, independent: bool):
        self.frame_steps, self.independent = frame_steps, independent
        self.started = time.perf_counter()
        self.finished_frames = 0
        self.evaluations = 0
        """Evaluations of the frames finished in this run."""
        self.full_run: int | None = None
        """Evaluations of a full run, once one has been seen."""
        self.mark = (self.started, 0)
        """(time, evaluations) when the last full run finished: the rate is measured from it."""

    def finished(self, event: FrameFinished, steps: int | None) -> None:
        self.finished_frames += 1
        if not isinstance(event, FrameResumed) and steps is not None:
            self.evaluations += steps
            if event.frame == 0 and not self.independent:
                self.mark = (time.perf_counter(), self.evaluations)

    def progress(self, event: FrameEvaluated) -> dict:
        evaluation = event.evaluation
        if event.frame == 0 or self.independent:
            self.full_run = evaluation.total
        per_frame = self.full_run if self.independent and self.full_run else self.frame_steps
        done = self.evaluations + evaluation.done
        left = evaluation.total - evaluation.done + per_frame * (event.frames - event.frame - 1)
        now = time.perf_counter()
        since, counted = (now - self.mark[0], done - self.mark[1]) \
            if done > self.mark[1] else (now - self.started, done)
        seconds = eta(since, counted, left)
        return {"frame": event.frame + 1, "frames": event.frames,
                "done": self.finished_frames, "total": event.frames,
                "step": evaluation.done, "steps": evaluation.total,
                "width": evaluation.size[0], "height": evaluation.size[1],
                "loss": evaluation.terms.total, "elapsed": round(now - self.started, 2),
                "eta": None if seconds is None else round(seconds, 1)}


class RunManager:
    """Accepts runs, executes at most ``max_concurrent`` at once, queues up to ``max_queued``."""

    def __init__(self, folder: DataFolder, *, max_concurrent: int = 1,
                 max_queued: int = MAX_QUEUED, snapshot_seconds: float = SNAPSHOT_SECONDS,
                 max_video_frames: int = MAX_WEB_FRAMES):
        self.folder = folder
        self.max_video_frames = max_video_frames
        self.max_concurrent = max(1, max_concurrent)
        self.max_queued = max_queued
        self.snapshot_seconds = snapshot_seconds
        self.runs: dict[str, Run] = {}
        self.pending: deque[str] = deque()
        self.changed = threading.Condition()
        self.closing = False
        self._load()
        self.workers = [threading.Thread(target=self._work, name=f"painterly-run-{index}",
                                         daemon=True) for index in range(self.max_concurrent)]
        for worker in self.workers:
            worker.start()

    def _load(self) -> None:
        """Runs of earlier server sessions: finished ones as they were, queued ones queued again
        (oldest first), running ones marked interrupted; a damaged or foreign record is moved
        aside with one log line, so one record never stops the server."""
        found = []
        for entry in sorted(self.folder.runs_dir.iterdir()):
            try:
                if not check_id(entry.name) or entry.is_symlink() or not entry.is_dir():
                    raise ValueError("not a run of painterly (a folder named by 16 hex digits)")
                run = Run.from_record(jsonio.read(entry / "run.json"), entry.name)
                self.folder.move_links_aside(entry)
            except FileNotFoundError:
                self.folder.move_aside(entry, "run.json is missing")
                continue
            except OSError as error:
                self.folder.move_aside(entry, f"run.json cannot be read "
                                              f"({error.strerror or error})")
                continue
            except ValueError as error:
                self.folder.move_aside(entry, f"run.json is damaged: {error}")
                continue
            found.append(run)
        for run in sorted(found, key=lambda run: run.created):
            self.runs[run.id] = run
            if run.state == "running":
                run.state = "interrupted"
                run.error = "the server stopped before this run finished"
                self._save(run)
            elif run.state == "queued":
                self._requeue(run)

    def _requeue(self, run: Run) -> None:
        """Queue a run of an earlier session again, after checking it as a new one would be."""
        try:
            if run.kind == "video":
                self.folder.resolve_video(run.content)
            for reference in run.styles if run.kind == "video" else (run.content, *run.styles):
                self.folder.resolve_image(reference)
            run.options = self._parsed_options(run.kind, run.options)
        except UserError as problem:
            run.state, run.finished = "failed", time.time()
            run.error = f"not queued again after a restart: {problem}"
            self._save(run)
            return
        run.progress = None
        self.pending.append(run.id)

    @staticmethod
    def _parsed_options(kind: str, raw: dict | None) -> dict:
        if kind == "transfer":
            return parse_options(raw)
        if kind == "video":
            return parse_video_options(raw)
        return parse_reconstruction_options(kind, raw)

    # requests
    def submit(self, content: str, styles: list[str] | None, raw_options: dict | None,
               kind: str | None = None) -> Run:
        """Queue a run; UserError for a bad kind, image reference or option, QueueFull when
        full. A reconstruction takes one image (``content``) and no styles; a video takes the
        id of a video upload as ``content``."""
        kind = "transfer" if kind is None else kind
        if kind not in RUN_KINDS:
            raise UserError(f"kind: choose from {', '.join(RUN_KINDS)}")
        if not isinstance(content, str) or not content:
            raise UserError("content: give the id of a video upload" if kind == "video" else
                            "content: give an upload id or a built-in example's name")
        if kind in ("transfer", "video"):
            if not isinstance(styles, list) or not styles or not all(
                    isinstance(style, str) for style in styles):
                raise UserError("styles: give a list of one or more upload ids or example names")
            if len(styles) > 8:
                raise UserError("at most 8 style images")
        elif styles:
            raise UserError(f"{kind} takes one image, as content, and no styles")
        styles = list(styles or [])
        if kind == "video":
            self.folder.resolve_video(content)
        for reference in styles if kind == "video" else (content, *styles):
            self.folder.resolve_image(reference)
        options = self._parsed_options(kind, raw_options)
        if kind in ("transfer", "video"):
            check_style_counts(options.get("style_blend"),
                               options.get("style_scale", TransferOptions.style_scale),
                               len(styles))
        side = min_side((options.get("content_layer", TransferOptions.content_layer),
                         *options.get("style_layers", TransferOptions.style_layers)))
        if kind == "video":
            clip = self.folder.get_upload(content)
            _check_video_selection(clip, options, self.max_video_frames)
            check_size((clip.width, clip.height), options.get("size", TransferOptions.size),
                       side)
        if kind == "transfer":  # refused now, not after the run has waited in the queue
            try:
                with Image.open(self.folder.resolve_image(content)) as image:
                    content_size = image.size
            except OSError:  # a damaged upload: the run says so, naming the upload
                content_size = None
            if content_size is not None:
                check_size(content_size, options.get("size", TransferOptions.size), side)
                check_memory(content_size, options)
        names = {}
        for reference in (content, *styles):
            upload = self.folder.get_upload(reference)
            names[reference] = upload.name if upload else reference
        with self.changed:
            if self.closing:
                raise UserError("the server is shutting down")
            if len(self.pending) >= self.max_queued:
                raise QueueFull(f"{len(self.pending)} runs are already waiting, the limit: "
                                "try again when one has finished")
            run = Run(new_id(), content, styles, options, time.time(), names=names, kind=kind)
            (self.folder.runs_dir / run.id).mkdir()
            self.runs[run.id] = run
            self.pending.append(run.id)
            self._save(run)
            self.changed.notify_all()
        return run

    def get(self, run_id: str) -> Run | None:
        return self.runs.get(run_id)

    def position(self, run: Run) -> int | None:
        """1 for the next run to start, None when not waiting."""
        with self.changed:
            try:
                return self.pending.index(run.id) + 1
            except ValueError:
                return None

    def describe(self, run: Run) -> dict:
        return run.as_dict(self.position(run))

    def listing(self) -> list[dict]:
        return [self.describe(run) for run in sorted(self.runs.values(),
                                                     key=lambda run: run.created, reverse=True)]

    def cancel(self, run: Run) -> None:
        """Stop a running run (it keeps its best image so far) or drop a waiting one."""
        with self.changed:
            if run.id in self.pending:
                self.pending.remove(run.id)
                run.state, run.finished = "cancelled", time.time()
                self._touch(run, save=True)
                for other in self.pending:  # their queue positions changed
                    self._touch(self.runs[other])
            elif run.state == "running":
                run.stop.set()
            self.changed.notify_all()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop running runs (their best images are kept) and the workers."""
        with self.changed:
            self.closing = True
            for run in self.runs.values():
                if run.state == "running":
                    run.stop.set()
            self.changed.notify_all()
        for worker in self.workers:
            worker.join(timeout)

    # workers
    def _work(self) -> None:
        while True:
            with self.changed:
                while not self.pending and not self.closing:
                    self.changed.wait()
                if self.closing:
                    return
                run = self.runs[self.pending.popleft()]
                run.state, run.started = "running", time.time()
                self._touch(run, save=True)
                for other in self.pending:
                    self._touch(self.runs[other])
            try:
                self._execute(run)
            except Exception as error:  # a bug: keep serving, show it on the page
                log.exception("run %s failed", run.id)
                self._finish(run, "failed", f"internal error: {type(error).__name__}: {error}")

    def _execute(self, run: Run) -> None:
        if run.kind == "video":
            self._execute_video(run)
            return
        folder = self.folder.runs_dir / run.id
        last_image = 0.0
        last_save = time.monotonic()
        part: dict = {}

        def on_event(event: Event) -> None:
            nonlocal last_save, last_image
            now = time.monotonic()
            if isinstance(event, PartStarted):  # which reconstruction of the figure
                part.update(part=event.part, parts=event.parts, layers=event.label)
            elif isinstance(event, Evaluated):
                run.progress = _progress_dict(event) | part
                save = now - last_save >= self.snapshot_seconds
                if save:
                    last_save = now
                self._touch(run, save=save)
            elif isinstance(event, Snapshot) and event.kind != "final":
                if event.kind == "periodic" and now - last_image < self.snapshot_seconds:
                    return
                last_image = now
                images.save_image(event.image, folder / "current.png")
                run.image_version += 1
                self._touch(run)

        try:
            if run.kind == "transfer":
                picture = self._transfer(run, on_event)
            else:
                picture = self._reconstruct(run, on_event)
        except UserError as error:
            self._finish(run, "failed", str(error))
            return
        images.save_image(picture, folder / "result.png")
        images.save_image(picture, folder / "current.png")
        run.image_version += 1
        if self.closing:
            self._finish(run, "interrupted", "the server stopped before this run finished; "
                                             "the best image so far is kept")
        else:
            self._finish(run, "cancelled" if run.stop.is_set() else "done", None)

    def _transfer(self, run: Run, on_event) -> torch.Tensor:
        """A style transfer; its result (the picture) goes into ``run.result``."""
        content = self.folder.resolve_image(run.content)
        styles = [self.folder.resolve_image(style) for style in run.styles]
        result = transfer(content, styles, on_event=on_event, save_every=1,
                          should_stop=run.stop.is_set, **run.options)
        terms = result.terms
        run.result = {"width": result.image.width, "height": result.image.height,
                      "evaluations": result.evaluations, "seconds": round(result.seconds, 2),
                      "loss": terms.total if terms else None,
                      "content_loss": terms.content if terms else None,
                      "style_loss": terms.style if terms else None}
        return result.tensor

    def _reconstruct(self, run: Run, on_event) -> Image.Image:
        """A content or style reconstruction figure (one or more reconstructions from white
        noise, after the original), as ``painterly reconstruct-content/-style --grid`` makes."""
        options = dict(run.options)
        layers = options.pop("layers")
        cumulative = options.pop("cumulative", False)
        image = self.folder.resolve_image(run.content)
        started = time.perf_counter()
        callbacks = {"on_event": on_event, "snapshots": True, "should_stop": run.stop.is_set}
        if run.kind == "reconstruct-content":
            results = experiments.reconstruct_content(image, layers, **callbacks, **options)
            what = "content"
        elif cumulative:
            results = experiments.reconstruct_style_cumulative(image, layers, **callbacks,
                                                               **options)
            what = "style"
        else:
            results = [experiments.reconstruct_style(image, layers, **callbacks, **options)]
            what = "style"
        first = results[0].image
        steps = options.get("steps", experiments.ReconstructionOptions.steps)
        figure = experiments.reconstruction_figure(
            results, heading=f"{what} reconstruction from white noise, "
                             f"{first.width}x{first.height}, {steps} steps",
            tile_height=max(first.height, MIN_TILE_HEIGHT))
        run.result = {
            "width": figure.width, "height": figure.height,
            "evaluations": sum(result.evaluations for result in results),
            "seconds": round(time.perf_counter() - started, 2),
            "loss": results[-1].terms.total,
            "reconstructions": [
                {"layers": list(result.layers), "evaluations": result.evaluations,
                 "loss": result.terms.total, "start_loss": result.start_terms.total,
                 "psnr": _finite(result.psnr),
                 "loss_reduction": _finite(result.loss_reduction, 1)}
                for result in results]}
        return figure

    def _execute_video(self, run: Run) -> None:
        """Stylize a clip with :func:`painterly.video`: every finished frame becomes the live
        image; cancelling or stopping the server encodes the frames finished so far. Finished
        frames stay in the data folder's ``video-work/`` until the video is complete, so the
        same clip and settings started again resume from them."""
        folder = self.folder.runs_dir / run.id
        options = dict(run.options)
        clock = _FrameClock(options.get("frame_steps", VideoOptions.frame_steps),
                            options.get("independent", False))
        last_save = time.monotonic()
        steps: dict[int, int] = {}
        frame_size: list[int | None] = [None, None]

        def on_progress(event: FrameEvent) -> None:
            nonlocal last_save
            now = time.monotonic()
            if isinstance(event, FrameEvaluated):
                steps[event.frame] = event.evaluation.done
                run.progress = clock.progress(event)
                save = now - last_save >= self.snapshot_seconds
                if save:
                    last_save = now
                self._touch(run, save=save)
            elif isinstance(event, FrameFinished):
                clock.finished(event, steps.pop(event.frame, None))
                if run.progress is not None:
                    run.progress = run.progress | {"done": clock.finished_frames}
                if event.image is not None:
                    frame_size[:] = event.image.shape[1], event.image.shape[0]
                    images.save_image(Image.fromarray(event.image), folder / "current.png")
                    run.image_version += 1
                self._touch(run, save=True)

        try:
            result = painterly.video(
                str(self.folder.resolve_video(run.content)),
                [self.folder.resolve_image(style) for style in run.styles],
                str(folder / run.result_file), on_event=on_progress, should_stop=run.stop.is_set,
                work_dir=self.folder.video_work_dir, partial=True, **options)
        except UserError as error:
            self._finish(run, "failed", str(error))
            return
        if result.output is not None:
            run.result = {"frames": result.frames, "total_frames": result.total_frames,
                          "computed": result.computed, "width": frame_size[0],
                          "height": frame_size[1],
                          "seconds": round(result.seconds, 2),
                          "timing": {key: round(value, 2) for key, value in
                                     result.timing.items()}}
        if self.closing:
            self._finish(run, "interrupted", "the server stopped before this video finished; "
                                             "the frames finished so far are kept")
        elif result.interrupted:
            self._finish(run, "cancelled", None)
        else:
            self._finish(run, "done", None)

    def _finish(self, run: Run, state: str, error: str | None) -> None:
        with self.changed:
            run.state, run.finished = state, time.time()
            run.error = None if error is None else self._public(error)
            self._touch(run, save=True)
            self.changed.notify_all()

    def _public(self, message: str) -> str:
        """``message`` without the server's paths: a file of an upload is named by the upload's
        name, anything else in the data folder or the package by what it is."""
        def describe(match: re.Match) -> str:
            path = Path(match.group())
            parts = path.relative_to(self.folder.root).parts \
                if path.is_relative_to(self.folder.root) else ()
            if len(parts) >= 2 and parts[0] == "uploads":
                upload = self.folder.get_upload(parts[1])
                return f"'{upload.name}'" if upload else "an upload"
            return "a file of the server"
        roots = sorted({str(self.folder.root), str(Path(painterly.__file__).parent)}, key=len,
                       reverse=True)
        pattern = "|".join(re.escape(root) + r"[^\s:,;)'\"]*" for root in roots)
        return re.sub(pattern, describe, message)

    def _touch(self, run: Run, save: bool = False) -> None:
        run.version += 1
        if save:
            self._save(run)

    def _save(self, run: Run) -> None:
        write_json(self.folder.runs_dir / run.id / "run.json", run.stored())
