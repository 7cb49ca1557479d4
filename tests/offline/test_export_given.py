"""`mesh-rollout export-given`: a route read (read-only) from an account and written as a --given world and an
offline input; the same shift on a new offline account built from them ends as it did on the original."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from mesh_rollout_local.export import ExportError, export_given
from mesh_rollout_local.export.reads import ReadOnlyClients
from mesh_rollout_local.runner import OfflineAccount, RunResult
from tests.conftest import EVENTS, ROOT

TEMPLATE = str(ROOT / "template.yaml")
EXAMPLES = ROOT / "examples"
WORLDS = {
    "lattice": (EXAMPLES / "checkout-given.json", EXAMPLES / "checkout-shift.json"),
    "alb": (EVENTS / "local" / "alb-given.json", EVENTS / "weight-shift-alb.json"),
}


def approve(pending: Any) -> tuple[bool, str]:
    return True, "rehearsal"


def outcome(account: OfflineAccount, result: RunResult, raw: dict[str, Any]) -> dict[str, Any]:
    """What must be the same on both worlds: status, error, the weights written at each step and the route's final
    forward action, by target group name (the IDs and ARNs are each account's own)."""
    if "listenerArn" in raw:
        elbv2 = account.client("elbv2")
        rule = elbv2.describe_rules(RuleArns=[raw["ruleArn"]])["Rules"][0]
        names = {g["TargetGroupArn"]: g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]}
        [forward] = [a for a in rule["Actions"] if a["Type"] == "forward"]
        final = [(names[t["TargetGroupArn"]], t["Weight"]) for t in forward["ForwardConfig"]["TargetGroups"]]
    else:
        lattice = account.client("vpc-lattice")
        [service] = [s["id"] for s in lattice.list_services()["items"] if s["name"] == raw["serviceIdentifier"]]
        [listener] = [
            i for i in lattice.list_listeners(serviceIdentifier=service)["items"] if i["name"] == raw["listenerIdentifier"]
        ]
        [rule] = [
            i
            for i in lattice.list_rules(serviceIdentifier=service, listenerIdentifier=listener["id"])["items"]
            if i["name"] == raw["ruleIdentifier"]
        ]
        action = lattice.get_rule(serviceIdentifier=service, listenerIdentifier=listener["id"], ruleIdentifier=rule["id"])[
            "action"
        ]
        names = {g["id"]: g["name"] for g in lattice.list_target_groups()["items"]}
        final = [(names[t["targetGroupIdentifier"]], t["weight"]) for t in action["forward"]["targetGroups"]]
    steps = [(s["percent"], s["weights"]) for s in (result.output or {}).get("steps", [])]
    return {"status": result.status, "error": result.error, "steps": steps, "final": final}


@pytest.mark.parametrize("backend", sorted(WORLDS))
def test_an_exported_route_rolls_out_offline_as_the_original(backend: str, tmp_path: Path) -> None:
    given_path, input_path = WORLDS[backend]
    # Given an account holding the route (the checkout world on Lattice; the ALB world), and its shift's input
    with OfflineAccount(TEMPLATE) as original:
        original.apply_given(json.loads(given_path.read_text()), given_path.parent)
        raw = json.loads(original.resolve_input(input_path.read_text()))
        # When the route is exported with the account's own clients, read-only
        exported = export_given(original.session, raw)
        # Then every call was a read
        assert exported.calls and all(op.split(":")[1].startswith(("Describe", "Get", "List")) for op in exported.calls)
        before = outcome(original, original.run("WeightShiftStateMachine", json.dumps(raw), approver=approve), raw)
    world = tmp_path / "world.json"
    world.write_text(json.dumps(exported.world, indent=2))
    # And a new account built from the exported world runs the same shift on the exported input
    with OfflineAccount(TEMPLATE) as rehearsal:
        rehearsal.apply_given(json.loads(world.read_text()), tmp_path)
        text = rehearsal.resolve_input(json.dumps(exported.execution_input))
        after = outcome(rehearsal, rehearsal.run("WeightShiftStateMachine", text, approver=approve), json.loads(text))
    # Then it ends the same way: status, the weights written at each step, the rule's final forward action
    assert before["status"] == "SUCCEEDED"
    assert after == before
    if backend == "alb":  # ARNs the emulator makes up are references to the world's calls
        assert exported.execution_input["listenerArn"].startswith("{{given:listener")
        assert exported.execution_input["ruleArn"].startswith("{{given:rule")
    else:  # a Lattice route named by name needs none
        assert exported.execution_input == raw


def test_the_export_refuses_any_call_that_is_not_a_read() -> None:
    with OfflineAccount(TEMPLATE) as account:
        clients = ReadOnlyClients(account.session)
        with pytest.raises(ExportError, match="refused ecs:CreateCluster"):
            clients("ecs").create_cluster(clusterName="x")
        assert clients("ecs").list_clusters()["clusterArns"] == []
        assert dict(clients.calls) == {"ecs:ListClusters": 1}


def test_export_given_from_the_cli_then_local_on_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mesh_rollout_local.cli import main
    from mesh_rollout_local.commands import export as command

    given_path, input_path = WORLDS["alb"]
    live_input, world, offline_input = tmp_path / "shift.json", tmp_path / "world.json", tmp_path / "offline-shift.json"
    # Given an account holding the ALB route, and the shift's input as a team writes it (the live ARNs)
    with OfflineAccount(TEMPLATE) as account:
        account.apply_given(json.loads(given_path.read_text()), given_path.parent)
        live_input.write_text(account.resolve_input(input_path.read_text()))
        monkeypatch.setattr(command, "aws_session", lambda args: account.session)  # "your account": the emulated one
        # When export-given reads it
        argv = ["export-given", "--input", str(live_input), "--output", str(world), "--input-output", str(offline_input)]
        assert main([*argv, "--minutes", "5"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {len(json.loads(world.read_text()))} given calls to {world}, the offline input to {offline_input}" in out
    assert f"mesh-rollout local WeightShiftStateMachine --input {offline_input} --given {world}" in out
    # Then `mesh-rollout local` rehearses the shift on the written files
    dump = tmp_path / "dump.json"
    argv = ["local", "WeightShiftStateMachine", "--input", str(offline_input), "--given", str(world), "--approve"]
    assert main([*argv, "--template", TEMPLATE, "--dump", str(dump)]) == 0
    assert json.loads(dump.read_text())["output"]["weights"] == {"serviceBv2": 100}


def test_an_app_mesh_route_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mesh_rollout_local.cli import main

    argv = ["export-given", "--input", str(EVENTS / "weight-shift-apps.json"), "--output", str(tmp_path / "w.json")]
    assert main([*argv, "--region", "us-west-2"]) == 2
    assert capsys.readouterr().err.startswith("mesh-rollout: --input ")


def canary_latency(account: OfflineAccount) -> dict[str, list[float]]:
    """The Lattice canary's RequestTime each minute of the last 15, as an Average and as a p99."""
    [group] = [g["id"] for g in account.client("vpc-lattice").list_target_groups()["items"] if g["name"] == "checkoutv2"]
    metric = {"Namespace": "AWS/VpcLattice", "MetricName": "RequestTime", "Dimensions": [{"Name": "TargetGroup", "Value": group}]}
    queries = [{"Id": s.lower(), "MetricStat": {"Metric": metric, "Period": 60, "Stat": s}} for s in ("Average", "p99")]
    now = dt.datetime.now(dt.UTC)
    results = account.client("cloudwatch").get_metric_data(
        MetricDataQueries=queries, StartTime=now - dt.timedelta(minutes=15), EndTime=now
    )["MetricDataResults"]
    return {r["Id"]: [round(v, 6) for _, v in sorted(zip(r["Timestamps"], r["Values"], strict=True))] for r in results}


def test_a_metric_read_with_two_statistics_is_exported_as_both_read_it() -> None:
    given_path, input_path = WORLDS["lattice"]
    # Given the checkout world (its canary's one request, 38 ms, 90 s ago), whose canary also served 100 requests
    # of 1 to 100 ms four and six minutes ago
    with OfflineAccount(TEMPLATE) as original:
        original.apply_given(json.loads(given_path.read_text()), given_path.parent)
        [group] = [g["id"] for g in original.client("vpc-lattice").list_target_groups()["items"] if g["name"] == "checkoutv2"]
        for age in (240, 360):
            datum: dict[str, Any] = {"MetricName": "RequestTime", "Dimensions": [{"Name": "TargetGroup", "Value": group}]}
            datum |= {
                "Values": [float(ms) for ms in range(1, 101)],
                "Timestamp": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age),
            }
            original.client("cloudwatch").put_metric_data(Namespace="AWS/VpcLattice", MetricData=[datum])
        read = canary_latency(original)
        assert read == {"average": [50.5, 50.5, 38.0], "p99": [99.0, 99.0, 38.0]}
        # and a shift whose thresholds read the canary's latency as an Average, and whose judge reads it as a p99
        raw = json.loads(original.resolve_input(input_path.read_text()))
        compare = {"metrics": [{"id": "latency", "preset": "latency"}], "latencyStatistic": "p99"}
        raw["healthGate"] |= {"latencyStatistic": "Average", "compare": compare}
        # When the route is exported
        exported = export_given(original.session, raw)
    # Then a new account built from the exported world answers both statistics as the original did
    with OfflineAccount(TEMPLATE) as rehearsal:
        rehearsal.apply_given(exported.world, ROOT)
        assert canary_latency(rehearsal) == read
