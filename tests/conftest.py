"""Shared fixtures: small synthetic images, so the suite needs nothing outside the repository."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image


def synthetic_photo(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    """A smooth image with a few shapes: enough structure for the network to see."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    red = 0.5 + 0.4 * np.sin(6 * x + 3 * y)
    green = 0.5 + 0.4 * np.cos(5 * y - 2 * x)
    blue = 0.3 + 0.5 * (x > 0.5)
    pixels = np.stack([red, green, blue], axis=-1) + rng.normal(0, 0.02, (height, width, 3))
    return Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), "RGB")


def synthetic_painting(width: int = 64, height: int = 64, seed: int = 1) -> Image.Image:
    """Strong diagonal strokes in saturated colours."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    stripes = ((x + y) // 4) % 2
    pixels = np.where(stripes[..., None] == 1, [0.9, 0.7, 0.1], [0.1, 0.2, 0.8])
    pixels = pixels + rng.normal(0, 0.05, (height, width, 3))
    return Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), "RGB")


def synthetic_town(width: int = 512, height: int = 384) -> Image.Image:
    """A row of houses (walls, roofs, windows) on a meadow under a sky: a scene whose parts a
    stylized result either keeps or paints over."""
    y, x = np.mgrid[0:height, 0:width] / height
    pixels = np.stack([0.55 + 0.2 * y, 0.7 + 0.1 * y, 0.95 - 0.1 * y], axis=-1)
    pixels[y > 0.62] = [0.25, 0.35, 0.15]
    for index, left in enumerate(np.arange(0.08, width / height - 0.3, 0.42)):
        top = 0.25 + 0.06 * (index % 3)
        pixels[(x > left) & (x < left + 0.3) & (y > top) & (y < 0.7)] = [0.95, 0.9, 0.75]
        pixels[(y > top - 0.12) & (y <= top)
               & (np.abs(x - left - 0.15) < (y - top + 0.12) * 1.3)] = [0.6, 0.15, 0.1]
        for offset in (0.07, 0.18):
            pixels[(x > left + offset) & (x < left + offset + 0.05) & (y > top + 0.1)
                   & (y < top + 0.2)] = [0.1, 0.1, 0.2]
    return Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), "RGB")


@pytest.fixture
def one_thread():
    """One torch thread for the test: the reductions, and so the pixels, do not depend on the
    machine (and match Ray actors or batch workers run with one thread)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def content_file(tmp_path):
    path = tmp_path / "content.png"
    synthetic_photo().save(path)
    return path


@pytest.fixture
def style_file(tmp_path):
    path = tmp_path / "style.png"
    synthetic_painting().save(path)
    return path


@pytest.fixture
def make_client(tmp_path):
    """Web app clients on a data folder in ``tmp_path`` (settings passed to ``create_app``),
    closed after the test."""
    from starlette.testclient import TestClient

    from painterly.web import create_app

    clients = []

    def make(**settings) -> TestClient:
        settings.setdefault("snapshot_seconds", 0.0)
        client = TestClient(create_app(tmp_path / "data", **settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
