"""Confidence intervals for the numbers a run shows: success rates, mean scores and paired differences.

Test sets are small (16 prompts in the CPU preset), so a success rate alone says little: 0.562 on
16 tasks is anything from 0.33 to 0.77. Every rate gets its 95% interval, and every comparison of
two variants evaluated on the same tasks gets a paired bootstrap interval of the difference:

    >>> wilson(5, 10).text()
    '0.500 [0.237, 0.763] (n=10)'
    >>> d = paired_difference({"a": 1, "b": 1, "c": 0}, {"a": 0, "b": 1, "c": 0})
    >>> d.estimate, d.n, d.verdict in ("above 0", "below 0", "noise")
    (0.3333333333333333, 3, True)

Intervals:

* `wilson(k, n)`: the Wilson score interval of a success rate (k successes of n), good at small n
  and at rates near 0 or 1, where the normal interval leaves [0, 1].
* `bootstrap_mean(values)`: the percentile bootstrap of a mean over tasks (e.g. mean env score).
* `paired_difference(treatment, control)`: the two variants' outcomes are matched by task id, and
  the tasks are resampled together, so what varies is only the per-task difference. Tasks present
  on one side only are dropped and counted (`Difference.dropped`).
* `pooled_mean`, `pooled_paired_difference`: the same over several seeds, by a stratified bootstrap
  (each seed's tasks are resampled within that seed; the estimate pools all tasks).

Bootstraps are seeded (`seed`, default 0), so the same data always gives the same interval. Pure
python and numpy: no torch, no scipy.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

#: Default number of bootstrap resamples.
RESAMPLES = 10_000
#: Default confidence level.
LEVEL = 0.95
#: Resamples drawn per block (bounds memory at about BLOCK x tasks integers).
_BLOCK = 1_000


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval, over `n` tasks (or episodes)."""

    estimate: float
    low: float
    high: float
    n: int

    def text(self, fmt: str = ".3f") -> str:
        """`0.562 [0.332, 0.769] (n=16)`; `fmt` formats the three numbers (e.g. `.1%`)."""
        return f"{self.estimate:{fmt}} [{self.low:{fmt}}, {self.high:{fmt}}] (n={self.n})"


@dataclass(frozen=True)
class Difference(Interval):
    """A paired difference treatment - control over the `n` tasks both sides were evaluated on.

    Attributes:
        dropped: Tasks evaluated by one side only, left out of the comparison (treatment side,
            control side).
    """

    dropped: tuple[int, int] = (0, 0)

    @property
    def verdict(self) -> str:
        """`above 0` or `below 0` when the interval excludes 0, else `noise`."""
        if self.low > 0:
            return "above 0"
        if self.high < 0:
            return "below 0"
        return "noise"

    def text(self, fmt: str = "+.3f") -> str:
        """`+0.125 [-0.188, +0.438] (n=16) noise`, plus the dropped tasks when there are any."""
        unmatched = sum(self.dropped)
        dropped = f"; {unmatched} unmatched task{'s' if unmatched > 1 else ''} dropped" if unmatched else ""
        return f"{self.estimate:{fmt}} [{self.low:{fmt}}, {self.high:{fmt}}] (n={self.n}{dropped}) {self.verdict}"


def z_value(level: float = LEVEL) -> float:
    """The two-sided normal quantile of a confidence level (1.959964 for 0.95)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}.")
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson(k: int, n: int, *, level: float = LEVEL) -> Interval:
    """The Wilson score interval of a success rate: `k` successes out of `n`.

    Raises:
        ValueError: n < 1, or k outside [0, n].
    """
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"wilson needs 0 <= k <= n and n >= 1, got k={k}, n={n}.")
    z2 = z_value(level) ** 2
    p = k / n
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = math.sqrt(z2) / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low = 0.0 if k == 0 else max(0.0, centre - half)  # exact at the ends (the formula leaves an ulp)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Interval(p, low, high, n)


def _stratified_bootstrap(groups: Sequence[np.ndarray], resamples: int, seed: int, level: float) -> tuple[float, float, float]:
    """(pooled mean, low, high): each group is resampled with replacement within itself."""
    groups = [np.asarray(g, dtype=float) for g in groups if len(g)]
    total = sum(len(g) for g in groups)
    if not total:
        raise ValueError("a bootstrap needs at least one value.")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}.")
    rng = np.random.default_rng(seed)
    sums = np.zeros(resamples)
    for start in range(0, resamples, _BLOCK):
        size = min(_BLOCK, resamples - start)
        for g in groups:
            sums[start:start + size] += g[rng.integers(0, len(g), size=(size, len(g)))].sum(axis=1)
    means = sums / total
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    estimate = float(sum(g.sum() for g in groups) / total)
    # a constant sample resamples to itself: keep its interval exact (float sums can wobble by an ulp)
    if all(np.all(g == g[0]) for g in groups) and len({float(g[0]) for g in groups}) == 1:
        low = high = estimate
    return estimate, float(low), float(high)


def bootstrap_mean(values: Sequence[float], *, resamples: int = RESAMPLES, seed: int = 0, level: float = LEVEL) -> Interval:
    """Percentile bootstrap interval of the mean of `values` (one value per task)."""
    return pooled_mean([values], resamples=resamples, seed=seed, level=level)


def pooled_mean(groups: Sequence[Sequence[float]], *, resamples: int = RESAMPLES, seed: int = 0, level: float = LEVEL) -> Interval:
    """The mean over all values of several groups (seeds), with a bootstrap stratified by group."""
    estimate, low, high = _stratified_bootstrap([np.asarray(g, dtype=float) for g in groups], resamples, seed, level)
    return Interval(estimate, low, high, sum(len(g) for g in groups))


def _matched(treatment: Mapping[str, float], control: Mapping[str, float]) -> tuple[np.ndarray, tuple[int, int]]:
    common = [t for t in treatment if t in control]
    diffs = np.array([float(treatment[t]) - float(control[t]) for t in common])
    return diffs, (len(treatment) - len(common), len(control) - len(common))


def paired_difference(treatment: Mapping[str, float], control: Mapping[str, float], *, resamples: int = RESAMPLES, seed: int = 0,
                      level: float = LEVEL) -> Difference:
    """Mean of treatment - control over the task ids both hold, with a paired bootstrap interval.

    Args:
        treatment: Task id -> outcome (1/0 success, or a score) of the variant compared.
        control: The same for the variant it is compared with.

    Raises:
        ValueError: the two sides share no task id.
    """
    return pooled_paired_difference([(treatment, control)], resamples=resamples, seed=seed, level=level)


def pooled_paired_difference(pairs: Sequence[tuple[Mapping[str, float], Mapping[str, float]]], *, resamples: int = RESAMPLES,
                             seed: int = 0, level: float = LEVEL) -> Difference:
    """`paired_difference` pooled over several seeds: one (treatment, control) pair of outcomes per seed.

    Tasks are matched within each seed; the estimate is the mean difference over all matched tasks,
    and the bootstrap resamples each seed's tasks within that seed (stratified).
    """
    matched = [_matched(t, c) for t, c in pairs]
    diffs = [d for d, _ in matched]
    n = sum(len(d) for d in diffs)
    if not n:
        raise ValueError("the two variants share no task id: nothing to compare.")
    estimate, low, high = _stratified_bootstrap(diffs, resamples, seed, level)
    dropped = (sum(d[0] for _, d in matched), sum(d[1] for _, d in matched))
    return Difference(estimate, low, high, n, dropped)


def per_task(records: Iterable[Any], value: Callable[[Any], float] = lambda t: float(t.success)) -> dict[str, float]:
    """Task id -> `value` of its records (averaged when a task has several), from anything with `task_id`."""
    values: dict[str, list[float]] = defaultdict(list)
    for record in records:
        values[str(record.task_id)].append(float(value(record)))
    return {task: sum(v) / len(v) for task, v in values.items()}
