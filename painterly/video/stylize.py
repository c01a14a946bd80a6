"""One frame of a video: a full painterly run, or a continuation that starts from the previous
result warped by the optical flow and keeps it with the temporal loss. The local frame loop and
the Ray chunk actors both call :class:`FrameStylizer`, so a frame is made the same way
wherever it runs."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from painterly.io import images
from painterly.style import color
from painterly.style.events import Event
from painterly.style.options import TransferOptions
from painterly.style.transfer import StyleTargetCache, transfer
from painterly.video import fill, flow, plan
from painterly.video.temporal import TemporalLoss

LATER_FRAME_FIRST_STEP = 0.01
"""Largest pixel change of L-BFGS-B's first trial step on a later frame. Its start, the warped
previous result, is close to the frame's result: an image's first step (0.1) overshot there (the
objective doubled at the second evaluation at 128-640 px, a wasted evaluation of every frame);
with 0.01 it falls from the first step (tests/test_video_parts.py)."""


@dataclass
class Stylized:
    pixels: np.ndarray
    """(H, W, 3) uint8."""
    loss: float
    """The frame's final objective."""
    timing: dict[str, float] = field(default_factory=dict)
    """Seconds spent on ``flow`` and ``optimization``."""


class FrameStylizer:
    """Stylizes frames with fixed styles, output size and per-frame transfer options."""

    def __init__(self, styles: list, size: tuple[int, int], frame_options: dict,
                 temporal_weight: float):
        self.styles, self.size = styles, size
        self.frame_options, self.temporal_weight = frame_options, temporal_weight
        self.palette = _palette(styles, frame_options)
        self.style_targets = StyleTargetCache()

    def __call__(self, frame: np.ndarray, frame_plan: plan.FramePlan,
                 previous: tuple[np.ndarray, np.ndarray] | None = None, *,
                 on_event: Callable[[Event], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> Stylized | None:
        """Stylize ``frame`` ((H, W, 3) uint8 at the output size) by ``frame_plan``; unless it
        is a full run, ``previous`` is (previous input frame, its stylized result). None if the
        run was interrupted."""
        options = dict(self.frame_options, steps=frame_plan.steps)
        if frame_plan.seconds is not None:
            options["time_budget"] = max(frame_plan.seconds, 0.01)
        timing = {"flow": 0.0, "optimization": 0.0}
        if not frame_plan.full_run:
            moment = time.perf_counter()
            previous_frame, previous_result = previous
            motion = flow.motion(previous_frame, frame)
            init, temporal = temporal_start(frame, previous_result, motion,
                                            self.temporal_weight,
                                            options.get("preserve_colors"), self.palette)
            timing["flow"] = time.perf_counter() - moment
            # a memory longer than the frame's steps is never filled, only allocated
            history = min(options.get("history", TransferOptions.history), frame_plan.steps)
            options.update(min_size=max(self.size), coarse_steps=0, init_image=init,
                           first_step=LATER_FRAME_FIRST_STEP, history=history)
            if self.temporal_weight > 0:
                options["extra_loss"] = temporal
        moment = time.perf_counter()
        outcome = transfer(Image.fromarray(frame), self.styles, on_event=on_event,
                           should_stop=should_stop, style_cache=self.style_targets, **options)
        timing["optimization"] = time.perf_counter() - moment
        if outcome.interrupted or (should_stop is not None and should_stop()):
            return None
        loss = outcome.terms.total if outcome.terms is not None else math.nan
        return Stylized(np.asarray(outcome.image), loss, timing)


def _palette(styles: list, frame_options: dict) -> color.ColourStatistics | None:
    """The styles' pooled colour statistics (None when the run keeps the photo's colours):
    disoccluded pixels start in the painting's palette, as the first frame does."""
    if color.keeps_photo_colours(frame_options.get("preserve_colors")):
        return None
    blend = frame_options.get("style_blend") or [1.0] * len(styles)
    pictures = [(s, w) for s, w in zip(styles, blend, strict=True) if isinstance(s, Image.Image)]
    return color.mixture_statistics([color.colour_statistics(images.to_tensor(s))
                                     for s, _ in pictures], [w for _, w in pictures])


def temporal_start(frame: np.ndarray, previous_result: np.ndarray, motion: flow.Motion,
                   weight: float, preserve_colors: str | None,
                   palette: color.ColourStatistics | None = None
                   ) -> tuple[torch.Tensor, TemporalLoss]:
    """The initial image of a frame (the previous result warped; where it was disoccluded, a
    painted fill (:mod:`painterly.video.fill`), or with too little to learn from the frame's own
    pixels recoloured to ``palette`` when given) and its temporal loss. Under
    ``luminance`` and ``yuv`` colour modes the output's colours come from the frame, so only
    luminance is held (and, for ``luminance``, optimized)."""
    warped = np.clip(motion.warp(previous_result.astype(np.float32) / 255), 0, 1)
    keep = motion.reliable[..., None]
    painted = fill.painted_fill(frame, warped, motion.reliable)
    if painted is not None:
        content = _tensor(painted)
    else:
        content = _tensor(frame.astype(np.float32) / 255)
        if palette is not None:
            content = color.recolour(content, palette)
    start = _tensor(keep * warped) + _tensor(1 - keep) * content
    target = _tensor(warped)
    if preserve_colors in ("luminance", "yuv"):
        target = color.grey(color.luminance(target))
    if preserve_colors == "luminance":
        start = color.grey(color.luminance(start))
    reliability = torch.from_numpy(motion.reliable)[None, None]
    return start, TemporalLoss(target, reliability, weight)


def _tensor(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)[None].float()
