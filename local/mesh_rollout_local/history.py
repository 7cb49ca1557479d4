"""Read an execution's history with GetExecutionHistory as AWS pages it, offline and against AWS alike.

`read_all` pages forward through every event (1000 a call, the most the API gives). While an execution runs,
`HistoryReader.new_events` asks only for what it has not read yet. Paging forward would start from the first
event on every poll (at the end of the history AWS gives no `nextToken` to continue from later), so it reads
newest first (`reverseOrder`): one event, the newest, whose `id` (1, 2, 3 ... in the order events happen) says
how many are new; if more than that one, a second call asks for that many, newest first, and room for those
coming in meanwhile (twice as many as came in since the previous poll for as long as the first call took, and 2).
Whatever the length of the history, a poll reads its new events and one more, in one call when at most one event
is new and two otherwise, plus what it misjudged: the events it had that fill the room left in the second page, or
if more came in than there was room for, those of one more page (the API keeps the page size while paging on).

`HistoryReader.finish`, once the execution has ended, completes `events` the same way: the reader then holds the
whole history, each event read once (it checks that no id is missing, else it reads all of it again).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

FULL_PAGE = 1000  # GetExecutionHistory's maximum maxResults


def started_executions(events: list[dict[str, Any]]) -> list[str]:
    """The ARNs of the executions these events started (a `states:startExecution` Task's TaskSubmitted event
    holds the StartExecution response), in the order they started."""
    started = []
    for event in events:
        details = event.get("taskSubmittedEventDetails") or {}
        if event["type"] == "TaskSubmitted" and details.get("resourceType") == "states":
            try:
                arn = json.loads(details.get("output") or "{}").get("ExecutionArn")
            except ValueError:
                arn = None
            if arn:
                started.append(str(arn))
    return started


def read_all(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of the execution, oldest first (one call per 1000 events)."""
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=execution_arn, PaginationConfig={"PageSize": FULL_PAGE}
    )
    return [event for page in pages for event in page["events"]]


class HistoryReader:
    """The history of one execution as it grows: `events` holds every event read so far, oldest first."""

    def __init__(self, sfn: Any, execution_arn: str) -> None:
        self.sfn, self.execution_arn = sfn, execution_arn
        self.events: list[dict[str, Any]] = []
        self._asked: float | None = None  # when the last poll started

    @property
    def last_id(self) -> int:
        return int(self.events[-1]["id"]) if self.events else 0

    def new_events(self) -> list[dict[str, Any]]:
        """The events since the last read, oldest first (also appended to `events`)."""
        last, asked = self.last_id, time.monotonic()
        newest = self._newest_first(1)["events"]
        count, took = (newest[0]["id"] - last if newest else 0), time.monotonic() - asked
        since, self._asked = (asked - self._asked if self._asked is not None else None), asked
        found = [event for event in newest if event["id"] > last]
        if count > 1:  # the new ones and room for those coming in meanwhile (too few would cost a page more)
            page = min(FULL_PAGE, count + 2 + (math.ceil(2 * count * took / since) if since else 0))
            found, token = [], None
            while True:  # the same parameters on every page, as the API asks, with the previous page's token
                response = self._newest_first(page, token)
                found += [event for event in response["events"] if event["id"] > last]
                token = response.get("nextToken")
                if not token or not response["events"] or response["events"][-1]["id"] <= last + 1:
                    break
        found.sort(key=lambda event: event["id"])
        self.events += found
        return found

    def _newest_first(self, page: int, token: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"executionArn": self.execution_arn, "reverseOrder": True, "maxResults": page}
        response: dict[str, Any] = self.sfn.get_execution_history(**params, **({"nextToken": token} if token else {}))
        return response

    def read_all(self) -> list[dict[str, Any]]:
        """Read the whole history again, paging through all of it; return the events not read before."""
        last = self.last_id
        self.events = read_all(self.sfn, self.execution_arn)
        return [event for event in self.events if event["id"] > last]

    def finish(self) -> list[dict[str, Any]]:
        """Once the execution has ended: the events not read yet; `events` is then the complete history."""
        if not self.events:
            return self.read_all()
        last = self.last_id
        found = self.new_events()
        if [event["id"] for event in self.events] != list(range(1, len(self.events) + 1)):  # never seen: read it all
            found = [event for event in self.read_all() if event["id"] > last]
        return found
