"""Bad weight-shift inputs fail in PlanWeightShift, before any mutating call, with a named error naming the field."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS, ROOT, load_json

# the module-scoped world is built once: `--dist loadgroup` (Makefile) keeps this module on one pytest-xdist worker
pytestmark = pytest.mark.xdist_group("test_weight_shift_inputs")

DELETE = object()
BASE = load_json(EVENTS / "weight-shift-apps.json")


def changed(**changes: Any) -> dict[str, Any]:
    """The guide's shift input with top-level or dotted fields replaced (DELETE removes them)."""
    result = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = result
        for part in parents:
            target = target.setdefault(part, {})
        if value is DELETE:
            target.pop(key, None)
        else:
            target[key] = value
    return result


BAD = [
    ("unknown mesh", changed(meshName="prod"), "UnknownReference", "meshName: mesh 'prod' does not exist"),
    ("unknown router", changed(virtualRouterName="serviceC"), "UnknownReference", "virtualRouterName: virtual router 'serviceC'"),
    ("unknown route", changed(routeName="serviceC"), "UnknownReference", "routeName: route 'serviceC' does not exist"),
    ("unknown canary node", changed(canary="serviceBv3"), "UnknownReference", "canary: virtual node 'serviceBv3' does not exist"),
    ("stable not on the route", changed(stable="serviceA"), "InvalidRolloutInput", "stable: 'serviceA' is not a weighted target"),
    ("canary equal to stable", changed(canary="serviceB"), "InvalidRolloutInput", "canary: must differ from stable"),
    (
        "steps not increasing",
        changed(steps=[50, 40, 100]),
        "InvalidRolloutInput",
        "steps[1]: 40 must be above the step before it",
    ),
    ("step above 100", changed(steps=[50, 101]), "InvalidRolloutInput", "steps[1]: Input should be less than or equal to 100"),
    ("step of 0", changed(steps=[0, 100]), "InvalidRolloutInput", "steps[0]: Input should be greater than or equal to 1"),
    ("steps and stepPercent", changed(stepPercent=10), "InvalidRolloutInput", "stepPercent: give steps or stepPercent, not both"),
    (
        "negative bake time",
        changed(bakeSeconds=-1),
        "InvalidRolloutInput",
        "bakeSeconds: Input should be greater than or equal to 0",
    ),
    (
        "approval at a step not in the plan",
        changed(approval__beforeSteps=[75]),
        "InvalidRolloutInput",
        "approval.beforeSteps[0]: 75 is not a step of the plan [50, 100]",
    ),
    ("approval timeout of 0", changed(approval__timeoutSeconds=0), "InvalidRolloutInput", "approval.timeoutSeconds:"),
    ("missing route name", changed(routeName=DELETE), "InvalidRolloutInput", "routeName: is required for an App Mesh route"),
    ("misspelt field", changed(bakeSecond=60), "InvalidRolloutInput", "bakeSecond: unknown field; did you mean bakeSeconds?"),
    ("unknown mode", changed(mode="all-at-once"), "InvalidRolloutInput", "mode: Input should be 'plan' or 'increment'"),
    (
        "unknown alarm",
        changed(healthGate__alarmNames=["nope"]),
        "UnknownReference",
        "healthGate.alarmNames[0]: CloudWatch alarm 'nope'",
    ),
    (
        "unknown ECS service",
        changed(healthGate__ecsServices=[{"cluster": "apps", "service": "serviceC"}]),
        "EcsServiceNotFound",
        "healthGate.ecsServices[0].service:",
    ),
    (
        "metric with a malformed MetricStat",
        changed(
            healthGate__metrics=[
                {"id": "errors", "metricStat": {"Metric": {"MetricName": "5xx"}, "Period": "60", "Stat": "Sum"}, "threshold": 1}
            ]
        ),
        "InvalidRolloutInput",
        "healthGate.metrics[0].metricStat.Period: must be",
    ),
    (
        "delete the stable node but keep it on the route",
        changed(finalize__removeStableTarget=False, finalize__deleteStableNode=True),
        "InvalidRolloutInput",
        "finalize.deleteStableNode: needs removeStableTarget",
    ),
    (
        "scale to zero without a service",
        changed(finalize__scaleStableServiceToZero=True),
        "InvalidRolloutInput",
        "finalize.stableEcsService: is required",
    ),
]


@pytest.fixture(scope="module")
def world() -> Iterator[OfflineAccount]:
    with OfflineAccount(ROOT / "template.yaml") as emulated:
        emulated.apply_given(load_json(EVENTS / "local" / "weight-shift-given.json"), EVENTS / "local")
        yield emulated


@pytest.mark.parametrize(("case", "execution_input", "error", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_fails_before_any_change(
    world: OfflineAccount, case: str, execution_input: dict[str, Any], error: str, message: str
) -> None:
    route = world.client("appmesh").describe_route(meshName="apps", virtualRouterName="serviceB", routeName="serviceB")
    result = world.run("WeightShiftStateMachine", execution_input)
    assert (result.status, result.error) == ("FAILED", error)
    assert json.loads(result.cause or "{}")["errorMessage"].startswith(message)
    assert result.states == ["DryRunWanted", "PlanWeightShift"]  # no dry run asked, then the plan refuses
    assert result.mutating_calls() == {}
    assert result.lambda_invocations == 1  # input errors are not retried
    after = world.client("appmesh").describe_route(meshName="apps", virtualRouterName="serviceB", routeName="serviceB")
    assert after["route"]["metadata"]["version"] == route["route"]["metadata"]["version"]


@pytest.mark.parametrize(("stable", "canary", "total"), [(100, 50, 150), (100, 100, 200)])
def test_a_route_whose_weights_sum_above_100_is_refused_before_any_change(
    world: OfflineAccount, stable: int, canary: int, total: int
) -> None:
    # Given the route holds weights App Mesh documents as invalid (a total above 100)
    appmesh = world.client("appmesh")
    keys = {"meshName": "apps", "virtualRouterName": "serviceB", "routeName": "serviceB"}
    original = appmesh.describe_route(**keys)["route"]["spec"]
    spec = copy.deepcopy(original)
    spec["http2Route"]["action"]["weightedTargets"] = [
        {"virtualNode": "serviceB", "weight": stable},
        {"virtualNode": "serviceBv2", "weight": canary},
    ]
    version = appmesh.update_route(**keys, spec=spec)["route"]["metadata"]["version"]
    try:
        # When a shift starts from it (without an approval, so that a shift that runs ends instead of waiting)
        result = world.run("WeightShiftStateMachine", changed(approval=DELETE))
        # Then PlanWeightShift refuses it, naming routeName, instead of giving the canary a weight of `total`
        assert (result.status, result.error) == ("FAILED", "InvalidRolloutInput")
        assert json.loads(result.cause or "{}")["errorMessage"].startswith(
            f"routeName: route 'apps/serviceB/serviceB' has serviceB {stable} / serviceBv2 {canary}: its weights sum to {total},"
            " above App Mesh's maximum total of 100"
        )
        assert result.states == ["DryRunWanted", "PlanWeightShift"]  # no dry run asked, then the plan refuses
        assert result.mutating_calls() == {}
        assert appmesh.describe_route(**keys)["route"]["metadata"]["version"] == version
    finally:
        appmesh.update_route(**keys, spec=original)  # the module's other tests start from the guide's route
