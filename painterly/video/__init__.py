"""Style transfer for videos without flicker (after Ruder, Dosovitskiy and Brox 2016).

* :mod:`~painterly.video.reader`: frames of a video file or a folder of images, streamed
* :mod:`~painterly.video.writer`: frames to .mp4 / .webm / .gif / PNG folder, with the audio
* :mod:`~painterly.video.flow`: optical flow, warping, occlusion and motion-boundary masks
* :mod:`~painterly.video.temporal`: the temporal loss
* :mod:`~painterly.video.plan`: evaluations or seconds per frame
* :mod:`~painterly.video.work`: the work folder of finished frames (resuming)
* :mod:`~painterly.video.run`: the frame loop, :func:`~painterly.video.run.video`
* :mod:`~painterly.video.synthetic`: clips with known motion, for tests and benchmarks
"""

from __future__ import annotations

import sys
import types


def video(input, style, output, **options):
    """Stylize a video: see :func:`painterly.video.run.video` (imported on first use, so that
    ``import painterly`` does not load FFmpeg and OpenCV)."""
    from painterly.video.run import video as run

    return run(input, style, output, **options)


class _CallablePackage(types.ModuleType):
    """Lets ``painterly.video(...)`` call :func:`video` while ``painterly.video.reader`` etc.
    stay this package's modules."""

    def __call__(self, input, style, output, **options):
        return video(input, style, output, **options)


sys.modules[__name__].__class__ = _CallablePackage
