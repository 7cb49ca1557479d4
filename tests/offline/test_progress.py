"""Progress lines of real runs: each state with its item and facts, the ECS services' own executions included."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.progress import Progress, _Execution
from mesh_rollout_local.runner import OfflineAccount, RunResult

SHIFT = "WeightShiftStateMachine"
ROUTE = "apps/serviceB/serviceB"
HEALTHY = "HEALTHY: alarm serviceBv2-5xx OK; ECS service apps/serviceBv2: 2/2 tasks running"


def live(account: OfflineAccount, state_machine: str, execution_input: Any, **options: Any) -> tuple[RunResult, list[str]]:
    """Run as `mesh-rollout local` does, keeping the lines it would print."""
    progress, lines = Progress(), []
    result = account.run(
        state_machine, json.dumps(execution_input), on_event=lambda e: lines.extend(progress.lines(e)), **options
    )
    return result, lines


def test_the_mesh_rollout_names_each_node_and_each_ecs_service_in_its_own_execution(
    account: OfflineAccount, scenario: dict[str, Any]
) -> None:
    result, lines = live(account, "MeshRolloutStateMachine", scenario)
    assert result.status == "SUCCEEDED"
    assert lines[0] == "  -> ValidateRollout  mesh apps: 3 virtual nodes, 1 router, 1 route, 2 virtual services, 3 ECS services"
    assert "  -> EnsureVirtualNode  node serviceBv2  created" in lines
    assert "  -> EnsureRoute  route serviceB/serviceB  created" in lines
    for service, family in (("serviceA", "taskA"), ("serviceB", "taskB"), ("serviceBv2", "taskBv2")):
        own = [line for line in lines if line.startswith(f"  [apps/{service}] ")]
        assert own[1:3] == [
            f"  [apps/{service}] -> RegisterTaskDefinition  registered {family}:2 (was {family}:1)",
            f"  [apps/{service}] -> UpdateService  deploying {family}:2",
        ]
        assert own[-2:] == [
            f"  [apps/{service}] -> CheckDeployment  deployment COMPLETED, 2/2 tasks running",
            f"  [apps/{service}] -> OnMesh  updated, {family}:2",
        ]
        parent = f"  -> RolloutEcsService  apps/{service}  updated, {family}:2"
        assert lines.index(own[-1]) < lines.index(parent)  # the service's execution ends before the state waiting on it
    # every state a nested execution entered is a line, but its Choice states (they change nothing)
    for child in result.children:
        label = json.loads(child["history"][0]["executionStartedEventDetails"]["input"])["target"]["service"]
        entered = [e for e in child["history"] if e["type"].endswith("StateEntered") and e["type"] != "ChoiceStateEntered"]
        assert len([line for line in lines if line.startswith(f"  [apps/{label}] ")]) == len(entered)
    assert lines[-2:] == ["  -> FinishMeshRollout  ECS services: 3 updated", "  -> Summarize"]

    _, again = live(account, "MeshRolloutStateMachine", scenario)
    assert "  [apps/serviceB] -> RegisterTaskDefinition  taskB:2 already deployed" in again
    assert "  -> RolloutEcsService  apps/serviceB  unchanged, taskB:2" in again
    assert "  -> EnsureVirtualNode  node serviceBv2  unchanged" in again


def test_a_weight_shift_shows_the_weights_written_the_verdicts_and_the_answer(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    result, lines = live(shift_account, SHIFT, shift_input, approver=lambda pending: (True, "looks good"))
    assert result.status == "SUCCEEDED"
    assert lines[:4] == [
        f"  -> PlanWeightShift  route {ROUTE} at serviceB 75 / serviceBv2 25; steps 50% -> 100%, approval before 100%",
        f"  -> AcquireGroupLocks  lock appmesh:{ROUTE} taken",
        "  -> SnapshotLegs  route at serviceB 75 / serviceBv2 25",
        "  -> GroupSteps  2 items",
    ]
    assert lines[4:7] == [
        "  -> MoveLegs  step 50%  wrote serviceB 50 / serviceBv2 50",
        "  -> BakeLegs  step 50%",
        f"  -> CheckLegs  step 50%  {HEALTHY}",
    ]
    assert "  -> RequestGroupApproval  step 100%  approved by user/moto: looks good" in lines
    assert "  -> MoveLegs  step 100%  wrote serviceB 0 / serviceBv2 100" in lines
    assert lines[-1] == f"  -> Done  SUCCEEDED: weight shift succeeded: route {ROUTE} is at serviceBv2 100"
    assert not [line for line in lines if "AnythingToDo" in line or "HowItEnded" in line]  # no Choice state

    idle, lines = live(shift_account, SHIFT, shift_input)
    assert idle.output["status"] == "NOTHING_TO_DO"
    assert lines == [
        f"  -> PlanWeightShift  route {ROUTE} at serviceBv2 100: NOTHING_TO_DO, already at the end of the plan",
        "  -> NothingToDo  NOTHING_TO_DO: already at the end of the plan",
    ]


def test_a_tick_during_a_rollout_says_why_it_skipped_and_a_rejection_shows_the_rollback(
    shift_account: OfflineAccount, shift_input: dict[str, Any]
) -> None:
    seen: dict[str, Any] = {}

    def tick_then_reject(pending: PendingApproval) -> tuple[bool, str]:
        tick = {k: v for k, v in shift_input.items() if k not in ("steps", "approval")}
        seen["tick"] = live(shift_account, SHIFT, {**tick, "mode": "increment", "stepPercent": 25, "whenLocked": "skip"})
        return False, "p99 too high"

    result, lines = live(shift_account, SHIFT, shift_input, approver=tick_then_reject)
    assert (result.status, result.error) == ("FAILED", "ApprovalRejected")
    assert "  -> RequestGroupApproval  step 100%  rejected by user/moto: p99 too high" in lines
    assert "  -> RestoreLegs  restored serviceB 75 / serviceBv2 25" in lines
    tick, tick_lines = seen["tick"]
    assert tick.output["status"] == "SKIPPED_LOCKED"
    refused = f"{ROUTE} is locked by {result.execution_arn}"
    assert tick_lines[1] == "  -> AcquireGroupLocks"
    assert tick_lines[2].startswith("     ! RolloutInProgress: ") and refused in tick_lines[2]
    assert tick_lines[3] == "  -> ReadRefusal"
    assert tick_lines[4].startswith("  -> SkippedLocked  SKIPPED_LOCKED: ") and refused in tick_lines[4]
    assert "Traceback" not in tick.output["reason"] and "stackTrace" not in tick.output["reason"]
    assert tick.output["reason"].startswith(f"appmesh:{ROUTE} is locked by {result.execution_arn} until ")


def test_a_step_written_after_a_retry_says_so(
    shift_account: OfflineAccount, shift_input: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mesh_rollout.errors import TransientAwsError
    from mesh_rollout.traffic.appmesh import AppMeshRoute

    write, failures = AppMeshRoute.write, []

    def throttled_once(self: AppMeshRoute, *args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(1)
            raise TransientAwsError("UpdateRoute apps/serviceB/serviceB: ThrottlingException: Rate exceeded")
        return write(self, *args, **kwargs)

    monkeypatch.setattr(AppMeshRoute, "write", throttled_once)
    result, lines = live(shift_account, SHIFT, shift_input, approver=lambda pending: (True, ""))
    assert result.status == "SUCCEEDED"
    at = lines.index("  -> MoveLegs  step 50%")
    assert lines[at + 1 : at + 3] == [
        "     ! TransientAwsError: UpdateRoute apps/serviceB/serviceB: ThrottlingException: Rate exceeded",
        "     then wrote serviceB 50 / serviceBv2 50",
    ]


def test_a_failed_deployment_shows_the_verdict_the_rollback_and_why_the_service_failed(
    account: OfflineAccount, scenario: dict[str, Any]
) -> None:
    ecs = account.client("ecs")
    service = ecs.describe_services(cluster="apps", services=["serviceB"])["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=service, tags=[{"key": "mesh-rollout:emulator/next-deployment", "value": "FAILED"}])
    result, lines = live(account, "MeshRolloutStateMachine", scenario)
    assert (result.status, result.error) == ("FAILED", "DeploymentFailed")
    why = "apps/serviceB: the deployment of taskB:2 failed (ECS deployment circuit breaker: tasks failed to start.)"
    verdict = "deployment FAILED, 0/2 tasks running: ECS deployment circuit breaker: tasks failed to start."
    assert f"  [apps/serviceB] -> CheckDeployment  {verdict}" in lines
    assert f"  [apps/serviceB] -> RollbackService  rolled back to taskB:1: {why}; the service was put back on taskB:1" in lines
    at = lines.index("  -> RolloutEcsService  apps/serviceB")
    assert lines[at + 1] == f"     ! States.TaskFailed: DeploymentFailed: {why}; the service was put back on taskB:1"
    assert "  -> FinishMeshRollout  ECS services: 2 updated, 1 failed" in lines


def test_a_loop_saying_the_same_again_is_said_once_then_counted() -> None:
    """An ECS deployment read while ECS still bakes (Wait, read, Wait, read ...): the read and the Wait between
    repeats are not printed again; the count comes before the next different line."""
    progress, run = Progress(), _Execution()
    wait, read, paused = (
        "  -> WaitForEcs",
        "  -> ReadDeployment  a 80, b 20 (PRODUCTION_TRAFFIC_SHIFT)",
        "  -> ReadDeployment  a 80, b 20 (PRE)",
    )
    said = [
        line
        for is_wait, line in [(True, wait), (False, read)] * 4 + [(False, paused)]
        for line in progress._unrepeated(run, is_wait, line)
    ]
    assert said == [wait, read, wait, "     ... and 3 times more the same", paused]
