"""The verbs that call AWS with your credentials: start, status, approve, reject, abort, list.

boto3 is imported only when one of them runs, so `--help` starts at once. What AWS refuses is one line: a
missing execution, stack or credentials is the user's (exit 2), anything else AWS's answer (exit 1)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from mesh_rollout_local import approvals
from mesh_rollout_local.commands.common import INTERRUPTED, AwsRefused, UserError, json_file


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
