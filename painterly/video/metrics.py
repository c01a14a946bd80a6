"""How a stylized video holds up: the temporal warping error of Ruder et al., and how the regions
that come into view later (disocclusions, a pan's entering band) compare with the rest of the
frame in stroke contrast and colour."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
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


def stroke_contrast(image: np.ndarray) -> np.ndarray:
    """Per pixel |grad L*| (CIE L*, 0..100, central differences): (H, W) float32, high where an
    (H, W, 3) uint8 frame has strokes, low on flat paint."""
    lightness = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)[..., 0]
    dy, dx = np.gradient(lightness)
    return np.hypot(dx, dy)


FLAT_SHARE = 0.5
"""A pixel of a region counts as flat (part of a trail) where the stroke contrast averaged over
9x9 pixels is below this share of the rest of the frame's mean."""


def region_statistics(image: np.ndarray, region: np.ndarray, rest: np.ndarray) -> dict:
    """Stroke contrast and colour of ``region`` against ``rest`` ((H, W) bool masks) in an (H, W,
    3) uint8 frame: mean |grad L*|, mean L*, mean chroma (|a*, b*|) of each, their ratios
    (region / rest), and the share of the frame where ``region`` is flat (:data:`FLAT_SHARE`)."""
    contrast = stroke_contrast(image)
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    local = cv2.blur(contrast, (9, 9))
    result = {"area": float(region.mean())}
    for name, values in (("contrast", contrast), ("lightness", lab[..., 0]), ("chroma", chroma)):
        inside = float(values[region].mean()) if region.any() else float("nan")
        outside = float(values[rest].mean())
        result.update({name: inside, f"{name}_rest": outside, f"{name}_ratio": inside / outside})
    result["flat_area"] = float((region & (local < FLAT_SHARE * result["contrast_rest"])).mean())
    return result
