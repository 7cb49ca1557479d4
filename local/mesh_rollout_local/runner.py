"""Deploy template.yaml into an emulated AWS account (moto) and run its real state machines offline."""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import functools
import importlib
import io
import json
import os
import re
import sys
import threading
import time
import traceback
import types
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from unittest import mock

import boto3
import botocore.client
import botocore.endpoint
import botocore.exceptions
import botocore.loaders
import botocore.session
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from moto.core.botocore_stubber import BotocoreStubber
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as sfn_callback,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

from mesh_rollout_local import approvals, emulator
from mesh_rollout_local.faults import FaultPlan
from mesh_rollout_local.history import HistoryReader, started_executions
from mesh_rollout_local.isolation import HandlerIsolation
from mesh_rollout_local.progress import ExecutionsReader
from mesh_rollout_local.references import GivenError, has_references, resolve_refs
from mesh_rollout_local.template import Template

ACCOUNT_ID = "123456789012"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
STOP_GRACE_SECONDS = 30
INTERRUPTED = "mesh-rollout.Interrupted"  # the error of an execution stopped by Ctrl-C
MUTATING = re.compile(
    r"^(Create|Update|Modify|Register|Delete|Deregister|Put|Tag|Untag|Start|Stop|Send|Publish|Set|Add|Remove|Change"
    r"|Associate|Disassociate|TransactWrite|Authorize|Revoke|Attach|Detach|Continue)"
)

_calls = threading.local()
_handler_clients_region: str | None = None  # the Region of the handlers' cached clients (OfflineAccount.__enter__)
_handler_clients_lock = threading.Lock()
# A handler's AWS call as `replay_given_runs` replays it: service, operation, parameters and the error code AWS
# answered with (None: it succeeded).
RecordedCall = tuple[str, str, dict[str, Any], str | None]
# A handler's AWS call as its role must allow it: service, operation and the parameters as the handler passed them
HandlerCall = tuple[str, str, dict[str, Any]]
# Per process: the handlers' calls of each given `run`, by what the account held before it (see _given_run)
_GIVEN_RUNS: dict[str, list[RecordedCall]] = {}
Approver = Callable[[approvals.PendingApproval], "tuple[bool, str] | None"]
_recording_installed = False
# what can change whether an execution waits on an approval: only then does the approver look at the history again
APPROVAL_EVENTS = {"TaskScheduled", *approvals.ENDED}
# How often a live printer or an approver reads an execution's new events: every 0.1 s, which a person does not
# notice, or less often so as to read at most 5% of the time, but at least every 0.5 s. Offline, a read takes the
# emulator's time from the execution itself (a few ms a call, more on a busy machine): bench/bench_local_cli.py.
LIVE_READ_SECONDS = 0.1
LIVE_READ_SHARE = 0.05
LIVE_READ_MAX_SECONDS = 0.5
IDLE_LOOK_SECONDS = 0.2  # between DescribeExecution calls while no execution ends (Ctrl-C, the run's timeout)


def _install_call_recording() -> None:
    """Count every AWS call made while a handler runs (per thread, so the runner's own calls are not)."""
    global _recording_installed
    if _recording_installed:
        return
    original = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009 - private, untyped

    def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        sink = getattr(_calls, "sink", None)
        if sink is not None:
            sink.append((self.meta.service_model.service_name, operation_name))
        requests: list[HandlerCall] | None = getattr(_calls, "requests", None)
        if requests is not None:  # before the call: botocore rewrites some parameters in place (Route 53's ids)
            requests.append((self.meta.service_model.service_name, operation_name, copy.deepcopy(api_params)))
        record: list[RecordedCall] | None = getattr(_calls, "record", None)
        if record is None:
            return original(self, operation_name, api_params)
        service, params = self.meta.service_model.service_name, copy.deepcopy(api_params)
        try:
            response = original(self, operation_name, api_params)
        except botocore.exceptions.ClientError as exc:
            record.append((service, operation_name, params, str(exc.response["Error"]["Code"])))
            raise
        record.append((service, operation_name, params, None))
        return response

    setattr(botocore.client.BaseClient, "_make_api_call", _make_api_call)  # noqa: B010 - private, untyped
    _recording_installed = True


@functools.cache
def _loader(data_path: str | None) -> botocore.loaders.Loader:
    return botocore.loaders.create_loader(data_path)


def _shared_loader(self: botocore.session.Session) -> None:
    """Session._register_data_loader, with one loader per data path for the whole process."""
    components = getattr(self, "_components")  # noqa: B009 - private, untyped
    components.lazy_register_component("data_loader", lambda: _loader(self.get_config_variable("data_path")))


@dataclass
class LambdaContext:
    """What Powertools reads from the Lambda context object."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class RunResult:
    """One execution: its outcome, the states it entered and the AWS calls our handlers made."""

    run: int
    execution_arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    states: list[str]
    api_calls: Counter[tuple[str, str]]
    history: list[dict[str, Any]]
    seconds: float
    lambda_invocations: int
    # the AWS calls of each Lambda invocation, in the order they ran (one list per invocation)
    invocation_calls: list[list[tuple[str, str]]] = field(default_factory=list)
    # the executions this one started (states:startExecution.sync:2): {"executionArn", "status", "history"}
    children: list[dict[str, Any]] = field(default_factory=list)

    def mutating_calls(self) -> dict[str, int]:
        return {f"{s}:{op}": n for (s, op), n in sorted(self.api_calls.items()) if MUTATING.match(op)}


def nested_executions(
    sfn: Any, history: list[dict[str, Any]], readers: dict[str, HistoryReader] | None = None
) -> list[dict[str, Any]]:
    """The executions started by a `states:startExecution` Task of this history, in the order they started, each
    with its status and its whole history (and theirs, if they started executions in turn). `readers` are those a
    live printer already read them with: only what they have not read yet is read."""
    children = []
    for arn in started_executions(history):
        reader = (readers or {}).get(arn) or HistoryReader(sfn, arn)
        reader.finish()
        status = sfn.describe_execution(executionArn=arn)["status"]
        children.append({"executionArn": arn, "status": status, "history": reader.events})
        children.extend(nested_executions(sfn, reader.events, readers))
    return children


def states_entered(history: list[dict[str, Any]], children: list[dict[str, Any]]) -> list[str]:
    """The names of the states entered by an execution and the executions it started, in the order they were
    entered (by timestamp; within one execution, in history order)."""
    entered = [
        (event["timestamp"], event["stateEnteredEventDetails"]["name"])
        for events in [history, *(child["history"] for child in children)]
        for event in events
        if event["type"].endswith("StateEntered")
    ]
    # a stable sort: events of one execution with the same timestamp keep their order
    return [name for _, name in sorted(entered, key=lambda entry: entry[0])]


def substitute(definition: str, substitutions: dict[str, str]) -> str:
    """Apply DefinitionSubstitutions the way CloudFormation does: ${Name} -> value."""
    return re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda m: substitutions[m.group(1)], definition)


class StillClock:
    """A clock that stands still until a test moves it on (`advance`): for OfflineAccount(clock=...)."""

    def __init__(self, at: dt.datetime | None = None) -> None:
        self.at = at or dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


class OfflineAccount:
    """An emulated AWS account with the template's functions and state machines deployed in it."""

    def __init__(
        self,
        template: str | Path = "template.yaml",
        region: str = "us-west-2",
        real_time: bool = False,
        handler_output: io.TextIOBase | None = None,
        replay_given_runs: bool = False,
        clock: Callable[[], dt.datetime] | None = None,
        record_requests: bool = False,
    ) -> None:
        self.template = Template(template)
        # every call each function's handler made, with its parameters, in order (tests/test_iam.py evaluates them
        # against the function's role); only if asked: it copies every call's parameters
        self.requests_by_function: dict[str, list[HandlerCall]] | None = {} if record_requests else None
        # what the template's !Ref, !GetAtt and !Sub resolved to here: parameters, pseudo parameters, physical ids
        self.deployed: dict[str, Any] = {}
        # A given `run` whose world this process built before (same template, same given entries up to it) is not
        # run again: its handlers' AWS calls are replayed, in their order, with the same outcomes (tests' worlds).
        self.replay_given_runs = replay_given_runs
        # the time the health gate reads metrics up to and a given file's {{given:now-N}} is counted from: the wall
        # clock, or one the caller controls (StillClock), so that the two agree however late a run reaches its gate
        self.clock = clock
        self._given_so_far: list[Any] = []
        self._recording: list[RecordedCall] | None = None
        self.region = region
        self.real_time = real_time
        self.handler_output = handler_output
        self.session: boto3.session.Session | None = None
        # one client per service for the account's life, as the handlers keep theirs (mesh_rollout.aws.client):
        # creating a client costs more than most emulated calls, and tests poll through these
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self.function_arns: dict[str, str] = {}
        self.state_machine_arns: dict[str, str] = {}
        self.topic_arns: dict[str, str] = {}
        self.saved: dict[str, Any] = {}
        self._handlers: dict[str, tuple[Callable[..., Any], dict[str, str]]] = {}
        self._invoke_lock = threading.Lock()
        self._isolation = HandlerIsolation()
        self.faults = FaultPlan()  # AWS faults to inject under botocore's retries (see faults.py)
        self._runs = 0
        # set (from a signal handler) to stop the running execution, as StopExecution would; see cli.py
        self.stop_requested = False
        self._current_calls: list[tuple[str, str]] = []
        self._invocation_calls: list[list[tuple[str, str]]] = []
        # every (service, operation) each function's handler called, over all runs: what its role must allow
        self.calls_by_function: dict[str, set[tuple[str, str]]] = {}
        self._invocations = 0
        # assertions that failed inside a handler (a test's replacement or `intercept` callback): the execution gets
        # them as a Lambda error, like any error; `run` then raises the first, so the test fails on it
        self.failed_assertions: list[AssertionError] = []
        self._stack = ExitStack()
        # Lambda puts CodeUri on sys.path; so do we (tests already have it there via pytest's pythonpath).
        for code_uri in {str(fn.code_uri) for fn in self.template.functions.values()}:
            if code_uri not in sys.path:
                sys.path.insert(0, code_uri)

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> OfflineAccount:
        emulator.install()
        _install_call_recording()
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            # moto loads some 5,000 public AMIs into every EC2 backend it creates (half a second each); nothing here
            # runs an instance
            "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        }
        self._stack.enter_context(mock.patch.dict(os.environ, env))
        self._stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        self._stack.enter_context(self._isolation)
        self._stack.enter_context(mock.patch.object(LambdaFunction, "invoke", self._invoke_patch()))
        self._stack.enter_context(mock.patch.object(BotocoreStubber, "__call__", self._faulty_stubber()))
        # every boto3 session here (the runner's, each handler's clients) reads the service models through one
        # loader, which keeps what it parsed: a new session would parse each model's JSON again
        self._stack.enter_context(mock.patch.object(botocore.session.Session, "_register_data_loader", _shared_loader))
        if not self.real_time:
            self._stack.enter_context(mock.patch.object(WaitFunction, "_wait_interval", lambda *a, **k: None))
            # the state machines' retry back-offs, and botocore's own between attempts (faults make it retry)
            no_sleep = types.SimpleNamespace(sleep=lambda seconds: None)
            self._stack.enter_context(mock.patch.object(retrier_decl, "time", no_sleep))
            self._stack.enter_context(mock.patch.object(botocore.endpoint, "time", no_sleep))
            # a parent polls each nested execution (states:startExecution.sync) every 0.5 s; 10 ms offline
            self._stack.enter_context(mock.patch.object(sfn_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.01))
        self.session = boto3.session.Session(region_name=self.region)
        self._stack.callback(self._clients.clear)
        from mesh_rollout.aws import reset_clients  # importable only once CodeUri is on sys.path

        # The handlers' clients (one per service, as in Lambda) serve every account of this Region: a client holds
        # no account state (moto answers from the backends mock_aws has active) and the credentials are the same
        # fake ones, while creating one costs more than most emulated calls. Another Region gets new ones.
        global _handler_clients_region
        with _handler_clients_lock:
            if _handler_clients_region != self.region:
                reset_clients()
                _handler_clients_region = self.region
        from mesh_rollout import clock as domain_clock

        self._stack.callback(domain_clock.set_clock, domain_clock.set_clock(self.clock))
        self._deploy()
        return self

    def __exit__(self, *exc: object) -> None:
        emulator.ecs_deployments.stop_all()  # no engine thread may outlive the account (emulator/ecs_deployments.py)
        self._stack.close()

    def now(self) -> dt.datetime:
        """Now by the account's clock (see `clock`)."""
        return self.clock() if self.clock else dt.datetime.now(dt.UTC)

    def client(self, service: str) -> Any:
        assert self.session is not None, "use OfflineAccount as a context manager"
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = cast(Any, self.session).client(service)
            return self._clients[service]

    # --- deployment ------------------------------------------------------------------------------

    def _deploy(self) -> None:
        iam = self.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }
        role_arn = iam.create_role(RoleName="mesh-rollout-local", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        context = {
            **self.template.parameter_defaults(),
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "mesh-rollout-local",
        }
        self.deployed = context
        self._deploy_data_resources(context)
        # Functions and state machines may refer to each other (a handler's environment names a state
        # machine): their ARNs are known before anything is created, as CloudFormation would resolve them.
        for logical_id in self.template.functions:
            context[logical_id] = logical_id
            context[f"{logical_id}.Arn"] = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{logical_id}"
        for logical_id in self.template.state_machines:
            context[logical_id] = f"arn:aws:states:{self.region}:{ACCOUNT_ID}:stateMachine:{logical_id}"
            context[f"{logical_id}.Arn"] = context[logical_id]
            context[f"{logical_id}.Name"] = logical_id
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("placeholder.py", "# code runs in-process offline\n")
        lam = self.client("lambda")
        for logical_id, fn in self.template.functions.items():
            env = {k: str(v) for k, v in self.template.resolve(fn.environment, context).items()}
            arn = lam.create_function(
                FunctionName=logical_id,
                Runtime="python3.13",
                Role=role_arn,
                Handler=fn.handler,
                Code={"ZipFile": code.getvalue()},
                Environment={"Variables": env},
            )["FunctionArn"]
            assert arn == context[f"{logical_id}.Arn"], arn
            self.function_arns[logical_id] = arn
            self._handlers[logical_id] = (self._load_handler(fn.handler), {**env, "AWS_LAMBDA_FUNCTION_NAME": logical_id})
        if self.handler_output is not None:
            # Powertools' Logger holds the stream it was created with; point it at handler_output.
            from mesh_rollout.observability import logger

            handler = logger.registered_handler
            previous = handler.setStream(self.handler_output)  # type: ignore[attr-defined]
            self._stack.callback(handler.setStream, previous)  # type: ignore[attr-defined]
        sfn = self.client("stepfunctions")
        for logical_id, machine in self.template.state_machines.items():
            subs = {k: str(self.template.resolve(v, context)) for k, v in machine.substitutions.items()}
            definition = substitute(machine.definition_uri.read_text(), subs)
            arn = sfn.create_state_machine(name=logical_id, definition=definition, roleArn=role_arn)["stateMachineArn"]
            assert arn == context[logical_id], arn
            self.state_machine_arns[logical_id] = arn

    def _deploy_data_resources(self, context: dict[str, str]) -> None:
        """The template's KMS keys, DynamoDB tables and SNS topics, so !Ref and !GetAtt to them resolve."""
        dynamodb, sns, kms = self.client("dynamodb"), self.client("sns"), self.client("kms")
        for logical_id, props in self.template.resources_of("AWS::KMS::Key").items():
            key = kms.create_key(Description=props.get("Description", logical_id))["KeyMetadata"]
            context[logical_id] = key["KeyId"]
            context[f"{logical_id}.Arn"] = key["Arn"]
        for logical_id, props in self.template.resources_of("AWS::DynamoDB::Table").items():
            table = dynamodb.create_table(
                TableName=f"mesh-rollout-local-{logical_id}",
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            )["TableDescription"]
            context[logical_id] = table["TableName"]
            context[f"{logical_id}.Arn"] = table["TableArn"]
        for logical_id in self.template.resources_of("AWS::SNS::Topic"):
            arn = sns.create_topic(Name=f"mesh-rollout-local-{logical_id}")["TopicArn"]
            context[logical_id] = arn
            context[f"{logical_id}.TopicArn"] = arn
            self.topic_arns[logical_id] = arn

    def environment(self, function: str) -> dict[str, str]:
        """The environment the template gives `function` (table names, topic ARNs ...), resolved."""
        return dict(self._handlers[function][1])

    def notifications(self, topic: str = "NotificationTopic") -> list[dict[str, str]]:
        """What the template's topic received: {"subject", "message"} in order (read from the emulator)."""
        from moto.sns.models import sns_backends

        found = sns_backends[ACCOUNT_ID][self.region].topics[self.topic_arns[topic]].sent_notifications
        return [{"subject": entry[2] or "", "message": entry[1]} for entry in found]

    def intercept(self, function: str, before: Callable[[dict[str, Any]], None]) -> None:
        """Call `before(event)` in the handler's own thread right before `function`'s handler runs (tests act at
        a precise moment of an execution this way: stop it, change the world under it)."""
        handler, env = self._handlers[function]

        def intercepted(event: dict[str, Any], context: Any) -> Any:
            before(event)
            return handler(event, context)

        self._handlers[function] = (intercepted, env)

    def raise_failed_assertion(self) -> None:
        """Raise the first assertion that failed inside a handler since the last call (see failed_assertions)."""
        if self.failed_assertions:
            first, self.failed_assertions = self.failed_assertions[0], []
            raise first

    @staticmethod
    def _load_handler(handler: str) -> Callable[..., Any]:
        module_name, _, function_name = handler.rpartition(".")
        return getattr(importlib.import_module(module_name), function_name)  # type: ignore[no-any-return]

    def _faulty_stubber(self) -> Callable[..., Any]:
        original = BotocoreStubber.__call__
        faults = self.faults

        def call(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            return faults.intercept(lambda: original(stubber, event_name, request, **kwargs), event_name, request)

        return call

    def _invoke_patch(self) -> Callable[..., bytes]:
        account = self

        def invoke(fn: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
            return account._invoke(fn.function_name, body, response_headers)

        return invoke

    def _invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        handler, env = self._handlers[function_name]
        event = json.loads(body) if body else {}
        context = LambdaContext(function_name, self.function_arns[function_name])
        # One handler at a time: on AWS each function runs in a process of its own, here they share
        # Powertools' module-level Logger and Metrics. The environment and output are per thread
        # (HandlerIsolation), so moto's worker threads never see them change.
        with self._invoke_lock, self._isolation.handler(env, self.handler_output):  # type: ignore[arg-type]
            _calls.sink = self._current_calls
            _calls.record = self._recording
            if self.requests_by_function is not None:
                _calls.requests = self.requests_by_function.setdefault(function_name, [])
            self._invocations += 1
            first_call = len(self._current_calls)
            try:
                return json.dumps(handler(event, context)).encode()
            except Exception as exc:  # every error must reach the ASL under its own name
                if isinstance(exc, AssertionError):
                    self.failed_assertions.append(exc)
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps(
                    {
                        "errorType": type(exc).__name__,
                        "errorMessage": str(exc),
                        "stackTrace": traceback.format_exception(exc)[-3:],
                    }
                ).encode()
            finally:
                _calls.sink = _calls.record = _calls.requests = None
                self._invocation_calls.append(self._current_calls[first_call:])
                self.calls_by_function.setdefault(function_name, set()).update(self._current_calls[first_call:])

    # --- running ---------------------------------------------------------------------------------

    def apply_given(self, calls: list[dict[str, Any]], base: Path | None = None, source: str = "--given") -> None:
        """Create the world before the run, in order (see events/local/README.md): boto3 calls
        (`service`, `operation`, `params`, `saveAs`), other given files (`include`) and executions
        of the template's state machines that must succeed (`run`, `input`); paths are relative to `base`.
        GivenError names the file and entry (counted from 1) that cannot be applied, and why."""
        base = base or Path.cwd()
        if not isinstance(calls, list):
            raise GivenError(f"{source}: must be a JSON list of calls, not {type(calls).__name__} (events/local/README.md)")
        for number, call in enumerate(calls, start=1):
            where = f"{source} entry {number}"
            self._given_so_far.append(call)
            if not isinstance(call, dict):
                raise GivenError(f"{where}: must be an object with service, operation and params (or include, or run)")
            if "include" in call:
                path = base / call["include"]
                try:
                    included = json.loads(path.read_text())
                except (OSError, ValueError) as exc:
                    raise GivenError(f"{where}: include {call['include']}: {exc}") from None
                self.apply_given(included, path.parent, f"{source} > {call['include']}")
                continue
            if "run" in call:
                self._given_run(call, base, where)
                continue
            self._given_call(call, where)

    def _given_run(self, call: dict[str, Any], base: Path, where: str) -> None:
        if call["run"] not in self.state_machine_arns:
            raise GivenError(f"{where}: run {call['run']}: not a state machine of {self.template.path.name}")
        try:
            text = (base / call["input"]).read_text()
        except (KeyError, OSError) as exc:
            raise GivenError(f"{where}: run {call['run']} needs an input file ({exc})") from None
        try:
            execution_input = self.resolve_input(text)
        except GivenError as exc:
            raise GivenError(f"{where}: run {call['run']}: {exc}") from None
        key = json.dumps([str(self.template.path), self.region, self._given_so_far, text], sort_keys=True, default=str)
        if self.replay_given_runs and key in _GIVEN_RUNS:
            self._replay(_GIVEN_RUNS[key], where)
            return
        self._recording = [] if self.replay_given_runs else None
        try:
            result = self.run(call["run"], execution_input)
        finally:
            recorded, self._recording = self._recording, None
        if result.status != "SUCCEEDED":
            raise GivenError(f"{where}: run {call['run']} ended {result.status}: {result.error}: {result.cause}")
        if recorded is not None:
            _GIVEN_RUNS[key] = recorded

    def _replay(self, recorded: list[RecordedCall], where: str) -> None:
        """The handlers' calls of a given run, again: the account ends as the run left it (but for the execution
        and its history, which nothing replays). A call that ends otherwise than it did is an error, not skipped."""
        for service, operation, params, code in recorded:
            try:
                self.client(service)._make_api_call(operation, copy.deepcopy(params))
                answered = None
            except botocore.exceptions.ClientError as exc:
                answered = str(exc.response["Error"]["Code"])
            if answered != code:
                raise RuntimeError(f"{where}: replaying {service}.{operation} answered {answered}, the run's call {code}")

    def _given_call(self, call: dict[str, Any], where: str) -> None:
        missing = [key for key in ("service", "operation") if key not in call]
        if missing:
            raise GivenError(f"{where}: has no {' or '.join(missing)} (nor include, nor run)")
        service, operation = call["service"], call["operation"]
        where = f"{where} ({service}.{operation})"
        try:
            params = resolve_refs(call.get("params", {}), self.saved, self.now)
        except GivenError as exc:
            raise GivenError(f"{where}: {exc}") from None
        try:
            client = self.client(service)
        except botocore.exceptions.UnknownServiceError:
            raise GivenError(f"{where}: {service!r} is not a boto3 service name (e.g. ecs, elbv2, vpc-lattice)") from None
        if not hasattr(client, operation):
            names = [name for name in dir(client) if not name.startswith("_")]
            near = difflib.get_close_matches(operation, names, n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            raise GivenError(f"{where}: {service} has no operation {operation!r} (boto3's snake_case name){hint}")
        try:
            response = getattr(client, operation)(**params)
        except (botocore.exceptions.ClientError, botocore.exceptions.ParamValidationError) as exc:
            raise GivenError(f"{where}: {' '.join(str(exc).split())}") from None
        if "saveAs" in call:
            self.saved[call["saveAs"]] = response

    def resolve_input(self, text: str) -> str:
        """An execution input with "{{given:name.path}}" references to the given world's responses filled in (an example
        that must name ARNs the emulator makes up, such as an ALB listener's); other inputs unchanged."""
        if not has_references(text):
            return text
        return json.dumps(resolve_refs(json.loads(text), self.saved, self.now))

    def run(
        self,
        state_machine: str,
        execution_input: Any,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        timeout: float = 600.0,
        approver: Approver | None = None,
    ) -> RunResult:
        """Start one execution with `execution_input` passed unchanged and wait for any terminal status.

        `approver` is asked about each approval request the execution waits on and returns
        (approved, comment), or None to leave it unanswered (it then times out)."""
        if state_machine not in self.state_machine_arns:
            raise KeyError(
                f"{state_machine} is not a state machine of {self.template.path.name}: {sorted(self.state_machine_arns)}"
            )
        self._runs += 1
        outer = (self._current_calls, self._invocations, self._invocation_calls)  # a run started from an approver nests
        self._current_calls, self._invocations, self._invocation_calls = [], 0, []
        sfn = self.client("stepfunctions")
        answered: set[int] = set()
        started = time.monotonic()
        arn = sfn.start_execution(
            stateMachineArn=self.state_machine_arns[state_machine],
            name=f"local-{self._runs}-{uuid.uuid4().hex[:8]}",
            input=execution_input if isinstance(execution_input, str) else json.dumps(execution_input),
        )["executionArn"]
        reader, stopped, next_read = HistoryReader(sfn, arn), False, 0.0
        # a live printer also sees the events of the executions this one starts (each ECS service's), marked with
        # their executionArn (progress.py)
        family = ExecutionsReader(sfn) if on_event else None
        while True:
            ends = emulator.stepfunctions.ends()
            described = sfn.describe_execution(executionArn=arn)
            terminal = described["status"] in TERMINAL
            # While running, only a live printer or an approver reads the history: its new events (see history.py),
            # at most every LIVE_READ_SECONDS (LIVE_READ_SHARE of the time, up to LIVE_READ_MAX_SECONDS on a busy
            # machine). Once the execution has ended, the rest: the reader then holds all of it.
            fresh: list[dict[str, Any]] = []
            shown: list[dict[str, Any]] = []
            if terminal:
                fresh = reader.finish()
                shown = family.new_events(fresh, final=True) if family else []
            elif (on_event or approver) and time.monotonic() >= next_read:
                began = time.monotonic()
                fresh = reader.new_events()
                shown = family.new_events(fresh) if family else []
                read = time.monotonic() - began
                pause = min(LIVE_READ_MAX_SECONDS, max(LIVE_READ_SECONDS, read * (1 / LIVE_READ_SHARE - 1)))
                next_read = began + read + pause
            if on_event:
                for event in shown:
                    on_event(event)
            if terminal:
                break
            if approver is not None and any(e["type"] in APPROVAL_EVENTS for e in fresh):
                self._answer(sfn, arn, reader.events, approver, answered)
            waited = time.monotonic() - started
            if waited > timeout + STOP_GRACE_SECONDS:  # never poll forever, even if the stop did not take
                raise TimeoutError(f"{arn} still {described['status']} {STOP_GRACE_SECONDS} s after stopping it")
            if waited > timeout and not stopped:
                sfn.stop_execution(executionArn=arn, error="LocalTimeout", cause=f"no terminal status after {timeout} s")
                stopped = True
            if self.stop_requested and not stopped:  # the user pressed Ctrl-C (cli.py): stop as StopExecution does
                sfn.stop_execution(executionArn=arn, error=INTERRUPTED, cause="interrupted by the user (Ctrl-C)")
                stopped = True
            # until an execution ends, the next live read, or a second look at the stop and timeout checks
            until = next_read if (on_event or approver) else time.monotonic() + IDLE_LOOK_SECONDS
            emulator.stepfunctions.wait_for_an_end(ends, max(0.0, min(until - time.monotonic(), IDLE_LOOK_SECONDS)))
        output, history = described.get("output"), reader.events
        children = nested_executions(sfn, history, family.nested if family else None)
        calls, invocations, per_invocation = Counter(self._current_calls), self._invocations, self._invocation_calls
        self._current_calls, self._invocations, self._invocation_calls = outer
        self.raise_failed_assertion()
        return RunResult(
            run=self._runs,
            execution_arn=arn,
            status=described["status"],
            output=json.loads(output) if output else None,
            error=described.get("error"),
            cause=described.get("cause"),
            states=states_entered(history, children),
            api_calls=calls,
            history=history,
            seconds=time.monotonic() - started,
            lambda_invocations=invocations,
            invocation_calls=per_invocation,
            children=children,
        )

    def _answer(self, sfn: Any, arn: str, history: list[dict[str, Any]], approver: Approver, answered: set[int]) -> None:
        pending = approvals.pending_approval(history)
        if pending is None or pending.scheduled_event_id in answered:
            return
        answered.add(pending.scheduled_event_id)
        choice = approver(pending)
        if choice is not None:
            identity = self.client("sts").get_caller_identity()["Arn"]
            approvals.send(sfn, pending, approvals.decision(choice[0], identity, choice[1]))
