"""The canary judge's statistics against scipy (an independent implementation, a dev dependency only)."""

from __future__ import annotations

import math
import random

import pytest
from scipy.stats import mannwhitneyu

from mesh_rollout.shifting.judge import _u_counts, judge_metric, mann_whitney_u, median, relative_effect, score

CASES = {
    "tiny, exact": ([3.1, 4.2, 5.0], [1.0, 2.0, 2.5, 2.9]),
    "tiny, exact, reversed": ([1.0, 2.0], [3.0, 4.0, 5.0]),
    "one value each": ([2.0], [1.0]),
    "exact with 8 against many": ([10.0 + i for i in range(8)], [float(i) * 0.37 for i in range(40)]),
    "ties": ([1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 9.0, 9.0, 4.0], [2.0, 2.0, 1.0, 1.0, 3.0, 0.0, 5.0, 9.0, 2.0]),
    "large, overlapping": ([0.7 + 0.01 * (i % 13) for i in range(30)], [0.69 + 0.011 * (i % 11) for i in range(25)]),
    "large, shifted": ([0.9 + 0.003 * (i % 7) for i in range(20)], [0.7 + 0.004 * (i % 5) for i in range(20)]),
}


@pytest.mark.parametrize("direction", ["higherIsWorse", "lowerIsWorse"])
@pytest.mark.parametrize(("canary", "stable"), CASES.values(), ids=CASES.keys())
def test_u_and_p_match_scipy(canary: list[float], stable: list[float], direction: str) -> None:
    ours = mann_whitney_u(canary, stable, direction)  # type: ignore[arg-type]
    alternative = "greater" if direction == "higherIsWorse" else "less"
    theirs = mannwhitneyu(canary, stable, alternative=alternative, method="auto")
    assert ours.u == pytest.approx(float(theirs.statistic))
    assert ours.p_value == pytest.approx(float(theirs.pvalue), rel=1e-9, abs=1e-12)


def test_random_samples_match_scipy_on_both_methods() -> None:
    rng = random.Random(12)  # fixed seed: the same samples every run
    for _ in range(200):
        n1, n2 = rng.randint(1, 14), rng.randint(1, 14)
        canary = [round(rng.gauss(1.0, 0.3), rng.choice([1, 3])) for _ in range(n1)]  # 1 decimal: ties happen
        stable = [round(rng.gauss(0.9, 0.3), rng.choice([1, 3])) for _ in range(n2)]
        ours = mann_whitney_u(canary, stable, "higherIsWorse")
        theirs = mannwhitneyu(canary, stable, alternative="greater", method="auto")
        if math.isnan(float(theirs.pvalue)):  # all values equal: scipy has no p; we say "no evidence"
            assert ours.p_value == 1.0
            continue
        assert ours.p_value == pytest.approx(float(theirs.pvalue), rel=1e-9, abs=1e-12), (canary, stable)


def test_the_exact_distribution_counts_every_ordering() -> None:
    for n1, n2 in [(1, 1), (3, 4), (8, 8), (5, 12)]:
        counts = _u_counts(n1, n2)
        assert sum(counts) == math.comb(n1 + n2, n1) and counts == counts[::-1]  # symmetric around n1*n2/2


def test_zero_variance_gives_no_evidence() -> None:
    same = mann_whitney_u([5.0] * 10, [5.0] * 12, "higherIsWorse")
    assert (same.u, same.p_value) == (60.0, 1.0)


def test_medians_effects_and_verdicts() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0 and median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert relative_effect(110.0, 100.0, "higherIsWorse") == pytest.approx(0.1)
    assert relative_effect(90.0, 100.0, "lowerIsWorse") == pytest.approx(0.1)
    assert relative_effect(0.0, 0.0, "higherIsWorse") == 0.0 and relative_effect(1.0, 0.0, "higherIsWorse") == math.inf
    worse = judge_metric("latency", [120.0 + i for i in range(10)], [100.0 + i for i in range(10)], "higherIsWorse", 0.05, 0.1, 5)
    assert worse.verdict == "FAIL" and worse.describe().startswith("latency: canary 124.5 vs stable 104.5 (+19% worse), U=")
    slightly = judge_metric(
        "latency", [105.0 + i for i in range(10)], [100.0 + i for i in range(10)], "higherIsWorse", 0.05, 0.1, 5
    )
    assert slightly.verdict == "PASS"  # worse, but under the minimum effect
    thin = judge_metric("latency", [1.0, 2.0], [1.0] * 10, "higherIsWorse", 0.05, 0.1, 3)
    assert thin.verdict == "NO_DATA" and thin.describe() == "latency: not enough data (canary 2, stable 10 points)"
    assert score([(worse, 1.0), (slightly, 3.0), (thin, 5.0)]) == 75.0
    assert score([(thin, 1.0)]) is None
