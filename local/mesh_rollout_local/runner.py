"""Deploy template.yaml into an emulated AWS account (moto) and run its real state machines offline.

The parts of the job live in their own modules: recording.py (the handlers' AWS calls), results.py (RunResult),
given.py (the `--given` language and its replay), deploy.py (the template's resources) and lambda_standin.py (the
functions' handlers run in-process). The names tests, bench/ and tools/ import from here are re-exported."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import os
import sys
import threading
import time
import types
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, cast
from unittest import mock

import boto3
import botocore.endpoint
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

from mesh_rollout_local import approvals, emulator, given, recording
from mesh_rollout_local.deploy import ACCOUNT_ID, deploy, substitute
from mesh_rollout_local.faults import FaultPlan
from mesh_rollout_local.given import GIVEN_RUNS
from mesh_rollout_local.history import HistoryReader
from mesh_rollout_local.lambda_standin import LambdaContext, LambdaStandIn, share_handler_clients
from mesh_rollout_local.progress import ExecutionsReader
from mesh_rollout_local.recording import HandlerCall, RecordedCall
from mesh_rollout_local.references import GivenError
from mesh_rollout_local.remote import TERMINAL
from mesh_rollout_local.results import MUTATING, RunResult, RunTally, nested_executions, states_entered
from mesh_rollout_local.template import Template

# what tests, bench/, tools/ and cli.py import from here
__all__ = [
    "ACCOUNT_ID",
    "GIVEN_RUNS",
    "INTERRUPTED",
    "MUTATING",
    "TERMINAL",
    "Approver",
    "GivenError",
    "HandlerCall",
    "LambdaContext",
    "OfflineAccount",
    "RecordedCall",
    "RunResult",
    "RunTally",
    "StillClock",
    "nested_executions",
    "states_entered",
    "substitute",
]

STOP_GRACE_SECONDS = 30
INTERRUPTED = "mesh-rollout.Interrupted"  # the error of an execution stopped by Ctrl-C
Approver = Callable[[approvals.PendingApproval], "tuple[bool, str] | None"]
# what can change whether an execution waits on an approval: only then does the approver look at the history again
APPROVAL_EVENTS = {"TaskScheduled", *approvals.ENDED}
# How often a live printer or an approver reads an execution's new events: every 0.1 s, which a person does not
# notice, or less often so as to read at most 5% of the time, but at least every 0.5 s. Offline, a read takes the
# emulator's time from the execution itself (a few ms a call, more on a busy machine): bench/bench_local_cli.py.
LIVE_READ_SECONDS = 0.1
LIVE_READ_SHARE = 0.05
LIVE_READ_MAX_SECONDS = 0.5
IDLE_LOOK_SECONDS = 0.2  # between DescribeExecution calls while no execution ends (Ctrl-C, the run's timeout)


@functools.cache
def _loader(data_path: str | None) -> botocore.loaders.Loader:
    return botocore.loaders.create_loader(data_path)


def _shared_loader(self: botocore.session.Session) -> None:
    """Session._register_data_loader, with one loader per data path for the whole process."""
    components = getattr(self, "_components")  # noqa: B009 - private, untyped
    components.lazy_register_component("data_loader", lambda: _loader(self.get_config_variable("data_path")))


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
        # the functions' handlers, run in this process, and what they did (lambda_standin.py)
        self.lambdas = LambdaStandIn(handler_output, record_requests)
        # what the template's !Ref, !GetAtt and !Sub resolved to here: parameters, pseudo parameters, physical ids
        self.deployed: dict[str, Any] = {}
        # A given `run` whose world this process built before (same template, same given entries up to it) is not
        # run again: its handlers' AWS calls are replayed, in their order, with the same outcomes (tests' worlds).
        self.replay_given_runs = replay_given_runs
        # the time the health gate reads metrics up to and a given file's {{given:now-N}} is counted from: the wall
        # clock, or one the caller controls (StillClock), so that the two agree however late a run reaches its gate
        self.clock = clock
        self.given_so_far: list[Any] = []  # the given entries applied so far: a given run's key for its replay
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
        self.saved: dict[str, Any] = {}  # the given calls' responses, by their saveAs name
        # answers the approvals of a given world's runs (the CLI's --approve / --reject); None: they are rejected
        self.given_approver: Approver | None = None
        self.faults = FaultPlan()  # AWS faults to inject under botocore's retries (see faults.py)
        self._runs = 0
        # set (from a signal handler) to stop the running execution, as StopExecution would; see cli.py
        self.stop_requested = False
        self._stack = ExitStack()
        # Lambda puts CodeUri on sys.path; so do we (tests already have it there via pytest's pythonpath).
        for code_uri in {str(fn.code_uri) for fn in self.template.functions.values()}:
            if code_uri not in sys.path:
                sys.path.insert(0, code_uri)

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> OfflineAccount:
        emulator.install()
        recording.install()
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
        self._stack.enter_context(self.lambdas.isolation)
        self._stack.enter_context(mock.patch.object(LambdaFunction, "invoke", self.lambdas.patched_invoke()))
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
        share_handler_clients(self.region)
        from mesh_rollout import clock as domain_clock  # importable only once CodeUri is on sys.path

        self._stack.callback(domain_clock.set_clock, domain_clock.set_clock(self.clock))
        deploy(self)
        self.lambdas.redirect_logs(self._stack)
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

    # --- the functions' handlers (lambda_standin.py) ------------------------------------------------

    @property
    def requests_by_function(self) -> dict[str, list[HandlerCall]] | None:
        """Every call each function's handler made, with its parameters, in order (if record_requests)."""
        return self.lambdas.requests_by_function

    @property
    def calls_by_function(self) -> dict[str, set[tuple[str, str]]]:
        """Every (service, operation) each function's handler called, over all runs: what its role must allow."""
        return self.lambdas.calls_by_function

    @property
    def failed_assertions(self) -> list[AssertionError]:
        """Assertions that failed inside a handler since the last raise_failed_assertion."""
        return self.lambdas.failed_assertions

    @property
    def _handlers(self) -> dict[str, tuple[Callable[..., Any], dict[str, str]]]:
        return self.lambdas.handlers

    def _invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        return self.lambdas.invoke(function_name, body, response_headers)

    def environment(self, function: str) -> dict[str, str]:
        """The environment the template gives `function` (table names, topic ARNs ...), resolved."""
        return self.lambdas.environment(function)

    def notifications(self, topic: str = "NotificationTopic") -> list[dict[str, str]]:
        """What the template's topic received: {"subject", "message"} in order (read from the emulator)."""
        from moto.sns.models import sns_backends

        found = sns_backends[ACCOUNT_ID][self.region].topics[self.topic_arns[topic]].sent_notifications
        return [{"subject": entry[2] or "", "message": entry[1]} for entry in found]

    def intercept(self, function: str, before: Callable[[dict[str, Any]], None]) -> None:
        """Call `before(event)` in the handler's own thread right before `function`'s handler runs (tests act at
        a precise moment of an execution this way: stop it, change the world under it)."""
        self.lambdas.intercept(function, before)

    def raise_failed_assertion(self) -> None:
        """Raise the first assertion that failed inside a handler since the last call (see failed_assertions)."""
        self.lambdas.raise_failed_assertion()

    def _faulty_stubber(self) -> Callable[..., Any]:
        original = BotocoreStubber.__call__
        faults = self.faults

        def call(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
            return faults.intercept(lambda: original(stubber, event_name, request, **kwargs), event_name, request)

        return call

    # --- running ---------------------------------------------------------------------------------

    def apply_given(self, calls: list[dict[str, Any]], base: Path | None = None, source: str = "--given") -> None:
        """Create the world before the run, in order (see events/local/README.md): boto3 calls
        (`service`, `operation`, `params`, `saveAs`), other given files (`include`) and executions
        of the template's state machines that must succeed (`run`, `input`); paths are relative to `base`.
        GivenError names the file and entry (counted from 1) that cannot be applied, and why."""
        given.apply_given(self, calls, base, source)

    def resolve_input(self, text: str) -> str:
        """An execution input with "{{given:name.path}}" references to the given world's responses filled in (an example
        that must name ARNs the emulator makes up, such as an ALB listener's); other inputs unchanged."""
        return given.resolve_input(self, text)

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
        sfn = self.client("stepfunctions")
        # the run's own tally of the handlers' work: a run started from an approver nests, with a tally of its own
        with self.lambdas.tally() as tally:
            started = time.monotonic()
            arn = sfn.start_execution(
                stateMachineArn=self.state_machine_arns[state_machine],
                name=f"local-{self._runs}-{uuid.uuid4().hex[:8]}",
                input=execution_input if isinstance(execution_input, str) else json.dumps(execution_input),
            )["executionArn"]
            described, reader, family = self._until_it_ends(sfn, arn, started, on_event, timeout, approver)
            output, history = described.get("output"), reader.events
            children = nested_executions(sfn, history, family.nested if family else None)
        self.raise_failed_assertion()
        return RunResult(
            run=self._runs,
            execution_arn=arn,
            status=described["status"],
            output=json.loads(output) if output else None,
            error=described.get("error"),
            cause=described.get("cause"),
            states=states_entered(history, children),
            api_calls=Counter(tally.calls),
            history=history,
            seconds=time.monotonic() - started,
            lambda_invocations=tally.invocations,
            invocation_calls=tally.invocation_calls,
            children=children,
        )

    def _until_it_ends(
        self,
        sfn: Any,
        arn: str,
        started: float,
        on_event: Callable[[dict[str, Any]], None] | None,
        timeout: float,
        approver: Approver | None,
    ) -> tuple[dict[str, Any], HistoryReader, ExecutionsReader | None]:
        """Wait for the execution's terminal status, showing its events to `on_event` and its approval requests to
        `approver` as they come; stop it after `timeout` seconds, or once Ctrl-C asked to (stop_requested).
        Returns its last DescribeExecution, the reader holding its whole history and that of its family."""
        answered: set[int] = set()
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
            to_next_read = next_read - time.monotonic() if (on_event or approver) else IDLE_LOOK_SECONDS
            emulator.stepfunctions.wait_for_an_end(ends, max(0.0, min(to_next_read, IDLE_LOOK_SECONDS)))
        return described, reader, family

    def _answer(self, sfn: Any, arn: str, history: list[dict[str, Any]], approver: Approver, answered: set[int]) -> None:
        pending = approvals.pending_approval(history)
        if pending is None or pending.scheduled_event_id in answered:
            return
        answered.add(pending.scheduled_event_id)
        choice = approver(pending)
        if choice is not None:
            identity = self.client("sts").get_caller_identity()["Arn"]
            approvals.send(sfn, pending, approvals.decision(choice[0], identity, choice[1]))
