"""A painted start for the pixels of a frame that the previous result cannot give (disoccluded by a
moving object, or entered at the frame's edge).

Starting them from the frame's own recoloured pixels leaves them flat and pale: a later frame's
few evaluations do not paint them, and from the next frame on the warp and the temporal loss keep
them as they are, so a pale trail grows along every path of motion. Here they start from what the
rest of the painting does instead: their colours are the frame's, mapped the way the previous
result maps the photo's colours (a linear map with a constant, fitted by least squares on the
reliable pixels at the scale of the strokes, its output then stretched to the mean and
covariance of the result's colours there: a least-squares fit alone shrinks colours towards their
mean, pale again), and their strokes are the previous result's texture mirrored across the
nearest reliable pixel (a thin band beside a painted region continues that region's strokes)."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from painterly.style import color

STROKE_SIGMA = 2.0
"""Gaussian blur (pixels) that separates a result's colours (below) from its strokes (above)."""
MIN_RELIABLE = 64
"""Fewer reliable pixels than this: nothing to fit the colour map on (None is returned)."""


def painted_fill(frame: np.ndarray, warped: np.ndarray, reliable: np.ndarray
                 ) -> np.ndarray | None:
    """The start of every pixel from ``frame`` ((H, W, 3) uint8) and ``warped`` (the previous
    result moved to this frame, (H, W, 3) float32 0..1), where ``reliable`` ((H, W), 1 or 0)
    says which warped pixels hold; the caller uses it where they do not. (H, W, 3) float32
    0..1, or None when too few pixels are reliable to learn from."""
    keep = reliable > 0.5
    if keep.sum() < MIN_RELIABLE:
        return None
    photo, painted = _blur(frame.astype(np.float32) / 255), _blur(warped)
    predicted = np.concatenate([photo, np.ones_like(photo[..., :1])], axis=-1) @ _colour_map(
        photo[keep], painted[keep])
    matrix, offset = (t.float().numpy() for t in color.colour_transform(
        _as_image(predicted[keep]), _as_image(painted[keep])))
    base = predicted @ matrix.T + offset[:, 0]
    rows, columns = _mirrored_sources(keep)
    strokes = warped - painted
    return np.clip(base + strokes[rows, columns], 0, 1).astype(np.float32)


def _colour_map(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(4, 3) least-squares map of (N, 3) ``source`` colours plus a constant onto ``target``."""
    design = np.concatenate([source, np.ones_like(source[:, :1])], axis=1)
    ridge = 1e-3 * np.eye(4, dtype=np.float32)
    return np.linalg.solve(design.T @ design + ridge * len(design), design.T @ target)


def _as_image(colours: np.ndarray) -> torch.Tensor:
    """(N, 3) colours as a (1, 3, N, 1) tensor."""
    return torch.from_numpy(np.ascontiguousarray(colours.T))[None, :, :, None]


def _blur(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), STROKE_SIGMA, borderType=cv2.BORDER_REFLECT)


def _mirrored_sources(keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every pixel, where its strokes come from: itself where ``keep``; elsewhere its
    reflection across the nearest kept pixel, or that pixel when the reflection is not kept."""
    height, width = keep.shape
    _, labels = cv2.distanceTransformWithLabels((~keep).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    kept_rows, kept_columns = np.nonzero(keep)
    lookup_rows = np.zeros(labels.max() + 1, int)
    lookup_columns = np.zeros(labels.max() + 1, int)
    lookup_rows[labels[keep]], lookup_columns[labels[keep]] = kept_rows, kept_columns
    near_rows, near_columns = lookup_rows[labels], lookup_columns[labels]
    rows, columns = np.mgrid[0:height, 0:width]
    mirror_rows = np.clip(2 * near_rows - rows, 0, height - 1)
    mirror_columns = np.clip(2 * near_columns - columns, 0, width - 1)
    usable = keep[mirror_rows, mirror_columns]
    return (np.where(usable, mirror_rows, near_rows),
            np.where(usable, mirror_columns, near_columns))
