"""Motion between consecutive frames: dense optical flow (OpenCV's DIS), backward warping, and the
forward-backward consistency check of Ruder, Dosovitskiy and Brox ("Artistic style transfer for
videos", 2016) that marks the pixels where the warped previous frame cannot be trusted
(disoccluded regions, motion boundaries, pixels that came in from outside the frame)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DIS_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
"""DIS quality preset: ``MEDIUM`` recovers sub-pixel motion of textured regions (the tests hold it
to 0.1 px on a pan) at a few tens of milliseconds per 640x360 pair."""
OCCLUSION_TOLERANCE = (0.01, 0.5)
"""|w + ŵ|² > a (|w|² + |ŵ|²) + b marks a pixel occluded (Ruder et al., eq. 5)."""
BOUNDARY_TOLERANCE = (0.01, 0.002)
"""|∇u|² + |∇v|² > a |w|² + b marks a motion boundary (Ruder et al., eq. 6)."""
STILL_TOLERANCE = 6.0
"""Largest change (8-bit levels, after a Gaussian blur of 1 px) of a pixel, and of its 3x3
neighbours, that counts as no change at all: above the noise of a compressed static shot."""


def estimate_flow(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Flow from ``source`` to ``target`` ((H, W, 3) uint8 RGB frames): (H, W, 2) float32
    displacements such that ``source[p]`` shows what ``target`` shows at ``p + flow[p]``."""
    dis = cv2.DISOpticalFlow_create(DIS_PRESET)
    return dis.calc(_gray(source), _gray(target), None)


def _gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def warp(image: np.ndarray, flow: np.ndarray, sharp: bool = False) -> np.ndarray:
    """Backward warp: ``out[p] = image[p + flow[p]]``, borders repeated. ``image`` is (H, W) or
    (H, W, C) float32; ``flow`` (H, W, 2). Sampled bilinearly, or with ``sharp`` by Lanczos
    (8x8; may overshoot the input's range): a half-pixel bilinear shift of a stylized frame
    multiplies its style loss by 7.6, Lanczos by 1.3 (docs/video.md), and the loss compounds
    from frame to frame."""
    height, width = flow.shape[:2]
    x, y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(image, x + flow[..., 0], y + flow[..., 1],
                     cv2.INTER_LANCZOS4 if sharp else cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def occluded(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Pixels of frame t whose backward flow (to t-1) and the forward flow (t-1 to t) found where
    it lands do not cancel out, or which came from outside frame t-1: (H, W) bool."""
    returned = warp(forward, backward)
    a, b = OCCLUSION_TOLERANCE
    mismatch = np.square(backward + returned).sum(-1)
    scale = np.square(backward).sum(-1) + np.square(returned).sum(-1)
    height, width = backward.shape[:2]
    x, y = np.meshgrid(np.arange(width), np.arange(height))
    source_x, source_y = x + backward[..., 0], y + backward[..., 1]
    outside = (source_x < 0) | (source_x > width - 1) | (source_y < 0) | (source_y > height - 1)
    return (mismatch > a * scale + b) | outside


def motion_boundaries(flow: np.ndarray) -> np.ndarray:
    """Pixels where the flow changes sharply: (H, W) bool."""
    gradients = np.zeros(flow.shape[:2], np.float32)
    for channel in range(2):
        dy, dx = np.gradient(flow[..., channel])
        gradients += dx * dx + dy * dy
    a, b = BOUNDARY_TOLERANCE
    return gradients > a * np.square(flow).sum(-1) + b


@dataclass(frozen=True)
class Motion:
    """How frame t relates to frame t-1."""

    backward: np.ndarray
    """(H, W, 2) flow from frame t to frame t-1."""
    reliable: np.ndarray
    """(H, W) float32: 1 where the warped frame t-1 shows what frame t shows, 0 at
    disocclusions, motion boundaries and pixels that entered the frame."""

    def warp(self, previous: np.ndarray) -> np.ndarray:
        """Frame t-1's image (H, W, C) float32 moved to where frame t shows it, sampled sharply
        (the stylized texture survives the move; values may overshoot the input's range)."""
        return warp(previous, self.backward, sharp=True)


def unchanged(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Pixels that, with their 3x3 neighbours, look the same in both (H, W, 3) uint8 frames:
    (H, W) bool."""
    def blurred(frame: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(frame.astype(np.float32), (0, 0), 1.0)

    change = np.abs(blurred(current) - blurred(previous)).max(-1)
    still = (change <= STILL_TOLERANCE).astype(np.uint8)
    return cv2.erode(still, np.ones((3, 3), np.uint8)).astype(bool)


def motion(previous: np.ndarray, current: np.ndarray) -> Motion:
    """Flow both ways between two (H, W, 3) uint8 frames and the reliability mask of frame
    ``current``. Where the flows disagree but the pixel did not change, the flow is ambiguous
    (a blank wall matches itself under any motion, and the two directions guess differently),
    not a disocclusion: there the pixel stays where it was (flow 0) and is reliable, so the
    previous result is kept instead of being painted anew every frame."""
    backward = estimate_flow(current, previous)
    forward = estimate_flow(previous, current)
    unreliable = occluded(backward, forward) | motion_boundaries(backward)
    ambiguous = unreliable & unchanged(previous, current)
    backward[ambiguous] = 0.0
    return Motion(backward, (~(unreliable & ~ambiguous)).astype(np.float32))
