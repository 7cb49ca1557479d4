"""The contract between the ASL files, the template and the handlers' named errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mesh_rollout.errors import LAMBDA_SERVICE_ERRORS, error_names
from mesh_rollout_local.template import Template
from tests.conftest import ROOT

ASL_FILES = sorted((ROOT / "statemachine").glob("*.asl.json"))
TRANSIENT = {"TransientAwsError", "ResourceConflict", *LAMBDA_SERVICE_ERRORS}
READ_ONLY = {"DryRunWeightShift", "DryRunEcsDeployment"}  # they write nothing: no ResourceConflict to retry
# Tasks that call an AWS service directly (no Lambda function) retry that service's throttles and 5xx, under the
# names Step Functions gives them (<Service>.<Exception>).
INTEGRATION_TRANSIENT = {
    "dynamodb": {
        "DynamoDB.ProvisionedThroughputExceededException",
        "DynamoDB.RequestLimitExceededException",
        "DynamoDB.ThrottlingException",
        "DynamoDB.InternalServerErrorException",
        "DynamoDB.AmazonDynamoDBException",
        "DynamoDB.SdkClientException",
    },
    "states": {
        "StepFunctions.ExecutionLimitExceededException",
        "StepFunctions.ThrottlingException",
        "StepFunctions.SdkClientException",
        "StepFunctions.AWSStepFunctionsException",
    },
}


def integration(state: dict[str, Any]) -> str | None:
    """The service a Task calls directly ('dynamodb' for arn:aws:states:::dynamodb:getItem), None for a function."""
    found = re.fullmatch(r"arn:aws:states:::(\w+):.*", state.get("Resource", ""))
    return found.group(1) if found else None


def states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in definition["States"].items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from states(branch)
        if "ItemProcessor" in state:
            yield from states(state["ItemProcessor"])


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_there_are_state_machines() -> None:
    assert [p.name for p in ASL_FILES] == [
        "ecs_deployment.asl.json",
        "ecs_service_rollout.asl.json",
        "lattice_rollout.asl.json",
        "mesh_rollout.asl.json",
        "weight_shift.asl.json",
    ]


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_every_matched_error_name_exists_in_the_code(path: Path) -> None:
    known = error_names() | TRANSIENT | {"States.ALL", "States.Timeout"} | set().union(*INTEGRATION_TRANSIENT.values())
    for name, state in states(load(path)):
        for rule in state.get("Retry", []) + state.get("Catch", []):
            unknown = set(rule["ErrorEquals"]) - known
            assert not unknown, f"{name} matches {unknown}, which no handler raises"


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_every_task_retries_transient_errors_only_with_backoff_and_jitter(path: Path) -> None:
    tasks = [(n, s) for n, s in states(load(path)) if s["Type"] == "Task"]
    assert tasks
    for name, state in tasks:
        (retry,) = state["Retry"]
        service = integration(state)
        own = TRANSIENT - {"ResourceConflict"} if name in READ_ONLY else TRANSIENT
        expected = INTEGRATION_TRANSIENT[service] if service else own
        assert set(retry["ErrorEquals"]) == expected, name
        assert retry["BackoffRate"] >= 2 and retry["JitterStrategy"] == "FULL" and retry["MaxDelaySeconds"] <= 60, name
        for catch in state.get("Catch", []):
            assert catch["ErrorEquals"] == ["States.ALL"] or "States.ALL" not in catch["ErrorEquals"], name
        if state.get("Catch"):
            assert not any("States.ALL" in c["ErrorEquals"] for c in state["Catch"][:-1]), f"{name}: States.ALL must be last"


def scopes(definition: dict[str, Any], covered: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    """Each list of states that can refer to each other (the top level, each branch, each Map's processor), and
    whether an enclosing Parallel or Map catches everything that fails inside it."""
    yield definition["States"], covered
    for state in definition["States"].values():
        catches_all = covered or any(c["ErrorEquals"] == ["States.ALL"] for c in state.get("Catch", []))
        for inner in [*state.get("Branches", []), *([state["ItemProcessor"]] if "ItemProcessor" in state else [])]:
            yield from scopes(inner, catches_all)


# The cause a LambdaServiceError Fail builds itself (CausePath takes an intrinsic function):
# https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
LAMBDA_FAILURE_CAUSE = "States.Format('{}: {}', $.lambdaFailure.Error, $.lambdaFailure.Cause)"


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda p: p.name)
def test_lambda_service_errors_that_outlast_the_retries_get_a_project_name(path: Path) -> None:
    """Every Task catches everything (and reports through its own path), or sits in a Map that does, or catches
    the Lambda service errors into a Fail named LambdaServiceError: no execution ends with AWS's `Lambda.*` name."""
    for scope, covered in scopes(load(path)):
        for name, state in scope.items():
            catches = state.get("Catch", [])
            catches_all = any(c["ErrorEquals"] == ["States.ALL"] for c in catches)
            if state["Type"] != "Task" or integration(state) or covered or catches_all:
                continue
            (lambda_catch,) = [c for c in catches if set(c["ErrorEquals"]) == set(LAMBDA_SERVICE_ERRORS)]
            failed = scope[lambda_catch["Next"]]
            assert lambda_catch["ResultPath"] == "$.lambdaFailure", name
            assert {k: v for k, v in failed.items() if k != "Comment"} == {
                "Type": "Fail",
                "Error": "LambdaServiceError",
                "CausePath": LAMBDA_FAILURE_CAUSE,
            }, name


def test_template_substitutions_cover_every_placeholder() -> None:
    template = Template(ROOT / "template.yaml")
    for machine in template.state_machines.values():
        placeholders = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", machine.definition_uri.read_text()))
        assert placeholders == set(machine.substitutions), machine.logical_id
        for name, value in machine.substitutions.items():
            if "Fn::Sub" in value:  # service integrations, in the stack's partition
                assert value["Fn::Sub"] == "arn:${AWS::Partition}:states:::lambda:invoke.waitForTaskToken", name
                continue
            if "Ref" in value:  # the state machine a Task starts, the table a Task reads
                assert value["Ref"] in {*template.state_machines, *template.resources_of("AWS::DynamoDB::Table")}, name
                continue
            function, attribute = value["Fn::GetAtt"]
            assert attribute == "Arn" and function in template.functions


def test_every_handler_in_the_template_exists() -> None:
    template = Template(ROOT / "template.yaml")
    for function in template.functions.values():
        module, _, name = function.handler.rpartition(".")
        assert (ROOT / "functions" / (module.replace(".", "/") + ".py")).exists(), function.handler
        assert name == "lambda_handler"


def test_state_machine_logical_ids() -> None:
    assert set(Template(ROOT / "template.yaml").state_machines) == {
        "EcsDeploymentStateMachine",
        "EcsServiceRolloutStateMachine",
        "LatticeRolloutStateMachine",
        "MeshRolloutStateMachine",
        "WeightShiftStateMachine",
    }


def reachable(states: dict[str, Any], start: str) -> set[str]:
    """The top-level states reachable from `start` (Next, Default, Choices, Catch)."""
    found, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in found or name not in states:
            continue
        found.add(name)
        state = states[name]
        todo += [state.get("Next"), state.get("Default"), *(c["Next"] for c in state.get("Choices", []) + state.get("Catch", []))]
    return found


def test_weight_shift_fails_only_through_finish_rollout_once_the_lock_is_held() -> None:
    """Every Catch after AcquireGroupLocks (a route alone's one lock, or a group's every leg's) leads, straight, through
    a Choice or through the rollback (RollBackWaves, then the releases' undoing), to FinishGroup, which is handed the
    execution's state and works out whether the lock is held and the outcome (grouping.finish; no Pass builds a
    finish record); if it cannot run, the outcome stands (failure: the rollout's own error). No way out after the
    lock is taken ends anywhere but after FinishGroup."""
    definition = load(ROOT / "statemachine" / "weight_shift.asl.json")
    top = definition["States"]
    assert "FinishRollout" not in top  # a route alone finishes as the group of one leg it is
    for name, state in top.items():
        for catch in state.get("Catch", []):
            target = top[catch["Next"]]
            if name == "FinishGroup":
                assert target["Type"] == "Choice"
                finalize_failed, failed, succeeded = (top[c["Next"]] for c in target["Choices"])
                assert [c["Variable"] for c in target["Choices"]] == ["$.finalizeFailure", "$.failure", "$.single"]
                group_succeeded = top[target["Default"]]
                assert finalize_failed == {**finalize_failed, "Type": "Fail", "Error": "FinalizeFailed"}
                assert failed == {**failed, "Type": "Fail", "ErrorPath": "$.failure.Error"}
                for done in (succeeded, group_succeeded):
                    assert done["Parameters"]["status"] == "SUCCEEDED" and done["Parameters"]["lockReleased"] is False
                continue
            if name not in ("PlanWeightShift", "DryRunWeightShift"):  # both run before the lock is taken, if it is
                if catch["Next"] == "RollBackOrLeave":  # a route alone's hand-set weights are left: straight to the end
                    assert [c["Next"] for c in target["Choices"]] == ["FinishGroup"] and target["Default"] == "RollBackWaves"
                    target = top["RollBackWaves"]
                    catch = {**catch, "Next": "RollBackWaves"}
                if catch["Next"] == "RollBackWaves":  # every leg rolled back, wave by wave, then its releases
                    assert top["RollBackWaves"]["Catch"][-1]["Next"] == top["RollBackWaves"]["Next"] == "ReleasesToUndo"
                    assert top["ReleasesToUndo"]["Default"] == top["UndoReleases"]["Next"] == "FinishGroup"
                    continue
                assert catch["Next"] == "FinishGroup" or target["Type"] == "Choice", name
                if target["Type"] == "Choice":  # SkipWhenLocked (the lock refused: skipped as asked), ReleasesToUndo
                    assert target["Default"] == "FinishGroup", name
    # every way out once the lock is held (from SnapshotLegs on, Catches included) comes after FinishGroup
    after_the_lock = reachable(top, "SnapshotLegs")
    ends = {n for n in after_the_lock if top[n].get("End") or top[n]["Type"] in ("Fail", "Succeed")}
    assert ends and ends <= reachable(top, "FinishGroup"), ends - reachable(top, "FinishGroup")
    assert not [n for n, s in top.items() if s.get("ResultPath") == "$.finish"]
    assert top["FinishGroup"]["Parameters"]["state.$"] == "$"
    assert top["AcquireGroupLocks"]["Next"] == "SnapshotLegs"
    assert top["AcquireGroupLocks"]["Catch"][-1]["Next"] == "FinishGroup"


def test_ecs_deployment_fails_only_through_its_finish_once_the_lock_is_held() -> None:
    """Every Catch of the ECS deployment goes straight to a FinishEcsDeployment task (no Pass builds the finish record),
    the lock's own failure with locked false; every Fail reads its error from FinishEcsDeployment's result, or, if
    that could not run, from the failure it was given; the execution's end reaches the status-change clean-up."""
    definition = load(ROOT / "statemachine" / "ecs_deployment.asl.json")
    top = definition["States"]
    finishing = {n for n, s in top.items() if s.get("Resource") == "${FinishEcsDeploymentFunctionArn}"}
    before_the_lock = {"PlanEcsDeployment"}
    for name, state in top.items():
        for catch in state.get("Catch", []):
            if name in finishing:
                assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.finishFailure", "Next": "OutcomeWithoutFinish"}
            elif name not in before_the_lock and catch["ErrorEquals"] == ["States.ALL"]:
                assert catch["Next"] in finishing, name
        if state["Type"] == "Fail" and name != "LambdaServiceError":
            assert "Error" in state or state["ErrorPath"] in ("$.result.error", "$.failure.Error"), name
    assert {top[n]["Parameters"]["locked"] for n in finishing} == {True, False}
    assert [n for n in finishing if top[n]["Parameters"]["locked"] is False] == ["FinishNotLocked"]
    assert top["AcquireServiceLock"]["Catch"][-1]["Next"] == "FinishNotLocked"
    assert {top[n]["Next"] for n in finishing} == {"HowItEnded"}
    for name in finishing:
        outcome = top[name]["Parameters"]["outcome"]
        assert outcome["status"] in ("SUCCEEDED", "FAILED"), name
        assert set(outcome) <= {"status", "error.$", "cause.$"}, name
    function = Template(ROOT / "template.yaml").resources_of("AWS::Serverless::Function")["ExecutionStatusChangeFunction"]
    pattern = function["Events"]["StatusChange"]["Properties"]["Pattern"]
    assert {"Ref": "EcsDeploymentStateMachine"} in pattern["detail"]["stateMachineArn"]


def test_every_state_machine_that_raises_a_stop_flag_has_its_end_delivered_to_the_clean_up() -> None:
    """A rollout stopped or timed out runs no Catch, so its `stopped:` flag is removed only by
    ExecutionStatusChangeFunction: its rule must match every state machine whose ASL writes one."""
    template = Template(ROOT / "template.yaml")
    flagging = {
        logical_id
        for logical_id, machine in template.state_machines.items()
        if "'stopped:{}'" in machine.definition_uri.read_text()
    }
    function = template.resources_of("AWS::Serverless::Function")["ExecutionStatusChangeFunction"]
    pattern = function["Events"]["StatusChange"]["Properties"]["Pattern"]
    delivered = {arn["Ref"] for arn in pattern["detail"]["stateMachineArn"]}
    assert flagging == {"LatticeRolloutStateMachine", "MeshRolloutStateMachine"}
    assert flagging <= delivered
