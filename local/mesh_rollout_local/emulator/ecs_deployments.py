"""ECS service deployments with the BLUE_GREEN, LINEAR and CANARY strategies, run as ECS runs them.

moto 5.2.5 has no ListServiceDeployments, DescribeServiceDeployments, ContinueServiceDeployment or
StopServiceDeployment, drops CreateService's deploymentConfiguration and ignores its strategy, lifecycle hooks and
the load balancers' `advancedConfiguration`. Here, after botocore's ECS model and the developer guide (DG =
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/, API = https://docs.aws.amazon.com/AmazonECS/latest/APIReference/):

- CreateService keeps `deploymentConfiguration` as given (lifecycle hooks included); CreateService and UpdateService
  refuse a PAUSE hook at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT (InvalidParameterException; DG
  deployment-lifecycle-hooks.html "Supported stages by hook type", pause-lifecycle-hooks.html) and an AWS_LAMBDA hook
  without hookTargetArn (API_DeploymentLifecycleHook.html).
- UpdateService that starts a deployment (a new task definition, forceNewDeployment ...: see emulator/ecs.py) on a
  service whose deploymentController is ECS and strategy BLUE_GREEN, LINEAR or CANARY starts a *service deployment*
  (`arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID`, revisions `...:service-revision/CLUSTER/SERVICE/ID`)
  run by an engine thread on a scaled clock: one ECS minute lasts MINUTE_SECONDS real seconds (every ECS wait
  is scaled: bakes, Lattice's settle, hook timeouts, callBackDelay). Other services keep emulator/ecs.py's
  deployments. One service deployment runs per service: a new one stops the earlier one (STOPPED).
- Stages (DG deployment-lifecycle-hooks.html#lifecycle-stage-categories, blue-green-deployment-how-it-works.html):
  [RECONCILE_SERVICE, only when another deployment was interrupted], PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP,
  TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, then for each traffic step PRE_PRODUCTION_TRAFFIC_SHIFT and
  PRODUCTION_TRAFFIC_SHIFT (ECS writes the step's weights, then runs the stage's hooks, then bakes the step:
  stepBakeTimeInMinutes / canaryBakeTimeInMinutes, not after 100 %, API_LinearConfiguration.html,
  API_CanaryConfiguration.html), POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME (bakeTimeInMinutes), CLEAN_UP,
  SUCCESSFUL. LINEAR steps are stepPercent (default 10), 2 x stepPercent ... up to 100; CANARY canaryPercent
  (default 5) then 100; BLUE_GREEN 100 at once.
- Weights: ECS rewrites the production listener rule's forward action: the group serving production when the
  deployment starts is blue, the other green (so they swap from one deployment to the next); green gets p %,
  blue 100 - p %. ALB: loadBalancers[].advancedConfiguration.productionListenerRule is a rule ARN, changed as
  ModifyRule changes it (DG alb-resources-for-blue-green.html). VPC Lattice: vpcLatticeConfigurations[]
  .advancedConfiguration.productionListenerRule is a rule (or listener) ID or ARN, changed as UpdateRule does
  (DG vpc-lattice-resources-for-blue-green.html); ECS waits about 3 minutes at POST_SCALE_UP and about 90 s after
  each Lattice weight change. A testListenerRule gets green 100 at TEST_TRAFFIC_SHIFT. The weights are integers
  (both load balancers take weights 0-999): a step of 33.3 % writes 33.
- Hooks (DG deployment-lifecycle-hooks.html, pause-lifecycle-hooks.html, lambda-lifecycle-hooks.html): PAUSE hooks
  wait AWAITING_ACTION under a new hookId (`ecs-pause-...`) each time their stage runs, until
  ContinueServiceDeployment (CONTINUE or ROLLBACK) or their timeout (timeoutConfiguration, default 1440 minutes,
  action ROLLBACK). AWS_LAMBDA hooks are invoked (RequestResponse, through moto's Lambda) with ECS's payload
  (executionId, lifecycleStage, resourceArn, executionDetails, hookDetails) and answer hookStatus SUCCEEDED, FAILED
  or IN_PROGRESS (invoked again after callBackDelay, default 30 s, with the hookDetails it returned merged in); a
  function error or an invalid answer rolls back. All hooks of a stage end before the next stage. Each PAUSE
  hook's state changes are put on the default event bus as "ECS Hook State Change" events (HOOK_AWAITING_ACTION,
  HOOK_SUCCEEDED, HOOK_FAILED, HOOK_TIMED_OUT; DG ecs_hook_state_change_events.html).
- Alarms: deploymentConfiguration.alarms with enable and rollback: an alarm in ALARM during the deployment rolls it
  back. Rollback (DG lambda-lifecycle-hooks.html "Lifecycle hooks during rollback"): status ROLLBACK_IN_PROGRESS,
  the weights back to blue 100 (test rule too), the TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT Lambda hooks
  run again (green 0 in their payload), the service back on the source revision's task definition,
  ROLLBACK_SUCCESSFUL (or ROLLBACK_FAILED if a hook fails then).
- StopServiceDeployment with stopType ROLLBACK (API_StopServiceDeployment.html): ROLLBACK_REQUESTED, then the
  rollback; a finished deployment is a ConflictException.

Timestamps are the wall clock's; `expiresAt` is in ECS time (start + timeoutInMinutes real minutes), as AWS
reports it, while the emulator times the hook out after timeoutInMinutes x MINUTE_SECONDS.
The engine threads are daemons that check a stop flag at every wait; `stop_all()` stops them (and moto's reset
does, before any backend is reset), so none touches a later test's backends.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.core.base_backend import BackendDict
from moto.core.responses import ActionResult
from moto.ecs.exceptions import ECSException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Service
from moto.ecs.responses import EC2ContainerServiceResponse

from mesh_rollout_local.emulator.lattice import default_rule, now_iso, resource_id

log = logging.getLogger(__name__)

MINUTE_SECONDS = 0.05  # real seconds per ECS minute; tests may set it
POLL_SECONDS = 0.02  # real seconds between two looks at alarms and stop requests during a wait
ENGINE_STRATEGIES = {"BLUE_GREEN", "LINEAR", "CANARY"}
# DG deployment-lifecycle-hooks.html "Supported stages by hook type": not TEST_ / PRODUCTION_TRAFFIC_SHIFT
PAUSE_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)
MAX_HOOKS_PER_TYPE = 10  # DG pause-lifecycle-hooks.html "Constraints"
DEFAULT_HOOK_TIMEOUT_MINUTES = 1440  # DG lambda-lifecycle-hooks.html#lambda-hook-timeout
DEFAULT_CALLBACK_DELAY_SECONDS = 30  # DG lambda-lifecycle-hooks.html "hookStatus values"
LATTICE_SETTLE_SECONDS = 90  # DG vpc-lattice-resources-for-blue-green.html
LATTICE_SCALE_UP_SECONDS = 180  # idem, at POST_SCALE_UP
DEFAULT_STEP_PERCENT, DEFAULT_STEP_BAKE_MINUTES = 10.0, 6  # API_LinearConfiguration.html
DEFAULT_CANARY_PERCENT, DEFAULT_CANARY_BAKE_MINUTES = 5.0, 10  # API_CanaryConfiguration.html
ONGOING = {"PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"}
OPEN_HOOK = {"AWAITING_ACTION", "IN_PROGRESS"}

_lock = threading.RLock()
_changed = threading.Condition(_lock)  # notified whenever a deployment's state changes from outside its engine
_deployments: dict[str, _Deployment] = {}  # by serviceDeploymentArn, oldest first
_production: dict[tuple[int, str], _Revision] = {}  # (id(ECS backend), service ARN) -> the revision serving now


class ServiceDeploymentNotFoundException(ECSException):
    def __init__(self, message: str) -> None:
        super().__init__("ServiceDeploymentNotFoundException", message)


class EcsConflictException(ECSException):
    def __init__(self, message: str) -> None:
        super().__init__("ConflictException", message)


class _Stopped(Exception):
    """The engine must end at once and touch nothing (stopped, superseded, or moto reset)."""


class _RollBack(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _RollbackFailed(Exception):
    pass


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _real(ecs_seconds: float) -> float:
    """Real seconds for `ecs_seconds` of ECS time (MINUTE_SECONDS is read at each call)."""
    return ecs_seconds * MINUTE_SECONDS / 60


def _number(percent: float) -> int | float:
    return int(percent) if float(percent).is_integer() else percent


def _random_id(length: int = 22) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


@dataclass
class _Revision:
    arn: str
    task_definition: str


@dataclass
class _HookRun:
    """One execution of a configured hook at one stage (one entry of lifecycleHookDetails)."""

    hook_id: str
    target_type: str
    target_arn: str | None
    stage: str
    expires_at: dt.datetime
    timeout_action: str
    deadline: float  # time.monotonic() when it times out
    status: str
    details: Any = None  # hookDetails passed to a Lambda hook (configured, then merged with its answers)
    next_call: float = 0.0
    reason: str | None = None

    def to_api(self) -> dict[str, Any]:
        data = {
            "hookId": self.hook_id,
            "targetType": self.target_type,
            "status": self.status,
            "expiresAt": self.expires_at,
            "timeoutAction": self.timeout_action,
        }
        return data | ({"targetArn": self.target_arn} if self.target_arn else {})


def steps_of(configuration: dict[str, Any]) -> list[float]:
    """The percents of production traffic on the new revision after each step of the strategy."""
    strategy = configuration.get("strategy")
    if strategy == "LINEAR":
        step = float((configuration.get("linearConfiguration") or {}).get("stepPercent") or DEFAULT_STEP_PERCENT)
        count = 1
        steps = []
        while round(count * step, 1) < 100:
            steps.append(round(count * step, 1))
            count += 1
        return [*steps, 100.0]
    if strategy == "CANARY":
        canary = float((configuration.get("canaryConfiguration") or {}).get("canaryPercent") or DEFAULT_CANARY_PERCENT)
        return [canary, 100.0] if canary < 100 else [100.0]
    return [100.0]


def _step_bake_minutes(configuration: dict[str, Any]) -> float:
    if configuration.get("strategy") == "LINEAR":
        bake = (configuration.get("linearConfiguration") or {}).get("stepBakeTimeInMinutes")
        return DEFAULT_STEP_BAKE_MINUTES if bake is None else bake
    if configuration.get("strategy") == "CANARY":
        bake = (configuration.get("canaryConfiguration") or {}).get("canaryBakeTimeInMinutes")
        return DEFAULT_CANARY_BAKE_MINUTES if bake is None else bake
    return 0


# --- the production (and test) listener rules ECS writes -------------------------------------------


@dataclass
class _Route:
    """A load balancer of the service: its two target groups and the rules ECS writes weights on."""

    kind: str  # "alb" | "lattice"
    account: str
    region: str
    production: str
    test: str | None
    primary: str  # the service's targetGroupArn
    alternate: str  # advancedConfiguration.alternateTargetGroupArn
    blue: str = ""
    green: str = ""

    def _key(self, group: str) -> str:
        return resource_id(group) if self.kind == "lattice" else group

    # ALB ------------------------------------------------------------------------------------------
    def _elbv2(self) -> Any:
        from moto.elbv2.models import elbv2_backends

        return elbv2_backends[self.account][self.region]

    def _alb_weights(self, rule_arn: str) -> dict[str, int]:
        (rule,) = self._elbv2().describe_rules(listener_arn=None, rule_arns=[rule_arn])
        for action in rule.actions:
            data = action.data
            if data.get("Type") != "forward":
                continue
            if "ForwardConfig" in data:
                return {t["TargetGroupArn"]: int(t.get("Weight", 1)) for t in data["ForwardConfig"].get("TargetGroups", [])}
            return {data["TargetGroupArn"]: 1}
        return {}

    def _alb_write(self, rule_arn: str, weights: dict[str, int]) -> None:
        backend = self._elbv2()
        (rule,) = backend.describe_rules(listener_arn=None, rule_arns=[rule_arn])
        actions = []
        for action in rule.actions:
            data = copy.deepcopy(action.data)
            if data.get("Type") == "forward":
                groups = list((data.get("ForwardConfig") or {}).get("TargetGroups") or [])
                if not groups and "TargetGroupArn" in data:
                    groups = [{"TargetGroupArn": data["TargetGroupArn"]}]
                data.pop("TargetGroupArn", None)
                named = [g["TargetGroupArn"] for g in groups]
                groups += [{"TargetGroupArn": arn} for arn in weights if arn not in named]
                for group in groups:
                    if group["TargetGroupArn"] in weights:
                        group["Weight"] = weights[group["TargetGroupArn"]]
                data["ForwardConfig"] = {**(data.get("ForwardConfig") or {}), "TargetGroups": groups}
            actions.append(data)
        backend.modify_rule(rule_arn=rule_arn, conditions=[], actions=actions)  # ModifyRule: conditions kept

    # VPC Lattice ----------------------------------------------------------------------------------
    def _lattice(self) -> Any:
        from moto.vpclattice.models import vpclattice_backends

        return vpclattice_backends[self.account][self.region]

    def _lattice_holder(self, reference: str) -> tuple[Any, str]:
        """The rule object (attribute `action`) or listener (attribute `default_action`) `reference` names."""
        backend, wanted = self._lattice(), resource_id(reference)
        for rule in backend.rules.values():
            if rule.id == wanted:
                return rule, "action"
        for listener in backend.listeners.values():
            if wanted in (listener.id, default_rule(listener)["id"]):
                return listener, "default_action"
        raise LookupError(f"VPC Lattice listener rule {reference} not found")

    def _lattice_weights(self, reference: str) -> dict[str, int]:
        holder, attribute = self._lattice_holder(reference)
        groups = ((getattr(holder, attribute) or {}).get("forward") or {}).get("targetGroups") or []
        return {resource_id(g["targetGroupIdentifier"]): int(g.get("weight", 100)) for g in groups}

    def _lattice_write(self, reference: str, weights: dict[str, int]) -> None:
        holder, attribute = self._lattice_holder(reference)
        groups = copy.deepcopy(((getattr(holder, attribute) or {}).get("forward") or {}).get("targetGroups") or [])
        by_id = {resource_id(arn): arn for arn in weights}
        named = [resource_id(g["targetGroupIdentifier"]) for g in groups]
        groups += [{"targetGroupIdentifier": arn} for group_id, arn in by_id.items() if group_id not in named]
        for group in groups:
            group_id = resource_id(group["targetGroupIdentifier"])
            if group_id in by_id:
                group["weight"] = weights[by_id[group_id]]
        setattr(holder, attribute, {"forward": {"targetGroups": groups}})  # UpdateRule / UpdateListener
        holder.last_updated_at = now_iso()

    # both -----------------------------------------------------------------------------------------
    def weights(self, reference: str) -> dict[str, int]:
        """{target group as configured on the service: weight} read from the rule (0 if the rule does not name it)."""
        found = self._lattice_weights(reference) if self.kind == "lattice" else self._alb_weights(reference)
        return {group: found.get(self._key(group), 0) for group in (self.primary, self.alternate)}

    def choose_green(self) -> None:
        now = self.weights(self.production)
        self.blue, self.green = (
            (self.alternate, self.primary) if now[self.alternate] > now[self.primary] else (self.primary, self.alternate)
        )

    def write(self, reference: str, green_percent: float) -> None:
        green = round(green_percent)
        weights = {self.blue: 100 - green, self.green: green}
        if self.kind == "lattice":
            self._lattice_write(reference, weights)
        else:
            self._alb_write(reference, weights)


def _routes(service: Service, account: str, region: str) -> list[_Route]:
    """The production routes ECS moves: each load balancer (ALB) and Lattice configuration with an
    advancedConfiguration naming a production listener rule and an alternate target group."""
    configured = [
        *(("alb", balancer) for balancer in service.load_balancers or []),
        *(("lattice", lattice) for lattice in getattr(service, "vpc_lattice_configurations", None) or []),
    ]
    routes = []
    for kind, configuration in configured:
        advanced = configuration.get("advancedConfiguration") or {}
        if advanced.get("productionListenerRule") and advanced.get("alternateTargetGroupArn"):
            routes.append(
                _Route(
                    kind,
                    account,
                    region,
                    advanced["productionListenerRule"],
                    advanced.get("testListenerRule"),
                    configuration["targetGroupArn"],
                    advanced["alternateTargetGroupArn"],
                )
            )
    return routes


# --- one service deployment and its engine ---------------------------------------------------------


@dataclass
class _Deployment:
    backend: EC2ContainerServiceBackend
    service: Service
    arn: str
    configuration: dict[str, Any]
    source: _Revision
    target: _Revision
    legacy: dict[str, Any] | None  # emulator/ecs.py's PRIMARY deployment of this UpdateService
    reconcile: bool
    created_at: dt.datetime = field(default_factory=_utcnow)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    stopped_at: dt.datetime | None = None
    updated_at: dt.datetime = field(default_factory=_utcnow)
    status: str = "PENDING"
    status_reason: str | None = None
    stage: str | None = None
    production: float = 0.0  # percent of production traffic requested on the target revision
    test: float = 0.0
    target_tasks: int = 0
    source_tasks: int = 0
    hooks: list[_HookRun] = field(default_factory=list)
    rollback: dict[str, Any] | None = None
    rolling_back: bool = False
    rollback_requested: str | None = None
    triggered_alarms: list[str] = field(default_factory=list)
    alarms_status: str = "DISABLED"
    routes: list[_Route] = field(default_factory=list)
    test_shifted: bool = False
    production_reached: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    _lambda: Any = None

    # identity -------------------------------------------------------------------------------------
    @property
    def account(self) -> str:
        return str(self.backend.account_id)

    @property
    def region(self) -> str:
        return str(self.backend.region_name)

    @property
    def service_arn(self) -> str:
        return str(self.service.arn)

    # the API's view -------------------------------------------------------------------------------
    def _summary(self, revision: _Revision, tasks: int, production: float, test: float) -> dict[str, Any]:
        return {
            "arn": revision.arn,
            "requestedTaskCount": tasks,
            "runningTaskCount": tasks,
            "pendingTaskCount": 0,
            "requestedTestTrafficWeight": float(test),
            "requestedProductionTrafficWeight": float(production),
        }

    def to_api(self) -> dict[str, Any]:
        alarms = self.configuration.get("alarms") or {}
        data: dict[str, Any] = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.service.cluster_arn,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "sourceServiceRevisions": [self._summary(self.source, self.source_tasks, 100 - self.production, 100 - self.test)],
            "targetServiceRevision": self._summary(self.target, self.target_tasks, self.production, self.test),
            "status": self.status,
            "lifecycleHookDetails": [hook.to_api() for hook in self.hooks],
            "deploymentConfiguration": copy.deepcopy(self.configuration),
            "alarms": {
                "status": self.alarms_status,
                "alarmNames": list(alarms.get("alarmNames") or []),
                "triggeredAlarmNames": list(self.triggered_alarms),
            },
        }
        optional = {
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "stoppedAt": self.stopped_at,
            "statusReason": self.status_reason,
            "lifecycleStage": self.stage,
            "rollback": self.rollback,
        }
        return data | {k: v for k, v in optional.items() if v is not None}

    def brief(self) -> dict[str, Any]:
        data = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.service.cluster_arn,
            "createdAt": self.created_at,
            "targetServiceRevisionArn": self.target.arn,
            "status": self.status,
        }
        optional = {"startedAt": self.started_at, "finishedAt": self.finished_at, "statusReason": self.status_reason}
        return data | {k: v for k, v in optional.items() if v is not None}

    # state changes (called with _lock held) ---------------------------------------------------------
    def _touch(self) -> None:
        self.updated_at = _utcnow()
        _changed.notify_all()

    def _abandon_hooks(self) -> None:
        for hook in self.hooks:
            if hook.status in OPEN_HOOK:
                hook.status = "FAILED"

    def supersede(self, newer: str) -> None:
        self.status = "STOPPED"
        self.status_reason = f"Service deployment stopped: superseded by service deployment {newer}"
        self.stopped_at = self.finished_at = _utcnow()
        self._abandon_hooks()
        self.stop.set()
        self._touch()

    def request_rollback(self, reason: str) -> None:
        self.status = "ROLLBACK_REQUESTED"
        self.rollback_requested = reason
        self._touch()

    def answer(self, hook_id: str, action: str) -> None:
        hook = next((h for h in self.hooks if h.hook_id == hook_id), None)
        if hook is None or hook.target_type != "PAUSE":
            raise InvalidParameterException(f"Lifecycle hook {hook_id} is not a PAUSE hook of service deployment {self.arn}")
        if hook.status != "AWAITING_ACTION" or self.status != "IN_PROGRESS":
            raise InvalidParameterException(
                f"Lifecycle hook {hook_id} is {hook.status} (service deployment {self.status}); only a hook in "
                "AWAITING_ACTION of a deployment IN_PROGRESS can be continued or rolled back"
            )
        if action == "ROLLBACK":
            hook.status = "FAILED"
            hook.reason = f"ContinueServiceDeployment rolled back at lifecycle hook {hook_id} ({hook.stage})"
        else:
            hook.status = "SUCCEEDED"
        self._event("HOOK_SUCCEEDED" if action != "ROLLBACK" else "HOOK_FAILED", hook)
        self._touch()

    def _event(self, name: str, hook: _HookRun) -> None:
        """An "ECS Hook State Change" event on the default bus (DG ecs_hook_state_change_events.html)."""
        if hook.target_type != "PAUSE":
            return
        from moto.events.models import events_backends

        detail = {
            "eventType": "ERROR" if name in ("HOOK_FAILED", "HOOK_TIMED_OUT") else "INFO",
            "eventName": name,
            "hookId": hook.hook_id,
            "hookType": hook.target_type,
            "expiresAt": _iso(hook.expires_at),
            "lifecycleStage": hook.stage,
            "clusterArn": self.service.cluster_arn,
            "serviceArn": self.service_arn,
            "serviceDeploymentArn": self.arn,
            "updatedAt": _iso(_utcnow()),
        }
        entry = {
            "Source": "aws.ecs",
            "DetailType": "ECS Hook State Change",
            "Detail": json.dumps(detail),
            "Resources": [self.arn],
        }
        try:
            events_backends[self.account][self.region].put_events([entry])
        except Exception:  # a target moto cannot deliver to must not break the deployment
            log.exception("putting %s for %s", name, self.arn)

    def _alarm_in_alarm(self) -> str | None:
        alarms = self.configuration.get("alarms") or {}
        if not alarms.get("enable"):
            return None
        from moto.cloudwatch.models import cloudwatch_backends

        known = cloudwatch_backends[self.account][self.region].alarms
        for name in alarms.get("alarmNames") or []:
            alarm = known.get(name)
            if alarm is not None and alarm.state_value == "ALARM":
                return str(name)
        return None

    def _check(self) -> None:
        """With _lock held: end the engine if stopped; start the rollback if asked or if an alarm fires."""
        if self.stop.is_set():
            raise _Stopped()
        if self.rolling_back:
            return
        if self.rollback_requested:
            raise _RollBack(self.rollback_requested)
        name = self._alarm_in_alarm()
        if name is not None and name not in self.triggered_alarms:
            self.triggered_alarms.append(name)
            self.alarms_status = "TRIGGERED"
            self._touch()
            if (self.configuration.get("alarms") or {}).get("rollback"):
                raise _RollBack(f"Service deployment rolled back because the CloudWatch alarm {name} is in ALARM state.")

    # the engine ---------------------------------------------------------------------------------
    def _wait(self, ecs_seconds: float) -> None:
        deadline = time.monotonic() + _real(ecs_seconds)
        with _changed:
            while True:
                self._check()
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                _changed.wait(min(left, POLL_SECONDS))

    def _enter(self, stage: str) -> None:
        with _changed:
            self._check()
            self.stage = stage
            self._touch()

    def _lattice(self) -> bool:
        return any(route.kind == "lattice" for route in self.routes)

    def _write(self, production: float | None = None, test: float | None = None) -> None:
        with _changed:
            self._check()
            for route in self.routes:
                if production is not None:
                    route.write(route.production, production)
                if test is not None and route.test:
                    route.write(route.test, test)
            if production is not None:
                self.production = production
            if test is not None:
                self.test = test
            self._touch()

    def _traffic(self, which: str) -> dict[str, int | float]:
        green = self.production if which == "production" else self.test
        return {self.target.arn: _number(green), self.source.arn: _number(100 - green)}

    def _payload(self, hook: _HookRun, production: bool, test: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "executionId": hook.hook_id,
            "lifecycleStage": hook.stage,
            "resourceArn": self.arn,
            "executionDetails": {
                "serviceArn": self.service_arn,
                "targetServiceRevisionArn": self.target.arn,
                "testTrafficWeights": self._traffic("test") if test else {},
                "productionTrafficWeights": self._traffic("production") if production else {},
            },
        }
        if hook.details is not None:
            payload["hookDetails"] = hook.details
        return payload

    def _client(self) -> Any:
        if self._lambda is None:
            self._lambda = boto3.session.Session(region_name=self.region).client("lambda")
        return self._lambda

    def _call(self, hook: _HookRun, production: bool, test: bool) -> None:
        """Invoke a Lambda hook once (no lock held: the function may call ECS) and record its answer."""
        with _changed:
            self._check()
            payload = self._payload(hook, production, test)
        answer: Any = None
        try:
            response = self._client().invoke(
                FunctionName=hook.target_arn, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
            )
            body = response["Payload"].read()
            problem = f"function error {response['FunctionError']}: {body[:500]!r}" if "FunctionError" in response else None
            if problem is None:
                answer = json.loads(body) if body else None
        except Exception as exc:  # throttled, missing, not JSON ...: ECS rolls back (DG lambda-lifecycle-hooks.html)
            problem = f"{type(exc).__name__}: {exc}"
        status = answer.get("hookStatus") if isinstance(answer, dict) else None
        with _changed:
            self._check()
            if hook.status != "IN_PROGRESS":
                return
            if problem is not None or status not in ("SUCCEEDED", "FAILED", "IN_PROGRESS"):
                hook.status = "FAILED"
                hook.reason = (
                    f"Lifecycle hook {hook.hook_id} ({hook.target_arn}) at {hook.stage} failed: "
                    f"{problem or f'no valid hookStatus in {answer!r:.200}'}"
                )
            elif status == "FAILED":
                hook.status = "FAILED"
                hook.reason = f"Lifecycle hook {hook.hook_id} ({hook.target_arn}) returned FAILED at {hook.stage}"
            elif status == "SUCCEEDED":
                hook.status = "SUCCEEDED"
            else:
                returned = answer.get("hookDetails")
                if returned is not None:  # DG lambda-lifecycle-hooks.html "Passing state with hookDetails"
                    merged = hook.details if isinstance(hook.details, dict) else {}
                    hook.details = {**merged, **returned} if isinstance(returned, dict) else returned
                delay = answer.get("callBackDelay", DEFAULT_CALLBACK_DELAY_SECONDS)
                hook.next_call = time.monotonic() + _real(float(delay))
            self._touch()

    def _new_hook(self, configured: dict[str, Any], stage: str) -> _HookRun:
        target_type = configured.get("targetType") or "AWS_LAMBDA"
        timeout = configured.get("timeoutConfiguration") or {}
        minutes = timeout.get("timeoutInMinutes") or DEFAULT_HOOK_TIMEOUT_MINUTES
        pause = target_type == "PAUSE"
        details = configured.get("hookDetails")
        return _HookRun(
            hook_id=f"ecs-pause-{secrets.token_urlsafe(12)}" if pause else str(uuid.uuid4()),
            target_type=target_type,
            target_arn=None if pause else configured.get("hookTargetArn"),
            stage=stage,
            expires_at=_utcnow() + dt.timedelta(minutes=minutes),
            timeout_action=timeout.get("action") or "ROLLBACK",
            deadline=time.monotonic() + _real(minutes * 60),
            status="AWAITING_ACTION" if pause else "IN_PROGRESS",
            details=copy.deepcopy(details),
        )

    def _end_failed_or_late(self, runs: list[_HookRun], now: float) -> None:
        """With _lock held: time out the hooks past their timeout; raise if one failed or timed out with ROLLBACK."""
        for run in runs:
            if run.status in OPEN_HOOK and now >= run.deadline:
                run.status = "TIMED_OUT"
                run.reason = f"Lifecycle hook {run.hook_id} at {run.stage} timed out (timeoutAction {run.timeout_action})"
                self._event("HOOK_TIMED_OUT", run)
                self._touch()
        failed = next(
            (r for r in runs if r.status == "FAILED" or (r.status == "TIMED_OUT" and r.timeout_action == "ROLLBACK")),
            None,
        )
        if failed is not None:
            reason = failed.reason or f"Lifecycle hook {failed.hook_id} failed"
            raise _RollbackFailed(reason) if self.rolling_back else _RollBack(reason)

    def _hooks(self, stage: str, production: bool = False, test: bool = False) -> None:
        """Run the hooks configured at `stage`; return once all have succeeded (or timed out with CONTINUE)."""
        configured = [h for h in self.configuration.get("lifecycleHooks") or [] if stage in (h.get("lifecycleStages") or [])]
        if self.rolling_back:  # only the Lambda hooks of the traffic shifts run again (DG lambda-lifecycle-hooks.html)
            configured = [h for h in configured if (h.get("targetType") or "AWS_LAMBDA") == "AWS_LAMBDA"]
        if not configured:
            return
        with _changed:
            self._check()
            runs = [self._new_hook(h, stage) for h in configured]
            self.hooks.extend(runs)
            self._touch()
            for run in runs:
                if run.status == "AWAITING_ACTION":
                    self._event("HOOK_AWAITING_ACTION", run)
        while True:
            with _changed:
                self._check()
                now = time.monotonic()
                self._end_failed_or_late(runs, now)
                if all(r.status not in OPEN_HOOK for r in runs):
                    return
                due = [r for r in runs if r.status == "IN_PROGRESS" and r.target_type != "PAUSE" and r.next_call <= now]
                if not due:
                    wake = [r.deadline for r in runs if r.status in OPEN_HOOK]
                    wake += [r.next_call for r in runs if r.status == "IN_PROGRESS" and r.target_type != "PAUSE"]
                    _changed.wait(max(0.0, min([*wake, now + POLL_SECONDS]) - now))
                    continue
            for run in due:
                self._call(run, production, test)

    def run(self) -> None:
        try:
            try:
                self._forward()
                return
            except _RollBack as exc:
                reason = exc.reason
            except (_Stopped, _RollbackFailed):
                raise
            except Exception as exc:  # a rule or target group gone ...: ECS cannot go on, it rolls back
                log.exception("service deployment %s", self.arn)
                reason = f"Service deployment failed: {type(exc).__name__}: {exc}"
            self._roll_back(reason)
        except _Stopped:
            return
        except Exception as exc:
            if self.stop.is_set():
                return
            log.exception("rolling back service deployment %s", self.arn)
            with _changed:
                if not self.stop.is_set():
                    self._finish("ROLLBACK_FAILED", f"Rollback failed: {exc}")

    def _finish(self, status: str, reason: str | None) -> None:
        self.status, self.status_reason = status, reason
        self.finished_at = _utcnow()
        if self.alarms_status == "MONITORING":
            self.alarms_status = "MONITORING_COMPLETE"
        self._touch()

    def _forward(self) -> None:
        with _changed:
            self._check()
            self.status, self.started_at = "IN_PROGRESS", _utcnow()
            self.source_tasks = self.service.desired_count or 0
            self.routes = _routes(self.service, self.account, self.region)
            for route in self.routes:
                route.choose_green()
            if (self.configuration.get("alarms") or {}).get("enable"):
                self.alarms_status = "MONITORING"
            self._touch()
        if self.reconcile:
            self._enter("RECONCILE_SERVICE")
            self._hooks("RECONCILE_SERVICE")
        self._enter("PRE_SCALE_UP")
        self._hooks("PRE_SCALE_UP")
        self._enter("SCALE_UP")
        with _changed:
            self._check()
            if self.legacy is not None and self.legacy.get("_fail"):  # emulator/ecs.py's FAIL_NEXT_DEPLOYMENT_TAG
                raise _RollBack("Service deployment failed: tasks failed to start.")
            self.target_tasks = self.service.desired_count or 0
            self._touch()
        self._enter("POST_SCALE_UP")
        if self._lattice():
            self._wait(LATTICE_SCALE_UP_SECONDS)
        self._hooks("POST_SCALE_UP")
        self._enter("TEST_TRAFFIC_SHIFT")
        self._write(test=100.0)
        self.test_shifted = True
        if self._lattice() and any(route.test for route in self.routes):
            self._wait(LATTICE_SETTLE_SECONDS)
        self._hooks("TEST_TRAFFIC_SHIFT", test=True)
        self._enter("POST_TEST_TRAFFIC_SHIFT")
        self._hooks("POST_TEST_TRAFFIC_SHIFT")
        for percent in steps_of(self.configuration):
            self._enter("PRE_PRODUCTION_TRAFFIC_SHIFT")
            self._hooks("PRE_PRODUCTION_TRAFFIC_SHIFT", production=True)
            self._enter("PRODUCTION_TRAFFIC_SHIFT")
            self._write(production=percent)
            self.production_reached = True
            if self._lattice():
                self._wait(LATTICE_SETTLE_SECONDS)
            self._hooks("PRODUCTION_TRAFFIC_SHIFT", production=True)
            if percent < 100:
                self._wait(_step_bake_minutes(self.configuration) * 60)
        self._enter("POST_PRODUCTION_TRAFFIC_SHIFT")
        self._hooks("POST_PRODUCTION_TRAFFIC_SHIFT")
        self._enter("BAKE_TIME")
        self._wait(float(self.configuration.get("bakeTimeInMinutes") or 0) * 60)
        with _changed:
            self._check()
            self.stage = "CLEAN_UP"
            self.source_tasks = 0
            self.service.task_definition = self.target.task_definition
            _production[(id(self.backend), self.service_arn)] = self.target
            self._settle_legacy(success=True)
            self._finish("SUCCESSFUL", "Service deployment completed successfully.")

    def _roll_back(self, reason: str) -> None:
        with _changed:
            if self.stop.is_set():
                raise _Stopped()
            self.rolling_back = True
            self.status, self.status_reason = "ROLLBACK_IN_PROGRESS", reason
            self.rollback = {"reason": reason, "startedAt": _utcnow(), "serviceRevisionArn": self.source.arn}
            self._abandon_hooks()
            if self.alarms_status == "MONITORING":
                self.alarms_status = "MONITORING_COMPLETE"
            self._touch()
        if self.test_shifted:
            self._enter("TEST_TRAFFIC_SHIFT")
            self._write(test=0.0)
            if self._lattice() and any(route.test for route in self.routes):
                self._wait(LATTICE_SETTLE_SECONDS)
            self._hooks("TEST_TRAFFIC_SHIFT", test=True)
        if self.production_reached:
            self._enter("PRODUCTION_TRAFFIC_SHIFT")
            self._write(production=0.0)
            if self._lattice():
                self._wait(LATTICE_SETTLE_SECONDS)
            self._hooks("PRODUCTION_TRAFFIC_SHIFT", production=True)
        with _changed:
            self._check()
            self.stage = "CLEAN_UP"
            self.target_tasks = 0
            self.source_tasks = self.service.desired_count or 0
            self.service.task_definition = self.source.task_definition
            self._settle_legacy(success=False)
            self._finish("ROLLBACK_SUCCESSFUL", reason)

    def _settle_legacy(self, success: bool) -> None:
        """emulator/ecs.py's deployments list, as DescribeServices shows it, once the service deployment ends."""
        legacy, service = self.legacy, self.service
        if legacy is None or legacy not in service.deployments:
            return
        now, desired = _utcnow(), service.desired_count or 0
        if success:
            legacy.update(
                rolloutState="COMPLETED",
                rolloutStateReason=f"ECS deployment {legacy['id']} completed.",
                runningCount=desired,
                pendingCount=0,
                updatedAt=now,
            )
            service.deployments = [legacy]
            return
        legacy.update(rolloutState="FAILED", rolloutStateReason=self.status_reason or "rolled back", updatedAt=now)
        previous = next(
            (d for d in service.deployments if d is not legacy and d.get("taskDefinition") == self.source.task_definition),
            None,
        )
        if previous is not None:
            previous.update(status="PRIMARY", rolloutState="COMPLETED", runningCount=desired, pendingCount=0, updatedAt=now)
            service.deployments = [previous]


# --- starting deployments (UpdateService) ----------------------------------------------------------


def _uses_engine(service: Service) -> bool:
    configuration = getattr(service, "deployment_configuration", None) or {}
    return (service.deployment_controller or {}).get("type", "ECS") == "ECS" and configuration.get(
        "strategy"
    ) in ENGINE_STRATEGIES


def _revision(service: Service, task_definition: str) -> _Revision:
    arn = (
        f"arn:aws:ecs:{service.region_name}:{service._account_id}:service-revision/"
        f"{service.cluster_name}/{service.name}/{secrets.randbelow(10**19):019d}"
    )
    return _Revision(arn, task_definition)


def _start(backend: EC2ContainerServiceBackend, service: Service, source_task_definition: str, legacy: Any) -> None:
    with _changed:
        key = (id(backend), service.arn)
        source = _production.get(key)
        if source is None:
            source = _production[key] = _revision(service, source_task_definition)
        running = [
            d for d in _deployments.values() if d.backend is backend and d.service_arn == service.arn and d.status in ONGOING
        ]
        arn = (
            f"arn:aws:ecs:{service.region_name}:{service._account_id}:service-deployment/"
            f"{service.cluster_name}/{service.name}/{_random_id()}"
        )
        for earlier in running:
            earlier.supersede(arn)
        if isinstance(legacy, dict):
            legacy.pop("_observed", None)  # emulator/ecs.py's DescribeServices no longer completes it: the engine does
        deployment = _Deployment(
            backend=backend,
            service=service,
            arn=arn,
            configuration=copy.deepcopy(getattr(service, "deployment_configuration", None) or {}),
            source=source,
            target=_revision(service, service.task_definition or source.task_definition),
            legacy=legacy if isinstance(legacy, dict) else None,
            reconcile=bool(running),
        )
        _deployments[arn] = deployment
        deployment.thread = threading.Thread(target=deployment.run, daemon=True, name=f"ecs-deployment-{arn.rsplit('/', 1)[-1]}")
        deployment.thread.start()


def _primary(service: Service) -> Any:
    return next((d for d in service.deployments if d.get("status") == "PRIMARY"), None)


def _update_service_deploying(original: Any) -> Any:
    def update_service(self: EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> Any:
        cluster = service_properties.get("cluster", "default")
        service = self._get_service(cluster, service_properties["service"].split("/")[-1])
        before, primary = service.task_definition, _primary(service)
        updated = original(self, service_properties)
        started = _primary(updated)
        if _uses_engine(updated) and started is not None and started is not primary:
            _start(self, updated, before or updated.task_definition, started)
        return updated

    return update_service


def check_configuration(configuration: dict[str, Any] | None) -> None:
    """InvalidParameterException for lifecycle hooks ECS refuses (stages of PAUSE hooks, a Lambda without ARN)."""
    hooks = (configuration or {}).get("lifecycleHooks") or []
    for index, hook in enumerate(hooks):
        kind = hook.get("targetType") or "AWS_LAMBDA"
        if kind == "PAUSE":
            refused = [s for s in hook.get("lifecycleStages") or [] if s not in PAUSE_STAGES]
            if refused:
                raise InvalidParameterException(
                    f"deploymentConfiguration.lifecycleHooks[{index}]: a PAUSE hook is not supported at lifecycle stage "
                    f"{refused[0]}; PAUSE hooks are supported at {', '.join(PAUSE_STAGES)}"
                )
        elif not hook.get("hookTargetArn"):
            raise InvalidParameterException(
                f"deploymentConfiguration.lifecycleHooks[{index}]: hookTargetArn is required for an AWS_LAMBDA hook"
            )
    for kind in ("PAUSE", "AWS_LAMBDA"):
        count = sum(1 for hook in hooks if (hook.get("targetType") or "AWS_LAMBDA") == kind)
        if count > MAX_HOOKS_PER_TYPE:
            raise InvalidParameterException(
                f"A service can have at most {MAX_HOOKS_PER_TYPE} {kind} lifecycle hooks, not {count}"
            )


def _create_service_keeping_configuration(original: Any) -> Any:
    def create_service(self: EC2ContainerServiceResponse) -> Any:
        configuration = self._get_param("deploymentConfiguration")
        check_configuration(configuration)
        result = original(self)
        if configuration is not None:
            result.result["service"].deployment_configuration = configuration
        return result

    return create_service


def _update_service_checked(original: Any) -> Any:
    def update_service(self: EC2ContainerServiceResponse) -> Any:
        check_configuration(self._get_param("deploymentConfiguration"))
        return original(self)

    return update_service


# --- the four operations moto lacks, as methods of its response class ---------------------------------


def _deployment(backend: EC2ContainerServiceBackend, arn: str) -> _Deployment:
    found = _deployments.get(arn)
    if found is None or found.backend is not backend:
        raise ServiceDeploymentNotFoundException(f"Service deployment {arn} not found.")
    return found


def list_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
    cluster = self._get_param("cluster", "default")
    service = self.ecs_backend._get_service(cluster, self._get_param("service").split("/")[-1])
    statuses = self._get_param("status") or []
    created = self._get_param("createdAt") or {}
    limit = int(self._get_param("maxResults") or 20)
    start = int(self._get_param("nextToken") or 0)
    with _lock:
        found = [
            d
            for d in reversed(list(_deployments.values()))  # the newest first
            if d.backend is self.ecs_backend
            and d.service_arn == service.arn
            and (not statuses or d.status in statuses)
            and ("before" not in created or d.created_at.timestamp() < _epoch(created["before"]))
            and ("after" not in created or d.created_at.timestamp() > _epoch(created["after"]))
        ]
        page = [d.brief() for d in found[start : start + limit]]
    more = start + limit < len(found)
    return ActionResult({"serviceDeployments": page} | ({"nextToken": str(start + limit)} if more else {}))


def _epoch(value: Any) -> float:
    """A request's timestamp member: moto hands it over parsed (a datetime) or as botocore sent it (epoch seconds)."""
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


def describe_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
    found, failures = [], []
    with _lock:
        for arn in self._get_param("serviceDeploymentArns") or []:
            deployment = _deployments.get(arn)
            if deployment is None or deployment.backend is not self.ecs_backend:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(deployment.to_api())
    return ActionResult({"serviceDeployments": found, "failures": failures})


def describe_service_revisions(self: EC2ContainerServiceResponse) -> ActionResult:
    """The revisions the engine knows (each deployment's source and target): API_DescribeServiceRevisions.html.
    Members kept: serviceRevisionArn, serviceArn, clusterArn, taskDefinition, and the service's load balancers and
    Lattice configurations as they are now (a revision's own copy is not modelled)."""
    found, failures = [], []
    with _lock:
        known: dict[str, tuple[_Revision, _Deployment]] = {}
        for deployment in _deployments.values():
            if deployment.backend is self.ecs_backend:
                for revision in (deployment.source, deployment.target):
                    known.setdefault(revision.arn, (revision, deployment))
        for arn in self._get_param("serviceRevisionArns") or []:
            if arn not in known:
                failures.append({"arn": arn, "reason": "MISSING"})
                continue
            revision, deployment = known[arn]
            service = deployment.service
            found.append(
                {
                    "serviceRevisionArn": revision.arn,
                    "serviceArn": service.arn,
                    "clusterArn": service.cluster_arn,
                    "taskDefinition": revision.task_definition,
                    "createdAt": deployment.created_at,
                    **({"loadBalancers": service.load_balancers} if service.load_balancers else {}),
                    **(
                        {"vpcLatticeConfigurations": lattice}
                        if (lattice := getattr(service, "vpc_lattice_configurations", None))
                        else {}
                    ),
                }
            )
    return ActionResult({"serviceRevisions": found, "failures": failures})


def continue_service_deployment(self: EC2ContainerServiceResponse) -> ActionResult:
    arn = self._get_param("serviceDeploymentArn")
    with _changed:
        _deployment(self.ecs_backend, arn).answer(self._get_param("hookId"), self._get_param("action") or "CONTINUE")
    return ActionResult({"serviceDeploymentArn": arn})


def stop_service_deployment(self: EC2ContainerServiceResponse) -> ActionResult:
    arn = self._get_param("serviceDeploymentArn")
    stop_type = self._get_param("stopType") or "ROLLBACK"
    with _changed:
        deployment = _deployment(self.ecs_backend, arn)
        if stop_type != "ROLLBACK":  # API_StopServiceDeployment.html: "The valid values are ROLLBACK"
            raise InvalidParameterException(f"stopType {stop_type} is not supported; the valid value is ROLLBACK")
        if deployment.status not in ONGOING:
            raise EcsConflictException(f"Service deployment {arn} has already finished ({deployment.status}).")
        if deployment.status in ("PENDING", "IN_PROGRESS"):
            deployment.request_rollback("Service deployment rolled back by StopServiceDeployment.")
    return ActionResult({"serviceDeploymentArn": arn})


# --- stopping the engines ------------------------------------------------------------------------


def _stop(chosen: list[_Deployment], timeout: float) -> None:
    with _changed:
        for deployment in chosen:
            deployment.stop.set()
            _deployments.pop(deployment.arn, None)
        _changed.notify_all()
    for deployment in chosen:
        thread = deployment.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


def stop_all(timeout: float = 5.0) -> None:
    """Stop every engine and forget every service deployment (OfflineAccount.__exit__; moto's reset)."""
    with _changed:
        chosen = list(_deployments.values())
        _production.clear()
    _stop(chosen, timeout)


def _reset_stopping_all(original: Any) -> Any:
    def reset(cls: Any) -> None:
        stop_all()
        original(cls)

    return classmethod(reset)


def _backend_reset_stopping(original: Any) -> Any:
    def reset(self: EC2ContainerServiceBackend) -> None:
        with _changed:
            chosen = [d for d in _deployments.values() if d.backend is self]
            for key in [k for k in _production if k[0] == id(self)]:
                del _production[key]
        _stop(chosen, 5.0)
        original(self)

    return reset


def deployments() -> list[dict[str, Any]]:
    """Every service deployment as DescribeServiceDeployments shows it, oldest first (for tests)."""
    with _lock:
        return [d.to_api() for d in _deployments.values()]


def install() -> None:
    EC2ContainerServiceResponse.create_service = _create_service_keeping_configuration(  # type: ignore[method-assign]
        EC2ContainerServiceResponse.create_service
    )
    EC2ContainerServiceResponse.update_service = _update_service_checked(  # type: ignore[method-assign]
        EC2ContainerServiceResponse.update_service
    )
    EC2ContainerServiceBackend.update_service = _update_service_deploying(  # type: ignore[method-assign]
        EC2ContainerServiceBackend.update_service
    )
    for method in (
        list_service_deployments,
        describe_service_deployments,
        describe_service_revisions,
        continue_service_deployment,
        stop_service_deployment,
    ):
        setattr(EC2ContainerServiceResponse, method.__name__, method)
    BackendDict.reset = _reset_stopping_all(BackendDict.reset.__func__)  # type: ignore[method-assign,attr-defined]
    EC2ContainerServiceBackend.reset = _backend_reset_stopping(EC2ContainerServiceBackend.reset)  # type: ignore[method-assign]
