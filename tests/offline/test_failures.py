"""Executions that must fail: bad input before any change, failed or slow deployments rolled back."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from mesh_rollout_local import rollouts
from mesh_rollout_local.emulator import IN_PROGRESS_CHECKS_TAG
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS, ROOT
from tests.support import (
    DELETE,
    deployment_of,
    fail_next_deployment,
    handle,
    hold_deployment,
    mutate,
    service_of,
    service_task_definition,
    slow_gates,
    states_of,
    status_change_event,
    stop_flags,
)


def lambda_message(cause: str | None) -> str:
    return str(json.loads(cause or "{}")["errorMessage"])


BAD_EXECUTIONS = [
    ("missing field", "virtualNodes/0/spec", DELETE, "InvalidRolloutInput", "virtualNodes[0].spec: is required"),
    (
        "route to an unknown node",
        "routes/0/spec/http2Route/action/weightedTargets/0/virtualNode",
        "serviceC",
        "UnknownReference",
        "routes[0].spec.http2Route.action.weightedTargets[0].virtualNode:",
    ),
    (
        "weight of 101",
        "routes/0/spec/http2Route/action/weightedTargets/0/weight",
        101,
        "InvalidRolloutInput",
        "routes[0].spec.http2Route.action.weightedTargets[0].weight: 101 is above the maximum 100",
    ),
    ("unknown mesh reference", "virtualServices/0/meshName", "prod", "UnknownReference", "virtualServices[0].meshName:"),
    ("service that does not exist", "ecsServices/2/service", "serviceC", "EcsServiceNotFound", "ecsServices[2].service:"),
    ("cluster that does not exist", "ecsServices/0/cluster", "prod", "EcsServiceNotFound", "ecsServices[0].cluster:"),
    (
        "malformed spec",
        "virtualRouters/0/spec/listeners",
        {"port": 80},
        "InvalidRolloutInput",
        "virtualRouters[0].spec.listeners: must be a list",
    ),
    ("unknown app container", "ecsServices/1/appContainer", "web", "InvalidRolloutInput", "ecsServices[1].appContainer:"),
    (
        "weights summing to 150",
        "routes/0/spec/http2Route/action/weightedTargets/1/weight",
        75,
        "InvalidRolloutInput",
        "routes[0].spec.http2Route.action.weightedTargets: the weights sum to 150, above App Mesh's maximum total of 100",
    ),
    (
        "same node twice in a route",
        "routes/0/spec/http2Route/action/weightedTargets/1/virtualNode",
        "serviceB",
        "InvalidRolloutInput",
        "routes[0].spec.http2Route.action.weightedTargets[1].virtualNode: duplicates weightedTargets[0] (serviceB)",
    ),
    (
        "same ECS service twice",
        "ecsServices/2/service",
        "serviceB",
        "InvalidRolloutInput",
        "ecsServices[2]: duplicates ecsServices[0] (apps/serviceB)",
    ),
]


@pytest.mark.parametrize(("case", "path", "value", "error", "message"), BAD_EXECUTIONS, ids=[b[0] for b in BAD_EXECUTIONS])
def test_bad_input_fails_fast_and_changes_nothing(
    account: OfflineAccount, scenario: dict[str, Any], case: str, path: str, value: Any, error: str, message: str
) -> None:
    result = account.run("MeshRolloutStateMachine", mutate(scenario, path, value))
    assert (result.status, result.error) == ("FAILED", error)
    assert lambda_message(result.cause).startswith(message)
    assert result.states == ["ValidateRollout"]
    assert result.mutating_calls() == {}
    assert result.lambda_invocations == 1  # not retried


@pytest.mark.parametrize("raw", ["[]", '"apps"', "{}", '{"mesh": {"meshName": 7}}'])
def test_input_of_the_wrong_shape_fails_as_invalid_input(account: OfflineAccount, raw: str) -> None:
    result = account.run("MeshRolloutStateMachine", raw)
    assert (result.status, result.error, result.mutating_calls()) == ("FAILED", "InvalidRolloutInput", {})


def test_a_json_string_holding_an_object_gets_the_same_named_error_from_both_machines(
    shift_account: OfflineAccount, scenario: dict[str, Any], shift_input: dict[str, Any]
) -> None:
    # Given each machine's valid input, JSON-encoded twice: the execution input is a string holding the object
    # (the shift without its approval, so that a machine that runs it ends instead of waiting for an answer)
    shift_input.pop("approval")
    results = {
        machine: shift_account.run(machine, json.dumps(json.dumps(raw)))
        for machine, raw in (("MeshRolloutStateMachine", scenario), ("WeightShiftStateMachine", shift_input))
    }
    # Then both fail in their first state, with the same named error and message, before any change
    answers = {(r.status, r.error, lambda_message(r.cause)) for r in results.values()}
    assert answers == {
        (
            "FAILED",
            "InvalidRolloutInput",
            "(input): must be a JSON object, got a string holding a JSON object: pass the object itself, not a string of it",
        )
    }
    assert [r.states for r in results.values()] == [["ValidateRollout"], ["DryRunWanted", "PlanWeightShift"]]
    assert [r.mutating_calls() for r in results.values()] == [{}, {}]


def make_incompatible(account: OfflineAccount, family: str, **changes: Any) -> None:
    """Register a new revision of `family` with `changes` and put serviceB on it."""
    ecs = account.client("ecs")
    td = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    keep = (
        "family",
        "containerDefinitions",
        "cpu",
        "memory",
        "requiresCompatibilities",
        "networkMode",
        "taskRoleArn",
        "executionRoleArn",
    )
    request = {k: td[k] for k in keep if k in td} | changes
    request = {k: v for k, v in request.items() if v is not None}
    arn = ecs.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster="apps", service="serviceB", taskDefinition=arn)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"taskRoleArn": None}, "runs on Fargate without a task role"),
        ({"networkMode": "bridge", "requiresCompatibilities": ["EC2"]}, "uses networkMode 'bridge'"),
        (
            # a 0.25 vCPU / 512 MiB Fargate task whose app reserves 128 MiB has no room for Envoy's 500 MiB
            {
                "cpu": "256",
                "memory": "512",
                "containerDefinitions": [
                    {
                        "name": "app",
                        "image": "example/serviceb:1.0",
                        "memoryReservation": 128,
                        "portMappings": [{"containerPort": 9080, "protocol": "tcp"}],
                        "essential": True,
                    }
                ],
            },
            "on Fargate has 512 MiB; its containers would need 628 MiB (app 128 reserved, envoy 500)",
        ),
    ],
)
def test_what_the_guide_says_cannot_work_is_rejected_before_any_change(
    account: OfflineAccount, scenario: dict[str, Any], changes: dict[str, Any], message: str
) -> None:
    make_incompatible(account, "taskB", **changes)
    result = account.run("MeshRolloutStateMachine", scenario)
    assert (result.status, result.error) == ("FAILED", "IncompatibleTaskDefinition")
    assert lambda_message(result.cause).startswith("ecsServices[0]: ") and message in lambda_message(result.cause)
    assert result.mutating_calls() == {}


def test_a_failed_deployment_is_rolled_back_and_stops_the_rollout(account: OfflineAccount, scenario: dict[str, Any]) -> None:
    # Given serviceBv2 (second in the list) whose next deployment fails, and services deployed one at a time
    fail_next_deployment(account, "serviceBv2")
    # When the rollout runs
    result = account.run("MeshRolloutStateMachine", scenario | {"maxConcurrentDeployments": 1})
    # Then it fails with DeploymentFailed, serviceBv2 is back on its first revision and serviceA was not touched
    assert (result.status, result.error) == ("FAILED", "DeploymentFailed")
    assert str(result.cause).splitlines() == [
        "apps/serviceBv2: the deployment of taskBv2:2 failed (ECS deployment circuit breaker: tasks failed to start.); "
        "the service was put back on taskBv2:1",
        "1 of 3 services failed; updated (on their new revision): apps/serviceB on taskB:2; "
        "not started (untouched: an earlier service failed): apps/serviceA",
    ]
    assert service_task_definition(account, "serviceBv2") == "taskBv2:1"
    assert service_task_definition(account, "serviceB") == "taskB:2"
    assert service_task_definition(account, "serviceA") == "taskA:1"
    failed = next(c for c in result.children if c["status"] == "FAILED")
    assert states_of(failed)[-3:] == ["RollbackService", "WhyRolledBack", "DeploymentFailed"]
    assert states_of(next(c for c in result.children if service_of(c) == "serviceA")) == [
        "CheckStopFlag",
        "RolloutStopped",
        "NotStarted",
    ]
    assert result.states[-3:] == ["FinishMeshRollout", "EcsServicesOutcome", "EcsServiceFailed"]
    assert result.mutating_calls()["ecs:UpdateService"] == 3  # serviceB, serviceBv2, serviceBv2 back
    assert stop_flags(account) == []  # the flag that stopped serviceA is cleared at the end


def test_a_deployment_that_does_not_finish_in_time_is_rolled_back(account: OfflineAccount, scenario: dict[str, Any]) -> None:
    scenario = copy.deepcopy(scenario)
    scenario["ecsServices"] = [scenario["ecsServices"][0] | {"deploymentTimeoutSeconds": 60, "deploymentPollSeconds": 60}]
    result = account.run("MeshRolloutStateMachine", scenario)
    assert (result.status, result.error) == ("FAILED", "DeploymentTimedOut")
    assert "the deployment of taskB:2 did not complete in time" in str(result.cause)
    assert result.states.count("CheckDeployment") == 1
    assert service_task_definition(account, "serviceB") == "taskB:1"


def updated(account: OfflineAccount, service: str) -> bool:
    """Whether the service was pointed at a new revision, read from the emulator: a DescribeServices call would
    move the service's deployment on (the ECS emulator counts them), racing its own gate."""
    return not deployment_of(account, service)["taskDefinition"].endswith(f"task{service.removeprefix('service')}:1")


def serviceb_fails_while_servicebv2_deploys(account: OfflineAccount, scenario: dict[str, Any]) -> dict[str, Any]:
    """The Given of the two tests below: serviceB's deployment fails, held until serviceBv2 is deploying beside it (two
    services at a time, gates that never time out while a deployment is held). Returns the input to run."""
    fail_next_deployment(account, "serviceB")
    hold_deployment(account, "serviceB", until=lambda: updated(account, "serviceBv2"))
    return slow_gates(scenario, maxConcurrentDeployments=2)


def test_services_deploy_in_parallel_and_after_a_failure_only_those_already_deploying_go_on(
    account: OfflineAccount, scenario: dict[str, Any]
) -> None:
    # Given two services deploying at a time: serviceB, whose deployment fails once serviceBv2 is deploying beside it,
    # and serviceBv2, still deploying when serviceB fails; serviceA would start only after one of them ends
    scenario = serviceb_fails_while_servicebv2_deploys(account, scenario)
    hold_deployment(account, "serviceBv2", until=lambda: bool(stop_flags(account)))
    # When the rollout runs
    result = account.run("MeshRolloutStateMachine", scenario)
    # Then serviceB is rolled back, serviceBv2 finished its deployment and serviceA never started
    assert (result.status, result.error) == ("FAILED", "DeploymentFailed")
    assert str(result.cause).splitlines() == [
        "apps/serviceB: the deployment of taskB:2 failed (ECS deployment circuit breaker: tasks failed to start.); "
        "the service was put back on taskB:1",
        "1 of 3 services failed; updated (on their new revision): apps/serviceBv2 on taskBv2:2; "
        "not started (untouched: an earlier service failed): apps/serviceA",
    ]
    assert [service_task_definition(account, s) for s in ("serviceB", "serviceBv2", "serviceA")] == [
        "taskB:1",
        "taskBv2:2",
        "taskA:1",
    ]
    executions = {service_of(c): c for c in result.children}  # started concurrently: in no fixed order
    assert {s: c["status"] for s, c in executions.items()} == {
        "serviceB": "FAILED",
        "serviceBv2": "SUCCEEDED",
        "serviceA": "SUCCEEDED",
    }
    assert states_of(executions["serviceA"]) == ["CheckStopFlag", "RolloutStopped", "NotStarted"]
    assert result.mutating_calls()["ecs:UpdateService"] == 3  # serviceB, serviceBv2, serviceB back
    assert stop_flags(account) == []


def test_a_rollout_stopped_after_a_service_failed_has_its_stop_flag_removed_when_its_end_is_delivered(
    account: OfflineAccount, scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given serviceB, whose deployment fails while serviceBv2 deploys beside it, and a rollout stopped (as
    # `mesh-rollout abort` stops it) once serviceB's failure raised the stop flag, serviceBv2 still deploying
    scenario = serviceb_fails_while_servicebv2_deploys(account, scenario)
    sfn, mesh_rollout = account.client("stepfunctions"), account.state_machine_arns["MeshRolloutStateMachine"]
    stopped: list[str] = []

    def stop_once_flagged(event: dict[str, Any]) -> None:
        if event.get("service") == "serviceBv2" and not stopped and stop_flags(account):
            (running,) = sfn.list_executions(stateMachineArn=mesh_rollout, statusFilter="RUNNING")["executions"]
            sfn.stop_execution(executionArn=running["executionArn"], error=rollouts.ABORT_ERROR, cause="wrong image")
            stopped.append(running["executionArn"])

    account.intercept("DeploymentHealthFunction", stop_once_flagged)
    hold_deployment(account, "serviceBv2", until=lambda: bool(stopped))  # runs before stop_once_flagged
    result = account.run("MeshRolloutStateMachine", scenario)
    # StopExecution runs no Catch: FinishMeshRollout never ran and the flag is still there
    assert (result.status, stopped) == ("ABORTED", [result.execution_arn])
    assert "FinishMeshRollout" not in result.states
    assert stop_flags(account) == [f"stopped:{result.execution_arn}"]
    # When EventBridge delivers the end of the execution, the status-change function removes it (twice is harmless)
    event = status_change_event(result.execution_arn, mesh_rollout, "ABORTED")
    assert handle(account, event, monkeypatch)["done"] == [
        f"stop flag stopped:{result.execution_arn} removed (the rollout ended before FinishMeshRollout removed it)"
    ]
    assert stop_flags(account) == []
    assert handle(account, event, monkeypatch)["done"] == []


def test_the_rollout_history_does_not_grow_with_deployment_checks(given: list[dict[str, Any]], scenario: dict[str, Any]) -> None:
    # Given the same world twice, once with deployments seen IN_PROGRESS once, once 25 times
    runs = []
    for checks in (1, 25):
        with OfflineAccount(ROOT / "template.yaml") as account:
            account.apply_given(given, EVENTS / "local")
            ecs = account.client("ecs")
            for service in ecs.describe_services(cluster="apps", services=["serviceB", "serviceBv2", "serviceA"])["services"]:
                ecs.tag_resource(resourceArn=service["serviceArn"], tags=[{"key": IN_PROGRESS_CHECKS_TAG, "value": str(checks)}])
            runs.append(account.run("MeshRolloutStateMachine", scenario))
    # Then each service's own execution checks its deployment that many times, and the rollout's history is the same
    assert [r.status for r in runs] == ["SUCCEEDED", "SUCCEEDED"]
    assert [[states_of(c).count("CheckDeployment") for c in r.children] for r in runs] == [[2, 2, 2], [26, 26, 26]]
    assert len(runs[0].history) == len(runs[1].history)
    assert "CheckDeployment" not in [e.get("stateEnteredEventDetails", {}).get("name") for e in runs[1].history]
