"""What every dry run shares (issue 23 item 1): the check record and the report, the input read past its problems,
the alarms' states, the datapoints of a metric query, the lock's holder, the approval topic's confirmed subscriptions
and the stack's roles asked of IAM (iam:SimulatePrincipalPolicy). The weight shift's (shifting/dry_run.py) and the
ECS deployment's (deploying/dry_run.py) call these with what their own plan builds; nothing here writes.

Each check is {"check", "status": ok | problem | warning, "detail"}; a report is ready when no check is a problem.
One module per job: report (the check records, Findings, verdict, the report's text and its cap), inputs (the input
read past its problems), reads (ECS services, alarms, metrics and their datapoints, the lock, the topic's
subscriptions), roles (CallList, the SimulatePrincipalPolicy pass and its decisions), settings (Stack, the stack as
the dry-run function's settings give it, the clients). This package's face is what the two dry runs use, below.
"""

from __future__ import annotations

from mesh_rollout.dry_run.inputs import read_input
from mesh_rollout.dry_run.reads import (
    MIN_WINDOW_SECONDS,
    check_alarms,
    check_datapoints,
    check_lock,
    check_service,
    check_subscription,
    metrics_of,
)
from mesh_rollout.dry_run.report import OK, PROBLEM, WARNING, DryRunCheck, Findings, report_text, verdict
from mesh_rollout.dry_run.roles import CallList, check_roles, revision_to_register
from mesh_rollout.dry_run.settings import Clients, Stack

__all__ = [
    "MIN_WINDOW_SECONDS",
    "OK",
    "PROBLEM",
    "WARNING",
    "CallList",
    "Clients",
    "DryRunCheck",
    "Findings",
    "Stack",
    "check_alarms",
    "check_datapoints",
    "check_lock",
    "check_roles",
    "check_service",
    "check_subscription",
    "metrics_of",
    "read_input",
    "report_text",
    "revision_to_register",
    "verdict",
]
