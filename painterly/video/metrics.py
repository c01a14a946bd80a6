"""How stable a stylized video is: the temporal warping error of Ruder et al."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from painterly.video import flow


def warping_errors(inputs: Iterable[np.ndarray], outputs: Iterable[np.ndarray]) -> list[float]:
    """For each frame t >= 1: mean over colour values of |O_t - warp(O_{t-1})| (0..255 scale) on
    the pixels that the input's flow marks reliable (not occluded, not a motion boundary).
    ``inputs`` and ``outputs`` are (H, W, 3) uint8 frames of the same size."""
    errors = []
    previous_input = previous_output = None
    for frame, result in zip(inputs, outputs, strict=True):
        if previous_input is not None:
            motion = flow.motion(previous_input, frame)
            warped = motion.warp(previous_output.astype(np.float32))
            difference = np.abs(result.astype(np.float32) - warped).mean(-1)
            errors.append(float((difference * motion.reliable).sum()
                                / max(motion.reliable.sum(), 1)))
        previous_input, previous_output = frame, result
    return errors
