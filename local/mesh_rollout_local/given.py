"""The `--given` language (events/local/README.md): the world an offline run starts from, built by boto3 calls,
included files and runs of the template's state machines; and the replay of a given run this process ran before."""

from __future__ import annotations

import copy
import difflib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.exceptions

from mesh_rollout_local.recording import RecordedCall
from mesh_rollout_local.references import GivenError, has_references, resolve_refs

if TYPE_CHECKING:
    from mesh_rollout_local.runner import OfflineAccount

# Per process: the handlers' calls of each given `run`, by what the account held before it (see _given_run)
_GIVEN_RUNS: dict[str, list[RecordedCall]] = {}


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
    if account.replay_given_runs and key in _GIVEN_RUNS:
        _replay(account, _GIVEN_RUNS[key], where)
        return
    lambdas = account.lambdas
    lambdas.record = [] if account.replay_given_runs else None
    try:
        result = account.run(call["run"], execution_input)
    finally:
        recorded, lambdas.record = lambdas.record, None
    if result.status != "SUCCEEDED":
        raise GivenError(f"{where}: run {call['run']} ended {result.status}: {result.error}: {result.cause}")
    if recorded is not None:
        _GIVEN_RUNS[key] = recorded


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
    try:
        client = account.client(service)
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
        account.saved[call["saveAs"]] = response


def resolve_input(account: OfflineAccount, text: str) -> str:
    """OfflineAccount.resolve_input."""
    if not has_references(text):
        return text
    return json.dumps(resolve_refs(json.loads(text), account.saved, account.now))
