"""Is the canary worse than stable? A two-sample Mann-Whitney U test per metric, and a score over the metrics.

Pure Python (no scipy or numpy in the Lambda: their import alone costs more than the whole handler). The test
follows scipy.stats.mannwhitneyu (method "auto", continuity correction), which the tests compare it with:
- U is canary's statistic: the number of (canary, stable) pairs where canary is larger, ties counting a half.
- One-sided: "higher is worse" asks whether canary tends to be larger than stable; "lower is worse" smaller.
- Exact p-value (the distribution of U by counting) when a sample has at most 8 values and nothing ties;
  otherwise the normal approximation with the tie correction of the variance and a 0.5 continuity
  correction.
- The test says whether canary is worse; the effect says by how much, and so whether it matters. It is the larger
  of two relative differences, canary against stable: of the medians (the typical period) and of the means (the
  whole window: for a rate, "ten times the errors" is a mean ten times stable's). A healthy service's per-minute
  5xx rate is 0 in most minutes, both medians are 0 and only the means see a canary erring in many more minutes;
  a stable minute far off its others moves only the mean and only the median still sees a shifted canary.
  Kayenta's MannWhitneyClassifier measures its effect as the ratio of the means too (EffectSizes.meanRatio against
  effectSizeThresholds, in https://github.com/spinnaker/kayenta kayenta-judge/src/main/scala/com/netflix/kayenta/
  judge/classifiers/metric/MannWhitneyClassifier.scala and stats/EffectSizes.scala), after a Hodges-Lehmann
  confidence interval where we have the p-value; the tests take the labels of its ClassifierSuite as an oracle.
- The verdict of a metric is FAIL when the p-value is below `alpha` AND the effect is more than `minEffect`
  (relative: 0.1 is 10% worse), PASS otherwise, NO_DATA when a side has fewer than `minPoints` values. As Kayenta
  does, the metrics' weights make a score out of 100 and the score is judged against a pass and a marginal threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Literal

Direction = Literal["higherIsWorse", "lowerIsWorse"]
EXACT_UP_TO = 8  # scipy's "auto": exact when a sample has at most this many values and nothing ties


@dataclass(frozen=True)
class UTest:
    u: float  # canary's U
    p_value: float
    method: Literal["exact", "asymptotic"]


def _ranks(values: list[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) in the order given, and the size of each group of ties."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties = []
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        ties.append(end - start + 1)
        start = end + 1
    return ranks, ties


@cache
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """How many of the C(n1+n2, n1) orderings give each U = 0 .. n1*n2 (no ties): the coefficients of the
    Gaussian binomial [n1+n2 choose k]_q = prod_{i=1..k} (1 - q^(n-k+i)) / (1 - q^i), k = min(n1, n2)."""
    n, k = n1 + n2, min(n1, n2)
    size = n1 * n2 + 1
    counts = [1] + [0] * (size - 1)
    for i in range(1, k + 1):
        a = n - k + i  # multiply by (1 - q^a), from the top so that each coefficient is used once
        for j in range(size - 1, a - 1, -1):
            counts[j] -= counts[j - a]
        for j in range(i, size):  # divide by (1 - q^i): a running sum with step i
            counts[j] += counts[j - i]
    return tuple(counts)


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def mann_whitney_u(canary: list[float], stable: list[float], direction: Direction) -> UTest:
    """One-sided test that canary is worse than stable (larger values for higherIsWorse, smaller for lowerIsWorse)."""
    n1, n2 = len(canary), len(stable)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    ranks, ties = _ranks([*canary, *stable])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    u = u1 if direction == "higherIsWorse" else n1 * n2 - u1  # the statistic whose large values mean "worse"
    if min(n1, n2) <= EXACT_UP_TO and all(t == 1 for t in ties):
        counts = _u_counts(n1, n2)
        at_least = sum(counts[math.ceil(u) :])
        return UTest(u1, min(1.0, at_least / math.comb(n1 + n2, n1)), "exact")
    n = n1 + n2
    tie_term = sum(t**3 - t for t in ties) / (n * (n - 1))
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term))
    if sigma == 0:  # every value equal: nothing tells the samples apart
        return UTest(u1, 1.0, "asymptotic")
    z = (u - n1 * n2 / 2 - 0.5) / sigma
    return UTest(u1, _normal_sf(z), "asymptotic")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def relative_effect(canary: float, stable: float, direction: Direction) -> float:
    """How much worse canary's value is than stable's, relative to stable's (0.1 = 10% worse; negative: better).
    A stable value of 0 makes any worse canary infinitely worse, and an equal one 0."""
    worse_by = canary - stable if direction == "higherIsWorse" else stable - canary
    if stable == 0:
        return 0.0 if worse_by == 0 else math.copysign(math.inf, worse_by)
    return worse_by / abs(stable)


Measure = Literal["median", "mean"]


@dataclass(frozen=True)
class Effect:
    measure: Measure  # the one of the two that says canary is the most worse
    canary: float
    stable: float
    worse_by: float  # relative_effect of the two


def effect(canary: list[float], stable: list[float], direction: Direction) -> Effect:
    """The larger of the relative differences of the medians and of the means (the medians on a tie)."""
    pairs: list[tuple[Measure, float, float]] = [
        ("median", median(canary), median(stable)),
        ("mean", sum(canary) / len(canary), sum(stable) / len(stable)),
    ]
    effects = [Effect(m, c, s, relative_effect(c, s, direction)) for m, c, s in pairs]
    return max(effects, key=lambda e: e.worse_by)


@dataclass(frozen=True)
class MetricVerdict:
    id: str
    verdict: Literal["PASS", "FAIL", "NO_DATA"]
    effect: Effect | None
    u: float | None
    p_value: float | None
    points: tuple[int, int]

    def describe(self) -> str:
        """'errorRate: canary mean 0.001538 vs stable 0.0001538 (+900% worse), U=120, p=0.011: FAIL'."""
        if self.verdict == "NO_DATA":
            return f"{self.id}: not enough data (canary {self.points[0]}, stable {self.points[1]} points)"
        if self.effect is None or self.p_value is None:  # only NO_DATA lacks them
            return f"{self.id}: {self.verdict}"
        e = self.effect
        by = e.worse_by
        how = f"{by:+.0%} worse" if math.isfinite(by) else f"{'worse' if by > 0 else 'better'}, stable is 0"
        return (
            f"{self.id}: canary {e.measure} {e.canary:.4g} vs stable {e.stable:.4g} ({how}), "
            f"U={self.u:g}, p={self.p_value:.2g}: {self.verdict}"
        )


def judge_metric(
    metric_id: str,
    canary: list[float],
    stable: list[float],
    direction: Direction,
    alpha: float,
    min_effect: float,
    min_points: int,
) -> MetricVerdict:
    if len(canary) < min_points or len(stable) < min_points:
        return MetricVerdict(metric_id, "NO_DATA", None, None, None, (len(canary), len(stable)))
    test = mann_whitney_u(canary, stable, direction)
    size = effect(canary, stable, direction)
    verdict: Literal["PASS", "FAIL"] = "FAIL" if test.p_value < alpha and size.worse_by > min_effect else "PASS"
    return MetricVerdict(metric_id, verdict, size, test.u, test.p_value, (len(canary), len(stable)))


def score(verdicts: list[tuple[MetricVerdict, float]]) -> float | None:
    """100 x the weight of the passing metrics over the weight of the judged ones (None: nothing judged)."""
    judged = [(v, w) for v, w in verdicts if v.verdict != "NO_DATA"]
    total = sum(w for _, w in judged)
    return None if total == 0 else 100 * sum(w for v, w in judged if v.verdict == "PASS") / total
