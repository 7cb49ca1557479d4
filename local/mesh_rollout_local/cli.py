"""The `mesh-rollout` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from mesh_rollout_local.report import dump_document, snapshot, summary
from mesh_rollout_local.runner import OfflineAccount, RunResult


def _event_printer(out: TextIO) -> Any:
    def on_event(event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            print(f"  -> {event['stateEnteredEventDetails']['name']}", file=out, flush=True)
        elif kind in ("TaskFailed", "LambdaFunctionFailed"):
            details = event.get("taskFailedEventDetails") or event.get("lambdaFunctionFailedEventDetails") or {}
            print(f"     ! {details.get('error')}: {_message(details.get('cause'))}", file=out, flush=True)

    return on_event


def _message(cause: str | None) -> str:
    try:
        return str(json.loads(cause or "")["errorMessage"])
    except (ValueError, KeyError, TypeError):
        return cause or ""


def run_local(args: argparse.Namespace, out: TextIO) -> int:
    execution_input = Path(args.input).read_text()
    given = json.loads(Path(args.given).read_text()) if args.given else []
    handler_log = open(args.handler_log or os.devnull, "a")  # noqa: SIM115 - closed below
    runs: list[RunResult] = []
    try:
        with OfflineAccount(args.template, region=args.region, real_time=args.real_time, handler_output=handler_log) as account:
            account.apply_given(given)
            for _ in range(args.repeat):
                print(f"run {len(runs) + 1}: {args.state_machine}", file=out, flush=True)
                result = account.run(args.state_machine, execution_input, on_event=_event_printer(out))
                runs.append(result)
                print(f"run {result.run}: {result.status} in {result.seconds:.2f} s", file=out)
                if result.error:
                    print(f"  error: {result.error}\n  cause: {_message(result.cause)}", file=out)
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
    local.add_argument("--input", required=True, help="execution input (JSON file), passed unchanged")
    local.add_argument("--given", help="JSON list of boto3 calls that build the world before the run")
    local.add_argument("--dump", help="write status, output, resources, API calls and states here (JSON)")
    local.add_argument("--repeat", type=int, default=1, help="run the same input N times in the same account")
    local.add_argument("--real-time", action="store_true", help="really wait in Wait states and retry back-offs")
    local.add_argument("--template", default="template.yaml")
    local.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-west-2"))
    local.add_argument("--handler-log", help="append the handlers' Powertools logs and metrics here")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.repeat < 1:
        parser().error("--repeat must be at least 1")
    return run_local(args, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
