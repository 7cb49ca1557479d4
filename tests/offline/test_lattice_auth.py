"""authType AWS_IAM on the Lattice rollout: the auth policy it needs, put on the network and every service, and what
clients need to call them."""

from __future__ import annotations

import json

from mesh_rollout_local.runner import OfflineAccount
from tests.conftest import EVENTS
from tests.support.lattice import AUTH_POLICY, with_auth

SM = "LatticeRolloutStateMachine"


def test_aws_iam_converges_each_auth_policy_and_the_plan_says_what_clients_need(meshed: OfflineAccount) -> None:
    raw = json.loads(meshed.resolve_input((EVENTS / "lattice-rollout-apps.json").read_text()))
    rollout = with_auth(raw, authType="AWS_IAM", authPolicy=AUTH_POLICY)
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
        assert (json.loads(found["policy"]), found["state"]) == (AUTH_POLICY, "Active")
    again = meshed.run(SM, rollout)
    assert again.status == "SUCCEEDED" and again.mutating_calls() == {}
    changed = {**AUTH_POLICY, "Statement": [{**AUTH_POLICY["Statement"][0], "Principal": "*"}]}
    third = meshed.run(SM, with_auth(raw, authType="AWS_IAM", authPolicy=changed))
    assert third.status == "SUCCEEDED", third.cause
    assert third.mutating_calls() == {"vpc-lattice:PutAuthPolicy": 3}
    assert json.loads(lattice.get_auth_policy(resourceIdentifier=network["id"])["policy"]) == changed


def test_an_existing_network_without_aws_iam_is_named_not_given_a_policy_that_would_not_apply(
    meshed: OfflineAccount,
) -> None:
    raw = json.loads(meshed.resolve_input((EVENTS / "lattice-rollout-apps.json").read_text()))
    assert meshed.run(SM, raw).status == "SUCCEEDED"  # authType NONE
    result = meshed.run(SM, with_auth(raw, authType="AWS_IAM", authPolicy=AUTH_POLICY))
    assert (result.status, result.error) == ("FAILED", "InvalidRolloutInput")
    assert json.loads(result.cause or "{}")["errorMessage"].startswith(
        "lattice.authType: service network apps exists with authType NONE"
    )
    assert result.mutating_calls() == {}
