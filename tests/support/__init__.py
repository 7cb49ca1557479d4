"""What more than one test module uses: plain helpers (no fixtures; those are in tests/conftest.py) and the
constants they read. A test module imports from here, never from another test module."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mesh_rollout.shifting.cleanup import StatusChangeHandled, handle_status_change
from mesh_rollout_local.approvals import PendingApproval
from mesh_rollout_local.cli import main
from mesh_rollout_local.emulator import FAIL_NEXT_DEPLOYMENT_TAG
from mesh_rollout_local.runner import ACCOUNT_ID, OfflineAccount, RunResult
from tests.conftest import EVENTS, ROOT, load_json


def error_of(call: Any, **params: Any) -> tuple[str, int]:
    """The error code and HTTP status of the ClientError that `call(**params)` raises (and fails if it raises none)."""
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


# --- the guide's weight shift on App Mesh (route apps/serviceB/serviceB) -----------------------------------
ROUTE = {"meshName": "apps", "virtualRouterName": "serviceB", "routeName": "serviceB"}
LOCK_ID = "appmesh:apps/serviceB/serviceB"
SM = "WeightShiftStateMachine"


def route_spec(account: OfflineAccount) -> dict[str, Any]:
    return account.client("appmesh").describe_route(**ROUTE)["route"]["spec"]  # type: ignore[no-any-return]


def weights(account: OfflineAccount) -> dict[str, int]:
    return {t["virtualNode"]: t["weight"] for t in route_spec(account)["http2Route"]["action"]["weightedTargets"]}


def set_weights(account: OfflineAccount, new: dict[str, int]) -> None:
    spec = route_spec(account)
    spec["http2Route"]["action"]["weightedTargets"] = [{"virtualNode": n, "weight": w} for n, w in new.items()]
    account.client("appmesh").update_route(**ROUTE, spec=spec)


def lock_item(account: OfflineAccount) -> Any:
    table = account.client("dynamodb").list_tables()["TableNames"][0]
    return account.client("dynamodb").get_item(TableName=table, Key={"lockId": {"S": LOCK_ID}}).get("Item")


def set_alarm(account: OfflineAccount, state: str) -> None:
    account.client("cloudwatch").set_alarm_state(AlarmName="serviceBv2-5xx", StateValue=state, StateReason=f"test: {state}")


def approve(pending: PendingApproval) -> tuple[bool, str]:
    return True, "looks good"


def applied_weights(result: RunResult) -> list[dict[str, int]]:
    """The weights each MoveLegs wrote to a route alone's one leg, from the execution history."""
    found = []
    for event in result.history:
        if event["type"] == "LambdaFunctionSucceeded":
            output = json.loads(event["lambdaFunctionSucceededEventDetails"]["output"])
            if "percent" in output and isinstance(output.get("legs"), list):
                found += [leg["weights"] for leg in output["legs"]]
    return found


# --- the execution status change handler ---------------------------------------------------------------
def stop_running(account: OfflineAccount, **reason: str) -> None:
    """StopExecution on the one running weight shift (from an approver: the execution waits for an answer)."""
    sfn = account.client("stepfunctions")
    (running,) = sfn.list_executions(stateMachineArn=account.state_machine_arns[SM], statusFilter="RUNNING")["executions"]
    sfn.stop_execution(executionArn=running["executionArn"], **reason)


def status_change_event(execution_arn: str, state_machine_arn: str, status: str, **detail: Any) -> dict[str, Any]:
    """The EventBridge event, in its real shape (events/handlers/execution_status_change.json)."""
    event = load_json(EVENTS / "handlers" / "execution_status_change.json")
    event["resources"] = [execution_arn]
    event["detail"].update(
        executionArn=execution_arn, stateMachineArn=state_machine_arn, name=execution_arn.split(":")[-1], status=status, **detail
    )
    return event  # type: ignore[no-any-return]


def handle(account: OfflineAccount, event: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    from handlers.execution_status_change import lambda_handler
    from mesh_rollout_local.runner import LambdaContext

    for name, value in account.environment("ExecutionStatusChangeFunction").items():
        monkeypatch.setenv(name, value)
    return lambda_handler(event, LambdaContext("ExecutionStatusChangeFunction", "arn"))


def lambda_refuses(account: OfflineAccount, function: str, code: str = "TooManyRequestsException", status: int = 429) -> None:
    """The Lambda service refuses every invocation of `function` with `code`, past every retry of the ASL's."""
    account.faults.add("lambda", "Invoke", code=code, status=status, times=10_000, url_contains=function)


@contextmanager
def given_world(given: Path) -> Iterator[OfflineAccount]:
    """An emulated account holding the world of the given file (its includes read from beside it), closed after."""
    with OfflineAccount(ROOT / "template.yaml") as account:
        account.apply_given(load_json(given), given.parent)
        yield account


def stop_execution(account: OfflineAccount, execution_arn: str) -> None:
    """StopExecution, as an operator stops a rollout by hand."""
    account.client("stepfunctions").stop_execution(executionArn=execution_arn, error="Operator", cause="stopped by hand")


def clean_up(account: OfflineAccount, execution_arn: str, status: str = "ABORTED", output: Any = None) -> StatusChangeHandled:
    """What the ExecutionStatusChange function does when EventBridge delivers the end of a weight shift's execution:
    handle_status_change called directly (from inside a handler too: the runner runs one handler at a time), with the
    function's settings and the clients functions/handlers/execution_status_change.py passes, the ECS client included
    (it is read only to undo a release: a shift without one runs the same with or without it)."""
    env = account.environment("ExecutionStatusChangeFunction")
    detail = {"executionArn": execution_arn, "stateMachineArn": account.state_machine_arns[SM], "status": status}
    if output is not None:
        detail["output"] = json.dumps(output)
    return handle_status_change(
        detail,
        account.client("stepfunctions"),
        account.client("dynamodb"),
        env["ROUTE_LOCK_TABLE"],
        account.client("sns"),
        env["NOTIFICATION_TOPIC_ARN"],
        env["WEIGHT_SHIFT_STATE_MACHINE_ARN"],
        account.client("ecs"),
    )


# --- every traffic backend's world ------------------------------------------------------------------------
@dataclass
class Backend:
    """One backend's world (the guide's serviceB / serviceBv2 behind one weighted action) and how to look at it."""

    name: str
    account: OfflineAccount
    stable: str
    canary: str
    alarm: str
    label: str

    # --- the rule as its own service shows it ---------------------------------------------------------
    def raw(self) -> Any:
        """The weighted route exactly as the service returns it (compared byte for byte after a rollback)."""
        saved = self.account.saved
        if self.name == "appmesh":
            route = self.account.client("appmesh").describe_route(**ROUTE)["route"]
            return route["spec"]
        if self.name == "lattice":
            rule = self.account.client("vpc-lattice").get_rule(
                serviceIdentifier=saved["serviceb"]["id"],
                listenerIdentifier=saved["listener"]["id"],
                ruleIdentifier=saved["rule"]["id"],
            )
            return {k: rule[k] for k in ("action", "match", "priority", "name", "isDefault")}
        (rule,) = self.account.client("elbv2").describe_rules(RuleArns=[saved["rule"]["Rules"][0]["RuleArn"]])["Rules"]
        return rule

    def group_names(self) -> dict[str, str]:
        saved = self.account.saved
        if self.name == "lattice":
            return {saved["servicebGroup"]["id"]: "serviceb", saved["servicebV2Group"]["id"]: "servicebv2"}
        return {saved[f"{n}Group"]["TargetGroups"][0]["TargetGroupArn"]: n for n in ("serviceB", "serviceBv2")}

    def weights(self) -> dict[str, int]:
        raw = self.raw()
        if self.name == "appmesh":
            return {t["virtualNode"]: t["weight"] for t in raw["http2Route"]["action"]["weightedTargets"]}
        names = self.group_names()
        if self.name == "lattice":
            return {names[t["targetGroupIdentifier"]]: t["weight"] for t in raw["action"]["forward"]["targetGroups"]}
        (forward,) = [a for a in raw["Actions"] if a["Type"] == "forward"]
        return {names[t["TargetGroupArn"]]: t["Weight"] for t in forward["ForwardConfig"]["TargetGroups"]}

    def set_weights(self, new: dict[str, int]) -> None:
        """Someone changes the weights by hand, with the service's own API."""
        ids = {name: identifier for identifier, name in self.group_names().items()} if self.name != "appmesh" else {}
        saved = self.account.saved
        if self.name == "appmesh":
            spec = self.raw()
            spec["http2Route"]["action"]["weightedTargets"] = [{"virtualNode": n, "weight": w} for n, w in new.items()]
            self.account.client("appmesh").update_route(**ROUTE, spec=spec)
        elif self.name == "lattice":
            self.account.client("vpc-lattice").update_rule(
                serviceIdentifier=saved["serviceb"]["id"],
                listenerIdentifier=saved["listener"]["id"],
                ruleIdentifier=saved["rule"]["id"],
                action={"forward": {"targetGroups": [{"targetGroupIdentifier": ids[n], "weight": w} for n, w in new.items()]}},
            )
        else:
            targets = [{"TargetGroupArn": ids[n], "Weight": w} for n, w in new.items()]
            self.account.client("elbv2").modify_rule(
                RuleArn=saved["rule"]["Rules"][0]["RuleArn"],
                Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": targets}}],
            )

    # --- the shift's input and state --------------------------------------------------------------------
    def shift_input(self) -> dict[str, Any]:
        text = (EVENTS / INPUTS[self.name]).read_text()
        return json.loads(self.account.resolve_input(text))  # type: ignore[no-any-return]

    def w(self, stable: int, canary: int) -> dict[str, int]:
        return {self.stable: stable, self.canary: canary}

    def lock(self) -> Any:
        table = self.account.client("dynamodb").list_tables()["TableNames"][0]
        items = self.account.client("dynamodb").scan(TableName=table)["Items"]
        locks = [item for item in items if "owner" in item]  # not the records a release leaves
        return locks[0] if locks else None

    def set_alarm(self, state: str) -> None:
        self.account.client("cloudwatch").set_alarm_state(AlarmName=self.alarm, StateValue=state, StateReason=f"test: {state}")

    def traffic_writes(self, result: RunResult) -> int:
        return sum(n for call, n in result.mutating_calls().items() if call in WRITES[self.name])


INPUTS = {"appmesh": "weight-shift-apps.json", "lattice": "weight-shift-lattice.json", "alb": "weight-shift-alb.json"}
GIVEN = {"appmesh": "weight-shift-given.json", "lattice": "lattice-given.json", "alb": "alb-given.json"}
WRITES = {
    "appmesh": ("appmesh:UpdateRoute",),
    "lattice": ("vpc-lattice:UpdateRule", "vpc-lattice:UpdateListener"),
    "alb": ("elbv2:ModifyRule", "elbv2:ModifyListener"),
}
SHAPES = {
    "appmesh": ("serviceB", "serviceBv2", "serviceBv2-5xx", "apps/serviceB/serviceB"),
    "lattice": ("serviceb", "servicebv2", "servicebv2-5xx", "serviceb/http-80/serviceb"),
    "alb": ("serviceB", "serviceBv2", "serviceBv2-5xx", "apps:80/rule 10"),
}


# --- the guide's ECS services (cluster apps) and the rollouts that deploy them ------------------------------
def fail_next_deployment(account: OfflineAccount, service: str) -> None:
    """The emulated ECS fails the service's next deployment (its circuit breaker: tasks failed to start)."""
    ecs = account.client("ecs")
    arn = ecs.describe_services(cluster="apps", services=[service])["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": FAIL_NEXT_DEPLOYMENT_TAG, "value": "FAILED"}])


def service_task_definition(account: OfflineAccount, service: str) -> str:
    """The revision the service runs, short (taskB:2)."""
    described = account.client("ecs").describe_services(cluster="apps", services=[service])["services"][0]
    return str(described["taskDefinition"]).rsplit("/", 1)[-1]


def deployment_of(account: OfflineAccount, service: str) -> dict[str, Any]:
    """The emulated service's PRIMARY deployment, as the ECS emulator keeps it (reading it moves nothing on)."""
    from moto.ecs.models import ecs_backends  # here, not at the top: tests/unit imports this module

    backend = ecs_backends[ACCOUNT_ID][account.region]
    return next(d for d in backend._get_service("apps", service).deployments if d["status"] == "PRIMARY")


def hold_deployment(account: OfflineAccount, service: str, until: Any) -> None:
    """Keep `service`'s deployment IN_PROGRESS at each gate check until `until()` is true (never blocking a thread:
    handlers run one at a time)."""

    def before(event: dict[str, Any]) -> None:
        if event.get("service") == service and not until():
            deployment_of(account, service)["_observed"] = 0  # the emulator's count of checks that saw it

    account.intercept("DeploymentHealthFunction", before)


def slow_gates(rollout: dict[str, Any], **top: Any) -> dict[str, Any]:
    """The input with gates that never time out while a deployment is held, and `top` (maxConcurrentDeployments)."""
    rollout = copy.deepcopy(rollout)
    for target in rollout["ecsServices"]:
        target.update(deploymentTimeoutSeconds=86400, deploymentPollSeconds=1)
    return {**rollout, **top}


def states_of(execution: dict[str, Any]) -> list[str]:
    """The states a child execution (RunResult.children) entered, in order."""
    return [e["stateEnteredEventDetails"]["name"] for e in execution["history"] if e["type"].endswith("StateEntered")]


def service_of(execution: dict[str, Any]) -> str:
    """The ECS service a service rollout execution was started for (from its input)."""
    started = json.loads(execution["history"][0]["executionStartedEventDetails"]["input"])
    return str(started["target"]["service"])


def stop_flags(account: OfflineAccount) -> list[str]:
    """The stop flags a failed service left for the rollout's other services (removed when the rollout finishes)."""
    table = account.environment("FinishMeshRolloutFunction")["ROUTE_LOCK_TABLE"]
    items = account.client("dynamodb").scan(TableName=table)["Items"]
    return [i["lockId"]["S"] for i in items if i["lockId"]["S"].startswith("stopped:")]


# --- `mesh-rollout local` --------------------------------------------------------------------------------
def run_local(tmp_path: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    code = main(
        [
            "local",
            "WeightShiftStateMachine",
            "--input",
            str(EVENTS / "weight-shift-apps.json"),
            "--given",
            str(EVENTS / "local" / "weight-shift-given.json"),
            "--template",
            str(ROOT / "template.yaml"),
            *flags,
        ]
    )
    return code, capsys.readouterr().out


# --- inputs changed field by field ---------------------------------------------------------------------------
def mutate(scenario: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(scenario)
    *parents, last = path.split("/")
    target: Any = raw
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is DELETE:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return raw


DELETE = object()

# --- task definitions -----------------------------------------------------------------------------------------
INT_FIELDS = {"cpu", "memory", "memoryReservation"}


def as_registered(example: dict[str, Any]) -> dict[str, Any]:
    """The guide writes some integers as strings ("500"); ECS's API takes integers there."""
    td = copy.deepcopy(example)
    for container in td["containerDefinitions"]:
        for key in INT_FIELDS & set(container):
            container[key] = int(container[key])
    props = td["proxyConfiguration"]["properties"]
    td["proxyConfiguration"]["properties"] = sorted(props, key=lambda p: p["name"])
    return td
