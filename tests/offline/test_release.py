"""A release before the steps: a new canary image, sidecar kept exactly; a failed deployment rolls back both."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput, LockLost, TransientAwsError
from mesh_rollout.shifting.cleanup import state_output
from mesh_rollout.shifting.lock import LockFence
from mesh_rollout.shifting.release import point_canary_at_release, wanted_images, with_images
from mesh_rollout_local.emulator import FAIL_NEXT_DEPLOYMENT_TAG
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS, load_json
from tests.support import weights
from tests.support.ecs import containers_by_name

SM = "WeightShiftStateMachine"


@pytest.fixture
def release_input() -> dict[str, Any]:
    return load_json(EVENTS / "weight-shift-release.json")  # type: ignore[no-any-return]


def canary_task_definition(account: OfflineAccount) -> dict[str, Any]:
    ecs = account.client("ecs")
    arn = ecs.describe_services(cluster="apps", services=["serviceBv2"])["services"][0]["taskDefinition"]
    return ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]  # type: ignore[no-any-return]


def test_release_deploys_the_new_image_then_shifts_traffic(shift_account: OfflineAccount, release_input: dict[str, Any]) -> None:
    before = canary_task_definition(shift_account)
    result = shift_account.run(SM, release_input, approver=lambda pending: (True, "ok"))
    assert result.status == "SUCCEEDED", result.cause
    after = canary_task_definition(shift_account)
    assert after["revision"] == before["revision"] + 1
    assert containers_by_name(after)["app"]["image"] == "example/servicebv2:1.1"
    assert containers_by_name(after)["envoy"] == containers_by_name(before)["envoy"]
    assert after["proxyConfiguration"] == before["proxyConfiguration"]
    assert (
        containers_by_name(after)["app"]["dependsOn"]
        == containers_by_name(before)["app"]["dependsOn"]
        == [{"containerName": "envoy", "condition": "HEALTHY"}]
    )
    assert {k: v for k, v in containers_by_name(after)["app"].items() if k != "image"} == {
        k: v for k, v in containers_by_name(before)["app"].items() if k != "image"
    }
    assert weights(shift_account) == {"serviceBv2": 100}
    plan = state_output(result.history, "PlanWeightShift")
    assert plan is not None  # the lock outlives the release's deployment wait as well as the steps
    # the longest this release can take: its deployment (30 min, the default deploymentTimeoutSeconds), then two
    # steps of a 5 min bake and up to 10 gate re-checks a minute apart, the 24 h approval between them, and 1 h more
    assert plan["lockSeconds"] == 30 * 60 + 2 * (5 * 60 + 10 * 60) + 24 * 3600 + 3600
    states = result.states
    assert states.index("CheckReleases") < states.index("GroupSteps")  # traffic moves only after the deployment
    again = shift_account.run(SM, release_input)
    assert again.output["status"] == "NOTHING_TO_DO" and again.mutating_calls() == {}

    # the next image for the same canary, which already has all the traffic, would skip every step and gate
    release_input["imageDefinitions"][0]["imageUri"] = "example/servicebv2:1.2"
    refused = shift_account.run(SM, release_input)
    assert (refused.status, refused.states, refused.mutating_calls()) == ("FAILED", ["DryRunWanted", "PlanWeightShift"], {})
    assert "canary: 'serviceBv2' already carries all of the traffic" in (refused.cause or "")


def test_a_failing_canary_deployment_rolls_back_the_revision_and_the_weights(
    shift_account: OfflineAccount, release_input: dict[str, Any]
) -> None:
    ecs = shift_account.client("ecs")
    service_arn = ecs.describe_services(cluster="apps", services=["serviceBv2"])["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=service_arn, tags=[{"key": FAIL_NEXT_DEPLOYMENT_TAG, "value": "FAILED"}])
    before = canary_task_definition(shift_account)
    route_before = shift_account.client("appmesh").describe_route(
        meshName="apps", virtualRouterName="serviceB", routeName="serviceB"
    )
    result = shift_account.run(SM, release_input, approver=lambda pending: (True, "ok"))
    assert (result.status, result.error) == ("FAILED", "DeploymentFailed")
    assert not {"MoveLegs", "MoveLegsGatedBefore", "MoveWaveLegs"} & set(result.states) and "UndoReleases" in result.states
    assert canary_task_definition(shift_account)["taskDefinitionArn"] == before["taskDefinitionArn"]
    route_after = shift_account.client("appmesh").describe_route(
        meshName="apps", virtualRouterName="serviceB", routeName="serviceB"
    )
    assert route_after["route"]["spec"] == route_before["route"]["spec"]
    assert "ECS service apps/serviceBv2 put back on taskBv2:2 (the release's taskBv2:3 undone)" in (result.cause or "")


def test_a_canary_unhealthy_after_the_release_rolls_back_the_revision_too(
    shift_account: OfflineAccount, release_input: dict[str, Any]
) -> None:
    before = canary_task_definition(shift_account)

    def alarm_then_approve(pending: Any) -> tuple[bool, str]:
        shift_account.client("cloudwatch").set_alarm_state(AlarmName="serviceBv2-5xx", StateValue="ALARM", StateReason="5xx")
        return True, "go"

    result = shift_account.run(SM, release_input, approver=alarm_then_approve)
    assert (result.status, result.error) == ("FAILED", "CanaryUnhealthy")
    assert canary_task_definition(shift_account)["taskDefinitionArn"] == before["taskDefinitionArn"]
    assert weights(shift_account) == {"serviceB": 75, "serviceBv2": 25}


TASK_DEFINITION = {
    "family": "taskBv2",
    "containerDefinitions": [{"name": "app", "image": "a:1"}, {"name": "envoy", "image": "e"}],
}


def test_wanted_images_checks_container_names() -> None:
    assert wanted_images(TASK_DEFINITION, [{"name": "app", "imageUri": "a:2"}], None, None) == {"app": "a:2"}
    assert wanted_images(TASK_DEFINITION, None, "a:3", None) == {"app": "a:3"}
    with pytest.raises(InvalidRolloutInput, match=r"imageDefinitions\[0\].name: 'web' is not a container of taskBv2"):
        wanted_images(TASK_DEFINITION, [{"name": "web", "imageUri": "a:2"}], None, None)
    two_apps = {"family": "t", "containerDefinitions": [{"name": "a"}, {"name": "b"}]}
    with pytest.raises(InvalidRolloutInput, match="canaryContainer: t has application containers"):
        wanted_images(two_apps, None, "x", None)
    assert with_images(TASK_DEFINITION, {"app": "a:9"})["containerDefinitions"][1] == {"name": "envoy", "image": "e"}


def test_a_release_updates_the_application_not_the_sidecars_it_recognises() -> None:
    td = {
        "family": "orders",
        "proxyConfiguration": {"type": "APPMESH", "containerName": "appmesh-envoy"},
        "containerDefinitions": [
            {"name": "orders-api", "image": "123456789012.dkr.ecr.us-west-2.amazonaws.com/orders-api:1.4.2"},
            {"name": "xray", "image": "amazon/aws-xray-daemon"},
            {"name": "cloudwatch-agent", "image": "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:latest"},
            {"name": "appmesh-envoy", "image": "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.27.3.0-prod"},
        ],
    }
    assert wanted_images(td, None, "orders-api:1.5.0", None) == {"orders-api": "orders-api:1.5.0"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"canaryEcsService": None}, "canaryEcsService: is required"),
        ({"canaryImage": "x:1"}, "canaryImage: give imageDefinitions or canaryImage, not both"),
        ({"imageDefinitions": [{"name": "web", "imageUri": "x"}]}, "imageDefinitions[0].name: 'web' is not a container"),
        ({"canaryEcsService": {"cluster": "apps", "service": "nope"}}, "canaryEcsService.service:"),
    ],
)
def test_bad_release_inputs_fail_before_any_change(
    shift_account: OfflineAccount, release_input: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    import json

    bad = {k: v for k, v in {**release_input, **change}.items() if v is not None}
    result = shift_account.run(SM, bad)
    assert result.status == "FAILED" and result.states == ["DryRunWanted", "PlanWeightShift"] and result.mutating_calls() == {}
    assert json.loads(result.cause or "{}")["errorMessage"].startswith(field)


class OneService:
    """ECS with one service (apps/web, on `running`): DescribeServices and UpdateService; `then` runs after an update
    lands (what happened meanwhile), `fail_update` answers an update that landed with an error (a lost reply)."""

    def __init__(self, running: str, then: Any = None, fail_update: bool = False) -> None:
        self.running, self.then, self.fail_update = running, then, fail_update
        self.updates: list[str] = []

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        return {"services": [{"serviceName": "web", "status": "ACTIVE", "taskDefinition": self.running}]}

    def update_service(self, cluster: str, service: str, taskDefinition: str) -> dict[str, Any]:
        self.updates.append(taskDefinition.rsplit("/", 1)[-1])
        self.running = taskDefinition
        if self.then and len(self.updates) == 1:
            self.then(self)
        if self.fail_update and len(self.updates) == 1:
            from botocore.exceptions import ClientError

            error = {"Error": {"Code": "ServerException", "Message": "reply lost"}, "ResponseMetadata": {"HTTPStatusCode": 500}}
            raise ClientError(error, "UpdateService")  # type: ignore[arg-type]
        return {}


class LockTable:
    def __init__(self, owner: str | None) -> None:
        self.owner = owner

    def get_item(self, TableName: str, Key: dict[str, Any], ConsistentRead: bool) -> dict[str, Any]:
        return {"Item": {"owner": {"S": self.owner}, "expiresAt": {"N": "1"}}} if self.owner else {}


OLD, NEW = "arn:aws:ecs:us-west-2:123456789012:task-definition/web:1", "arn:aws:ecs:us-west-2:123456789012:task-definition/web:2"
EXECUTION = "arn:aws:states:us-west-2:123456789012:execution:WeightShiftStateMachine:x"


def fence(owner: str | None) -> LockFence:
    return LockFence(LockTable(owner), "locks", "appmesh:apps/web/web", EXECUTION)


def test_a_release_update_made_while_the_execution_holds_the_lock_stands() -> None:
    ecs = OneService(OLD)
    assert point_canary_at_release(ecs, "apps", "web", NEW, fence(EXECUTION))["updated"] is True
    assert ecs.updates == ["web:2"] and ecs.running == NEW


@pytest.mark.parametrize("holder", [f"{EXECUTION}#cleanup", None], ids=["taken-over", "released"])
def test_a_release_update_that_lands_after_the_lock_was_lost_puts_the_service_back(holder: str | None) -> None:
    """Order (b): the clean-up took the lock over (and may have released it) before the update landed."""
    ecs = OneService(OLD)
    with pytest.raises(LockLost) as lost:
        point_canary_at_release(ecs, "apps", "web", NEW, fence(holder))
    assert ecs.updates == ["web:2", "web:1"] and ecs.running == OLD
    assert str(lost.value) == (
        f"this execution no longer holds lock appmesh:apps/web/web (now {holder or 'nobody'}) after its update to web:2: "
        "ECS service apps/web put back on web:1 (the release's web:2 undone)"
    )


def test_a_release_update_overtaken_by_another_deployment_is_left_to_it() -> None:
    def hand_deployed(ecs: OneService) -> None:
        ecs.running = "arn:aws:ecs:us-west-2:123456789012:task-definition/web:3"

    ecs = OneService(OLD, then=hand_deployed)
    with pytest.raises(LockLost, match=r"not put back: it runs web:3, not the release's web:2 \(changed since\)"):
        point_canary_at_release(ecs, "apps", "web", NEW, fence(None))
    assert ecs.updates == ["web:2"] and ecs.running.endswith("web:3")


def test_a_release_update_that_failed_after_landing_is_put_back_once_the_lock_is_lost() -> None:
    ecs = OneService(OLD, fail_update=True)
    with pytest.raises(LockLost, match="after its update to web:2: ECS service apps/web put back on web:1") as lost:
        point_canary_at_release(ecs, "apps", "web", NEW, fence(None))
    assert isinstance(lost.value.__cause__, TransientAwsError) and ecs.running == OLD


def test_a_release_update_with_nothing_to_change_undoes_nothing() -> None:
    """A retry whose first try landed: the service ran the release's revision before this call; the clean-up, which
    reads the service after taking the lock over, puts it back."""
    ecs = OneService(NEW)
    with pytest.raises(
        LockLost, match=r"ECS service apps/web already ran web:2: this execution no longer holds lock .* nothing changed"
    ):
        point_canary_at_release(ecs, "apps", "web", NEW, fence(None))
    assert ecs.updates == [] and ecs.running == NEW
