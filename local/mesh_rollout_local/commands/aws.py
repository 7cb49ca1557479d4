"""The verbs that call AWS with your credentials: start, status, approve, reject, abort, list.

boto3 is imported only when one of them runs, so `--help` starts at once. What AWS refuses is one line: a
missing execution, stack or credentials is the user's (exit 2), anything else AWS's answer (exit 1)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

from mesh_rollout_local import approvals
from mesh_rollout_local.commands.common import (
    INTERRUPTED,
    AwsRefused,
    UserError,
    dry_run_text,
    has_dry_run,
    json_file,
    no_dry_run,
    with_dry_run,
)

P = TypeVar("P", bound=argparse.ArgumentParser)


def aws_options(kind: type[P]) -> P:
    """The options of every verb that calls AWS, declared once (the verbs' parsers take it as a parent), as the
    AWS CLI's global --region, --profile and --output: https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-options.html"""
    options = kind(add_help=False)
    options.add_argument(
        "--region",
        help="default: the execution ARN's Region, else AWS_REGION, AWS_DEFAULT_REGION or your AWS config's (the profile's)",
    )
    options.add_argument(
        "--profile",
        metavar="NAME",
        help="a named profile of your AWS config and credentials files, as the AWS CLI's (default: AWS_PROFILE)",
    )
    options.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="text (default), or json: one JSON document on stdout, what the command says as data (live lines go to stderr)",
    )
    return options


def aws_session(args: argparse.Namespace) -> Any:
    """A boto3 session of --profile (as the AWS CLI's: its credentials and Region, over AWS_PROFILE and the
    environment's keys; https://boto3.amazonaws.com/v1/documentation/api/latest/guide/credentials.html) in the Region
    of --region, else of the execution ARN, else AWS_REGION, AWS_DEFAULT_REGION or the AWS config's; a missing
    Region or profile is a mistake of the user's, said before any call."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    arn = getattr(args, "execution_arn", None) or getattr(args, "state_machine_arn", None)
    region = args.region or (arn.split(":")[3] if arn else None) or os.environ.get("AWS_REGION")
    try:
        session = boto3.session.Session(profile_name=args.profile, region_name=region)
    except ProfileNotFound:
        raise UserError(f"--profile {args.profile}: no such profile in your AWS config or credentials file") from None
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


def _json_value(value: Any) -> Any:
    """Timestamps as the AWS CLI prints them (ISO 8601), anything else json cannot write as its text."""
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


def print_json(document: Any, out: TextIO) -> None:
    """`--output json`: one document, indented as the AWS CLI's
    (https://docs.aws.amazon.com/cli/latest/userguide/cli-usage-output-format.html)."""
    print(json.dumps(document, indent=4, default=_json_value), file=out)


def live(args: argparse.Namespace, out: TextIO) -> TextIO:
    """Where a verb's running commentary goes: stdout as text, stderr with --output json (stdout is the document)."""
    return sys.stderr if args.output == "json" else out


def status_document(session: Any, arn: str) -> dict[str, Any]:
    from mesh_rollout_local import rollouts

    return rollouts.status_document(*rollouts.read_status(session, arn))


def run_start(args: argparse.Namespace, out: TextIO) -> int:
    from mesh_rollout_local import remote

    _, execution_input = json_file("--input", args.input)
    dry_run = getattr(args, "dry_run", False)
    if dry_run:
        # the logical ID with --stack; with --state-machine-arn, the ARN's name (its last part) is what runs
        named = args.state_machine_arn.rsplit(":", 1)[-1] if args.state_machine_arn else args.state_machine
        if not has_dry_run(named):
            raise UserError(no_dry_run(named))
        execution_input = with_dry_run("--input", args.input, execution_input)
    session = aws_session(args)
    with aws_errors():
        try:
            arn = args.state_machine_arn or remote.state_machine_arn(
                session.client("cloudformation"), args.stack, args.state_machine
            )
        except KeyError as exc:
            raise UserError(exc.args[0]) from None
        execution_arn = remote.start(session.client("stepfunctions"), arn, execution_input)
        print(f"started {execution_arn}", file=live(args, out), flush=True)
        if not (args.follow or dry_run):  # a dry run is quick: followed, its exit code says ready (0) or not (1)
            if args.output == "json":
                print_json({"executionArn": execution_arn}, out)
            return 0
        try:
            status = remote.follow(session.client("stepfunctions"), execution_arn, live(args, out))
        except KeyboardInterrupt:
            stopped = f"\nstopped following; the execution goes on: mesh-rollout status|abort {execution_arn}"
            print(stopped, file=live(args, out))
            return INTERRUPTED
        if dry_run and status == "SUCCEEDED":  # a failed dry run's plan is its cause, which follow printed
            described = session.client("stepfunctions").describe_execution(executionArn=execution_arn)
            output = json.loads(described.get("output") or "null")
            plan = dry_run_text(status, output, described.get("error"), described.get("cause"))
            if plan:
                print(plan, file=live(args, out))
        if args.output == "json":
            print_json(status_document(session, execution_arn), out)
        return 0 if status == "SUCCEEDED" else 1


def run_status(args: argparse.Namespace, out: TextIO) -> int:
    from mesh_rollout_local import rollouts

    session = aws_session(args)
    with aws_errors():
        if not args.watch:
            if args.output == "json":
                print_json(status_document(session, args.execution_arn), out)
            else:
                rollouts.status(session, args.execution_arn, out)
            return 0
        try:
            status = rollouts.watch(session, args.execution_arn, live(args, out), args.interval)
        except KeyboardInterrupt:
            print("\nstopped watching; the execution goes on", file=live(args, out))
            return INTERRUPTED
        if args.output == "json":  # the execution as it ended
            print_json(status_document(session, args.execution_arn), out)
        return 0 if status == "SUCCEEDED" else 1


def run_abort(args: argparse.Namespace, out: TextIO) -> int:
    from mesh_rollout_local import rollouts

    session = aws_session(args)
    with aws_errors():
        restored = rollouts.abort(
            session, args.execution_arn, args.reason, live(args, out), wait=not args.no_wait, timeout=args.timeout
        )
        if args.output == "json":  # the execution after the stop, and whether its route is back
            print_json({**status_document(session, args.execution_arn), "restored": restored}, out)
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
        if args.output == "json":
            print_json({"table": table, "rollouts": rollouts.rollouts_in_progress(session, table)}, out)
        else:
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
    if args.output == "json":
        print_json({"executionArn": args.execution_arn, **result}, out)
    else:
        print(f"{'approved' if result['approved'] else 'rejected'} {result['step']} as {result['approver']}", file=out)
    return 0
