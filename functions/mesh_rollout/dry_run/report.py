"""The dry run's report: each check a record {"check", "status": ok | problem | warning, "detail"}, the checks found
(Findings), the plan's first line (verdict) and the text a person reads, held under the Fail's cause limit
(report_text). A report is ready when no check is a problem."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypedDict

from mesh_rollout.errors import AwsRequestRejected, InvalidRolloutInput, MeshResourceNotFound

OK, PROBLEM, WARNING = "ok", "problem", "warning"
# the report's text is the Fail's cause (DryRunFoundProblems, CausePath $.dryRun.text), which Step Functions holds to
# 32768 characters (ExecutionFailedEventDetails cause, https://docs.aws.amazon.com/step-functions/latest/apireference/
# API_ExecutionFailedEventDetails.html; botocore's SensitiveCause max 32768): the text stays under it, with room
CAUSE_LIMIT = 32768
TEXT_BUDGET, SUMMARY_ROOM = 30000, 200
MARKS = {OK: "ok     ", PROBLEM: "PROBLEM", WARNING: "warning"}


class DryRunCheck(TypedDict):
    check: str
    status: str  # ok, problem or warning
    detail: str


@dataclass
class Findings:
    """The checks, in the order they ran; a line is said once."""

    checks: list[DryRunCheck] = field(default_factory=list)

    def add(self, check: str, status: str, detail: str) -> None:
        item: DryRunCheck = {"check": check, "status": status, "detail": detail}
        if item not in self.checks:
            self.checks.append(item)

    def lines(self, status: str) -> list[str]:
        return [f"{c['check']}: {c['detail']}" for c in self.checks if c["status"] == status]

    def has_problem(self, check: str) -> bool:
        return any(c["check"] == check and c["status"] == PROBLEM for c in self.checks)

    @contextmanager
    def catching(self, check: str, prefix: str = "") -> Iterator[None]:
        """A named error of the block is a problem of `check`, and the dry run goes on; a transient one is not
        caught (the state machine retries the task, as it retries the plan)."""
        try:
            yield
        except InvalidRolloutInput as exc:
            for where, problem in exc.problems:
                self.add(check, PROBLEM, f"{prefix}{where}: {problem}")
        except (AwsRequestRejected, MeshResourceNotFound) as exc:
            self.add(check, PROBLEM, f"{prefix}could not read: {exc}")


def verdict(what: str, problems: list[str], warnings: list[str]) -> str:
    """The plan's first line."""
    count = len(problems)
    said = "READY" if not problems else f"NOT READY: {count} problem{'s' if count != 1 else ''}"
    return f"Dry run of {what}: {said}, {len(warnings)} warning{'s' if len(warnings) != 1 else ''}; nothing was changed"


def report_text(head: list[str], checks: list[DryRunCheck]) -> str:
    """The plan a person reads, and the Fail's cause when it is not ready: `head`, then every check marked, within
    TEXT_BUDGET. Every problem and warning line is kept; ok lines past the budget are said in one line (the report's
    `checks` hold them all); if what is kept is still too long, the text is cut at the budget, saying so."""
    marked = [(c["status"], f"  {MARKS[c['status']]}  {c['check']}: {c['detail']}") for c in checks]
    lines = [*head, "checks:"]
    used = sum(len(line) + 1 for line in lines) + sum(len(line) + 1 for status, line in marked if status != OK)
    used += SUMMARY_ROOM
    left_out = 0
    for status, line in marked:
        if status != OK:
            lines.append(line)
        elif used + len(line) + 1 <= TEXT_BUDGET:
            lines.append(line)
            used += len(line) + 1
        else:
            left_out += 1
    if left_out:
        lines.append(f"  {MARKS[OK]}  and {left_out} more ok check{'s' if left_out != 1 else ''} (the report's checks list each)")
    text = "\n".join(lines)
    if len(text) <= TEXT_BUDGET:
        return text
    cut = f"\n... cut at {TEXT_BUDGET} characters: the report's problems and warnings list each"
    return text[: TEXT_BUDGET - len(cut)] + cut
