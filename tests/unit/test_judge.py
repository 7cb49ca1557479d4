"""The canary judge's statistics against two oracles: scipy (an independent implementation, a dev dependency only)
and the labels of Kayenta's own classifier tests."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from scipy.stats import mannwhitneyu

from mesh_rollout.shifting.judge import _u_counts, effect, judge_metric, mann_whitney_u, median, relative_effect, score

KAYENTA = json.loads((Path(__file__).parents[1] / "data" / "kayenta_classifier_suite.json").read_text())

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
    assert worse.verdict == "FAIL" and worse.describe().startswith(
        "latency: canary median 124.5 vs stable 104.5 (+19% worse), U="
    )
    slightly = judge_metric(
        "latency", [105.0 + i for i in range(10)], [100.0 + i for i in range(10)], "higherIsWorse", 0.05, 0.1, 5
    )
    assert slightly.verdict == "PASS"  # worse, but under the minimum effect
    thin = judge_metric("latency", [1.0, 2.0], [1.0] * 10, "higherIsWorse", 0.05, 0.1, 3)
    assert thin.verdict == "NO_DATA" and thin.describe() == "latency: not enough data (canary 2, stable 10 points)"
    assert score([(worse, 1.0), (slightly, 3.0), (thin, 5.0)]) == 75.0
    assert score([(thin, 1.0)]) is None


def kayenta_label(case: dict[str, Any]) -> str:
    """Our verdicts in Kayenta's words: High if FAIL on higherIsWorse, Low if FAIL on lowerIsWorse, for the
    directions the case asks about (Either: both). Kayenta's confLevel is a two-sided interval: one side's alpha is
    half the rest. Its mean-ratio thresholds (low, high) are our minEffect 1 - low and high - 1; the CLES cases'
    thresholds measure something else, and take the default mean-ratio threshold 1.0 (minEffect 0)."""
    low, high = case["effectSizeThresholds"] if case["effectSizeMeasure"] == "meanRatio" else (1.0, 1.0)
    alpha = (1 - case["confLevel"]) / 2
    sides = {"Increase": ["higherIsWorse"], "Decrease": ["lowerIsWorse"]}.get(
        case["direction"], ["higherIsWorse", "lowerIsWorse"]
    )
    labels = {"higherIsWorse": ("High", high - 1), "lowerIsWorse": ("Low", 1 - low)}
    for side in sides:
        label, min_effect = labels[side]
        verdict = judge_metric("m", case["experiment"], case["control"], side, alpha, min_effect, 1)  # type: ignore[arg-type]
        if verdict.verdict == "NO_DATA":
            return "Nodata"
        if verdict.verdict == "FAIL":
            return label
    return "Pass"


@pytest.mark.parametrize("case", KAYENTA["cases"], ids=[c["name"] for c in KAYENTA["cases"]])
def test_the_verdicts_agree_with_kayentas_classifier_suite(case: dict[str, Any]) -> None:
    """Among them "High Metric (Large Input)": canary above 0 in 64 of 210 periods, control in 17, both medians 0,
    High at Kayenta's default threshold (a mean 4.4 times the control's) and Pass at (1.0, 5.0)."""
    assert kayenta_label(case) == case["expected"]


def test_a_canary_erring_in_many_more_mostly_error_free_minutes_fails() -> None:
    """The issue's case: canary errs in 6 of 13 minutes, stable in 1, ten times stable's mean rate; both medians are 0."""
    stable = [0.0] * 12 + [0.002]
    canary = [0.0] * 7 + [0.003, 0.004, 0.003, 0.004, 0.003, 0.003]
    verdict = judge_metric("errorRate", canary, stable, "higherIsWorse", 0.05, 0.1, 5)
    assert verdict.p_value == pytest.approx(float(mannwhitneyu(canary, stable, alternative="greater").pvalue), rel=1e-9)
    assert median(canary) == median(stable) == 0.0
    assert verdict.verdict == "FAIL"
    assert verdict.describe() == "errorRate: canary mean 0.001538 vs stable 0.0001538 (+900% worse), U=120, p=0.011: FAIL"
    assert judge_metric("errorRate", canary, stable, "higherIsWorse", 0.05, 9.5, 5).verdict == "PASS"  # minEffect: 950%


def test_a_stable_minute_far_off_its_others_does_not_hide_a_shifted_canary() -> None:
    stable = [100.0 + i % 3 for i in range(14)] + [10_000.0]  # one stalled minute: stable's mean is 760
    canary = [120.0 + i % 3 for i in range(15)]  # every minute 20% slower
    size = effect(canary, stable, "higherIsWorse")
    assert (size.measure, size.canary, size.stable) == ("median", 121.0, 101.0)
    assert judge_metric("latency", canary, stable, "higherIsWorse", 0.05, 0.1, 5).verdict == "FAIL"


def test_a_stable_of_zero_makes_any_worse_canary_worse() -> None:
    verdict = judge_metric("errorRate", [0.0] * 5 + [0.01] * 8, [0.0] * 13, "higherIsWorse", 0.05, 0.1, 5)
    assert verdict.verdict == "FAIL"
    assert verdict.describe().startswith("errorRate: canary median 0.01 vs stable 0 (worse, stable is 0), U=")


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: exact, and quick for the few errors a minute these windows see."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def failures(share: float, requests: int, error_rate: float, canary_times: float, windows: int, seed: int) -> float:
    """The share of windows of 13 one-minute periods the judge (its defaults) fails: per minute, each side's 5xx count
    drawn from its traffic at its true error rate, divided by its requests, as the errorRate preset does."""
    rng = random.Random(seed)
    canary_requests, stable_requests = requests * share, requests * (1 - share)
    failed = 0
    for _ in range(windows):
        canary = [poisson(rng, canary_requests * error_rate * canary_times) / canary_requests for _ in range(13)]
        stable = [poisson(rng, stable_requests * error_rate) / stable_requests for _ in range(13)]
        failed += judge_metric("errorRate", canary, stable, "higherIsWorse", 0.05, 0.1, 5).verdict == "FAIL"
    return failed / windows


@pytest.mark.parametrize("stable_errors_a_minute", [0.1, 0.5, 2.0, 10.0, 50.0])
def test_a_healthy_canary_at_5_percent_of_the_traffic_rarely_fails(stable_errors_a_minute: float) -> None:
    """Same true error rate, a twentieth of stable's requests: the canary's per-minute rate is 0 far more often than
    stable's and far larger when not. Over 1000 windows it fails no more often than alpha (5%): when errors are rare
    never (its many error-free minutes rank it better), when they are not about as often as the test errs."""
    requests = 20_000
    rate = stable_errors_a_minute / (requests * 0.95)
    assert failures(0.05, requests, rate, 1.0, 1000, seed=20) <= 0.05


def test_ten_times_stables_errors_in_mostly_error_free_minutes_fails_the_judge() -> None:
    """At 50%, about 0.08 errors a minute on stable and 0.8 on the canary (the issue's shape): the medians are mostly
    0 and saw it in 63% of these windows; the means see it in nine of ten. The same rate on both rarely fails."""
    assert failures(0.5, 2000, 0.00008, 10.0, 400, seed=2) >= 0.85
    assert failures(0.5, 2000, 0.00008, 1.0, 400, seed=2) <= 0.05


def test_ten_times_stables_errors_at_5_percent_of_the_traffic_fails_when_the_canary_errs_most_minutes() -> None:
    assert failures(0.05, 2000, 0.002, 10.0, 200, seed=2) >= 0.9  # 2 errors a minute on the canary, 3.8 on stable
