"""`mesh-rollout local`: a state machine of the template run offline, in an emulated account (runner.py), each
state printed as it is entered, approvals answered (prompt.py), Ctrl-C stopping the run (interrupt.py).

The emulator (moto) and the report are imported only when the command runs: `--help` and the AWS verbs start at
once. A mistake of the user's is found before the offline account is built."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mesh_rollout_local.commands.common import (
    DRY_RUN_FAILED,
    DRY_RUN_STATE_MACHINES,
    INTERRUPTED,
    UserError,
    dry_run_text,
    json_file,
    no_dry_run,
    with_dry_run,
)
from mesh_rollout_local.commands.interrupt import CtrlC
from mesh_rollout_local.commands.prompt import local_approver
from mesh_rollout_local.progress import describe_calls, idle_reason
from mesh_rollout_local.remote import cause_message

if TYPE_CHECKING:
    from mesh_rollout_local.runner import Approver, OfflineAccount, RunResult


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


def event_printer(out: TextIO, stopping: Callable[[], bool] = lambda: False) -> Any:
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


def run_live(account: OfflineAccount, state_machine: str, execution_input: str, approver: Approver, out: TextIO) -> RunResult:
    """One execution as `mesh-rollout local` runs it: each state printed as it is entered, approvals answered."""
    printer = event_printer(out, lambda: account.stop_requested)
    return account.run(state_machine, execution_input, on_event=printer, approver=approver)


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


def given_runs_approver(args: argparse.Namespace) -> Approver | None:
    """--approve / --reject answer the approvals of the --given world's runs too (silently: those runs print nothing);
    with neither, None: given.py rejects them, so the world is refused rather than left waiting."""
    return local_approver(args, io.StringIO(), sys.stdin) if args.approve or args.reject else None


def fast_input_problem(state_machine: str, execution_input: str, given: Any, given_path: Path | None) -> str | None:
    """The input's problems as the first state would find them, before any world is built; with --given, a reference
    to a name the world does not save is one of them (without --given, run_local says that once)."""
    from mesh_rollout_local.precheck import given_names, input_problem

    names = given_names(given, given_path.parent) if given_path else None
    return input_problem(state_machine, json.loads(execution_input), names)


def run_local(args: argparse.Namespace, out: TextIO) -> int:
    args.template = known_state_machine(args.template, args.state_machine)
    _, execution_input = json_file("--input", args.input)
    given_path, given_text = json_file("--given", args.given) if args.given else (None, "[]")
    given = json.loads(given_text)
    from mesh_rollout_local.references import has_references

    dry_run = getattr(args, "dry_run", False)
    if dry_run and args.state_machine not in DRY_RUN_STATE_MACHINES:
        raise UserError(no_dry_run(args.state_machine))
    # a dry run reports every problem of the input in its plan, with the rest of what it checks
    problem = None if dry_run else fast_input_problem(args.state_machine, execution_input, given, given_path)
    if problem:
        raise UserError(f"--input {args.input}: {problem}")
    if has_references(execution_input) and not args.given:
        raise UserError(f"--input {args.input}: has {{{{given:...}}}} references to a --given world's responses, and no --given")
    quiet_emulator(args.debug)
    from mesh_rollout_local.given import steps_not_reached
    from mesh_rollout_local.report import dump_document, snapshot, summary
    from mesh_rollout_local.runner import GivenError, OfflineAccount

    ctrl_c = CtrlC(out)
    approver = local_approver(args, out, sys.stdin, ctrl_c)
    handler_log = open(args.handler_log or os.devnull, "a")  # noqa: SIM115 - closed below
    runs: list[RunResult] = []
    built = False
    try:
        building = time.monotonic()
        calls = f", then {len(given)} given call{'s' if len(given) != 1 else ''}" if given else ""
        print(f"building the offline account: deploying {args.template}{calls} ...", file=out, flush=True)
        with OfflineAccount(args.template, region=args.region, real_time=args.real_time, handler_output=handler_log) as account:
            account.given_approver = given_runs_approver(args)
            try:
                account.apply_given(given, given_path.parent if given_path else None, f"--given {args.given}")
                execution_input = account.resolve_input(execution_input)
                if dry_run:
                    execution_input = with_dry_run("--input", args.input, execution_input)
            except GivenError as exc:
                where = "" if str(exc).startswith("--given") else f"--input {args.input}: "
                raise UserError(f"{where}{exc}") from None
            print(f"offline account ready in {time.monotonic() - building:.1f} s", file=out, flush=True)
            built = True
            with ctrl_c.stops(account) as interrupted:
                runs = run_repeatedly(args, account, execution_input, approver, out, interrupted)
            stopped_by_user = account.stop_requested and bool(runs)
            for percent in steps_not_reached(account):
                print(f"  --given: atStep {percent:g} never applied: no run judged a {percent:g}% step", file=out)
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
        plan = dry_run_text(result.status, result.output, result.error, result.cause) if getattr(args, "dry_run", False) else None
        if plan is not None:
            print(plan, file=out)
        if result.error and not (plan is not None and result.error == DRY_RUN_FAILED):
            print(f"  error: {result.error}\n  cause: {cause_message(result.cause)}", file=out)
        calls = describe_calls(sum(result.api_calls.values()), result.mutating_calls())
        print(f"  AWS calls by our handlers: {calls}", file=out)
    return runs
