"""The `mesh-rollout` command: its parser and the verb each command runs.

The verbs live in commands/: local.py runs offline, aws.py calls AWS. The emulator (moto), boto3 and the report
are imported only by the verb that needs them, so `--help` starts at once. A mistake of the user's (a missing or
malformed file, an unknown state machine) is one line on stderr and exit code 2, found before the offline
account is built."""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

from mesh_rollout_local import lattice_input
from mesh_rollout_local.commands.aws import aws_options, aws_session, run_abort, run_answer, run_list, run_start, run_status
from mesh_rollout_local.commands.common import INTERRUPTED, AwsRefused, UserError, json_file
from mesh_rollout_local.commands.export import add_parser as add_export_parser
from mesh_rollout_local.commands.export import run_export
from mesh_rollout_local.commands.local import event_printer, run_live, run_local
from mesh_rollout_local.commands.prompt import local_approver

# what tests and bench/ import from here
__all__ = [
    "INTERRUPTED",
    "AwsRefused",
    "UserError",
    "_event_printer",
    "aws_session",
    "json_file",
    "local_approver",
    "main",
    "parser",
    "run_live",
]
_event_printer = event_printer


class Parser(argparse.ArgumentParser):
    """argparse's own complaints (a missing argument, an unknown option) are one line too, not usage + error."""

    def error(self, message: str) -> Any:
        raise UserError(f"{message} (see {self.prog} --help)")


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


INPUT_HELP = "execution input (JSON file or file://FILE), passed as it is but for {{given:name.path}} references to --given"
DRY_RUN_HELP = (
    'WeightShiftStateMachine, EcsDeploymentStateMachine: run it with "dryRun": true - every check, read-only (no lock,'
    " no write), one plan printed;"
    " exit 0 ready, 1 problems"
)
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
    local.add_argument("--dry-run", action="store_true", help=DRY_RUN_HELP)
    aws = [aws_options(Parser)]  # --region, --profile, --output
    start = commands.add_parser("start", parents=aws, help="start an execution in your account (uses your AWS credentials)")
    start.add_argument("state_machine", metavar="STATE_MACHINE_LOGICAL_ID", help=MACHINES_HELP)
    start.add_argument("--input", required=True, help="execution input (JSON file or file://FILE), passed unchanged")
    where = start.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the deployed mesh-rollout stack (its <LogicalId>Arn output)")
    where.add_argument("--state-machine-arn", type=state_machine_arn, help="the state machine's ARN, instead of --stack")
    follow = "print each state as it happens; exit with the outcome (Ctrl-C stops following, not the run)"
    start.add_argument("--follow", action="store_true", help=follow)
    start.add_argument("--dry-run", action="store_true", help=f"{DRY_RUN_HELP} (implies --follow)")
    status = commands.add_parser(
        "status", parents=aws, help="where an execution stands: route weights, steps, gate, waiting approval"
    )
    status.add_argument("execution_arn", metavar="EXECUTION_ARN", type=execution_arn)
    status.add_argument("--watch", action="store_true", help="print it again at each change until the execution ends")
    status.add_argument("--interval", type=float, default=5.0, help="seconds between reads with --watch (default 5)")
    for verb in ("approve", "reject"):
        command = commands.add_parser(
            verb, parents=aws, help=f"{verb} the step a weight shift or ECS deployment waits on (uses your AWS credentials)"
        )
        command.add_argument("execution_arn", metavar="EXECUTION_ARN", type=execution_arn)
        command.add_argument("--comment", default="", help="why; recorded in the execution's output")
    abort = commands.add_parser(
        "abort",
        parents=aws,
        help="stop an execution; for a weight shift, wait until its route is back to its snapshot (an ECS deployment is"
        " rolled back by ECS, asked by the ExecutionStatusChange function)",
    )
    abort.add_argument("execution_arn", metavar="EXECUTION_ARN", type=execution_arn)
    abort.add_argument("--reason", default="", help="recorded in the execution's cause, with who stopped it")
    abort.add_argument("--no-wait", action="store_true", help="stop it and return at once")
    abort.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the route (default 300)")
    rollouts = commands.add_parser(
        "list", parents=aws, help="the rollouts in progress: one line per locked route (the route-lock table)"
    )
    table = rollouts.add_mutually_exclusive_group(required=True)
    table.add_argument("--stack", help="the deployed mesh-rollout stack (its RouteLockTableName output)")
    table.add_argument("--table", help="the route-lock table's name")
    lattice_input.add_parser(commands)
    add_export_parser(commands)  # export-given
    return top


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
    except BrokenPipeError:  # whoever read the output stopped (`| head`): stop quietly, as a shell tool does
        quiet_stdout()
        return 1


def quiet_stdout() -> None:
    """Point stdout at /dev/null, so that Python's own flush at exit does not raise again (the docs' recipe:
    https://docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # a stdout without a file (a test's) has nothing to flush
        pass


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "approve": run_answer,
    "reject": run_answer,
    "start": run_start,
    "status": run_status,
    "abort": run_abort,
    "list": run_list,
    "lattice-input": run_lattice_input,
    "export-given": run_export,
}


def dispatch(args: argparse.Namespace) -> int:
    if args.command in COMMANDS:
        return COMMANDS[args.command](args, sys.stdout)
    if args.repeat < 1:
        raise UserError("--repeat must be at least 1")
    return run_local(args, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
