"""painterly's L-BFGS-B against SciPy's (the reference implementation) on float64 problems."""

import contextlib
import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from painterly.optim.lbfgsb import minimize_box


class Spent(Exception):
    pass


def wavy_quadratic(n: int = 60, seed: int = 0):
    """A non-convex function whose minimizer has some variables at the bounds."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    hessian = a @ a.T / n + 0.05 * np.eye(n)
    b = rng.normal(size=n) * 2

    def f(x):
        r = x - 0.5
        return (0.5 * r @ hessian @ r + b @ x + 0.3 * np.sin(5 * x).sum(),
                hessian @ r + b + 1.5 * np.cos(5 * x))

    return f, rng.uniform(0, 1, n), 1.0


def rosenbrock_chain(n: int = 40, seed: int = 1):
    """Rosenbrock's valley in a box that cuts it: many steps need the line search's help."""
    rng = np.random.default_rng(seed)

    def f(x):
        y = 3 * x - 1
        gy = np.zeros_like(y)
        gy[1:] += 200 * (y[1:] - y[:-1] ** 2)
        gy[:-1] += -400 * y[:-1] * (y[1:] - y[:-1] ** 2) - 2 * (1 - y[:-1])
        return np.sum(100 * (y[1:] - y[:-1] ** 2) ** 2 + (1 - y[:-1]) ** 2), 3 * gy

    return f, rng.uniform(0, 1, n), 0.6


def values_of_scipy(f, start, upper, history, evaluations):
    values = []

    def fun(x):
        value, gradient = f(x)
        values.append(value)
        return value, gradient

    minimize(fun, start, jac=True, method="L-BFGS-B", bounds=[(0, upper)] * start.size,
             options={"maxcor": history, "maxfun": evaluations, "maxiter": 10 * evaluations,
                      "ftol": 0, "gtol": 0})
    return values


def values_of_painterly(f, start, upper, history, evaluations):
    values, points = [], []

    def fun(x):
        if len(values) == evaluations:
            raise Spent
        points.append(x.clone())
        value, gradient = f(x.numpy())
        values.append(value)
        return value, torch.from_numpy(gradient)

    with contextlib.suppress(Spent):
        minimize_box(fun, torch.from_numpy(start), upper=upper, history=history)
    return values, points


@pytest.mark.parametrize("problem, history, evaluations", [
    (wavy_quadratic, 3, 25), (wavy_quadratic, 10, 25), (rosenbrock_chain, 5, 30)])
def test_same_evaluations_as_scipy(problem, history, evaluations):
    """Evaluation for evaluation the same values, until both stall at rounding level."""
    f, start, upper = problem()
    reference = values_of_scipy(f, start, upper, history, evaluations)
    ours, points = values_of_painterly(f, start, upper, history, evaluations)
    assert len(reference) >= evaluations and len(ours) == evaluations  # SciPy may take one more
    np.testing.assert_allclose(ours, reference[:evaluations], rtol=1e-9, atol=1e-9)
    assert all(float(x.min()) >= 0 and float(x.max()) <= upper for x in points)
    assert any(float(x.min()) == 0 for x in points) and any(float(x.max()) == upper
                                                            for x in points)
    if problem is rosenbrock_chain:  # rejected trials: the line search's interpolation ran
        assert any(later > earlier for earlier, later in itertools.pairwise(ours))


def test_float32_stays_in_the_box_and_reports_convergence():
    target = torch.linspace(-0.5, 1.5, 1000)  # a third of the minimizer outside [0, 1]
    calls = []

    def fun(x):
        calls.append(x.clone())
        return float(((x - target) ** 2).sum()), 2 * (x - target)

    why = minimize_box(fun, torch.full((1000,), 0.5), history=5)
    assert why == "converged" and len(calls) < 30
    assert all(x.dtype == torch.float32 and x.min() >= 0 and x.max() <= 1 for x in calls)
    torch.testing.assert_close(calls[-1], target.clamp(0, 1), atol=1e-5, rtol=0)


def test_the_objectives_exception_ends_the_run():
    def fun(x):
        raise Spent

    with pytest.raises(Spent):
        minimize_box(fun, torch.zeros(4))


LINE_FUNCTIONS = {
    "rational": (lambda a: -a / (a * a + 2), lambda a: (a * a - 2) / (a * a + 2) ** 2),
    "quintic": (lambda a: (a + 0.004) ** 5 - 2 * (a + 0.004) ** 4,
                lambda a: 5 * (a + 0.004) ** 4 - 8 * (a + 0.004) ** 3),
    "wiggly": (lambda a: -a + 0.08 * (1 - np.cos(15 * a)) + 0.02 * a * a,
               lambda a: -1 + 1.2 * np.sin(15 * a) + 0.04 * a),
}


@pytest.mark.parametrize("name", LINE_FUNCTIONS)
@pytest.mark.parametrize("step", [1e-3, 0.1, 1.0, 10.0, 1000.0])
def test_line_search_tries_the_steps_of_minpacks(name, step):
    """The same trial steps as MINPACK-2's dcsrch (SciPy's copy) with L-BFGS-B's settings."""
    linesearch = pytest.importorskip("scipy.optimize._linesearch")
    from painterly.optim.lbfgsb import _MoreThuente

    phi, derivative = LINE_FUNCTIONS[name]
    expected = []

    def recorded(a):
        if not expected or expected[-1] != a:
            expected.append(a)
        return phi(a)

    dcsrch = linesearch.DCSRCH(recorded, derivative, 1e-3, 0.9, 0.1, 0.0, 2000.0)
    dcsrch(step, phi0=phi(0.0), derphi0=derivative(0.0), maxiter=30)
    search = _MoreThuente(phi(0.0), derivative(0.0), step, 2000.0)
    tried = [search.step]
    while not search.accepts(phi(tried[-1]), derivative(tried[-1])) and len(tried) < 30:
        tried.append(search.step)
    tried = [a for i, a in enumerate(tried) if i == 0 or a != tried[i - 1]]  # as recorded
    assert len(tried) == len(expected)
    np.testing.assert_allclose(tried, expected, rtol=1e-12)


@pytest.mark.parametrize("seed, stiff", [(seed, False) for seed in range(5)] + [(0, True)])
def test_cauchy_point_is_the_first_minimizer_along_the_projected_path(seed, stiff):
    """Against the model itself, sampled finely along P(x - t g) with B built explicitly.
    ``stiff``: the steep, strongly curved variables start next to the bound they head for, so
    the path runs far past the first segment's minimizer (the breakpoint scan must widen)."""
    from painterly.optim.lbfgsb import _cauchy_point, _Memory

    rng = np.random.default_rng(seed)
    n = 200
    x = torch.from_numpy(rng.uniform(0, 1, n))
    x[:20] = 0.0  # some at a bound, some of those held there by the gradient
    g = torch.from_numpy(rng.normal(size=n) * 10 ** rng.uniform(-3, 1, n))
    pairs = []
    for _ in range(4):
        s = torch.from_numpy(rng.normal(size=n))
        pairs.append((s, s * torch.from_numpy(rng.uniform(0.1, 10, n))
                      + 0.1 * torch.from_numpy(rng.normal(size=n))))
    if stiff:  # an old pair: large curvature along the steep variables; the last one: small
        g[20:60] = 50.0
        x[20:60] = torch.from_numpy(rng.uniform(1e-4, 1e-3, 40))
        s = torch.zeros(n, dtype=torch.float64)
        s[20:60] = 1.0
        pairs = [(s, 1e4 * s), (pairs[0][0], 0.1 * pairs[0][0])]
    memory = _Memory(n, 4, torch.float64, "cpu")
    for s, y in pairs:
        memory.spare()[0].copy_(s)
        memory.spare()[1].copy_(y)
        memory.add(float(s @ y), g)
    w = memory.w_rows(torch.arange(n))
    b = memory.theta * np.eye(n) - w @ memory.middle @ w.T
    point = _cauchy_point(x, g, memory, 0.0, 1.0)
    cauchy = point.vector(x, g, 0.0, 1.0).numpy()

    def model(t):
        z = np.clip(x.numpy() - t * g.numpy(), 0, 1) - x.numpy()
        return g.numpy() @ z + 0.5 * z @ b @ z

    times = np.linspace(0, 4 * point.t + 1e-3, 40001)
    values = np.array([model(t) for t in times])
    first = np.argmax(np.diff(values) > 1e-12 * np.abs(values).max())  # first rise
    assert point.t == pytest.approx(times[first], abs=2 * (times[1] - times[0]))
    np.testing.assert_allclose(cauchy, np.clip(x.numpy() - point.t * g.numpy(), 0, 1),
                               atol=1e-12)
    np.testing.assert_allclose(point.c, w.T @ (cauchy - x.numpy()), rtol=1e-9, atol=1e-9)


def test_a_failing_line_search_restarts_the_memory_then_gives_up():
    """On a slope that never levels off (the box far away) the search keeps extrapolating
    until its budget is spent: the memory is dropped once, then the run ends."""
    evaluations = []

    def fun(x):
        evaluations.append(x.clone())
        if len(evaluations) <= 3:  # a bowl first, so that the memory fills
            return float(((x - 5) ** 2).sum()), 2 * (x - 5)
        return -float(x.sum()), -torch.ones_like(x)

    why = minimize_box(fun, torch.zeros(10, dtype=torch.float64), upper=1e30, history=5,
                       max_line_search=8)
    assert why == "line search failed" and 3 + 8 < len(evaluations) <= 3 + 2 * 8
