"""The `mesh-rollout` command.

The emulator (moto) and the report are imported only by the command that runs offline, so `--help` and the
commands that talk to AWS start at once. A mistake of the user's (a missing or malformed file, an unknown state
machine) is one line on stderr and exit code 2, found before the offline account is built."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mesh_rollout_local import approvals, lattice_input
from mesh_rollout_local.progress import describe_calls, idle_reason
from mesh_rollout_local.remote import cause_message

if TYPE_CHECKING:
    from mesh_rollout_local.runner import Approver, OfflineAccount, RunResult


class UserError(Exception):
    """A mistake in what the user gave the command: reported as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse's own complaints (a missing argument, an unknown option) are one line too, not usage + error."""

    def error(self, message: str) -> Any:
        raise UserError(f"{message} (see {self.prog} --help)")


INTERRUPTED = 130  # the exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it
EXECUTION_ARN = re.compile(r"^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):execution:([^:/]+):([^:/]+)$")
STATE_MACHINE_ARN = re.compile(r"^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):stateMachine:[^:/]+$")


def arn_of(pattern: re.Pattern[str], form: str, where: str) -> Callable[[str], str]:
    """An argparse type: an ARN of this form, or one line saying what one looks like and where to find it."""

    def checked(value: str) -> str:
        if not pattern.match(value):
            raise argparse.ArgumentTypeError(f"{value!r} is not {form}; {where}")
        return value

    return checked


execution_arn = arn_of(
    EXECUTION_ARN,
    "an execution ARN (arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME)",
    "`mesh-rollout start` prints it, and so does the Step Functions console",
)
state_machine_arn = arn_of(
    STATE_MACHINE_ARN,
    "a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)",
    "the stack's <LogicalId>Arn outputs give them (or pass --stack)",
)


def quiet_emulator(debug: bool) -> None:
    """The emulator's own logs (moto's Step Functions interpreter logs every caught error at ERROR) stay out of the
    way unless --debug; our handlers' logs go to --handler-log."""
    emulator = logging.getLogger("moto")
    for handler in [h for h in emulator.handlers if getattr(h, "mesh_rollout", False)]:  # a second run in one process
        emulator.removeHandler(handler)
    added: logging.Handler = logging.StreamHandler(sys.stderr) if debug else logging.NullHandler()
    added.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    added.mesh_rollout = True  # type: ignore[attr-defined]
    emulator.addHandler(added)
    emulator.setLevel(logging.DEBUG if debug else logging.NOTSET)
    emulator.propagate = False


def json_file(option: str, name: str) -> tuple[Path, str]:
    """(path, text) of a JSON file given to `option`; `file://PATH` is taken as the AWS CLI takes it."""
    path = Path(name.removeprefix("file://"))
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"{option} {name}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise UserError(f"{option} {name}: cannot be read ({exc.__class__.__name__})") from None
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{option} {name}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    return path, text


def known_state_machine(template: str | None, name: str) -> str:
    """The template to run (--template, else template.default_template()); refuse a state machine it does not have,
    naming those it has."""
    from mesh_rollout_local.template import Template, default_template

    if template is None:
        found = default_template()
        if found is None:
            raise UserError(
                "no template.yaml here or in the checkout mesh-rollout is installed from: pass --template PATH/template.yaml"
            )
        template = str(found)
    elif not Path(template).is_file():
        raise UserError(f"--template {template}: no such file")
    machines = sorted(Template(template).state_machines)
    if name not in machines:
        raise UserError(f"{name} is not a state machine of {template}: use one of {', '.join(machines)}")
    return template


def _event_printer(out: TextIO, stopping: Callable[[], bool] = lambda: False) -> Any:
    """Each state of the run and of the executions it starts, with its item and facts (progress.py). Once Ctrl-C
    stopped the run, the emulator ends a task that waited (an approval, a service's execution) as a States.Timeout
    failure; AWS records no such failure for a stop, and neither does this."""
    from mesh_rollout_local.progress import Progress

    progress = Progress()

    def on_event(event: dict[str, Any]) -> None:
        for line in progress.lines(event):
            if stopping() and line.lstrip().startswith("! States.Timeout"):
                continue
            print(line, file=out, flush=True)

    return on_event


def local_approver(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> Approver:
    """--approve / --reject answer every approval request; otherwise ask on a terminal, or reject."""

    def answer(pending: approvals.PendingApproval) -> tuple[bool, str] | None:
        if args.approve or args.reject:
            verdict = bool(args.approve)
            print(f"     ? approval for {pending.describe()}: {'approved' if verdict else 'rejected'}", file=out, flush=True)
            return verdict, args.comment
        if stdin.isatty():
            return ask(pending, args.comment, out, stdin)
        print(f"     ? approval for {pending.describe()}: rejected (no terminal; pass --approve or --reject)", file=out)
        return False, "non-interactive run without --approve or --reject"

    return answer


YES, NO = ("y", "yes", "approve"), ("n", "no", "reject")


def ask(pending: approvals.PendingApproval, comment: str, out: TextIO, stdin: TextIO) -> tuple[bool, str] | None:
    """The approval prompt on a terminal: what the step changes and the gate's verdict, a clear yes or no (asked
    again otherwise), then a comment. None (unanswered) if the input ends."""
    print(f"     ? approval for {pending.describe()}", file=out)
    print(f"       weights: {pending.weights_change()}", file=out)
    print(f"       health:  {pending.verdict()}", file=out)
    while True:
        print("       approve? [y/n] ", end="", file=out, flush=True)
        line = read_line(stdin)
        if line is None:
            return None
        if not line:
            print("\n       no answer (end of input): left unanswered", file=out)
            return None
        answer = line.strip().lower()
        if answer in YES or answer in NO:
            break
        print(f"       {answer!r} is neither yes nor no", file=out)
    if not comment:
        print("       comment (optional): ", end="", file=out, flush=True)
        comment = (read_line(stdin) or "").strip()
    return answer in YES, comment or "answered on the terminal"


def read_line(stdin: TextIO) -> str | None:
    """A line from the terminal; None if Ctrl-C was pressed while waiting for it (the run is then being stopped)."""
    PROMPTING["now"] = True
    try:
        return stdin.readline()
    except KeyboardInterrupt:
        return None
    finally:
        PROMPTING["now"] = False


def run_live(account: OfflineAccount, state_machine: str, execution_input: str, approver: Approver, out: TextIO) -> RunResult:
    """One execution as `mesh-rollout local` runs it: each state printed as it is entered, approvals answered."""
    printer = _event_printer(out, lambda: account.stop_requested)
    return account.run(state_machine, execution_input, on_event=printer, approver=approver)


@contextmanager
def ctrl_c_stops(account: OfflineAccount, out: TextIO) -> Iterator[Callable[[], bool]]:
    """While runs go on, the first Ctrl-C stops the running execution as StopExecution would (the run then ends
    ABORTED, is reported and dumped); a second one interrupts at once. Yields whether Ctrl-C was pressed."""

    def on_sigint(signum: int, frame: Any) -> None:
        if account.stop_requested:
            raise KeyboardInterrupt
        account.stop_requested = True
        print("\n  ^C: stopping the execution (Ctrl-C again to quit at once)", file=out, flush=True)
        raise_in_prompt()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: account.stop_requested
    finally:
        signal.signal(signal.SIGINT, previous)


PROMPTING = {"now": False}  # the approval prompt is reading the terminal (a Ctrl-C must not wait for Enter)


def raise_in_prompt() -> None:
    if PROMPTING["now"]:
        raise KeyboardInterrupt


def where_stopped(account: OfflineAccount, result: RunResult) -> str:
    """One line: the state the run was in when Ctrl-C stopped it and what it left (a weight shift's route weights
    and lock; on AWS the ExecutionStatusChange function restores both after StopExecution)."""
    from mesh_rollout_local import rollouts

    facts = rollouts.read_facts(account.client("stepfunctions"), result.execution_arn, result.history)
    line = f"interrupted in {result.states[-1] if result.states else 'its first state'}"
    if facts.ecs_plan is not None:
        deployment = (facts.ecs or {}).get("serviceDeploymentArn")
        if not deployment:
            return line + "; no ECS deployment started"
        return line + (
            f"; ECS deployment {deployment} left as it was; on AWS, ExecutionStatusChange rolls it back and frees lock"
            f" {facts.lock_id} after a stop (else the PAUSE hook's timeout does)"
        )
    if facts.route is None:
        return line + "; what the run had changed stays as it was (see the summary below)"
    weights = rollouts.describe_weights(rollouts.route_weights(account.session, facts.route))
    line += f"; route {facts.route.get('label')} left at {weights}"
    if facts.snapshot is not None:
        line += f" (before the shift: {rollouts.describe_weights(facts.snapshot)})"
    table = account.environment("AcquireRouteLockFunction")["ROUTE_LOCK_TABLE"]
    held = account.client("dynamodb").get_item(TableName=table, Key={"lockId": {"S": str(facts.lock_id)}}).get("Item")
    line += f", lock {facts.lock_id} {'held' if held else 'free'}"
    return line + "; on AWS, ExecutionStatusChange restores the route and frees the lock after a stop"


def run_local(args: argparse.Namespace, out: TextIO) -> int:
    args.template = known_state_machine(args.template, args.state_machine)
    _, execution_input = json_file("--input", args.input)
    given_path, given_text = json_file("--given", args.given) if args.given else (None, "[]")
    given = json.loads(given_text)
    from mesh_rollout_local.precheck import input_problem
    from mesh_rollout_local.references import has_references

    problem = input_problem(args.state_machine, json.loads(execution_input))
    if problem:
        raise UserError(f"--input {args.input}: {problem}")
    if has_references(execution_input) and not args.given:
        raise UserError(f"--input {args.input}: has {{{{given:...}}}} references to a --given world's responses, and no --given")
    quiet_emulator(args.debug)
    from mesh_rollout_local.report import dump_document, snapshot, summary
    from mesh_rollout_local.runner import GivenError, OfflineAccount

    approver = local_approver(args, out, sys.stdin)
    handler_log = open(args.handler_log or os.devnull, "a")  # noqa: SIM115 - closed below
    runs: list[RunResult] = []
    built = False
    try:
        building = time.monotonic()
        calls = f", then {len(given)} given call{'s' if len(given) != 1 else ''}" if given else ""
        print(f"building the offline account: deploying {args.template}{calls} ...", file=out, flush=True)
        with OfflineAccount(args.template, region=args.region, real_time=args.real_time, handler_output=handler_log) as account:
            try:
                account.apply_given(given, given_path.parent if given_path else None, f"--given {args.given}")
                execution_input = account.resolve_input(execution_input)
            except GivenError as exc:
                where = "" if str(exc).startswith("--given") else f"--input {args.input}: "
                raise UserError(f"{where}{exc}") from None
            print(f"offline account ready in {time.monotonic() - building:.1f} s", file=out, flush=True)
            built = True
            with ctrl_c_stops(account, out) as interrupted:
                runs = run_repeatedly(args, account, execution_input, approver, out, interrupted)
            stopped_by_user = account.stop_requested and bool(runs)
            if stopped_by_user:
                print(f"  {where_stopped(account, runs[-1])}", file=out)
            world = snapshot(account)
    except KeyboardInterrupt:
        if built:
            print("mesh-rollout: interrupted again: quit at once, without the summary or the dump", file=sys.stderr)
        else:
            print("mesh-rollout: interrupted while the offline account was built; nothing ran", file=sys.stderr)
        return INTERRUPTED
    finally:
        handler_log.close()
    print(summary(world), file=out)
    if args.dump:
        Path(args.dump).write_text(json.dumps(dump_document(runs, world), indent=2, default=str))
        print(f"dump written to {args.dump}", file=out)
    if stopped_by_user:
        return INTERRUPTED
    return 0 if all(r.status == "SUCCEEDED" for r in runs) else 1


def run_repeatedly(
    args: argparse.Namespace,
    account: OfflineAccount,
    execution_input: str,
    approver: Approver,
    out: TextIO,
    interrupted: Callable[[], bool],
) -> list[RunResult]:
    """The --repeat runs, each reported as it ends; a Ctrl-C ends the one running and starts no other."""
    runs: list[RunResult] = []
    while len(runs) < args.repeat and not interrupted():
        print(f"run {len(runs) + 1}: {args.state_machine}", file=out, flush=True)
        began = time.monotonic()  # the run's own time, from its start to its end as seen here
        result = run_live(account, args.state_machine, execution_input, approver, out)
        runs.append(result)
        print(f"run {len(runs)}: {result.status} in {time.monotonic() - began:.2f} s", file=out)
        if isinstance(result.output, dict) and "summary" in result.output:
            print(f"  {result.output['summary']}", file=out)
        reason = idle_reason(result.output)
        if reason:
            print(f"  {reason}", file=out)
        if result.error:
            print(f"  error: {result.error}\n  cause: {cause_message(result.cause)}", file=out)
        calls = describe_calls(sum(result.api_calls.values()), result.mutating_calls())
        print(f"  AWS calls by our handlers: {calls}", file=out)
    return runs


INPUT_HELP = "execution input (JSON file or file://FILE), passed as it is but for {{given:name.path}} references to --given"
MACHINES_HELP = (
    "EcsDeploymentStateMachine, WeightShiftStateMachine, LatticeRolloutStateMachine or MeshRolloutStateMachine (App Mesh)"
)


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="mesh-rollout", description="Service-mesh + ECS rollouts as Step Functions executions.")
    commands = top.add_subparsers(dest="command", required=True)
    local = commands.add_parser("local", help="run a state machine of template.yaml offline, in an emulated account")
    local.add_argument("state_machine", metavar="STATE_MACHINE_LOGICAL_ID", help=MACHINES_HELP)
    local.add_argument("--input", required=True, help=INPUT_HELP)
    local.add_argument("--given", help="JSON list of boto3 calls that build the world before the run")
    local.add_argument("--dump", help="write status, output, resources, API calls and states here (JSON)")
    local.add_argument("--repeat", type=int, default=1, help="run the same input N times in the same account")
    local.add_argument("--real-time", action="store_true", help="really wait in Wait states and retry back-offs")
    local.add_argument(
        "--template",
        help="the SAM template to deploy offline (default: ./template.yaml, else the one of the checkout mesh-rollout "
        "is installed from)",
    )
    local.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-west-2",
        help="the emulated account's Region (default AWS_REGION, AWS_DEFAULT_REGION, else us-west-2); its account is "
        "123456789012",
    )
    local.add_argument("--handler-log", help="append the handlers' Powertools logs and metrics here")
    local.add_argument("--debug", action="store_true", help="show the emulator's own logs (moto's interpreter) on stderr")
    answers = local.add_mutually_exclusive_group()
    answers.add_argument("--approve", action="store_true", help="approve every approval request of the run")
    answers.add_argument("--reject", action="store_true", help="reject every approval request of the run")
    local.add_argument("--comment", default="", help="comment recorded with --approve / --reject")
    start = commands.add_parser("start", help="start an execution in your account (uses your AWS credentials)")
    start.add_argument("state_machine", metavar="STATE_MACHINE_LOGICAL_ID", help=MACHINES_HELP)
    start.add_argument("--input", required=True, help="execution input (JSON file or file://FILE), passed unchanged")
    where = start.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the deployed mesh-rollout stack (its <LogicalId>Arn output)")
    where.add_argument("--state-machine-arn", type=state_machine_arn, help="the state machine's ARN, instead of --stack")
    follow = "print each state as it happens; exit with the outcome (Ctrl-C stops following, not the run)"
    start.add_argument("--follow", action="store_true", help=follow)
    start.add_argument("--region", help="default: AWS_REGION, AWS_DEFAULT_REGION or your AWS config's region")
    status = commands.add_parser("status", help="where an execution stands: route weights, steps, gate, waiting approval")
    status.add_argument("execution_arn", metavar="EXECUTION_ARN", type=execution_arn)
    status.add_argument("--watch", action="store_true", help="print it again at each change until the execution ends")
    status.add_argument("--interval", type=float, default=5.0, help="seconds between reads with --watch (default 5)")
    status.add_argument("--region", help="defaults to the execution ARN's Region")
    for verb in ("approve", "reject"):
        command = commands.add_parser(
            verb, help=f"{verb} the step a weight shift or ECS deployment waits on (uses your AWS credentials)"
        )
        command.add_argument("execution_arn", metavar="EXECUTION_ARN", type=execution_arn)
        command.add_argument("--comment", default="", help="why; recorded in the execution's output")
        command.add_argument("--region", help="defaults to the execution ARN's Region")
    abort = commands.add_parser(
        "abort",
        help="stop an execution; for a weight shift, wait until its route is back to its snapshot (an ECS deployment is"
        " rolled back by ECS, asked by the ExecutionStatusChange function)",
    )
    abort.add_argument("execution_arn", metavar="EXECUTION_ARN", type=execution_arn)
    abort.add_argument("--reason", default="", help="recorded in the execution's cause, with who stopped it")
    abort.add_argument("--no-wait", action="store_true", help="stop it and return at once")
    abort.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the route (default 300)")
    abort.add_argument("--region", help="defaults to the execution ARN's Region")
    rollouts = commands.add_parser("list", help="the rollouts in progress: one line per locked route (the route-lock table)")
    table = rollouts.add_mutually_exclusive_group(required=True)
    table.add_argument("--stack", help="the deployed mesh-rollout stack (its RouteLockTableName output)")
    table.add_argument("--table", help="the route-lock table's name")
    rollouts.add_argument("--region", help="default: AWS_REGION, AWS_DEFAULT_REGION or your AWS config's region")
    lattice_input.add_parser(commands)
    return top


def aws_session(args: argparse.Namespace) -> Any:
    """A boto3 session in the Region of --region, else of the execution ARN, else AWS_REGION, AWS_DEFAULT_REGION
    or the AWS config's; none of these is a mistake of the user's, said before any call."""
    import boto3

    arn = getattr(args, "execution_arn", None) or getattr(args, "state_machine_arn", None)
    region = args.region or (arn.split(":")[3] if arn else None) or os.environ.get("AWS_REGION")
    session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
    if not session.region_name:
        raise UserError("no AWS Region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION")
    return session


@contextmanager
def aws_errors() -> Iterator[None]:
    """What AWS refuses is one line: a missing execution, stack or credentials is the user's (exit 2), anything
    else is AWS's answer (exit 1)."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    try:
        yield
    except NoCredentialsError:
        raise UserError("no AWS credentials: configure them as for the AWS CLI (aws configure, AWS_PROFILE ...)") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        if code in USER_ERRORS or "does not exist" in message:
            raise UserError(f"{code}: {message}") from None
        raise AwsRefused(f"AWS refused {exc.operation_name}: {code}: {message}") from None
    except EndpointConnectionError as exc:
        raise AwsRefused(f"cannot reach AWS: {exc}") from None
    except BotoCoreError as exc:
        raise AwsRefused(str(exc)) from None


# AWS's answers that mean the ARN, stack or table given does not exist (or is not one)
USER_ERRORS = frozenset(
    {"ExecutionDoesNotExist", "StateMachineDoesNotExist", "InvalidArn", "ResourceNotFoundException", "ValidationError"}
)


class AwsRefused(Exception):
    """AWS answered a call with an error that is not the user's mistake: one line, exit code 1."""


def run_start(args: argparse.Namespace, out: TextIO) -> int:
    from mesh_rollout_local import remote

    _, execution_input = json_file("--input", args.input)
    session = aws_session(args)
    with aws_errors():
        try:
            arn = args.state_machine_arn or remote.state_machine_arn(
                session.client("cloudformation"), args.stack, args.state_machine
            )
        except KeyError as exc:
            raise UserError(exc.args[0]) from None
        execution_arn = remote.start(session.client("stepfunctions"), arn, execution_input)
        print(f"started {execution_arn}", file=out, flush=True)
        if not args.follow:
            return 0
        try:
            return 0 if remote.follow(session.client("stepfunctions"), execution_arn, out) == "SUCCEEDED" else 1
        except KeyboardInterrupt:
            print(f"\nstopped following; the execution goes on: mesh-rollout status|abort {execution_arn}", file=out)
            return INTERRUPTED


def run_status(args: argparse.Namespace, out: TextIO) -> int:
    from mesh_rollout_local import rollouts

    session = aws_session(args)
    with aws_errors():
        if not args.watch:
            rollouts.status(session, args.execution_arn, out)
            return 0
        try:
            return 0 if rollouts.watch(session, args.execution_arn, out, args.interval) == "SUCCEEDED" else 1
        except KeyboardInterrupt:
            print("\nstopped watching; the execution goes on", file=out)
            return INTERRUPTED


def run_abort(args: argparse.Namespace, out: TextIO) -> int:
    from mesh_rollout_local import rollouts

    session = aws_session(args)
    with aws_errors():
        restored = rollouts.abort(session, args.execution_arn, args.reason, out, wait=not args.no_wait, timeout=args.timeout)
    return 0 if restored else 1


def run_list(args: argparse.Namespace, out: TextIO) -> int:
    from mesh_rollout_local import remote, rollouts

    session = aws_session(args)
    with aws_errors():
        table = args.table
        if table is None:
            try:
                table = remote.stack_output(session.client("cloudformation"), args.stack, "RouteLockTableName")
            except KeyError as exc:
                raise UserError(exc.args[0]) from None
        rollouts.list_rollouts(session, table, out)
    return 0


def run_answer(args: argparse.Namespace, out: TextIO) -> int:
    """`mesh-rollout approve|reject EXECUTION_ARN`: find the pending token, record who answered, send it."""
    session = aws_session(args)
    with aws_errors():
        try:
            sfn, sts = session.client("stepfunctions"), session.client("sts")
            result = approvals.answer(sfn, sts, args.execution_arn, args.command == "approve", args.comment)
        except approvals.NoPendingApproval as exc:
            print(f"mesh-rollout: {exc}", file=sys.stderr)
            return 1
    print(f"{'approved' if result['approved'] else 'rejected'} {result['step']} as {result['approver']}", file=out)
    return 0


def run_lattice_input(args: argparse.Namespace, out: TextIO) -> int:
    try:
        return lattice_input.run(args, out)
    except lattice_input.TemplateMistake as exc:
        raise UserError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    try:
        return dispatch(parser().parse_args(argv))
    except UserError as exc:
        print(f"mesh-rollout: {exc}", file=sys.stderr)
        return 2
    except AwsRefused as exc:
        print(f"mesh-rollout: {exc}", file=sys.stderr)
        return 1


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "approve": run_answer,
    "reject": run_answer,
    "start": run_start,
    "status": run_status,
    "abort": run_abort,
    "list": run_list,
    "lattice-input": run_lattice_input,
}


def dispatch(args: argparse.Namespace) -> int:
    if args.command in COMMANDS:
        return COMMANDS[args.command](args, sys.stdout)
    if args.repeat < 1:
        raise UserError("--repeat must be at least 1")
    return run_local(args, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
