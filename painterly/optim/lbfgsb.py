"""L-BFGS-B in PyTorch: bound-constrained limited-memory BFGS on the device of the pixels.

The method of Byrd, Lu, Nocedal and Zhu (1995) as SciPy runs it: a generalized Cauchy point
along the projected gradient path, a quasi-Newton step over the variables left free there
(projected on the box, with the backtracking safeguard of Morales and Nocedal, 2011), and the
line search of Moré and Thuente (sufficient decrease 1e-3, curvature 0.9). The BFGS matrix is
kept in compact form, B = theta I - W M W^T with W = [Y, theta S].

Why not SciPy's own routine: it works on float64 copies on the host, single-threaded and
memory-bound over its history; at 512 px on 2 cores it took 49 ms of every 0.41 s step (and
on a GPU it was the larger part of a step). Here the vectors of length n stay in the pixels'
dtype and on their device, the history is read twice per step (one matrix product gives the
new pair's and the next gradient's products with it, one more forms the step) and the small
2m x 2m matrices are computed in float64 on the host: about 13 ms per step at 512 px. Same
evaluations as SciPy's to rounding (tests compare the two on float64 problems).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

Objective = Callable[[torch.Tensor], tuple[float, torch.Tensor]]
"""Value and gradient (a flat tensor like x) at a flat tensor x."""

SUFFICIENT_DECREASE, CURVATURE, STEP_TOLERANCE = 1e-3, 0.9, 0.1
"""Moré-Thuente line search parameters (SciPy's L-BFGS-B uses the same)."""


def minimize_box(fun: Objective, start: torch.Tensor, *, lower: float = 0.0, upper: float = 1.0,
                 history: int = 10, max_line_search: int = 20) -> str:
    """Minimize ``fun`` over ``lower <= x <= upper`` from ``start`` (flat). Runs until ``fun``
    raises (how callers end it after a number of evaluations) or the method stops, and says
    why it stopped: "converged" (projected gradient zero, or a step that did not lower ``fun``)
    or "line search failed"."""
    x = start.detach().clamp(lower, upper)
    f, g = fun(x)
    memory = _Memory(x.numel(), history, x.dtype, x.device)
    first = True
    while True:
        point = _cauchy_point(x, g, memory, lower, upper)
        if point is None:
            return "converged"
        if memory.count and point.held.numel() < x.numel():
            direction = _subspace_direction(x, g, point, memory, lower, upper)
        else:
            direction = point.vector(x, g, lower, upper).sub_(x)
        found = _line_search(fun, x, f, g, direction, max_line_search, lower, upper,
                             first_iteration=first)
        if found is None:  # restart from an empty memory, as SciPy does, once
            if memory.count == 0:
                return "line search failed"
            memory.reset()
            continue
        first = False
        x_new, f_new, g_new = found
        if f - f_new <= 0:
            return "converged"
        s, y = memory.spare()
        torch.sub(x_new, x, out=s)
        torch.sub(g_new, g, out=y)
        curvature = float(s @ y)
        if curvature > torch.finfo(x.dtype).eps * -float(g @ s):
            memory.add(curvature, g_new)
        x, f, g = x_new, f_new, g_new


class _Memory:
    """The last ``size`` steps s and gradient changes y (one row each in a buffer with a spare
    pair of rows for the next ones), their inner products, and the compact representation's
    theta and middle matrix M. Rows of W = [Y, theta S] are given oldest first."""

    def __init__(self, n: int, size: int, dtype: torch.dtype, device: torch.device):
        self.size = size
        self.rows = torch.zeros(2 * (size + 1), n, dtype=dtype, device=device)
        self.dots = np.zeros((2 * (size + 1),) * 2)  # rows[a] . rows[b], float64
        self.pairs: list[int] = []  # slots in use, oldest first; slot k: rows 2k (s), 2k+1 (y)
        self.free_slots = list(range(size + 1))
        self.theta = 1.0
        self.middle = np.zeros((0, 0))
        self.known: tuple[torch.Tensor, np.ndarray] | None = None  # (v, rows @ v), see wt

    @property
    def count(self) -> int:
        return len(self.pairs)

    def reset(self) -> None:
        self.free_slots += self.pairs
        self.pairs, self.theta, self.middle = [], 1.0, np.zeros((0, 0))

    def spare(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The rows the next s and y are written into (kept only if :meth:`add` follows)."""
        slot = self.free_slots[0]
        return self.rows[2 * slot], self.rows[2 * slot + 1]

    def add(self, curvature: float, gradient: torch.Tensor) -> None:
        """Keep the pair in the spare rows (s . y = ``curvature``), dropping the oldest. The
        products of the buffer with s, y and the new ``gradient`` (kept for :meth:`wt`) come
        from one pass over it: reading it is the step's largest cost after the network."""
        slot = self.free_slots.pop(0)
        if self.count == self.size:
            self.free_slots.append(self.pairs.pop(0))
        self.pairs.append(slot)
        pair = slice(2 * slot, 2 * slot + 2)
        vectors = torch.stack([self.rows[2 * slot], self.rows[2 * slot + 1], gradient])
        products = (self.rows @ vectors.T).double().cpu().numpy()
        self.dots[:, pair], self.dots[pair, :] = products[:, :2], products[:, :2].T
        self.known = gradient, products[:, 2]
        self.theta = self.dots[2 * slot + 1, 2 * slot + 1] / curvature
        self.middle = self._middle()

    def _order(self) -> list[int]:
        """Buffer rows of W's columns: those of Y, then those of S, oldest first."""
        return [2 * k + 1 for k in self.pairs] + [2 * k for k in self.pairs]

    def _middle(self) -> np.ndarray:
        """M = [[-D, L^T], [L, theta S^T S]]^-1 (D: diagonal of S^T Y, L: its strict lower part)."""
        s_rows, y_rows = [2 * k for k in self.pairs], [2 * k + 1 for k in self.pairs]
        sy = self.dots[np.ix_(s_rows, y_rows)]
        ss = self.dots[np.ix_(s_rows, s_rows)]
        lower = np.tril(sy, -1)
        k = np.block([[-np.diag(np.diag(sy)), lower.T], [lower, self.theta * ss]])
        return np.linalg.inv(k)

    def _scales(self) -> np.ndarray:
        return np.concatenate([np.ones(self.count), np.full(self.count, self.theta)])

    def wt(self, vector: torch.Tensor) -> np.ndarray:
        """W^T v (2m values, float64); from :meth:`add`'s products when v is its gradient."""
        if not self.count:
            return np.zeros(0)
        if self.known is not None and self.known[0] is vector:
            products = self.known[1]
        else:
            products = (self.rows @ vector).double().cpu().numpy()
        return products[self._order()] * self._scales()

    def w(self, coefficients: np.ndarray) -> torch.Tensor:
        """W a for 2m coefficients a (a vector of length n)."""
        full = np.zeros(self.rows.shape[0])
        full[self._order()] = coefficients * self._scales()
        return torch.from_numpy(full).to(self.rows) @ self.rows

    def w_rows(self, index: torch.Tensor) -> np.ndarray:
        """Rows ``index`` of W (len(index) x 2m, float64)."""
        chosen = self.rows[:, index][self._order()]
        return chosen.double().cpu().numpy().T * self._scales()

    def wtw(self) -> np.ndarray:
        """W^T W (2m x 2m)."""
        order = self._order()
        return self.dots[np.ix_(order, order)] * np.outer(self._scales(), self._scales())


@dataclass
class _CauchyPoint:
    """x_c = P(x - t g) with the ``held`` variables at ``held_values`` (those at a bound there);
    c = W^T (x_c - x) and W^T g come along for the subspace step."""

    t: float
    c: np.ndarray
    held: torch.Tensor
    held_values: torch.Tensor
    gradient_products: np.ndarray

    def vector(self, x: torch.Tensor, g: torch.Tensor, lower: float,
               upper: float) -> torch.Tensor:
        point = torch.add(x, g, alpha=-self.t).clamp_(lower, upper)
        point[self.held] = self.held_values
        return point


def _cauchy_point(x: torch.Tensor, g: torch.Tensor, memory: _Memory, lower: float,
                  upper: float) -> _CauchyPoint | None:
    """The first local minimizer of the quadratic model along the projected gradient path
    x(t) = P(x - t g); None where the projected gradient is zero.

    Each variable moves along -g until its breakpoint (the time it reaches the bound it heads
    for) and stays there; a variable at a bound with the gradient pointing out does not move.
    On the segment between two breakpoints the model is a parabola whose slope and curvature
    follow from running sums over the variables already stopped, so the segments are scanned
    together: breakpoints below a threshold are sorted and checked at once, and the threshold
    grows until the minimizer is among them."""
    at_bound = torch.nonzero((x <= lower) | (x >= upper)).squeeze(1)
    x_b, g_b = x[at_bound], g[at_bound]
    fixed = at_bound[((x_b <= lower) & (g_b >= 0)) | ((x_b >= upper) & (g_b <= 0))]
    g_fixed = g[fixed]
    gradient_products = memory.wt(g)
    p = -gradient_products  # W^T d with d = -g off the fixed variables, 0 on them
    if fixed.numel() and memory.count:
        p += memory.w_rows(fixed).T @ g_fixed.double().cpu().numpy()
    squared = float(g @ g) - float(g_fixed @ g_fixed)
    if squared <= 0:
        return None
    # breakpoints: t = (x - bound) / g, the bound being the one -g heads for; a zero gradient
    # gives -inf or nan, and fixed variables would give 0: neither is a breakpoint
    times = torch.add(x, g <= 0, alpha=lower - upper).sub_(lower).div_(g)
    times.nan_to_num_(nan=math.inf, neginf=math.inf).index_fill_(0, fixed, math.inf)
    theta, middle = memory.theta, memory.middle
    curvature = theta * squared - p @ middle @ p
    floor = np.finfo(float).eps * curvature
    minimizer = squared / curvature
    if minimizer < float(times.min()):
        t = max(minimizer, 0.0)
        return _CauchyPoint(t, t * p, fixed, x[fixed], gradient_products)

    threshold = 2 * minimizer
    while True:
        candidates = torch.nonzero(times <= threshold).squeeze(1)
        tau, order = torch.sort(times[candidates])
        index = candidates[order]
        scan = (tau.double().cpu().numpy(), -g[index].double().cpu().numpy(),
                memory.w_rows(index), p, squared, theta, middle, floor)
        found = _scan_segments(*scan, horizon=threshold)
        if found is None and candidates.numel() == int((times < math.inf).sum()):
            found = _scan_segments(*scan, horizon=None)  # every breakpoint is among them
        if found is not None:
            break
        threshold *= 4
    stopped, t, c = found
    hit = index[:stopped]
    hit_values = torch.where(g[hit] > 0, x.new_tensor(lower), x.new_tensor(upper))
    return _CauchyPoint(t, c, torch.cat([fixed, hit]), torch.cat([x[fixed], hit_values]),
                        gradient_products)


def _scan_segments(tau: np.ndarray, d: np.ndarray, w: np.ndarray, p: np.ndarray,
                   squared: float, theta: float, middle: np.ndarray, floor: float, *,
                   horizon: float | None) -> tuple[int, float, np.ndarray] | None:
    """Segment j starts at tau[j-1] (0 for j = 0) with the first j breakpoints' variables
    stopped. Returns (j, t, c) for the segment holding the path's first model minimizer, or
    None when it lies past ``horizon`` (the next, unsorted breakpoint is beyond it)."""
    starts = np.concatenate([[0.0], tau])
    remaining = squared - np.concatenate([[0.0], np.cumsum(d * d)])  # sum of d^2 still moving
    ps = p - np.concatenate([np.zeros((1, p.size)), np.cumsum(d[:, None] * w, axis=0)])
    stopped_c = np.concatenate([np.zeros((1, p.size)),
                                np.cumsum((tau * d)[:, None] * w, axis=0)])
    mp = ps @ middle
    cs = stopped_c + starts[:, None] * ps  # W^T (x(t_j) - x)
    slopes = -remaining + theta * starts * remaining - np.einsum("ij,ij->i", mp, cs)
    curvatures = np.maximum(theta * remaining - np.einsum("ij,ij->i", mp, ps), floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        minimizers = np.where(curvatures > 0, -slopes / curvatures, 0.0)
    lengths = np.diff(np.concatenate([starts, [math.inf]]))
    if horizon is None:
        minimizers[-1] = 0.0  # every variable stopped: the path ends at its last breakpoint
    else:
        lengths[-1] = horizon - starts[-1]
    inside = np.nonzero(minimizers < lengths)[0]
    if inside.size == 0:
        return None
    j = int(inside[0])
    t = starts[j] + max(float(minimizers[j]), 0.0)
    return j, t, stopped_c[j] + t * ps[j]


def _subspace_direction(x: torch.Tensor, g: torch.Tensor, point: _CauchyPoint,
                        memory: _Memory, lower: float, upper: float) -> torch.Tensor:
    """Minimize the model over the variables free at the Cauchy point x_c (the held ones
    stay), project the step on the box; if that is no descent direction, shorten the
    unprojected step to stay inside instead. Returns the direction from x to the point found.

    The reduced gradient r = -(g + theta (x_c - x) - W M c) is never formed: its products
    with W follow from W^T g, c and W^T W (less the held rows), and since x_c - x = -t g on
    the free variables, x_c + r / theta + W u / theta^2 - x = W a - g / theta there."""
    theta, middle = memory.theta, memory.middle
    held, t = point.held, point.t
    mc = middle @ point.c
    wtw = memory.wtw()
    v = -(point.gradient_products + theta * point.c - wtw @ mc)  # W^T r over every variable
    if held.numel():
        w_held = memory.w_rows(held)
        x_held, g_held = x[held].double().cpu().numpy(), g[held].double().cpu().numpy()
        r_held = -(g_held + theta * (point.held_values.double().cpu().numpy() - x_held)
                   - w_held @ mc)
        v -= w_held.T @ r_held
        wtw = wtw - w_held.T @ w_held
    u = np.linalg.solve(np.eye(v.size) - middle @ wtw / theta, middle @ v)
    a = mc / theta + u / theta**2
    wa = memory.w(a)  # a pass over the history: shared with the fallback below
    direction = torch.add(wa, g, alpha=-1 / theta)
    direction[held] = point.held_values - x[held]
    direction = direction.add_(x).clamp_(lower, upper).sub_(x)
    if float(direction @ g) <= 0:
        return direction
    cauchy = point.vector(x, g, lower, upper)
    step = wa.add_(g, alpha=t - 1 / theta)  # x_c + step = the unprojected point
    step[held] = 0
    room = _steps_to_bounds(cauchy, step, lower, upper)
    limit = int(torch.argmin(room))
    alpha = min(float(room[limit]), 1.0)
    target = cauchy.add_(step, alpha=alpha)
    if alpha < 1.0:
        target[limit] = upper if float(step[limit]) > 0 else lower
    return target.clamp_(lower, upper).sub_(x)


def _steps_to_bounds(x: torch.Tensor, direction: torch.Tensor, lower: float,
                     upper: float) -> torch.Tensor:
    """For each variable, the t at which x + t d reaches the bound d heads for (inf where d is
    zero)."""
    room = torch.where(direction > 0, upper - x, lower - x).div_(direction)
    return room.nan_to_num_(nan=math.inf, neginf=math.inf)


def _longest_step(x: torch.Tensor, direction: torch.Tensor, lower: float, upper: float) -> float:
    """The largest t >= 1 with x + t d inside the box (capped at 1e10; x + d is inside)."""
    return min(max(float(_steps_to_bounds(x, direction, lower, upper).min()), 1.0), 1e10)


def _line_search(fun: Objective, x: torch.Tensor, f: float, g: torch.Tensor,
                 direction: torch.Tensor, budget: int, lower: float, upper: float, *,
                 first_iteration: bool) -> tuple[torch.Tensor, float, torch.Tensor] | None:
    """Moré-Thuente search along ``direction`` from step 1, at most to the box's edge (at
    most 1 in the first iteration, as SciPy's); None if the direction is no descent direction
    or ``budget`` evaluations do not satisfy it."""
    slope = float(g @ direction)
    if slope >= 0:
        return None
    trial = torch.add(x, direction).clamp_(lower, upper)
    f_trial, g_trial = fun(trial)
    slope_trial = float(g_trial @ direction)
    if _strong_wolfe(f, slope, 1.0, f_trial, slope_trial):
        return trial, f_trial, g_trial  # the usual case, without the search's set-up
    step_max = 1.0 if first_iteration else _longest_step(x, direction, lower, upper)
    search = _MoreThuente(f, slope, 1.0, step_max)
    tries = 1
    while not search.accepts(f_trial, slope_trial):
        if tries == budget:
            return None
        trial = torch.add(x, direction, alpha=search.step).clamp_(lower, upper)
        f_trial, g_trial = fun(trial)
        slope_trial = float(g_trial @ direction)
        tries += 1
    return trial, f_trial, g_trial


def _strong_wolfe(f0: float, slope0: float, step: float, f: float, slope: float) -> bool:
    """Sufficient decrease and a small enough slope at ``step``: the search's goal."""
    return f <= f0 + step * (SUFFICIENT_DECREASE * slope0) and abs(slope) <= CURVATURE * -slope0


class _MoreThuente:
    """The step-length search of Moré and Thuente (1994): finds a step with sufficient decrease
    and a small enough slope, keeping an interval of uncertainty refined by cubic and quadratic
    interpolation. ``accepts(f, slope)`` takes the values at ``step`` and either accepts it or
    sets the next ``step`` to try."""

    def __init__(self, f0: float, slope0: float, step: float, step_max: float):
        self.f0, self.slope0 = f0, slope0
        self.test_slope = SUFFICIENT_DECREASE * slope0
        self.step, self.step_min, self.step_max = step, 0.0, step_max
        self.bracketed, self.stage = False, 1
        self.width = step_max
        self.width_before = 2 * step_max
        self.best = (0.0, f0, slope0)  # step with the lowest value so far: stx, fx, gx
        self.other = (0.0, f0, slope0)  # the interval's other end: sty, fy, gy
        self.low, self.high = 0.0, step + 4.0 * step

    def accepts(self, f: float, slope: float) -> bool:
        step = self.step
        decrease_line = self.f0 + step * self.test_slope
        if self.stage == 1 and f <= decrease_line and slope >= 0:
            self.stage = 2
        if self.bracketed and (step <= self.low or step >= self.high
                               or self.high - self.low <= STEP_TOLERANCE * self.high):
            return True  # no progress possible: take what we have
        if step == self.step_max and f <= decrease_line and slope <= self.test_slope:
            return True
        if step == self.step_min and (f > decrease_line or slope >= self.test_slope):
            return True
        if _strong_wolfe(self.f0, self.slope0, step, f, slope):
            return True
        # in the first stage the function minus the sufficient-decrease line guides the step
        shift = self.test_slope if self.stage == 1 and self.best[1] >= f > decrease_line else 0.0

        def shifted(point: tuple[float, float, float], sign: float) -> tuple[float, float, float]:
            return point[0], point[1] + sign * point[0] * shift, point[2] + sign * shift

        new, best, other = self._next(shifted(self.best, -1), shifted(self.other, -1),
                                      shifted((step, f, slope), -1))
        self.best, self.other = shifted(best, 1), shifted(other, 1)
        stx, sty = self.best[0], self.other[0]
        if self.bracketed:
            if abs(sty - stx) >= 0.66 * self.width_before:
                new = stx + 0.5 * (sty - stx)
            self.width_before, self.width = self.width, abs(sty - stx)
            self.low, self.high = min(stx, sty), max(stx, sty)
        else:
            self.low, self.high = new + 1.1 * (new - stx), new + 4.0 * (new - stx)
        new = min(max(new, self.step_min), self.step_max)
        if self.bracketed and (new <= self.low or new >= self.high
                               or self.high - self.low <= STEP_TOLERANCE * self.high):
            new = stx
        self.step = new
        return False

    def _next(self, best: tuple[float, float, float], other: tuple[float, float, float],
              trial: tuple[float, float, float]
              ) -> tuple[float, tuple[float, float, float], tuple[float, float, float]]:
        """One safeguarded interpolation step (Moré-Thuente's four cases): the next trial step
        and the interval's new ends (best, other); updates ``bracketed``."""
        stx, fx, dx = best
        sty, fy, dy = other
        stp, fp, dp = trial
        low, high = self.low, self.high
        sign = dp * math.copysign(1.0, dx)
        if fp > fx:  # higher value: a minimizer is bracketed
            gamma, theta = _cubic_terms(stx, fx, dx, stp, fp, dp, stp < stx)
            r = ((gamma - dx) + theta) / (((gamma - dx) + gamma) + dp)
            cubic = stx + r * (stp - stx)
            quadratic = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2) * (stp - stx)
            new = cubic if abs(cubic - stx) < abs(quadratic - stx) else \
                cubic + (quadratic - cubic) / 2
            self.bracketed = True
        elif sign < 0:  # slopes of opposite sign: bracketed
            gamma, theta = _cubic_terms(stx, fx, dx, stp, fp, dp, stp > stx)
            r = ((gamma - dp) + theta) / (((gamma - dp) + gamma) + dx)
            cubic = stp + r * (stx - stp)
            secant = stp + (dp / (dp - dx)) * (stx - stp)
            new = cubic if abs(cubic - stp) > abs(secant - stp) else secant
            self.bracketed = True
        elif abs(dp) < abs(dx):  # the slope's magnitude decreases
            gamma, theta = _cubic_terms(stx, fx, dx, stp, fp, dp, stp > stx)
            r = ((gamma - dp) + theta) / ((gamma + (dx - dp)) + gamma)
            cubic = stp + r * (stx - stp) if r < 0 and gamma != 0 else (high if stp > stx else low)
            secant = stp + (dp / (dp - dx)) * (stx - stp)
            if self.bracketed:
                new = cubic if abs(cubic - stp) < abs(secant - stp) else secant
                limit = stp + 0.66 * (sty - stp)
                new = min(limit, new) if stp > stx else max(limit, new)
            else:
                new = cubic if abs(cubic - stp) > abs(secant - stp) else secant
                new = max(low, min(high, new))
        elif self.bracketed:  # the slope does not decrease: cubic through the other end
            gamma, theta = _cubic_terms(sty, fy, dy, stp, fp, dp, stp > sty)
            r = ((gamma - dp) + theta) / (((gamma - dp) + gamma) + dy)
            new = stp + r * (sty - stp)
        else:
            new = high if stp > stx else low
        if fp > fx:
            sty, fy, dy = stp, fp, dp
        else:
            if sign < 0:
                sty, fy, dy = stx, fx, dx
            stx, fx, dx = stp, fp, dp
        return new, (stx, fx, dx), (sty, fy, dy)


def _cubic_terms(s1: float, f1: float, d1: float, s2: float, f2: float, d2: float,
                 flip: bool) -> tuple[float, float]:
    """gamma and theta of the cubic interpolating (s1, f1, d1) and (s2, f2, d2)."""
    theta = 3 * (f1 - f2) / (s2 - s1) + d1 + d2
    scale = max(abs(theta), abs(d1), abs(d2))
    gamma = scale * math.sqrt(max(0.0, (theta / scale) ** 2 - (d1 / scale) * (d2 / scale)))
    return (-gamma if flip else gamma), theta
