"""DryRunWeightShift for a group: the group's input, then each leg's own dry run (a route leg's: shifting.dry_run, as the
leg would be alone on the group's schedule; an ECS leg's: deploying.dry_run), then the group's plan, all read-only;
one report naming each leg's findings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mesh_rollout.deploying.dry_run import dry_run as ecs_dry_run
from mesh_rollout.dry_run.reads import check_subscription
from mesh_rollout.dry_run.report import PROBLEM, WARNING, Findings, report_text, verdict
from mesh_rollout.dry_run.settings import Clients, Stack
from mesh_rollout.grouping.inputs import GroupSpec, parse_group
from mesh_rollout.grouping.plan import ecs_leg_input, leg_input, plan_group
from mesh_rollout.shifting.dry_run import DryRunReport, dry_run

# What a leg's own dry run checks that the group does instead: the approval (one, the group's), and the functions of
# the ECS deployment's own state machine a group does not run (its gate is CanaryHealth's, its end FinishGroup's)
NOT_THE_GROUPS = ("EcsStepCheckFunction", "FinishEcsDeploymentFunction")


def group_reads(check: Mapping[str, Any]) -> bool:
    """Whether the group, not the leg, answers this check of a leg's own dry run."""
    if check["check"] == "approval":
        return True
    return check["check"] == "permissions" and str(check["detail"]).startswith(NOT_THE_GROUPS)


def group_dry_run(raw: Any, clients: Clients, stack: Stack) -> DryRunReport:
    """Check everything the group `raw` would hit, read-only, and report all of it, each leg's findings named."""
    found = Findings()
    spec: GroupSpec | None = None
    with found.catching("input"):
        spec = parse_group(raw)
    lines: list[str] = []
    if spec is not None:
        for leg in spec.legs:
            own = (
                dry_run(leg_input(leg, raw, spec), clients, stack)
                if leg.kind == "weightShift"
                else ecs_dry_run(ecs_leg_input(leg, raw, spec), clients, stack)
            )
            for check in own["checks"]:
                if not group_reads(check):
                    found.add(f"leg {leg.name}: {check['check']}", check["status"], check["detail"])
            described = own["text"].split("\nchecks:")[0].splitlines()[1:]  # the leg's route, weights and steps
            lines += [f"leg {leg.name}:", *(f"  {line}" for line in described)]
        if spec.approval is not None:  # one approval per step for the whole group: someone must receive it
            check_subscription(spec.approval.beforeSteps, found, clients.sns, stack.topic_arn)
        if not found.lines(PROBLEM):  # what the real plan would still refuse: a leg a group cannot take, two legs' locks
            with found.catching("plan"):
                plan_group(raw, clients.cloudwatch, clients.ecs, stack.clusters)
    problems, warnings = found.lines(PROBLEM), found.lines(WARNING)
    what = f"the group of {len(spec.legs)} legs" if spec is not None else "the group"
    head = [verdict(what, problems, warnings)]
    if spec is not None:
        head.append(f"steps: {' -> '.join(f'{p}%' for p in spec.steps)}, each baked {spec.bakeSeconds} s, every leg gated")
    report: DryRunReport = {
        "ready": not problems,
        "problems": problems,
        "warnings": warnings,
        "checks": found.checks,
        "steps": [],
        "text": "",
    }
    report["text"] = report_text([*head, *lines], found.checks)
    return report
