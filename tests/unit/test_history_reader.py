"""The history reader against a GetExecutionHistory that grows between calls: it asks only for the events it has not
read, paging on past 1000 (a live run on an emulated account: tests/offline/test_history_reader.py)."""

from __future__ import annotations

from typing import Any

from mesh_rollout_local.history import HistoryReader


class GrowingHistory:
    """GetExecutionHistory, newest first, over a list of events that grows by `arrivals` after each call."""

    def __init__(self, events: int, arrivals: int = 0) -> None:
        self.events = [{"id": i, "type": "PassStateEntered"} for i in range(1, events + 1)]
        self.arrivals = arrivals
        self.calls: list[dict[str, Any]] = []

    def get_execution_history(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        assert params["reverseOrder"] and 1 <= params["maxResults"] <= 1000
        newest_first = self.events[::-1]
        start = int(params.get("nextToken", "0"))
        page = newest_first[start : start + params["maxResults"]]
        end = start + len(page)
        grown = len(self.events)
        self.events += [{"id": i, "type": "PassStateEntered"} for i in range(grown + 1, grown + self.arrivals + 1)]
        # a token counts from the newest event of the call that gave it: shift it by the arrivals since
        return {"events": page, **({"nextToken": str(end + self.arrivals)} if end < len(newest_first) else {})}


def test_the_reader_asks_for_the_new_events_only() -> None:
    sfn = GrowingHistory(events=5)
    reader = HistoryReader(sfn, "arn")
    assert [e["id"] for e in reader.new_events()] == [1, 2, 3, 4, 5]
    # the newest event says 5 are new: it asks for them and room for 2 more that might come in meanwhile
    assert [(c["maxResults"], "nextToken" in c) for c in sfn.calls] == [(1, False), (7, False)]
    sfn.calls.clear()
    assert reader.new_events() == []  # nothing new: one call, one event
    assert [c["maxResults"] for c in sfn.calls] == [1]
    sfn.events.append({"id": 6, "type": "PassStateExited"})
    sfn.calls.clear()
    assert [e["id"] for e in reader.new_events()] == [6]  # one new event: the first call had it
    assert [c["maxResults"] for c in sfn.calls] == [1]


def test_the_reader_pages_on_when_events_come_in_between_and_past_1000() -> None:
    sfn = GrowingHistory(events=10)
    reader = HistoryReader(sfn, "arn")
    reader.new_events()
    sfn.events += [{"id": i, "type": "PassStateEntered"} for i in range(11, 2511)]
    sfn.arrivals, sfn.calls = 3, []
    found = [e["id"] for e in reader.new_events()]
    assert found == list(range(11, found[-1] + 1)) and found[-1] >= 2510
    assert [e["id"] for e in reader.events] == list(range(1, found[-1] + 1))
    assert [c["maxResults"] for c in sfn.calls] == [1, 1000, 1000, 1000]  # the page size kept while paging on
    sfn.arrivals = 0
    assert [e["id"] for e in reader.finish()] == list(range(found[-1] + 1, len(sfn.events) + 1))
    assert [e["id"] for e in reader.events] == list(range(1, len(sfn.events) + 1))
