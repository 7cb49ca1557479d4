"""Executions that must fail: bad input before any change, failed or slow deployments rolled back."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from mesh_rollout_local.emulator import FAIL_NEXT_DEPLOYMENT_TAG
from mesh_rollout_local.runner import OfflineAccount
from tests.test_plan import DELETE, mutate


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
    assert [r.states for r in results.values()] == [["ValidateRollout"], ["PlanWeightShift"]]
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


def service_task_definition(account: OfflineAccount, service: str) -> str:
    ecs = account.client("ecs")
    return str(ecs.describe_services(cluster="apps", services=[service])["services"][0]["taskDefinition"]).rsplit("/", 1)[-1]


def test_a_failed_deployment_is_rolled_back_and_stops_the_rollout(account: OfflineAccount, scenario: dict[str, Any]) -> None:
    # Given serviceBv2 (second in the list) whose next deployment fails
    ecs = account.client("ecs")
    arn = ecs.describe_services(cluster="apps", services=["serviceBv2"])["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": FAIL_NEXT_DEPLOYMENT_TAG, "value": "FAILED"}])
    # When the rollout runs
    result = account.run("MeshRolloutStateMachine", scenario)
    # Then it fails with DeploymentFailed, serviceBv2 is back on its first revision and serviceA was not touched
    assert (result.status, result.error) == ("FAILED", "DeploymentFailed")
    assert result.cause == (
        "apps/serviceBv2: the deployment of taskBv2:2 failed (ECS deployment circuit breaker: tasks failed to start.); "
        "the service was put back on taskBv2:1"
    )
    assert service_task_definition(account, "serviceBv2") == "taskBv2:1"
    assert service_task_definition(account, "serviceB") == "taskB:2"
    assert service_task_definition(account, "serviceA") == "taskA:1"
    assert result.states[-3:] == ["RollbackService", "WhyRolledBack", "DeploymentFailed"]
    assert result.mutating_calls()["ecs:UpdateService"] == 3  # serviceB, serviceBv2, serviceBv2 back


def test_a_deployment_that_does_not_finish_in_time_is_rolled_back(account: OfflineAccount, scenario: dict[str, Any]) -> None:
    scenario = copy.deepcopy(scenario)
    scenario["ecsServices"] = [scenario["ecsServices"][0] | {"deploymentTimeoutSeconds": 60, "deploymentPollSeconds": 60}]
    result = account.run("MeshRolloutStateMachine", scenario)
    assert (result.status, result.error) == ("FAILED", "DeploymentTimedOut")
    assert "the deployment of taskB:2 did not complete in time" in str(result.cause)
    assert result.states.count("CheckDeployment") == 1
    assert service_task_definition(account, "serviceB") == "taskB:1"
