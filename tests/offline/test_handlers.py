"""Each handler, called as Lambda calls it, with the events/handlers/ event that `sam local invoke -e` uses."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout_local.runner import LambdaContext, OfflineAccount
from tests.conftest import EVENTS, load_json


def invoke(module: str, event: Any, context: LambdaContext) -> Any:
    return importlib.import_module(f"handlers.{module}").lambda_handler(event, context)


def event(name: str) -> dict[str, Any]:
    return load_json(EVENTS / "handlers" / f"{name}.json")  # type: ignore[no-any-return]


def test_the_handler_events_walk_the_guide_step_by_step(account: OfflineAccount, lambda_context: LambdaContext) -> None:
    plan = invoke("validate_rollout", event("validate_rollout"), lambda_context)
    assert [s["virtualServiceName"] for s in plan["virtualServicePlaceholders"]] == ["serviceb.apps.local"]

    assert invoke("ensure_mesh", event("ensure_mesh"), lambda_context)["action"] == "created"
    assert invoke("ensure_mesh", event("ensure_mesh"), lambda_context)["action"] == "unchanged"
    for name in ("ensure_virtual_node", "ensure_virtual_router"):
        assert invoke(name.replace("ensure_virtual_router", "ensure_router"), event(name), lambda_context)["action"] == "created"
    node_b2 = {**event("ensure_virtual_node")["request"], "virtualNodeName": "serviceBv2"}
    invoke("ensure_virtual_node", {"request": node_b2}, lambda_context)
    assert invoke("ensure_router", event("ensure_route"), lambda_context)["action"] == "created"

    revision = invoke("register_task_definition", event("register_task_definition"), lambda_context)
    assert revision["taskDefinition"].endswith("taskB:2") and revision["registered"] and revision["needsUpdate"]
    assert invoke("update_service", event("update_service"), lambda_context)["updated"] is True
    first = invoke("deployment_health", event("deployment_health"), lambda_context)
    second = invoke("deployment_health", event("deployment_health") | {"checks": first["checks"]}, lambda_context)
    assert (first["verdict"]["state"], second["verdict"]["state"], second["checks"]) == ("IN_PROGRESS", "COMPLETED", 2)
    assert invoke("update_service", event("update_service"), lambda_context)["updated"] is False
    rolled = invoke("rollback_service", event("rollback_service"), lambda_context)
    assert rolled["cause"] == (
        "apps/serviceB: the deployment of taskB:2 failed (ECS deployment circuit breaker: tasks failed to start.); "
        "the service was put back on taskB:1"
    )


@pytest.mark.parametrize(
    ("module", "bad", "field"),
    [
        ("ensure_mesh", {"kind": "gateway", "request": {}}, "kind"),
        (
            "ensure_virtual_node",
            {"request": {"meshName": "apps", "virtualNodeName": "x", "spec": {"listeners": 1}}},
            "request.spec.listeners",
        ),
        ("update_service", {"cluster": "apps", "service": "serviceB"}, "taskDefinition"),
        (  # a release's update is fenced per leg (`revisions`): a lone service's update takes no lock
            "update_service",
            {"executionArn": "e", "cluster": "c", "service": "s", "taskDefinition": "t:2", "lockId": "r"},
            "lockId",
        ),
        ("deployment_health", {"cluster": "apps", "service": "s", "taskDefinition": "t", "checks": -1}, "checks"),
        ("register_task_definition", {"index": 0, "target": {}, "extra": 1}, "extra"),
    ],
)
def test_handlers_reject_bad_events_before_any_aws_call(
    account: OfflineAccount, lambda_context: LambdaContext, module: str, bad: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRolloutInput) as caught:
        invoke(module, bad, lambda_context)
    assert str(caught.value).startswith(f"{field}:")


# the weight shift's handler events: each hands over the one leg a route alone is (grouping.plan.route_alone)
LEG_EVENTS = ("shift_traffic_snapshot", "shift_traffic_apply", "shift_traffic_restore", "canary_health", "finalize_canary")
GUIDE_ROUTE = "apps/serviceB/serviceB"


def test_the_weight_shift_handler_events_walk_a_canary_step_and_its_rollback(
    shift_account: OfflineAccount, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in shift_account.environment("FinishRolloutFunction").items():
        monkeypatch.setenv(name, value)
    appmesh = shift_account.client("appmesh")

    def route_weights() -> dict[str, int]:
        spec = appmesh.describe_route(meshName="apps", virtualRouterName="serviceB", routeName="serviceB")["route"]["spec"]
        return {t["virtualNode"]: t["weight"] for t in spec["http2Route"]["action"]["weightedTargets"]}

    # a route alone is planned as the group of one leg it is, and every event hands over that leg as planned
    plan = invoke("plan_weight_shift", event("plan_weight_shift"), lambda_context)
    assert [s["percent"] for s in plan["steps"]] == [50, 100] and plan["lockId"] == event("acquire_route_lock")["lockId"]
    assert (plan["single"], plan["lockIds"], [leg["name"] for leg in plan["legs"]]) == (True, [plan["lockId"]], [GUIDE_ROUTE])
    for name in LEG_EVENTS:
        assert event(name)["legs"] == plan["legs"], name
    assert event("request_approval")["item"]["legs"] == plan["legs"]
    finishing = event("finish_rollout")["state"]  # the execution's whole state: the plan, and what the run added
    assert {key: finishing[key] for key in plan} == plan
    execution_arn = event("acquire_route_lock")["executionArn"]
    lock = {"executionArn": execution_arn, "lockIds": plan["lockIds"], "seconds": plan["lockSeconds"]}  # AcquireGroupLocks'
    assert invoke("acquire_route_lock", lock, lambda_context)["owner"] == execution_arn
    assert invoke("acquire_route_lock", lock, lambda_context)  # the same owner again: a retry
    snapshot = invoke("shift_traffic", event("shift_traffic_snapshot"), lambda_context)
    assert snapshot == {"snapshots": event("shift_traffic_apply")["snapshots"], "single": True} == finishing["snapshotted"]
    applied = invoke("shift_traffic", event("shift_traffic_apply"), lambda_context)
    at_50 = {"serviceB": 50, "serviceBv2": 50}
    assert applied == {"percent": 50, "legs": [{"name": GUIDE_ROUTE, "weights": at_50, "changed": True, "single": True}]}
    assert route_weights() == at_50
    assert invoke("shift_traffic", event("shift_traffic_apply"), lambda_context)["legs"][0]["changed"] is False  # idempotent
    health = invoke("canary_health", event("canary_health"), lambda_context)
    assert (health["state"], [leg["state"] for leg in health["legs"]]) == ("HEALTHY", ["HEALTHY"])
    assert health["summary"] == health["legs"][0]["summary"]  # a route alone: its gate's own words
    assert invoke("request_approval", event("request_approval"), lambda_context)["messageId"]
    asked = shift_account.notifications()[-1]
    assert "EXAMPLE-TOKEN" not in asked["message"] and GUIDE_ROUTE in asked["subject"]
    assert "now:     serviceB 50 / serviceBv2 50" in asked["message"]
    assert "next:    serviceB 0 / serviceBv2 100" in asked["message"]
    restored = invoke("shift_traffic", event("shift_traffic_restore"), lambda_context)
    assert (restored["restored"], route_weights()) == (True, {"serviceB": 75, "serviceBv2": 25})
    assert restored["legs"] == [
        {"name": GUIDE_ROUTE, "restored": True, "weights": {"serviceB": 75, "serviceBv2": 25}, "single": True}
    ]
    assert invoke("shift_traffic", event("shift_traffic_restore"), lambda_context)["restored"] is False  # idempotent
    finished = invoke("finish_rollout", event("finish_rollout"), lambda_context)
    assert (finished["status"], finished["error"], finished["lockReleased"]) == ("FAILED", "ApprovalRejected", True)
    assert finished["cause"].startswith("the step to 100% was rejected: ")
    assert finished["cause"].endswith(f"Rolled back: route {GUIDE_ROUTE} is at serviceB 75 / serviceBv2 25")
    again = invoke("finish_rollout", event("finish_rollout"), lambda_context)  # a retry: the release this execution made
    assert (again["status"], again["lockReleased"]) == ("FAILED", True)


def test_finalize_event_retires_the_stable_target(
    shift_account: OfflineAccount, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in shift_account.environment("FinalizeCanaryFunction").items():
        monkeypatch.setenv(name, value)
    appmesh = shift_account.client("appmesh")
    invoke("acquire_route_lock", event("acquire_route_lock"), lambda_context)
    step = event("shift_traffic_apply")  # 50%, then the last step, to 100%, as MoveLegs applies them
    invoke("shift_traffic", step, lambda_context)
    last = {"index": 1, "percent": 100, "previous": 50, "approval": True, "gateAfter": True}
    (moved,) = invoke("shift_traffic", {**step, "step": last}, lambda_context)["legs"]
    assert moved["weights"] == {"serviceB": 0, "serviceBv2": 100}
    assert event("finalize_canary")["snapshots"] == step["snapshots"]
    result = invoke("finalize_canary", event("finalize_canary"), lambda_context)
    assert result == {"done": ["removed serviceB from route apps/serviceB/serviceB"]}
    route = appmesh.describe_route(meshName="apps", virtualRouterName="serviceB", routeName="serviceB")["route"]["spec"]
    assert route["http2Route"]["action"]["weightedTargets"] == [{"virtualNode": "serviceBv2", "weight": 100}]
    assert invoke("finalize_canary", event("finalize_canary"), lambda_context)["done"] == []


@pytest.mark.parametrize(
    ("module", "bad", "field"),
    [
        ("acquire_route_lock", {"lockId": "x", "seconds": 5}, "seconds"),
        ("acquire_route_lock", {"lockIds": ["x"], "seconds": 5}, "seconds"),
        ("shift_traffic", {"action": "applyLegs", "legs": [], "waves": [[0]]}, "step"),
        ("shift_traffic", {"action": "restoreLegs", "legs": []}, "rollbackWaves"),
        ("shift_traffic", {"action": "apply", "legs": []}, "action"),  # the single-route actions are gone
        ("shift_traffic", {"action": "snapshotLegs", "legs": [{"name": "x"}]}, "legs[0].route"),
        ("canary_health", {"legs": [], "windowSeconds": -1}, "windowSeconds"),
        ("finalize_canary", {"legs": []}, "waves"),
        ("request_approval", {"item": {}}, "taskToken"),
        ("finish_rollout", {"executionArn": "x"}, "state"),
        ("finish_rollout", {"route": {}, "lockId": "x", "locked": True, "state": {}}, "route"),
        ("plan_weight_shift", {"rollout": {"meshName": "apps", "stable": "a", "canary": "b"}}, "virtualRouterName"),
        ("plan_weight_shift", {"rollout": {"listenerArn": "arn:aws:x", "stable": "a", "canary": "b"}}, "listenerArn"),
    ],
)
def test_weight_shift_handlers_reject_bad_events_before_any_aws_call(
    lambda_context: LambdaContext, module: str, bad: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRolloutInput) as caught:
        invoke(module, bad, lambda_context)
    assert str(caught.value).startswith(f"{field}:")


def test_register_release_event_registers_the_image_only_once(
    shift_account: OfflineAccount, lambda_context: LambdaContext
) -> None:
    first = invoke("register_release", event("register_release"), lambda_context)
    assert first["registered"] and first["needsUpdate"] and first["taskDefinition"].endswith("taskBv2:3")
    again = invoke("register_release", event("register_release"), lambda_context)  # an interrupted run's revision is reused
    assert (again["registered"], again["taskDefinition"]) == (False, first["taskDefinition"])


def test_the_lattice_plan_event_plans_by_names_and_its_steps_walk_the_rule(
    lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import ROOT

    with OfflineAccount(ROOT / "template.yaml") as account:
        account.apply_given(load_json(EVENTS / "local" / "lattice-given.json"), EVENTS / "local")
        for name, value in account.environment("ShiftTrafficFunction").items():
            monkeypatch.setenv(name, value)
        plan = invoke("plan_weight_shift", event("plan_weight_shift_lattice"), lambda_context)
        assert plan["route"]["label"] == "serviceb/http-80/serviceb" and plan["lockId"].startswith("lattice:svc-")
        (leg,) = plan["legs"]  # a route alone: the group of one leg it is
        assert (leg["route"], leg["lockId"], plan["lockIds"]) == (plan["route"], plan["lockId"], [plan["lockId"]])
        assert leg["healthGate"]["ecsServices"] == [{"cluster": "apps", "service": "serviceBv2"}]  # found from its group
        assert [m["id"] for m in leg["healthGate"]["metrics"]] == ["canaryErrorRate", "canaryLatency"]
        common = {"executionArn": event("plan_weight_shift_lattice")["executionArn"], "legs": plan["legs"]}
        lock = {"executionArn": common["executionArn"], "lockIds": plan["lockIds"], "seconds": plan["lockSeconds"]}
        invoke("acquire_route_lock", lock, lambda_context)
        take = {**common, "action": "snapshotLegs"}
        (snapshot,) = invoke("shift_traffic", take, lambda_context)["snapshots"]
        assert snapshot["weights"] == {"serviceb": 75, "servicebv2": 25}
        step = {**common, "action": "applyLegs", "snapshots": [snapshot], "waves": plan["waves"], "step": plan["steps"][0]}
        (applied,) = invoke("shift_traffic", step, lambda_context)["legs"]
        assert (applied["changed"], applied["weights"]) == (True, {"serviceb": 50, "servicebv2": 50})
        (wave,) = plan["rollbackOrder"]
        restore = {**common, "action": "restoreLegs", "snapshots": [snapshot], "rollbackWaves": wave["routes"]}
        assert invoke("shift_traffic", restore, lambda_context)["restored"] is True
        assert invoke("shift_traffic", take, lambda_context) == {"snapshots": [snapshot], "single": True}  # byte-equal again
