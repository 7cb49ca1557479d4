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
        ("update_service", {"cluster": "apps", "service": "serviceB", "taskDefinition": "t:2", "lockId": "r"}, "executionArn"),
        (
            "update_service",
            {"executionArn": "e", "cluster": "c", "service": "s", "taskDefinition": "t:2", "lockId": ""},
            "lockId",
        ),
        (
            "update_service",
            {
                "executionArn": "e",
                "cluster": "c",
                "service": "s",
                "taskDefinition": "t",
                "lockId": "r",
                "vpcLatticeConfigurations": [],
            },
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


def test_the_weight_shift_handler_events_walk_a_canary_step_and_its_rollback(
    shift_account: OfflineAccount, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in shift_account.environment("FinishRolloutFunction").items():
        monkeypatch.setenv(name, value)
    appmesh = shift_account.client("appmesh")

    def route_weights() -> dict[str, int]:
        spec = appmesh.describe_route(meshName="apps", virtualRouterName="serviceB", routeName="serviceB")["route"]["spec"]
        return {t["virtualNode"]: t["weight"] for t in spec["http2Route"]["action"]["weightedTargets"]}

    plan = invoke("plan_weight_shift", event("plan_weight_shift"), lambda_context)
    assert [s["percent"] for s in plan["steps"]] == [50, 100] and plan["lockId"] == event("acquire_route_lock")["lockId"]
    assert (
        invoke("acquire_route_lock", event("acquire_route_lock"), lambda_context)["owner"]
        == event("acquire_route_lock")["executionArn"]
    )
    assert invoke("acquire_route_lock", event("acquire_route_lock"), lambda_context)  # the same owner again: a retry
    snapshot = invoke("shift_traffic", event("shift_traffic_snapshot"), lambda_context)
    assert snapshot == event("shift_traffic_apply")["snapshot"]
    applied = invoke("shift_traffic", event("shift_traffic_apply"), lambda_context)
    assert (applied["changed"], route_weights()) == (True, {"serviceB": 50, "serviceBv2": 50})
    assert invoke("shift_traffic", event("shift_traffic_apply"), lambda_context)["changed"] is False  # idempotent
    assert invoke("canary_health", event("canary_health"), lambda_context)["state"] == "HEALTHY"
    assert invoke("request_approval", event("request_approval"), lambda_context)["messageId"]
    assert "EXAMPLE-TOKEN" not in shift_account.notifications()[-1]["message"]
    restored = invoke("shift_traffic", event("shift_traffic_restore"), lambda_context)
    assert (restored["restored"], route_weights()) == (True, {"serviceB": 75, "serviceBv2": 25})
    assert invoke("shift_traffic", event("shift_traffic_restore"), lambda_context)["restored"] is False  # idempotent
    finished = invoke("finish_rollout", event("finish_rollout"), lambda_context)
    assert (finished["status"], finished["error"], finished["lockReleased"]) == ("FAILED", "ApprovalRejected", True)
    again = invoke("finish_rollout", event("finish_rollout"), lambda_context)  # a retry: the release this execution made
    assert (again["status"], again["lockReleased"]) == ("FAILED", True)


def test_finalize_event_retires_the_stable_target(
    shift_account: OfflineAccount, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in shift_account.environment("FinalizeCanaryFunction").items():
        monkeypatch.setenv(name, value)
    invoke("acquire_route_lock", event("acquire_route_lock"), lambda_context)
    snapshot = event("shift_traffic_apply")
    weights = {"weights": {"serviceB": 0, "serviceBv2": 100}, "previous": snapshot["snapshot"]["weights"]}
    last = {"percent": 100, "previousPercent": 25, **weights}
    invoke("shift_traffic", {**snapshot, "step": last}, lambda_context)
    result = invoke("finalize_canary", event("finalize_canary"), lambda_context)
    assert result == {"done": ["removed serviceB from route apps/serviceB/serviceB"], "weights": {"serviceBv2": 100}}
    assert invoke("finalize_canary", event("finalize_canary"), lambda_context)["done"] == []


@pytest.mark.parametrize(
    ("module", "bad", "field"),
    [
        ("acquire_route_lock", {"lockId": "x", "seconds": 5}, "seconds"),
        ("shift_traffic", {"action": "apply", "route": {}, "stable": "a", "canary": "b", "snapshot": {}}, "step"),
        ("shift_traffic", {"action": "restore", "route": {}, "stable": "a", "canary": "b", "snapshot": {}, "steps": []}, "mode"),
        ("canary_health", {"healthGate": {}, "windowSeconds": -1}, "windowSeconds"),
        ("request_approval", {"item": {}}, "taskToken"),
        ("finish_rollout", {"route": {}, "lockId": "x"}, "locked"),
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
        assert plan["healthGate"]["ecsServices"] == [{"cluster": "apps", "service": "serviceBv2"}]  # found from its group
        assert [m["id"] for m in plan["healthGate"]["metrics"]] == ["canaryErrorRate", "canaryLatency"]
        common = {"executionArn": event("plan_weight_shift_lattice")["executionArn"], "route": plan["route"]}
        common |= {"stable": plan["stable"], "canary": plan["canary"], "lockId": plan["lockId"]}
        lock = {"executionArn": common["executionArn"], "lockId": plan["lockId"], "seconds": plan["lockSeconds"]}
        invoke("acquire_route_lock", lock, lambda_context)
        take = {k: v for k, v in common.items() if k != "lockId"} | {
            "action": "snapshot",
            "plannedWeights": plan["plannedWeights"],
        }
        snapshot = invoke("shift_traffic", take, lambda_context)
        assert snapshot["weights"] == {"serviceb": 75, "servicebv2": 25}
        applied = invoke(
            "shift_traffic", {**common, "action": "apply", "snapshot": snapshot, "step": plan["steps"][0]}, lambda_context
        )
        assert (applied["changed"], applied["weights"]) == (True, {"serviceb": 50, "servicebv2": 50})
        restore = {**common, "action": "restore", "snapshot": snapshot, "steps": plan["steps"], "mode": "plan"}
        restore["finalize"] = plan["finalize"]
        assert invoke("shift_traffic", restore, lambda_context)["restored"] is True
        assert invoke("shift_traffic", take, lambda_context) == snapshot  # byte-equal again
