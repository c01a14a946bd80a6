import itertools
import math

import pytest

from painterly.cli import main
from painterly.errors import UserError
from painterly.style import schedule
from painterly.style.events import Evaluated
from painterly.style.options import TransferOptions
from painterly.style.presets import apply_preset
from painterly.style.schedule import CostModel, Rung, build, fit_budget, predicted_seconds, taper
from painterly.style.transfer import transfer

from .conftest import synthetic_painting, synthetic_photo


def test_taper_is_geometric_from_coarse_to_final_steps():
    assert taper(5, 160, 10) == [160, 80, 40, 20, 10]
    assert taper(3, 60, 12) == [60, 27, 12]
    assert taper(2, 30, 20) == [30, 20]
    assert taper(1, 160, 7) == [7]
    assert taper(3, 0, 5) == [0, 0, 5]


def test_default_runs_one_scale_up_to_512_px_and_builds_larger_sizes_on_it():
    # a rung below 512 px laid down shapes the final rung could not break up (docs/look.md)
    d = TransferOptions()
    assert build(1024, 768, d.size, d.min_size, d.coarse_steps, d.steps) == [
        Rung((512, 384), d.steps)]
    assert [r.size for r in build(4000, 3000, 2048, d.min_size, d.coarse_steps, d.steps)] == [
        (512, 384), (1024, 768), (2048, 1536)]
    paper = TransferOptions(**apply_preset({"preset": "paper"}))
    assert [r.size for r in build(1024, 768, 512, paper.min_size, paper.coarse_steps,
                                  paper.steps)] == [(256, 192), (512, 384)]

def test_build_puts_most_evaluations_where_they_are_cheap():
    rungs = build(1024, 768, 512, 128, 160, 10, math.sqrt(2))
    assert [r.size for r in rungs] == [(128, 96), (181, 136), (256, 192), (362, 272), (512, 384)]
    assert [r.steps for r in rungs] == [160, 80, 40, 20, 10]
    # a single scale (at or below the ladder's start) gets --steps, whatever --coarse-steps says
    assert build(1024, 768, 192, 256, 60, 12) == [Rung((192, 144), 12)]
    assert build(1024, 768, 256, 256, 60, 12) == [Rung((256, 192), 12)]
    assert build(1024, 768, 256, 256, 0, 12) == [Rung((256, 192), 12)]
    assert build(1024, 768, 512, 512, 60, 300) == [Rung((512, 384), 300)]
    assert build(1024, 768, 192, 256, 60, 300) == [Rung((192, 144), 300)]


def test_budget_plan_fills_the_time_and_keeps_proportions():
    rungs = build(1024, 768, 512, 128, 160, 10, math.sqrt(2))
    cost = CostModel(2e-6)
    planned = fit_budget(rungs, 30.0, cost)
    assert 0.85 * 30 <= predicted_seconds(planned, cost) <= 30
    ratios = [p.steps / r.steps for p, r in zip(planned, rungs, strict=True)]
    assert max(ratios) / min(ratios) < 1.2
    bigger = fit_budget(rungs, 300.0, cost)
    assert bigger[-1].steps > 5 * planned[-1].steps


def test_tiny_budget_skips_the_top_rungs_but_always_runs_something():
    rungs = build(1024, 768, 512, 128, 160, 10, math.sqrt(2))
    planned = fit_budget(rungs, 1.0, CostModel(2e-6))
    assert planned[-1].steps == 0 and planned[0].steps >= 1
    late = fit_budget(rungs[2:], -1.0, CostModel(2e-6), at_least_one=False)
    assert all(r.steps == 0 for r in late)
    assert predicted_seconds(planned, CostModel(2e-6)) <= 1.0
    nothing = fit_budget([Rung((64, 48), 10)], 0.0, CostModel(1.0))
    assert nothing[0].steps == 1


def test_time_budget_ends_the_run_in_time_at_the_size_asked_for():
    events = []
    result = transfer(synthetic_photo(96, 72), synthetic_painting(), size=96, min_size=32,
                      steps=10_000, coarse_steps=10_000, time_budget=3.0,
                      on_event=lambda e: events.append(e) if isinstance(e, Evaluated) else None)
    assert result.image.size == (96, 72)
    times = [0.0] + [e.elapsed for e in events]
    slowest = max(b - a for a, b in itertools.pairwise(times))
    assert result.seconds < 3.0 + 2 * slowest + 0.5  # the budget, give or take an evaluation
    assert result.seconds > 3.0 - 2 * slowest - 0.5  # and the budget filled, not left unused
    assert result.evaluations >= 3
    assert events[-1].eta is not None and events[-1].eta <= 3.0
    assert all(e.total < 10_000 for e in events)  # planned from the budget, not the options


def test_a_rung_slower_than_planned_ends_early_so_the_final_scale_still_runs(monkeypatch):
    measured = schedule.measure_cost
    # the first measurement underestimates the cost tenfold: the first rung is planned far too
    # many evaluations and must give up its share of the time instead of starving the last one
    monkeypatch.setattr(schedule, "measure_cost", lambda *args, **kwargs: CostModel(
        measured(*args, **kwargs).seconds_per_pixel / 10))
    events = []
    result = transfer(synthetic_photo(96, 72), synthetic_painting(), size=96, min_size=48,
                      steps=10_000, coarse_steps=10_000, time_budget=4.0,
                      on_event=lambda e: events.append(e) if isinstance(e, Evaluated) else None)
    first = [e for e in events if e.rung == 0]
    last = [e for e in events if e.rung == e.rungs - 1]
    assert first[-1].step < first[-1].steps  # ended before its plan
    assert len(last) >= 3 and result.image.size == (96, 72)
    assert result.seconds < 4.0 + 1.0


def test_bad_budget_is_a_user_error(capsys, content_file, style_file, tmp_path):
    with pytest.raises(UserError, match="time_budget must be"):
        transfer(synthetic_photo(), synthetic_painting(), size=32, time_budget=-1)
    code = main(["transfer", str(content_file), str(style_file), "-o", str(tmp_path / "o.png"),
                 "--time-budget", "0", "--quiet"])
    assert code == 2 and "--time-budget" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
