"""authType AWS_IAM on the Lattice rollout: the auth policy it needs, put on the network and every service, and what
clients need to call them: the plan, without an account (the offline runs: tests/offline/test_lattice_auth.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.migration.plan import parse_lattice_input
from mesh_rollout.migration.translate import requests_of, translate
from tests.support.lattice import AUTH_POLICY, with_auth


def test_aws_iam_without_an_auth_policy_is_refused_naming_the_field(apps: dict[str, Any]) -> None:
    with pytest.raises(InvalidRolloutInput) as refused:
        parse_lattice_input(with_auth(apps, authType="AWS_IAM"))
    assert refused.value.field == "lattice.authPolicy" and "denies every request" in str(refused.value)
    with pytest.raises(InvalidRolloutInput) as refused:
        parse_lattice_input(with_auth(apps, authPolicy=AUTH_POLICY))  # authType NONE: the policy would never apply
    assert refused.value.field == "lattice.authPolicy"
    with pytest.raises(InvalidRolloutInput) as refused:
        parse_lattice_input(with_auth(apps, authType="AWS_IAM", authPolicy={"Version": "2012-10-17"}))
    assert refused.value.field == "lattice.authPolicy.Statement"


def test_the_auth_policy_is_put_on_the_network_and_every_service_after_each_is_created(apps: dict[str, Any]) -> None:
    ours, _, requests = parse_lattice_input(with_auth(apps, authType="AWS_IAM", authPolicy=AUTH_POLICY))
    topology = translate(requests, ours.lattice.model_dump(mode="json", exclude_none=True))
    assert topology["serviceNetwork"]["authPolicy"] == AUTH_POLICY
    assert {s["authType"] for s in topology["services"]} == {"AWS_IAM"}
    planned = requests_of(topology)
    operations = [(r["operation"], r["request"].get("name") or r["request"].get("resourceIdentifier")) for r in planned]
    puts = [i for i, (operation, _) in enumerate(operations) if operation == "PutAuthPolicy"]
    assert [operations[i - 1] for i in puts] == [
        ("CreateServiceNetwork", "apps"),
        ("CreateService", "serviceb-apps-local"),
        ("CreateService", "servicea-apps-local"),
    ]
    assert json.loads(planned[puts[0]]["request"]["policy"]) == AUTH_POLICY
