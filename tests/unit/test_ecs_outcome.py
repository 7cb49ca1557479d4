"""What the mesh rollout says when ECS services fail: the first failure's error, and where every service is."""

from __future__ import annotations

import json
from typing import Any

from mesh_rollout.onboarding.rollout import LISTED_PER_GROUP, child_failure, ecs_outcome


def service(name: str, action: str, revision: int | None = None, **more: Any) -> dict[str, Any]:
    result = {"cluster": "apps", "service": name, "action": action, **more}
    if revision is not None:
        result["taskDefinition"] = f"arn:aws:ecs:us-west-2:123456789012:task-definition/{name}:{revision}"
    return result


def failed_child(error: str, cause: str) -> dict[str, Any]:
    """A service whose execution failed, as the parent's Catch records it (the child's DescribeExecution output)."""
    arn = "arn:aws:states:us-west-2:123456789012:execution:EcsServiceRollout:x"
    described = {"ExecutionArn": arn, "Status": "FAILED", "Error": error, "Cause": cause}
    return {"error": "States.TaskFailed", "cause": json.dumps(described)}


def test_nothing_failed_is_counted_and_nothing_more() -> None:
    outcome = ecs_outcome([service("a", "updated", 2), service("b", "unchanged", 1)])
    assert outcome == {"failed": False, "services": {"updated": 1, "unchanged": 1, "not started": 0, "failed": 0}}


def test_a_failed_service_gives_its_own_error_and_cause_then_where_each_service_is() -> None:
    outcome = ecs_outcome(
        [
            service("a", "updated", 2),
            service("b", "failed", **failed_child("DeploymentFailed", "apps/b: the deployment of b:2 failed; put back on b:1")),
            service("c", "unchanged", 1),
            service("d", "not started"),
        ]
    )
    assert (outcome["failed"], outcome["error"]) == (True, "DeploymentFailed")
    assert outcome["cause"].splitlines() == [
        "apps/b: the deployment of b:2 failed; put back on b:1",
        "1 of 4 services failed; updated (on their new revision): apps/a on a:2; unchanged (already on the mesh): apps/c on c:1; "
        "not started (untouched: an earlier service failed): apps/d",
    ]


def test_several_failures_are_each_named_and_the_first_in_input_order_gives_the_error() -> None:
    outcome = ecs_outcome(
        [
            service("a", "failed", **failed_child("DeploymentTimedOut", "a: did not complete in time")),
            service("b", "failed", **failed_child("RollbackFailed", "b: could not be put back")),
        ]
    )
    assert outcome["error"] == "DeploymentTimedOut"
    assert outcome["cause"].splitlines() == [
        "apps/a: DeploymentTimedOut: a: did not complete in time",
        "apps/b: RollbackFailed: b: could not be put back",
        "2 of 2 services failed; no other service",
    ]


def test_a_failure_to_start_the_service_execution_is_kept_as_step_functions_gave_it() -> None:
    failure = {"error": "StepFunctions.AccessDeniedException", "cause": "not authorized to perform states:StartExecution"}
    assert child_failure(failure) == ("StepFunctions.AccessDeniedException", "not authorized to perform states:StartExecution")
    assert child_failure({"error": "States.TaskFailed", "cause": "[1, 2]"}) == ("States.TaskFailed", "[1, 2]")


def test_a_large_mesh_lists_a_bounded_number_of_services_per_group() -> None:
    results = [service(f"s{i:03d}", "updated", 2) for i in range(400)]
    results += [service("bad", "failed", **failed_child("DeploymentFailed", "apps/bad: failed"))]
    results += [service(f"n{i:03d}", "not started") for i in range(99)]
    cause = ecs_outcome(results)["cause"]
    assert "apps/s024 on s024:2 and 375 more" in cause and "apps/s025" not in cause
    assert "apps/n024 and 74 more" in cause
    assert LISTED_PER_GROUP == 25 and len(cause) < 32_768  # a Fail state's cause holds at most 32,768 characters


def test_a_lattice_rollout_says_its_unchanged_services_are_already_on_vpc_lattice() -> None:
    failed = service("b", "failed", **failed_child("DeploymentFailed", "apps/b: the deployment of b:3 failed"))
    outcome = ecs_outcome([service("a", "unchanged", 3), failed], destination="VPC Lattice")
    assert outcome["cause"].splitlines()[-1] == "1 of 2 services failed; unchanged (already on VPC Lattice): apps/a on a:3"
