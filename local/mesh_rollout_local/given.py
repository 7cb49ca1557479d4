"""The `--given` language (events/local/README.md): the world an offline run starts from, built by boto3 calls,
included files, runs of the template's state machines and minutes of metrics (`metrics`); calls applied when a
rollout reaches a step (`atStep`); and the replay of a given run this process ran before."""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import json
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.exceptions
import botocore.validate

from mesh_rollout_local.recording import RecordedCall
from mesh_rollout_local.references import REFERENCE, GivenError, has_references, reference_locations, resolve_refs

if TYPE_CHECKING:
    from mesh_rollout_local.runner import OfflineAccount

# Per process: the handlers' calls of each given `run`, by what the account held before it (see _given_run)
GIVEN_RUNS: dict[str, list[RecordedCall]] = {}


def apply_given(account: OfflineAccount, calls: list[dict[str, Any]], base: Path | None = None, source: str = "--given") -> None:
    """OfflineAccount.apply_given."""
    base = base or Path.cwd()
    if not isinstance(calls, list):
        raise GivenError(f"{source}: must be a JSON list of calls, not {type(calls).__name__} (events/local/README.md)")
    for number, call in enumerate(calls, start=1):
        where = f"{source} entry {number}"
        account.given_so_far.append(call)
        if not isinstance(call, dict):
            raise GivenError(f"{where}: must be an object with service, operation and params (or include, or run)")
        if "include" in call:
            path = base / call["include"]
            try:
                included = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise GivenError(f"{where}: include {call['include']}: {exc}") from None
            apply_given(account, included, path.parent, f"{source} > {call['include']}")
            continue
        if "run" in call:
            _given_run(account, call, base, where)
            continue
        if "metrics" in call:
            for expanded in metric_calls(call, where):
                _given_call(account, expanded, where)
            continue
        if "atStep" in call:
            _given_at_step(account, call, where)
            continue
        _given_call(account, call, where)


def _given_run(account: OfflineAccount, call: dict[str, Any], base: Path, where: str) -> None:
    if call["run"] not in account.state_machine_arns:
        raise GivenError(f"{where}: run {call['run']}: not a state machine of {account.template.path.name}")
    try:
        text = (base / call["input"]).read_text()
    except (KeyError, OSError) as exc:
        raise GivenError(f"{where}: run {call['run']} needs an input file ({exc})") from None
    try:
        execution_input = resolve_input(account, text)
    except GivenError as exc:
        raise GivenError(f"{where}: run {call['run']}: {exc}") from None
    key = json.dumps([str(account.template.path), account.region, account.given_so_far, text], sort_keys=True, default=str)
    if account.replay_given_runs and key in GIVEN_RUNS:
        _replay(account, GIVEN_RUNS[key], where)
        return
    lambdas = account.lambdas
    lambdas.record = [] if account.replay_given_runs else None
    try:
        result = account.run(call["run"], execution_input, approver=account.given_approver or _reject)
    finally:
        recorded, lambdas.record = lambdas.record, None
    if result.status != "SUCCEEDED":
        hint = ""
        if result.error == "ApprovalRejected" and account.given_approver is None:
            hint = " (a given run's approvals are answered by --approve or --reject; with neither, they are rejected)"
        raise GivenError(f"{where}: run {call['run']} ended {result.status}: {result.error}: {result.cause}{hint}")
    if recorded is not None:
        GIVEN_RUNS[key] = recorded


def _reject(pending: Any) -> tuple[bool, str]:
    """A given run's approval when nobody said how to answer it: rejected, so the world is refused rather than waiting."""
    return False, "a given run's approval, with neither --approve nor --reject"


def _replay(account: OfflineAccount, recorded: list[RecordedCall], where: str) -> None:
    """The handlers' calls of a given run, again: the account ends as the run left it (but for the execution
    and its history, which nothing replays). A call that ends otherwise than it did is an error, not skipped."""
    for service, operation, params, code in recorded:
        try:
            account.client(service)._make_api_call(operation, copy.deepcopy(params))
            answered = None
        except botocore.exceptions.ClientError as exc:
            answered = str(exc.response["Error"]["Code"])
        if answered != code:
            raise RuntimeError(f"{where}: replaying {service}.{operation} answered {answered}, the run's call {code}")


def _given_call(account: OfflineAccount, call: dict[str, Any], where: str) -> None:
    missing = [key for key in ("service", "operation") if key not in call]
    if missing:
        raise GivenError(f"{where}: has no {' or '.join(missing)} (nor include, nor run)")
    service, operation = call["service"], call["operation"]
    where = f"{where} ({service}.{operation})"
    try:
        params = resolve_refs(call.get("params", {}), account.saved, account.now)
    except GivenError as exc:
        raise GivenError(f"{where}: {exc}") from None
    client = _client(account, service, operation, where)
    try:
        response = getattr(client, operation)(**params)
    except (botocore.exceptions.ClientError, botocore.exceptions.ParamValidationError) as exc:
        raise GivenError(f"{where}: {' '.join(str(exc).split())}") from None
    if "saveAs" in call:
        account.saved[call["saveAs"]] = response


def resolve_input(account: OfflineAccount, text: str) -> str:
    """OfflineAccount.resolve_input. Every reference that leads nowhere is in the one GivenError (` | ` between)."""
    if not has_references(text):
        return text
    document = json.loads(text)
    failed: list[str] = []
    for location in reference_locations(document):
        value: Any = document
        for part in location:
            value = value[part]
        for reference in REFERENCE.finditer(value):
            try:
                resolve_refs(reference.group(0), account.saved, account.now)
            except GivenError as exc:
                failed.append(str(exc))
    if failed:
        raise GivenError(" | ".join(dict.fromkeys(failed)))
    return json.dumps(resolve_refs(document, account.saved, account.now))


# --- minutes of metrics without a generator script: {"metrics": {...}} ----------------------------------------------

METRICS_KEYS = {"Namespace", "Dimensions", "MetricData", "minutes", "newestSecondsAgo"}
NEWEST_SECONDS_AGO = 90  # as the shipped worlds stamp theirs: CloudWatch's EndTime excludes the second the gate reads
# PutMetricData takes "no more than 1000 different metrics" a request
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html)
DATA_PER_CALL = 1000


def metric_calls(entry: dict[str, Any], where: str = "metrics") -> list[dict[str, Any]]:
    """The cloudwatch put_metric_data calls a `{"metrics": {...}}` entry stands for: each MetricDatum of its
    `MetricData` (CloudWatch's own shape, without `Timestamp`) once a minute for `minutes` minutes, the newest
    `newestSecondsAgo` (90) seconds before the call, stamped `{{given:now-N}}`; a datum without `Dimensions` takes the
    entry's. Value, Values/Counts, StatisticValues, Unit and StorageResolution pass as they are (percentile statistics
    such as p99 are computed from Value or Values/Counts, never from StatisticValues)."""
    spec = entry["metrics"]
    if not isinstance(spec, dict):
        raise GivenError(f"{where}: metrics must be an object with Namespace, MetricData and minutes")
    unknown = sorted(set(spec) - METRICS_KEYS)
    if unknown:
        raise GivenError(f"{where}: metrics has no {', '.join(unknown)} (it takes {', '.join(sorted(METRICS_KEYS))})")
    if not isinstance(spec.get("Namespace"), str):
        raise GivenError(f"{where}: metrics needs a Namespace (e.g. AWS/ApplicationELB, AWS/VpcLattice)")
    data = spec.get("MetricData")
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) for d in data):
        raise GivenError(f"{where}: metrics needs MetricData, a list of MetricDatum objects (MetricName, Value, Unit ...)")
    minutes, newest = spec.get("minutes", 1), spec.get("newestSecondsAgo", NEWEST_SECONDS_AGO)
    for name, number in (("minutes", minutes), ("newestSecondsAgo", newest)):
        if not isinstance(number, int) or isinstance(number, bool) or number < (1 if name == "minutes" else 0):
            raise GivenError(f"{where}: metrics {name} must be a whole number (of {'minutes' if name == 'minutes' else 's'})")
    stamped = []
    for minute in range(minutes - 1, -1, -1):  # the oldest first, as time goes
        for datum in data:
            if "Timestamp" in datum:
                raise GivenError(f"{where}: metrics {datum.get('MetricName')}: no Timestamp here (minutes stamps them)")
            dimensions = datum.get("Dimensions", spec.get("Dimensions"))
            stamped.append(
                {
                    **datum,
                    **({"Dimensions": dimensions} if dimensions is not None else {}),
                    "Timestamp": f"{{{{given:now-{newest + 60 * minute}}}}}",
                }
            )
    return [
        {
            "service": "cloudwatch",
            "operation": "put_metric_data",
            "params": {"Namespace": spec["Namespace"], "MetricData": stamped[start : start + DATA_PER_CALL]},
        }
        for start in range(0, len(stamped), DATA_PER_CALL)
    ]


# --- calls applied when the rollout reaches a step: {"atStep": 50, "given": [...]} ---------------------------------

# The handlers whose events say which step the gate is about to judge (template.yaml's logical IDs)
SHIFT_TRAFFIC, CANARY_HEALTH, ECS_STEP_CHECK = "ShiftTrafficFunction", "CanaryHealthFunction", "EcsStepCheckFunction"
# Each account's StepWorld, while the account lives: a StepWorld refers to its account weakly (StepWorld.account), so
# the value does not keep its own key alive.
_STEPS: weakref.WeakKeyDictionary[OfflineAccount, StepWorld] = weakref.WeakKeyDictionary()


def _given_at_step(account: OfflineAccount, entry: dict[str, Any], where: str) -> None:
    """Check an atStep entry's calls now (a mistake is one line before the run), apply them when the step comes."""
    percent, entries = entry["atStep"], entry.get("given")
    unknown = sorted(set(entry) - {"atStep", "given"})
    if unknown:
        raise GivenError(f"{where}: atStep takes atStep and given, not {', '.join(unknown)}")
    if not isinstance(percent, (int, float)) or isinstance(percent, bool) or not 0 <= percent <= 100:
        raise GivenError(f"{where}: atStep must be a step's percent of traffic on the canary (0 to 100), not {percent!r}")
    if not isinstance(entries, list) or not entries:
        raise GivenError(f"{where}: atStep {percent:g} needs given, a list of calls (or metrics) to apply at that step")
    calls: list[tuple[dict[str, Any], str]] = []
    for number, call in enumerate(entries, start=1):
        inner = f"{where} atStep {percent:g} entry {number}"
        if not isinstance(call, dict) or any(key in call for key in ("include", "run", "atStep")):
            raise GivenError(f"{inner}: at a step, only calls (service, operation, params) and metrics apply")
        expanded = metric_calls(call, inner) if "metrics" in call else [call]
        for one in expanded:
            _check_call(account, one, inner)
            calls.append((one, inner))
    world = _STEPS.get(account)
    if world is None:
        world = _STEPS[account] = StepWorld(account)
    world.pending.setdefault(float(percent), []).extend(calls)


def steps_not_reached(account: OfflineAccount) -> list[float]:
    """The atStep percents whose calls never applied: the runs never judged such a step (a typo, or a step the input
    does not have), so the world the user meant for it was never there."""
    world = _STEPS.get(account)
    return sorted(world.pending) if world else []


def _check_call(account: OfflineAccount, call: dict[str, Any], where: str) -> None:
    """What _given_call would refuse, found without making the call: the service, the operation, the references
    (the world's saveAs names; `now-N` counts from the step's time when it comes) and botocore's parameter check."""
    if "saveAs" in call:
        raise GivenError(f"{where}: no saveAs at a step (nothing after it could refer to it)")
    missing = [key for key in ("service", "operation") if key not in call]
    if missing:
        raise GivenError(f"{where}: has no {' or '.join(missing)}")
    where = f"{where} ({call['service']}.{call['operation']})"
    client = _client(account, call["service"], call["operation"], where)
    try:
        params = resolve_refs(call.get("params", {}), account.saved, account.now)
    except GivenError as exc:
        raise GivenError(f"{where}: {exc}") from None
    model = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[call["operation"]])
    report = botocore.validate.ParamValidator().validate(params, model.input_shape)
    if report.has_errors():
        raise GivenError(f"{where}: {' '.join(report.generate_report().split())}")


def _client(account: OfflineAccount, service: str, operation: str, where: str) -> Any:
    try:
        client = account.client(service)
    except botocore.exceptions.UnknownServiceError:
        raise GivenError(f"{where}: {service!r} is not a boto3 service name (e.g. ecs, elbv2, vpc-lattice)") from None
    if not hasattr(client, operation):
        names = [name for name in dir(client) if not name.startswith("_")]
        near = difflib.get_close_matches(operation, names, n=1)
        hint = f"; did you mean {near[0]}?" if near else ""
        raise GivenError(f"{where}: {service} has no operation {operation!r} (boto3's snake_case name){hint}")
    return client


class StepWorld:
    """An account's atStep calls, applied once each, just before the gate first judges their step: for the weight
    shift the first CanaryHealth invocation after ShiftTraffic applied the step (a group's: after it moved every leg
    to the step), so not the check after an approval, which judges the step before; for the ECS deployment the
    first EcsStepCheck at that percent.

    Offline, the Wait states take no time, so every datapoint of the world would still be in the gate's window at
    the later step, and the healthy minutes would water the step's down (an Average, a judge's periods). On AWS the
    bake's minutes pass between two steps: here the account's clock moves on by the step's window plus a minute
    when a step's calls apply, then they are made. The datapoints published before are older than the window, as
    they would be on AWS, and the gate reads only the step's (those of both sides: restate the stable's if the gate
    or a judge reads them). `{{given:now-N}}` at a step counts from the moved clock."""

    def __init__(self, account: OfflineAccount) -> None:
        self._account = weakref.ref(account)
        self.pending: dict[float, list[tuple[dict[str, Any], str]]] = {}
        self.route_at: float | None = None  # the step ShiftTraffic last applied, until the gate judges it
        self.offset = dt.timedelta()
        handlers = account.lambdas.handlers
        if SHIFT_TRAFFIC in handlers and CANARY_HEALTH in handlers:
            account.intercept(SHIFT_TRAFFIC, self._shift_traffic)
            account.intercept(CANARY_HEALTH, self._canary_health)
        if ECS_STEP_CHECK in handlers:
            account.intercept(ECS_STEP_CHECK, self._ecs_step_check)
        self._install_clock()

    @property
    def account(self) -> OfflineAccount:
        """The account, while it lives (its own interceptors and clock are all that call here)."""
        account = self._account()
        if account is None:
            raise RuntimeError("the offline account of these atStep calls is gone")
        return account

    def _install_clock(self) -> None:
        from mesh_rollout import clock as domain_clock  # importable once the account is built (CodeUri on sys.path)

        before = self.account.clock or domain_clock.wall_clock

        def moved() -> dt.datetime:
            return before() + self.offset

        self.account.clock = moved
        domain_clock.set_clock(moved)  # the account restores the clock it found when it closes

    def _shift_traffic(self, event: dict[str, Any]) -> None:
        if event.get("action") in ("apply", "applyLegs") and isinstance(event.get("step"), dict):
            self.route_at = event["step"].get("percent")

    def _canary_health(self, event: dict[str, Any]) -> None:
        if self.route_at is not None:
            percent, self.route_at = self.route_at, None
            self._apply(percent, int(event.get("windowSeconds") or 0))

    def _ecs_step_check(self, event: dict[str, Any]) -> None:
        from mesh_rollout.deploying.status import window_seconds

        ecs = event.get("ecs") or {}
        percent = (ecs.get("pause") or {}).get("percent", ecs.get("percent", 0))
        if float(percent) in self.pending:
            self._apply(percent, window_seconds(event["plan"], ecs))

    def _apply(self, percent: float, window_seconds: int) -> None:
        calls = self.pending.pop(float(percent), None)
        if not calls:
            return
        # the gate reads max(window, 60) s back (shifting/gate.py): everything published before is older than that
        self.offset += dt.timedelta(seconds=max(window_seconds, 60) + 60)
        failed: list[BaseException] = []

        def make_calls() -> None:
            try:
                for call, where in calls:
                    _given_call(self.account, call, where)
            except BaseException as exc:  # handed to the handler's thread below
                failed.append(exc)

        # In a thread of its own: the handler's thread records the handler's calls (recording.py), and these are the
        # world's, not the handler's (they are not in its role's policy, nor counted as its mutating calls).
        worker = threading.Thread(target=make_calls, name=f"given-at-step-{percent:g}")
        worker.start()
        worker.join()
        if failed:
            raise failed[0]
