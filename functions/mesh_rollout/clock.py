"""The time the health gate reads its metrics up to: the wall clock on AWS; offline, a clock the caller sets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_clock: Clock = wall_clock


def now() -> dt.datetime:
    """Now, in UTC, by the clock in use."""
    return _clock()


def set_clock(clock: Clock | None) -> Clock:
    """Read the time from `clock` from now on (None: the wall clock); returns the clock it replaces. An offline
    runner sets one that its tests control, so that the metrics it publishes and the gate's window agree."""
    global _clock
    previous, _clock = _clock, clock or wall_clock
    return previous
