"""The release loop on VPC Lattice and ALB (`alternate`): each release goes to the idle service, the two take turns.

Three releases in a row in one offline account: each one's new image lands on the service behind the target group
at weight 0 (the other keeps its own), the traffic ends 0/100, then 100/0, then 0/100, both groups stay on the rule.
A failing release rolls back to where it was, and the next release still goes to the idle service.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.shifting.cleanup import state_output
from mesh_rollout.shifting.inputs import parse_spec
from mesh_rollout_local.emulator import FAIL_NEXT_DEPLOYMENT_TAG
from mesh_rollout_local.runner import OfflineAccount, StillClock
from tests.conftest import EVENTS, ROOT, load_json
from tests.support import SM, approve
from tests.support.routes import set_rule_weights

EXAMPLES = ROOT / "examples"


@dataclass
class World:
    """One world's two target groups, their ECS services and how to read the rule's weights."""

    account: OfflineAccount
    backend: str
    cluster: str
    services: dict[str, str]  # target group name -> ECS service name
    base: dict[str, Any]  # the shift input, without alternate and images

    def weights(self) -> dict[str, int]:
        saved = self.account.saved
        if self.backend == "lattice":
            lattice = self.account.client("vpc-lattice")
            rule, listener = saved["rule"], saved["listener"]
            service = listener["serviceId"]
            found = lattice.get_rule(serviceIdentifier=service, listenerIdentifier=listener["id"], ruleIdentifier=rule["id"])
            names = {
                t["targetGroupIdentifier"]: lattice.get_target_group(targetGroupIdentifier=t["targetGroupIdentifier"])["name"]
                for t in found["action"]["forward"]["targetGroups"]
            }
            return {names[t["targetGroupIdentifier"]]: t["weight"] for t in found["action"]["forward"]["targetGroups"]}
        elbv2 = self.account.client("elbv2")
        (rule,) = elbv2.describe_rules(RuleArns=[saved["rule"]["Rules"][0]["RuleArn"]])["Rules"]
        (forward,) = [a for a in rule["Actions"] if a["Type"] == "forward"]
        arns = [t["TargetGroupArn"] for t in forward["ForwardConfig"]["TargetGroups"]]
        names = {
            g["TargetGroupArn"]: g["TargetGroupName"] for g in elbv2.describe_target_groups(TargetGroupArns=arns)["TargetGroups"]
        }
        return {names[t["TargetGroupArn"]]: t["Weight"] for t in forward["ForwardConfig"]["TargetGroups"]}

    def set_weights(self, new: dict[str, int]) -> None:
        """The team's starting point, set by hand: one group holds all the traffic."""
        set_rule_weights(self.account, new)

    def images(self) -> dict[str, str]:
        """{target group: the image its ECS service's task definition runs}."""
        ecs = self.account.client("ecs")
        found = {}
        for group, service in self.services.items():
            arn = ecs.describe_services(cluster=self.cluster, services=[service])["services"][0]["taskDefinition"]
            (app,) = [
                c
                for c in ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"]
                if c["name"] == "app"
            ]
            found[group] = app["image"]
        return found

    def release(self, image: str) -> dict[str, Any]:
        return {**copy.deepcopy(self.base), "alternate": True, "imageDefinitions": [{"name": "app", "imageUri": image}]}


def _world(account: OfflineAccount, backend: str, given: Path, where: Path, shift: Path, **fixed: Any) -> World:
    account.apply_given(load_json(given), where)
    base = load_json(shift)
    base = {k: v for k, v in base.items() if k != "finalize"}  # alternate keeps both groups on the rule
    return World(account, backend, base=json.loads(account.resolve_input(json.dumps(base))), **fixed)


WORLDS = {
    "lattice": lambda a: _world(
        a,
        "lattice",
        EVENTS / "local" / "lattice-given.json",
        EVENTS / "local",
        EVENTS / "weight-shift-lattice.json",
        cluster="apps",
        services={"serviceb": "serviceB", "servicebv2": "serviceBv2"},
    ),
    "alb": lambda a: _world(
        a,
        "alb",
        EVENTS / "local" / "alb-given.json",
        EVENTS / "local",
        EVENTS / "weight-shift-alb.json",
        cluster="apps",
        services={"serviceB": "serviceB", "serviceBv2": "serviceBv2"},
    ),
    "checkout": lambda a: _world(
        a,
        "lattice",
        EXAMPLES / "checkout-given.json",
        EXAMPLES,
        EXAMPLES / "checkout-shift.json",
        cluster="shop",
        services={"checkout": "checkout", "checkoutv2": "checkoutv2"},
    ),
}


@pytest.fixture(params=sorted(WORLDS))
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True, clock=StillClock()) as account:
        found = WORLDS[request.param](account)
        first, second = found.services
        found.set_weights({first: 100, second: 0})
        yield found


def test_three_releases_take_turns(world: World) -> None:
    first, second = world.services
    start = world.images()
    ends = []
    for n, (idle, busy) in enumerate([(second, first), (first, second), (second, first)]):
        image = f"example/release:{n + 1}"
        before = world.images()
        result = world.account.run(SM, world.release(image), approver=approve)
        assert result.status == "SUCCEEDED", result.cause
        plan = state_output(result.history, "PlanWeightShift")
        assert plan is not None and (plan["stable"], plan["canary"]) == (busy, idle)
        assert plan["legs"][0]["finalize"]["removeStableTarget"] is False and plan["release"]["service"] == world.services[idle]
        assert world.images() == {idle: image, busy: before[busy]}
        ends.append(world.weights())
    assert ends == [{first: 0, second: 100}, {first: 100, second: 0}, {first: 0, second: 100}]
    assert start[first] != world.images()[first]

    # the same release again (a retried pipeline run): it is live already, nothing to do (not a release to the other)
    again = world.account.run(SM, world.release("example/release:3"))
    assert again.output["status"] == "NOTHING_TO_DO" and again.mutating_calls() == {}


def test_a_failing_release_rolls_back_and_the_next_one_still_goes_to_the_idle_service(world: World) -> None:
    first, second = world.services
    before_images, before_weights = world.images(), world.weights()
    _fail_next_deployment(world, second)
    failed = world.account.run(SM, world.release("example/release:bad"), approver=approve)
    assert (failed.status, failed.error) == ("FAILED", "DeploymentFailed")
    assert world.images() == before_images and world.weights() == before_weights == {first: 100, second: 0}

    result = world.account.run(SM, world.release("example/release:good"), approver=approve)
    assert result.status == "SUCCEEDED", result.cause
    assert world.images() == {first: before_images[first], second: "example/release:good"}
    assert world.weights() == {first: 0, second: 100}


def _fail_next_deployment(world: World, group: str) -> None:
    """The emulated ECS fails the next deployment of the group's service (its circuit breaker)."""
    ecs = world.account.client("ecs")
    arn = ecs.describe_services(cluster=world.cluster, services=[world.services[group]])["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": FAIL_NEXT_DEPLOYMENT_TAG, "value": "FAILED"}])


ALTERNATE = {
    "listenerArn": "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/apps/50dc6c495c0c9188/f2f7dc8efc522ab2",
    "stable": "serviceB",
    "canary": "serviceBv2",
    "alternate": True,
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"finalize": {"deleteStableTargetGroup": True}}, "finalize.deleteStableTargetGroup: retires the stable"),
        ({"finalize": {"scaleStableServiceToZero": True}}, "finalize.scaleStableServiceToZero: retires the stable"),
        ({"finalize": {"removeStableTarget": True}}, "finalize.removeStableTarget: must be false with alternate"),
        ({"canaryEcsService": {"cluster": "apps", "service": "serviceBv2"}}, "canaryEcsService: is found from the idle"),
        ({"mode": "increment"}, "mode: alternate decides the roles"),
    ],
)
def test_alternate_refuses_what_would_retire_the_stable_or_fix_the_roles(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRolloutInput) as refused:
        parse_spec({**ALTERNATE, **change})
    assert str(refused.value).startswith(message)


def test_alternate_keeps_removing_nothing_by_default_and_is_refused_on_app_mesh() -> None:
    assert parse_spec({**ALTERNATE, "finalize": {"removeStableTarget": False}}).alternate is True
    mesh = {"meshName": "apps", "virtualRouterName": "serviceB", "routeName": "serviceB", "stable": "a", "canary": "b"}
    with pytest.raises(InvalidRolloutInput, match=r"^alternate: applies to VPC Lattice and ALB"):
        parse_spec({**mesh, "alternate": True})


def test_the_console_release_input_goes_to_the_idle_lattice_service() -> None:
    """events/weight-shift-release-lattice.json as-is, on the guide's Lattice rule with servicebv2 idle."""
    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True, clock=StillClock()) as account:
        world = WORLDS["lattice"](account)
        world.set_weights({"serviceb": 100, "servicebv2": 0})
        result = account.run(SM, load_json(EVENTS / "weight-shift-release-lattice.json"), approver=approve)
        assert result.status == "SUCCEEDED", result.cause
        assert world.images() == {"serviceb": "example/serviceb:1.0", "servicebv2": "example/serviceb:2.0"}
        assert world.weights() == {"serviceb": 0, "servicebv2": 100}
