"""Inputs that once crashed a loader (found by tests/test_fuzz.py or benchmarks/fuzz.py), kept
as they were found: each must now be refused with one clean line."""

from __future__ import annotations

import io
import pickle
import warnings

import pytest
import torch

from painterly.errors import UserError
from tests.fuzz_targets import TARGETS


def weights_file(state) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "message"), [
    (b"", "weights file"),  # torch's EOFError has no message: IndexError on its first line
    (weights_file({"features.0.weight": 1, "features.0.bias": 2}), "not a VGG-19 state dict"),
    (weights_file({1: torch.zeros(1)}), "not a VGG-19 state dict"),  # a key that is no text
    (pickle.dumps({"a": 1}, protocol=4), "a pickle of Python objects"),  # torch warned 3 lines
])
def test_weights_files_that_crashed(data, message):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserError, match=message) as raised:
            TARGETS["weights"].run(data)
    assert "\n" not in str(raised.value) and "weights_only" not in str(raised.value)
