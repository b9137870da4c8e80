"""rerest_agents.stats: Wilson intervals against independent computations, paired and pooled bootstraps."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from rerest_agents import stats
from rerest_agents.stats import (Difference, bootstrap_mean, paired_difference, per_task, pooled_mean, pooled_paired_difference,
                                 wilson)


def _wilson_by_quadratic(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson bounds as the roots in p of (k/n - p)^2 = z^2 p (1 - p) / n (the test's definition)."""
    phat = k / n
    # (1 + z^2/n) p^2 - (2 phat + z^2/n) p + phat^2 = 0
    roots = np.roots([1 + z * z / n, -(2 * phat + z * z / n), phat * phat])
    return float(min(roots.real)), float(max(roots.real))


def test_wilson_known_values():
    none = wilson(0, 10)
    assert none.estimate == 0.0 and none.low == 0.0 and none.n == 10
    assert none.high == pytest.approx(0.27753, abs=1e-5)  # published value for 0/10
    half = wilson(5, 10)
    assert (half.low, half.high) == (pytest.approx(0.23659, abs=1e-5), pytest.approx(0.76341, abs=1e-5))
    assert half.text() == "0.500 [0.237, 0.763] (n=10)"
    assert wilson(10, 10).high == 1.0 and wilson(10, 10).low == pytest.approx(1 - none.high)


@pytest.mark.parametrize("k,n", [(0, 10), (1, 10), (5, 10), (9, 16), (16, 16), (3, 500), (250, 500)])
def test_wilson_matches_the_quadratic(k, n):
    interval = wilson(k, n)
    low, high = _wilson_by_quadratic(k, n)
    assert interval.low == pytest.approx(max(0.0, low), abs=1e-9)
    assert interval.high == pytest.approx(min(1.0, high), abs=1e-9)
    assert interval.low <= k / n <= interval.high


def test_wilson_rejects_impossible_counts():
    for k, n in ((0, 0), (3, 2), (-1, 4)):
        with pytest.raises(ValueError, match="wilson needs"):
            wilson(k, n)
    assert wilson(5, 10, level=0.99).high > wilson(5, 10).high


def _variants(n: int, p_control: float, p_treatment: float, seed: int) -> tuple[dict[str, float], dict[str, float]]:
    rng = np.random.default_rng(seed)
    u = rng.random(n)  # shared per-task difficulty: the treatment solves every task the control solves
    control = {f"t{i}": float(u[i] < p_control) for i in range(n)}
    treatment = {f"t{i}": float(u[i] < p_treatment) for i in range(n)}
    return treatment, control


def test_paired_bootstrap_covers_the_true_difference_and_is_deterministic():
    covered = 0
    for seed in range(20):
        treatment, control = _variants(200, 0.3, 0.45, seed)
        d = paired_difference(treatment, control, resamples=2000, seed=seed)
        covered += d.low <= 0.15 <= d.high
        assert d.low < d.estimate < d.high and d.n == 200 and d.dropped == (0, 0)
    assert covered >= 17  # 95% intervals: 19 of 20 expected
    treatment, control = _variants(200, 0.3, 0.45, 0)
    first = paired_difference(treatment, control, seed=7)
    assert first == paired_difference(treatment, control, seed=7)
    coarse = [paired_difference(treatment, control, resamples=50, seed=s) for s in (7, 8)]
    assert coarse[0] != coarse[1]  # the seed does drive the resampling (10,000 resamples land on the same grid points)
    assert first.verdict == "above 0"
    assert paired_difference(control, treatment, seed=7).verdict == "below 0"


def test_paired_difference_of_identical_variants_is_exactly_zero():
    treatment, _ = _variants(50, 0.3, 0.5, 1)
    d = paired_difference(treatment, dict(treatment))
    assert (d.estimate, d.low, d.high) == (0.0, 0.0, 0.0)
    assert d.verdict == "noise"
    assert "noise" in d.text()


def test_pairing_matters_and_unmatched_tasks_are_dropped():
    # the treatment wins exactly the control's tasks plus 10 more: paired, the gain is clear, although
    # the two rates' own intervals overlap
    control = {f"t{i}": float(i < 20) for i in range(60)}
    treatment = {f"t{i}": float(i < 30) for i in range(60)}
    paired = paired_difference(treatment, control)
    assert paired.estimate == pytest.approx(1 / 6) and paired.low > 0
    assert wilson(20, 60).high > wilson(30, 60).low
    treatment["extra"] = 1.0
    del control["t59"]
    control["other"], control["other2"] = 0.0, 1.0
    d = paired_difference(treatment, control)
    assert d.n == 59 and d.dropped == (2, 2)
    assert "(n=59; 4 unmatched tasks dropped)" in d.text()
    with pytest.raises(ValueError, match="share no task id"):
        paired_difference({"a": 1.0}, {"b": 0.0})


def test_bootstrap_mean_and_pooled_mean():
    scores = [0.0, 0.25, 0.5, 0.75, 1.0] * 20
    m = bootstrap_mean(scores, seed=3)
    assert m.estimate == pytest.approx(0.5) and m.low < 0.5 < m.high and m.n == 100
    assert m == bootstrap_mean(scores, seed=3)
    assert bootstrap_mean([0.4] * 9) == stats.Interval(0.4, 0.4, 0.4, 9)
    pooled = pooled_mean([[1.0] * 10, [0.0] * 30])
    assert pooled.estimate == 0.25 and pooled.n == 40
    # stratified: each seed keeps its size, so the pooled mean of two constant seeds cannot vary
    assert (pooled.low, pooled.high) == (0.25, 0.25)


def test_pooled_paired_difference_over_seeds():
    pairs = [_variants(150, 0.3, 0.4, seed) for seed in range(3)]
    pooled = pooled_paired_difference(pairs, resamples=4000)
    singles = [paired_difference(t, c, resamples=4000) for t, c in pairs]
    assert pooled.n == 450
    assert pooled.estimate == pytest.approx(sum(s.estimate * s.n for s in singles) / 450)
    # three seeds' worth of tasks: narrower than any single seed's interval
    assert pooled.high - pooled.low < min(s.high - s.low for s in singles)
    assert isinstance(pooled, Difference) and pooled.verdict == "above 0"


def test_per_task_averages_records_of_a_task():
    class R:
        def __init__(self, task_id, success, score):
            self.task_id, self.success, self.score = task_id, success, score

    records = [R("a", True, 1.0), R("a", False, 0.5), R("b", False, 0.25)]
    assert per_task(records) == {"a": 0.5, "b": 0.0}
    assert per_task(records, lambda t: t.score) == {"a": 0.75, "b": 0.25}
    assert math.isclose(stats.z_value(0.95), 1.959963984540054)


def test_module_examples():
    assert doctest.testmod(stats).failed == 0
