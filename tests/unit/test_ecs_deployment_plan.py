"""PlanEcsDeployment (issue 22), what needs no AWS call: each strategy's steps, and each refusal of the input naming
its field (the plan that reads the service and its rule: tests/offline/test_ecs_deployment_plan.py)."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout.deploying.inputs import parse_spec
from mesh_rollout.deploying.plan import step_list
from mesh_rollout.errors import InvalidRolloutInput
from tests.support.ecs import DEPLOYMENT_ARN, start


def refused(raw: Any) -> InvalidRolloutInput:
    with pytest.raises(InvalidRolloutInput) as caught:
        parse_spec(raw)
    return caught.value


# --- steps -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "config", "steps"),
    [
        ("LINEAR", {"linearConfiguration": {"stepPercent": 20.0}}, [20, 40, 60, 80, 100]),
        ("LINEAR", {"linearConfiguration": {"stepPercent": 30.0}}, [30, 60, 90, 100]),
        ("LINEAR", {"linearConfiguration": {"stepPercent": 100.0}}, [100]),
        ("LINEAR", {}, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),  # ECS's default stepPercent 10.0
        ("LINEAR", {"linearConfiguration": {"stepPercent": 33.3}}, [33.3, 66.6, 99.9, 100]),
        ("CANARY", {"canaryConfiguration": {"canaryPercent": 10.0}}, [10, 100]),
        ("CANARY", {"canaryConfiguration": {"canaryPercent": 0.1}}, [0.1, 100]),
        ("CANARY", {}, [5, 100]),  # ECS's default canaryPercent 5.0
        ("CANARY", {"canaryConfiguration": {"canaryPercent": 100.0}}, [100]),
        ("BLUE_GREEN", {"bakeTimeInMinutes": 5}, [100]),
    ],
)
def test_each_strategy_has_its_steps(strategy: str, config: dict[str, Any], steps: list[float]) -> None:
    assert step_list(strategy, {"strategy": strategy, **config}) == steps


def test_step_list_of_3_3_percent_ends_at_100_after_99() -> None:
    steps = step_list("LINEAR", {"linearConfiguration": {"stepPercent": 3.3}})
    assert steps[:3] == [3.3, 6.6, 9.9] and steps[-2:] == [99, 100] and len(steps) == 31


# --- refusals before any AWS call ----------------------------------------------------------------------------


DC = "deploymentConfiguration"


def config(**members: Any) -> dict[str, Any]:
    return {DC: members}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"taskDefinition": None}, "taskDefinition"),
        ({"imageDefinitions": [{"name": "app", "imageUri": "x:2"}]}, "imageDefinitions"),
        ({"serviceDeploymentArn": DEPLOYMENT_ARN}, "serviceDeploymentArn"),
        (config(strategy="ROLLING"), f"{DC}.strategy"),
        (config(strategy="SHADOW"), f"{DC}.strategy"),
        (config(linearConfiguration={"stepPercent": 2.9}), f"{DC}.linearConfiguration.stepPercent"),
        (config(linearConfiguration={"stepPercent": 100.1}), f"{DC}.linearConfiguration.stepPercent"),
        (config(linearConfiguration={"stepPercent": 20.05}), f"{DC}.linearConfiguration.stepPercent"),
        (config(canaryConfiguration={"canaryPercent": 0.05}), f"{DC}.canaryConfiguration.canaryPercent"),
        (config(canaryConfiguration={"canaryPercent": 12.34}), f"{DC}.canaryConfiguration.canaryPercent"),
        (config(linearConfiguration={"stepBakeTimeInMinutes": 1441}), f"{DC}.linearConfiguration.stepBakeTimeInMinutes"),
        (config(canaryConfiguration={"canaryBakeTimeInMinutes": -1}), f"{DC}.canaryConfiguration.canaryBakeTimeInMinutes"),
        (config(bakeTimeInMinutes=1441), f"{DC}.bakeTimeInMinutes"),
        (config(strategy="CANARY", linearConfiguration={"stepPercent": 20}), f"{DC}.linearConfiguration"),
        (config(maximumPercent=200), f"{DC}.maximumPercent"),
        ({"hookTimeoutMinutes": 30, "approval": {"timeoutSeconds": 3600}}, "hookTimeoutMinutes"),
        ({"approval": {"timeoutSeconds": 20160 * 60}}, "approval.timeoutSeconds"),
        ({"hookTimeoutMinutes": 20161}, "hookTimeoutMinutes"),
        ({"healthGate": {"ecsServices": [{"cluster": "apps", "service": "checkout"}]}}, "healthGate.ecsServices[0]"),
        ({"pollSeconds": 0}, "pollSeconds"),
    ],
)
def test_bad_input_is_refused_naming_its_field_before_any_aws_call(changes: dict[str, Any], field: str) -> None:
    raw = {k: v for k, v in {**start(), **changes}.items() if v is not None}
    assert refused(raw).field == field


def test_a_deployment_arn_of_another_service_is_refused() -> None:
    other = DEPLOYMENT_ARN.replace("/apps/checkout/", "/apps/cart/")
    error = refused({"cluster": "apps", "service": "checkout", "serviceDeploymentArn": other})
    assert error.field == "serviceDeploymentArn" and "apps/cart" in str(error)


def test_several_problems_are_refused_at_once_each_naming_its_field() -> None:
    raw = {
        "cluster": "apps",
        "service": "checkout",
        "deploymentConfiguration": {"strategy": "ROLLING"},
        "healthGate": {"ecsServices": [{"cluster": "apps", "service": "checkout"}]},
    }
    fields = [field for field, _ in refused(raw).problems]
    assert fields == ["taskDefinition", "deploymentConfiguration.strategy", "healthGate.ecsServices[0]"]
