"""The `mesh-rollout` command.

The emulator (moto) and the report are imported only by the command that runs offline, so `--help` and the
commands that talk to AWS start at once. A mistake of the user's (a missing or malformed file, an unknown state
machine) is one line on stderr and exit code 2, found before the offline account is built."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mesh_rollout_local import approvals
from mesh_rollout_local.remote import cause_message

if TYPE_CHECKING:
    from mesh_rollout_local.runner import Approver, OfflineAccount, RunResult


class UserError(Exception):
    """A mistake in what the user gave the command: reported as one line, exit code 2."""


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


def known_state_machine(template: str, name: str) -> None:
    """Refuse a state machine the template does not have, naming those it has."""
    from mesh_rollout_local.template import Template

    if not Path(template).is_file():
        raise UserError(f"--template {template}: no such file (run from the repository, or pass --template)")
    machines = sorted(Template(template).state_machines)
    if name not in machines:
        raise UserError(f"{name} is not a state machine of {template}: use one of {', '.join(machines)}")


def _event_printer(out: TextIO) -> Any:
    def on_event(event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            print(f"  -> {event['stateEnteredEventDetails']['name']}", file=out, flush=True)
        elif kind in ("TaskFailed", "LambdaFunctionFailed"):
            details = event.get("taskFailedEventDetails") or event.get("lambdaFunctionFailedEventDetails") or {}
            print(f"     ! {details.get('error')}: {cause_message(details.get('cause'))}", file=out, flush=True)

    return on_event


def local_approver(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> Approver:
    """--approve / --reject answer every approval request; otherwise ask on a terminal, or reject."""

    def answer(pending: approvals.PendingApproval) -> tuple[bool, str]:
        if args.approve or args.reject:
            verdict = bool(args.approve)
            print(f"     ? approval for {pending.describe()}: {'approved' if verdict else 'rejected'}", file=out, flush=True)
            return verdict, args.comment
        if stdin.isatty():
            print(f"     ? approve {pending.describe()}? [y/N] ", end="", file=out, flush=True)
            return stdin.readline().strip().lower() in ("y", "yes"), args.comment or "answered on the terminal"
        print(f"     ? approval for {pending.describe()}: rejected (no terminal; pass --approve or --reject)", file=out)
        return False, "non-interactive run without --approve or --reject"

    return answer


def run_live(account: OfflineAccount, state_machine: str, execution_input: str, approver: Approver, out: TextIO) -> RunResult:
    """One execution as `mesh-rollout local` runs it: each state printed as it is entered, approvals answered."""
    return account.run(state_machine, execution_input, on_event=_event_printer(out), approver=approver)


def run_local(args: argparse.Namespace, out: TextIO) -> int:
    known_state_machine(args.template, args.state_machine)
    _, execution_input = json_file("--input", args.input)
    given_path, given_text = json_file("--given", args.given) if args.given else (None, "[]")
    given = json.loads(given_text)
    from mesh_rollout_local.report import dump_document, snapshot, summary
    from mesh_rollout_local.runner import OfflineAccount

    approver = local_approver(args, out, sys.stdin)
    handler_log = open(args.handler_log or os.devnull, "a")  # noqa: SIM115 - closed below
    runs: list[RunResult] = []
    try:
        with OfflineAccount(args.template, region=args.region, real_time=args.real_time, handler_output=handler_log) as account:
            account.apply_given(given, given_path.parent if given_path else None)
            execution_input = account.resolve_input(execution_input)
            for _ in range(args.repeat):
                print(f"run {len(runs) + 1}: {args.state_machine}", file=out, flush=True)
                result = run_live(account, args.state_machine, execution_input, approver, out)
                runs.append(result)
                print(f"run {len(runs)}: {result.status} in {result.seconds:.2f} s", file=out)
                if isinstance(result.output, dict) and "summary" in result.output:
                    print(f"  {result.output['summary']}", file=out)
                if result.error:
                    print(f"  error: {result.error}\n  cause: {cause_message(result.cause)}", file=out)
                mutating = result.mutating_calls()
                print(f"  AWS calls by our handlers: {sum(result.api_calls.values())}, mutating: {mutating or 'none'}", file=out)
            world = snapshot(account)
    finally:
        handler_log.close()
    print(summary(world), file=out)
    if args.dump:
        Path(args.dump).write_text(json.dumps(dump_document(runs, world), indent=2, default=str))
        print(f"dump written to {args.dump}", file=out)
    return 0 if all(r.status == "SUCCEEDED" for r in runs) else 1


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="mesh-rollout", description="App Mesh + ECS rollouts as Step Functions executions.")
    commands = top.add_subparsers(dest="command", required=True)
    local = commands.add_parser("local", help="run a state machine of template.yaml offline, in an emulated account")
    local.add_argument("state_machine", metavar="STATE_MACHINE_LOGICAL_ID")
    local.add_argument("--input", required=True, help="execution input (JSON file or file://FILE), passed unchanged")
    local.add_argument("--given", help="JSON list of boto3 calls that build the world before the run")
    local.add_argument("--dump", help="write status, output, resources, API calls and states here (JSON)")
    local.add_argument("--repeat", type=int, default=1, help="run the same input N times in the same account")
    local.add_argument("--real-time", action="store_true", help="really wait in Wait states and retry back-offs")
    local.add_argument(
        "--template", default="template.yaml", help="the SAM template to deploy offline (default: ./template.yaml)"
    )
    local.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-west-2"))
    local.add_argument("--handler-log", help="append the handlers' Powertools logs and metrics here")
    answers = local.add_mutually_exclusive_group()
    answers.add_argument("--approve", action="store_true", help="approve every approval request of the run")
    answers.add_argument("--reject", action="store_true", help="reject every approval request of the run")
    local.add_argument("--comment", default="", help="comment recorded with --approve / --reject")
    start = commands.add_parser("start", help="start an execution in your account (uses your AWS credentials)")
    start.add_argument(
        "state_machine", metavar="STATE_MACHINE_LOGICAL_ID", help="MeshRolloutStateMachine or WeightShiftStateMachine"
    )
    start.add_argument("--input", required=True, help="execution input (JSON file), passed unchanged")
    where = start.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the deployed mesh-rollout stack (its <LogicalId>Arn output)")
    where.add_argument("--state-machine-arn")
    start.add_argument("--follow", action="store_true", help="print each state as it happens; exit with the outcome")
    start.add_argument("--region")
    status = commands.add_parser("status", help="where an execution stands: route weights, steps, waiting approval")
    status.add_argument("execution_arn", metavar="EXECUTION_ARN")
    status.add_argument("--region", help="defaults to the execution ARN's Region")
    for verb in ("approve", "reject"):
        command = commands.add_parser(verb, help=f"{verb} the step a weight shift waits on (uses your AWS credentials)")
        command.add_argument("execution_arn", metavar="EXECUTION_ARN")
        command.add_argument("--comment", default="", help="why; recorded in the execution's output")
        command.add_argument("--region", help="defaults to the execution ARN's Region")
    return top


def run_start(args: argparse.Namespace, out: TextIO) -> int:
    import boto3

    from mesh_rollout_local import remote

    session = boto3.session.Session(region_name=args.region) if args.region else boto3.session.Session()
    arn = args.state_machine_arn or remote.state_machine_arn(session.client("cloudformation"), args.stack, args.state_machine)
    execution_arn = remote.start(session.client("stepfunctions"), arn, json_file("--input", args.input)[1])
    print(f"started {execution_arn}", file=out, flush=True)
    if not args.follow:
        return 0
    return 0 if remote.follow(session.client("stepfunctions"), execution_arn, out) == "SUCCEEDED" else 1


def run_status(args: argparse.Namespace, out: TextIO) -> int:
    import boto3

    from mesh_rollout_local import remote

    session = boto3.session.Session(region_name=args.region or args.execution_arn.split(":")[3])
    remote.status(session.client("stepfunctions"), session.client("appmesh"), args.execution_arn, out)
    return 0


def run_answer(args: argparse.Namespace, out: TextIO) -> int:
    """`mesh-rollout approve|reject EXECUTION_ARN`: find the pending token, record who answered, send it."""
    import boto3

    region = args.region or args.execution_arn.split(":")[3]
    session = boto3.session.Session(region_name=region)
    try:
        result = approvals.answer(
            session.client("stepfunctions"), session.client("sts"), args.execution_arn, args.command == "approve", args.comment
        )
    except approvals.NoPendingApproval as exc:
        print(f"mesh-rollout: {exc}", file=sys.stderr)
        return 1
    print(f"{'approved' if result['approved'] else 'rejected'} {result['step']} as {result['approver']}", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return dispatch(parser().parse_args(argv))
    except UserError as exc:
        print(f"mesh-rollout: {exc}", file=sys.stderr)
        return 2


def dispatch(args: argparse.Namespace) -> int:
    if args.command in ("approve", "reject"):
        return run_answer(args, sys.stdout)
    if args.command == "start":
        return run_start(args, sys.stdout)
    if args.command == "status":
        return run_status(args, sys.stdout)
    if args.repeat < 1:
        parser().error("--repeat must be at least 1")
    return run_local(args, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
