"""authType AWS_IAM on the Lattice rollout: the auth policy it needs, put on the network and every service, and what
clients need to call them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.migration.plan import parse_lattice_input
from mesh_rollout.migration.translate import requests_of, translate
from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS, load_json

SM = "LatticeRolloutStateMachine"
POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/serviceA"},
            "Action": "vpc-lattice-svcs:Invoke",
            "Resource": "*",
        }
    ],
}


def with_auth(raw: dict[str, Any], **auth: Any) -> dict[str, Any]:
    return {**raw, "lattice": {**raw["lattice"], **auth}}


@pytest.fixture
def apps() -> dict[str, Any]:
    return load_json(EVENTS / "lattice-rollout-apps.json")  # type: ignore[no-any-return]


def test_aws_iam_without_an_auth_policy_is_refused_naming_the_field(apps: dict[str, Any]) -> None:
    with pytest.raises(InvalidRolloutInput) as refused:
        parse_lattice_input(with_auth(apps, authType="AWS_IAM"))
    assert refused.value.field == "lattice.authPolicy" and "denies every request" in str(refused.value)
    with pytest.raises(InvalidRolloutInput) as refused:
        parse_lattice_input(with_auth(apps, authPolicy=POLICY))  # authType NONE: the policy would never apply
    assert refused.value.field == "lattice.authPolicy"
    with pytest.raises(InvalidRolloutInput) as refused:
        parse_lattice_input(with_auth(apps, authType="AWS_IAM", authPolicy={"Version": "2012-10-17"}))
    assert refused.value.field == "lattice.authPolicy.Statement"


def test_the_auth_policy_is_put_on_the_network_and_every_service_after_each_is_created(apps: dict[str, Any]) -> None:
    ours, _, requests = parse_lattice_input(with_auth(apps, authType="AWS_IAM", authPolicy=POLICY))
    topology = translate(requests, ours.lattice.model_dump(mode="json", exclude_none=True))
    assert topology["serviceNetwork"]["authPolicy"] == POLICY
    assert {s["authType"] for s in topology["services"]} == {"AWS_IAM"}
    planned = requests_of(topology)
    operations = [(r["operation"], r["request"].get("name") or r["request"].get("resourceIdentifier")) for r in planned]
    puts = [i for i, (operation, _) in enumerate(operations) if operation == "PutAuthPolicy"]
    assert [operations[i - 1] for i in puts] == [
        ("CreateServiceNetwork", "apps"),
        ("CreateService", "serviceb-apps-local"),
        ("CreateService", "servicea-apps-local"),
    ]
    assert json.loads(planned[puts[0]]["request"]["policy"]) == POLICY


def test_aws_iam_converges_each_auth_policy_and_the_plan_says_what_clients_need(meshed: OfflineAccount) -> None:
    raw = json.loads(meshed.resolve_input((EVENTS / "lattice-rollout-apps.json").read_text()))
    rollout = with_auth(raw, authType="AWS_IAM", authPolicy=POLICY)
    plan = meshed.run(SM, {**rollout, "mode": "plan"})
    assert plan.status == "SUCCEEDED", plan.cause
    assert "vpc-lattice-svcs" in plan.output["clients"] and "vpc-lattice-svcs:Invoke" in plan.output["clients"]
    assert [r["operation"] for r in plan.output["requests"]].count("PutAuthPolicy") == 3
    run = meshed.run(SM, rollout)
    assert run.status == "SUCCEEDED", run.cause
    lattice = meshed.client("vpc-lattice")
    (network,) = lattice.list_service_networks()["items"]
    targets = [network["id"], *(s["id"] for s in lattice.list_services()["items"])]
    assert len(targets) == 3
    for identifier in targets:
        found = lattice.get_auth_policy(resourceIdentifier=identifier)
        assert (json.loads(found["policy"]), found["state"]) == (POLICY, "Active")
    again = meshed.run(SM, rollout)
    assert again.status == "SUCCEEDED" and again.mutating_calls() == {}
    changed = {**POLICY, "Statement": [{**POLICY["Statement"][0], "Principal": "*"}]}
    third = meshed.run(SM, with_auth(raw, authType="AWS_IAM", authPolicy=changed))
    assert third.status == "SUCCEEDED", third.cause
    assert third.mutating_calls() == {"vpc-lattice:PutAuthPolicy": 3}
    assert json.loads(lattice.get_auth_policy(resourceIdentifier=network["id"])["policy"]) == changed


def test_an_existing_network_without_aws_iam_is_named_not_given_a_policy_that_would_not_apply(
    meshed: OfflineAccount,
) -> None:
    raw = json.loads(meshed.resolve_input((EVENTS / "lattice-rollout-apps.json").read_text()))
    assert meshed.run(SM, raw).status == "SUCCEEDED"  # authType NONE
    result = meshed.run(SM, with_auth(raw, authType="AWS_IAM", authPolicy=POLICY))
    assert (result.status, result.error) == ("FAILED", "InvalidRolloutInput")
    assert json.loads(result.cause or "{}")["errorMessage"].startswith(
        "lattice.authType: service network apps exists with authType NONE"
    )
    assert result.mutating_calls() == {}
