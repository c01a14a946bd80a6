"""Every loader of untrusted bytes, fuzzed briefly (marker ``fuzz``; a few seconds each): random
bytes and mutations of valid seeds either load or are refused with the loader's clean error.
Longer, coverage-guided runs: ``benchmarks/fuzz.py``. Crashes found become regression tests in
``test_fuzz_regressions.py``."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz_targets import TARGETS

pytestmark = [pytest.mark.fuzz,
              pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")]

EXAMPLES = {"image": 250, "mask": 250, "init": 250, "idx": 400, "gz": 400, "weights": 300,
            "run-record": 2000, "upload-record": 2000, "request": 1000, "manifest": 1000,
            "clip": 200}
"""Inputs per target in the test suite (about 3-5 s each on one core)."""

EDITS = st.lists(st.tuples(st.sampled_from(("set", "insert", "delete", "cut")),
                           st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8)


def mutate(seed: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    data = bytearray(seed)
    for edit, where, value in edits:
        at = where % (len(data) + 1)
        if edit == "set" and data:
            data[at % len(data)] = value
        elif edit == "insert":
            data[at:at] = bytes([value]) * (1 + value % 4)
        elif edit == "delete":
            del data[at:at + 1 + value % 16]
        elif edit == "cut":
            del data[at:]
    return bytes(data)


def inputs(name: str) -> st.SearchStrategy[bytes]:
    seeds = TARGETS[name].seeds()
    return st.one_of(st.binary(max_size=512),
                     st.builds(mutate, st.sampled_from(seeds), EDITS),
                     st.sampled_from(seeds))


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_loader_refuses_bad_bytes_cleanly(name):
    target = TARGETS[name]

    @settings(max_examples=EXAMPLES[name], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(inputs(name))
    def check(data: bytes) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            target(data)

    check()
