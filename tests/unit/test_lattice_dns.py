"""Which names the Lattice rollout moves (migration/dns.py), without an emulated account."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.migration.dns import dns_failure_cause, groups_of, move_names, on_lattice_targets


def service(name: str, default: list[str], rules: list[list[str]]) -> dict[str, Any]:
    def forward(groups: list[str]) -> dict[str, Any]:
        return {"forward": {"targetGroups": [{"targetGroup": g, "weight": 1} for g in groups]}}

    action = forward(default) if default else {"fixedResponse": {"statusCode": 404}}
    return {
        "customDomainName": name,
        "listeners": [{"defaultAction": action, "rules": [{"action": forward(groups)} for groups in rules]}],
    }


def test_a_service_forwards_to_its_default_actions_and_its_rules_groups() -> None:
    assert groups_of(service("b.apps.local", ["serviceb"], [["serviceb", "servicebv2"]])) == {"serviceb", "servicebv2"}
    assert groups_of(service("gw.apps.local", [], [])) == set()


def test_a_name_with_a_group_no_ecs_service_serves_is_left_without_a_call() -> None:
    # Given serviceb.apps.local forwarding to servicebv2, which no ECS service of the rollout put on Lattice
    served = {"serviceb": "apps/serviceB"}
    # When the names move (a Route 53 client that any call would break)
    result = move_names(
        object(),
        [service("serviceb.apps.local", ["serviceb"], [["serviceb", "servicebv2"]])],
        ["serviceb-x.vpc-lattice-svcs.us-west-2.on.aws"],
        served,
        {"serviceb.apps.local": "Z1"},
    )
    # Then the name is left as it is, and the result says why
    assert result == {
        "moved": [],
        "left": ["serviceb.apps.local (target group servicebv2 has no ECS service in this rollout)"],
        "changes": [],
    }


def test_the_cause_names_what_was_put_back_or_that_nothing_had_moved() -> None:
    assert dns_failure_cause("AwsRequestRejected: no", []) == (
        "moving the names to VPC Lattice failed (AwsRequestRejected: no); names moved and put back as they were:"
        " none (no name had moved)"
    )


def test_only_services_the_rollout_left_on_their_target_group_count_and_a_results_list_of_another_length_is_refused() -> None:
    targets = [
        {"cluster": "apps", "service": "serviceB", "targetGroup": "serviceb"},
        {"cluster": "apps", "service": "serviceBv2", "targetGroup": "servicebv2"},
        {"cluster": "apps", "service": "serviceA", "targetGroup": "servicea"},
    ]
    results = [{"action": "updated"}, {"action": "rolledBack"}, {"action": "unchanged"}]
    assert on_lattice_targets(targets, results) == {"serviceb": "apps/serviceB", "servicea": "apps/serviceA"}
    with pytest.raises(InvalidRolloutInput, match="results: 2 results for 3 ecsServices"):
        on_lattice_targets(targets, results[:2])
