"""CloudWatch in the emulated account: percentile statistics in GetMetricData.

moto 5.2.5 computes Sum, Average, Minimum, Maximum and SampleCount only; any other `Stat` comes back as a null
value that its own serializer then fails on. Latency gates ask for percentiles (`p99`, `p99.9`), as AWS allows
(Statistics and extended statistics, CloudWatch User Guide): here `pNN` is the nearest-rank percentile of the
period's published values.
"""

from __future__ import annotations

import math
import re
from typing import Any, SupportsFloat

from moto.cloudwatch.models import Statistics

PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,2})?)$")


def percentile(values: list[float], rank: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `rank`% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(rank / 100 * len(ordered)), 1) - 1]


def _with_percentiles(original: Any) -> Any:
    def get_statistics_for_type(self: Statistics, stat: str) -> SupportsFloat | None:
        wanted = PERCENTILE.match(stat)
        if wanted and self.metric_single_values_list:
            return percentile(self.metric_single_values_list, float(wanted.group(1)))
        result: SupportsFloat | None = original(self, stat)
        return result

    return get_statistics_for_type


def install() -> None:
    Statistics.get_statistics_for_type = _with_percentiles(Statistics.get_statistics_for_type)  # type: ignore[method-assign]
