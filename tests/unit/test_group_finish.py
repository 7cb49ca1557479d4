"""A group's approval request (one per step, every leg's now, next and health) and its end (every lock released, one
outcome naming each leg), with small fakes of SNS, DynamoDB and the legs' routes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mesh_rollout.grouping import finish
from mesh_rollout.grouping.finish import approval_message, finish_group, outcome_text, request_approval, weights_now
from mesh_rollout.grouping.legs import GroupVerdict
from mesh_rollout.traffic import RouteState

EXECUTION = "arn:aws:states:us-west-2:123456789012:execution:WeightShiftStateMachine:group-1"
TOPIC = "arn:aws:sns:us-west-2:123456789012:mesh-rollout"
FAILURE = {"Error": "CanaryUnhealthy", "Cause": "at 50%: leg b: 5xx 12% > 1%"}


def leg(name: str) -> dict[str, Any]:
    start, at10, at50 = {name: 1, f"{name}v2": 0}, {name: 9, f"{name}v2": 1}, {name: 5, f"{name}v2": 5}
    return {
        "name": name,
        "route": {"backend": "lattice", "label": f"svc-{name}/rule-{name}"},
        "lockId": f"lattice:rule-{name}",
        "steps": [
            {"percent": 10, "previous": start, "weights": at10},
            {"percent": 50, "previous": at10, "weights": at50},
        ],
    }


def verdict(*legs: tuple[str, str, str]) -> GroupVerdict:
    return {
        "state": "HEALTHY",
        "summary": "every leg HEALTHY",
        "checks": 1,
        "recheckSeconds": 0,
        "legs": [{"name": name, "state": state, "summary": summary} for name, state, summary in legs],
    }


# --- approval -------------------------------------------------------------------------------------


def test_the_approval_message_lists_every_legs_weights_now_next_and_health() -> None:
    # Given the group waits before its step to 50%
    item = {
        "group": "a, b",
        "step": {"index": 1, "percent": 50, "approval": True},
        "legs": [leg("a"), leg("b")],
        "approvalTimeoutSeconds": 3600,
    }
    health = verdict(("b", "PENDING", "no data yet"), ("a", "HEALTHY", "5xx 0% <= 1%"))
    # When the request is written
    subject, body = approval_message(EXECUTION, item, health)
    # Then one message names every leg, in the legs' order, with its own verdict
    assert subject == "mesh-rollout: approve 50% of group a, b?"
    lines = body.splitlines()
    assert lines[:11] == [
        "A group of 2 legs waits for approval of the step to 50%.",
        "",
        "  leg a (route svc-a/rule-a)",
        "    now:     a 9 / av2 1",
        "    next:    a 5 / av2 5",
        "    health:  5xx 0% <= 1%",
        "  leg b (route svc-b/rule-b)",
        "    now:     b 9 / bv2 1",
        "    next:    b 5 / bv2 5",
        "    health:  no data yet",
        f"  execution: {EXECUTION}",
    ]
    assert f"  mesh-rollout approve {EXECUTION} --comment 'why'" in lines
    assert f"  mesh-rollout reject {EXECUTION} --comment 'why'" in lines
    assert lines[-1].startswith("No answer by ") and lines[-1].endswith(" rolls every leg back to where the group started.")


def test_a_long_groups_subject_is_cut_to_snss_100_characters() -> None:
    names = [f"service-with-a-long-name-{i}" for i in range(6)]
    item = {
        "group": ", ".join(names),
        "step": {"index": 0, "percent": 10, "approval": True},
        "legs": [leg(n) for n in names],
        "approvalTimeoutSeconds": 60,
    }
    subject, body = approval_message(EXECUTION, item, verdict(*((n, "HEALTHY", "ok") for n in names)))
    assert len(subject) == 100 and subject.startswith("mesh-rollout: approve 10% of group service-with-a-long-name-0, ")
    assert body.startswith("A group of 6 legs waits for approval of the step to 10%.")


class FakeSns:
    def __init__(self, error: str | None = None) -> None:
        self.published: list[dict[str, Any]] = []
        self.error = error

    def publish(self, **params: Any) -> dict[str, Any]:
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "Publish")
        self.published.append(params)
        return {"MessageId": f"m-{len(self.published)}"}


def test_an_approval_request_is_published_with_a_fresh_verdict_of_every_leg(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the legs' gates read now (over the bake's window, first check)
    read: list[tuple[list[str], int, int]] = []

    def read_legs(
        legs: list[Mapping[str, Any]], cloudwatch: Any, ecs: Any, window: int, checks: int, ecs_legs: Any, percent: int
    ) -> GroupVerdict:
        read.append(([x["name"] for x in legs], window, checks))
        assert (ecs_legs, percent) == ([], 0)  # no ECS leg; before the first step
        return {**verdict(("a", "HEALTHY", "ok a"), ("b", "HEALTHY", "ok b")), "summary": "every leg HEALTHY (2)"}

    monkeypatch.setattr(finish, "read_legs", read_legs)
    sns = FakeSns()
    item = {
        "group": "a, b",
        "step": {"index": 0, "percent": 10, "approval": True},
        "legs": [leg("a"), leg("b")],
        "approvalTimeoutSeconds": 60,
        "bakeSeconds": 300,
    }
    # When the request goes out
    requested = request_approval(sns, TOPIC, None, None, EXECUTION, item)
    # Then it is one message for the group, saying the verdict just read
    assert read == [(["a", "b"], 300, 0)]
    assert requested == {"messageId": "m-1", "health": "every leg HEALTHY (2)"}
    assert [(p["TopicArn"], p["Subject"]) for p in sns.published] == [(TOPIC, "mesh-rollout: approve 10% of group a, b?")]
    assert "    health:  ok b" in sns.published[0]["Message"]


# --- the outcome ----------------------------------------------------------------------------------

WEIGHTS = {"a": {"a": 0, "av2": 10}, "b": None}


def test_a_succeeded_group_names_every_legs_weights() -> None:
    assert outcome_text({}, WEIGHTS) == ("SUCCEEDED", "", "group succeeded: leg a at a 0 / av2 10; leg b could not be read")


def test_a_failure_before_any_change_says_nothing_was_changed() -> None:
    weights = {"a": {"a": 1, "av2": 0}, "b": {"b": 1, "bv2": 0}}
    failure = {"Error": "RolloutInProgress", "Cause": "lattice:rule-b is locked by x until 1700000000 (epoch seconds)"}
    assert outcome_text({"failure": failure}, weights) == (
        "FAILED",
        "RolloutInProgress",
        "lattice:rule-b is locked by x until 1700000000 (epoch seconds). Nothing was changed: leg a at a 1 / av2 0;"
        " leg b at b 1 / bv2 0",
    )


def test_a_rolled_back_group_says_what_became_of_each_leg() -> None:
    rollback = {
        "restored": True,
        "legs": [
            {"name": "b", "restored": True, "weights": {"b": 1, "bv2": 0}},
            {"name": "a", "restored": False, "weights": None, "problem": "RouteDrifted: a by hand"},
        ],
    }
    assert outcome_text({"failure": FAILURE, "rollback": rollback}, WEIGHTS) == (
        "FAILED",
        "CanaryUnhealthy",
        "at 50%: leg b: 5xx 12% > 1%. Rolled back: leg b at its snapshot b 1 / bv2 0;"
        " leg a not restored: RouteDrifted: a by hand",
    )


def test_a_rollback_failure_is_rollback_failed_with_both_causes_and_where_the_legs_are() -> None:
    # Given RestoreLegs failed (its Catch holds the Lambda error document)
    cause = '{"errorMessage": "leg b not restored: AwsRequestRejected: denied; leg a at its snapshot a 1 / av2 0"}'
    outcome = {"failure": FAILURE, "rollbackFailure": {"Error": "RollbackFailed", "Cause": cause}}
    assert outcome_text(outcome, {"a": {"a": 1, "av2": 0}, "b": {"b": 5, "bv2": 5}}) == (
        "FAILED",
        "RollbackFailed",
        "CanaryUnhealthy: at 50%: leg b: 5xx 12% > 1%. Rollback failed (RollbackFailed: leg b not restored:"
        " AwsRequestRejected: denied; leg a at its snapshot a 1 / av2 0); leg a at a 1 / av2 0; leg b at b 5 / bv2 5",
    )


def test_a_lambda_service_error_is_named_ours() -> None:
    outcome = {"failure": {"Error": "Lambda.TooManyRequestsException", "Cause": "Rate exceeded"}}
    status, error, cause = outcome_text(outcome, {"a": {"a": 1}})
    assert (status, error) == ("FAILED", "LambdaServiceError")
    assert cause == "Lambda.TooManyRequestsException: Rate exceeded. Nothing was changed: leg a at a 1"


class FakeRoute:
    def __init__(self, weights: dict[str, int] | None) -> None:
        self.weights = weights

    def read(self) -> RouteState:
        if self.weights is None:
            raise RuntimeError("GetRule: AccessDenied")
        return RouteState(self.weights, {})


def test_weights_now_reads_every_leg_and_one_that_cannot_be_read_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    routes = {"svc-a/rule-a": FakeRoute({"a": 0, "av2": 10}), "svc-b/rule-b": FakeRoute(None)}
    monkeypatch.setattr(finish, "route_for", lambda ref: routes[ref["label"]])
    assert weights_now([leg("a"), leg("b")]) == {"a": {"a": 0, "av2": 10}, "b": None}


class FakeDynamoDb:
    """TransactWriteItems for the release: a lock named in `not_held` is another owner's (its Delete's condition fails)."""

    def __init__(self, not_held: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.not_held = not_held
        self.released: list[str] = []

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:  # boto3's parameter name
        deletes = [a["Delete"]["Key"]["lockId"]["S"] for a in TransactItems if "Delete" in a]
        if self.not_held & set(deletes):
            reasons = [
                {
                    "Code": "ConditionalCheckFailed"
                    if "Delete" in a and a["Delete"]["Key"]["lockId"]["S"] in self.not_held
                    else "None"
                }
                for a in TransactItems
            ]
            error = {"Code": "TransactionCanceledException", "Message": "cancelled"}
            response: Any = {"Error": error, "CancellationReasons": reasons}
            raise ClientError(response, "TransactWriteItems")
        self.released.extend(deletes)
        return {}

    def get_item(self, **params: Any) -> dict[str, Any]:
        return {}  # no release record: the lock was never this execution's


def group_state(**fields: Any) -> dict[str, Any]:
    return {"group": "a, b", "legs": [leg("a"), leg("b")], "lockIds": ["lattice:rule-a", "lattice:rule-b"], **fields}


@pytest.fixture
def routes(monkeypatch: pytest.MonkeyPatch) -> None:
    found = {"svc-a/rule-a": FakeRoute({"a": 0, "av2": 10}), "svc-b/rule-b": FakeRoute({"b": 0, "bv2": 10})}
    monkeypatch.setattr(finish, "route_for", lambda ref: found[ref["label"]])


@pytest.mark.usefixtures("routes")
def test_a_finished_group_releases_every_lock_and_tells_once() -> None:
    # Given a group that held both locks and succeeded
    dynamodb, sns = FakeDynamoDb(), FakeSns()
    state = group_state(lock={"lockIds": ["lattice:rule-a", "lattice:rule-b"], "owner": EXECUTION}, finalized={"done": []})
    # When it finishes
    finished = finish_group(dynamodb, "locks", sns, TOPIC, EXECUTION, state)
    # Then both locks are released in one go and one notification names each leg
    assert dynamodb.released == ["lattice:rule-a", "lattice:rule-b"]
    assert finished == {
        "status": "SUCCEEDED",
        "error": "",
        "cause": "group succeeded: leg a at a 0 / av2 10; leg b at b 0 / bv2 10",
        "lockReleased": True,
        "weights": {"a": {"a": 0, "av2": 10}, "b": {"b": 0, "bv2": 10}},
        "notified": True,
    }
    assert [(p["Subject"], p["Message"]) for p in sns.published] == [
        ("mesh-rollout: group a, b succeeded", f"{finished['cause']}\n\nexecution: {EXECUTION}")
    ]


@pytest.mark.usefixtures("routes")
def test_a_group_refused_its_locks_releases_none_and_says_so() -> None:
    # Given AcquireGroupLocks was refused: neither lock is this execution's
    dynamodb, sns = FakeDynamoDb(not_held={"lattice:rule-a", "lattice:rule-b"}), FakeSns()
    failure = {"Error": "RolloutInProgress", "Cause": "lattice:rule-b is locked by other until 1 (epoch seconds)"}
    finished = finish_group(dynamodb, "locks", sns, TOPIC, EXECUTION, group_state(failure=failure))
    assert (finished["status"], finished["error"], finished["lockReleased"]) == ("FAILED", "RolloutInProgress", False)
    assert dynamodb.released == []
    assert sns.published[0]["Subject"] == "mesh-rollout: group a, b RolloutInProgress"


@pytest.mark.usefixtures("routes")
def test_a_lock_another_execution_holds_now_is_left_and_the_others_released() -> None:
    dynamodb, sns = FakeDynamoDb(not_held={"lattice:rule-a"}), FakeSns()
    state = group_state(lock={"owner": EXECUTION}, failure=FAILURE)
    finished = finish_group(dynamodb, "locks", sns, TOPIC, EXECUTION, state)
    assert dynamodb.released == ["lattice:rule-b"]
    assert finished["lockReleased"] is True


@pytest.mark.usefixtures("routes")
def test_a_notification_that_cannot_be_sent_does_not_change_the_outcome() -> None:
    sns = FakeSns(error="AuthorizationError")
    finished = finish_group(FakeDynamoDb(), "locks", sns, TOPIC, EXECUTION, group_state(lock={}, finalized={}))
    assert finished["status"] == "SUCCEEDED" and finished["notified"] is False
    assert finished["notificationError"] == "AwsRequestRejected: Publish: AuthorizationError: no"


def test_a_finalize_that_failed_after_every_step_says_where_the_legs_are_not_that_nothing_changed() -> None:
    outcome = {"failure": {"Error": "FinalizeFailed", "Cause": "leg a: DeleteTargetGroup refused"}}
    assert outcome_text(outcome, {"a": {"av2": 10}}) == (
        "FAILED",
        "FinalizeFailed",
        "leg a: DeleteTargetGroup refused; leg a at av2 10",
    )
