"""Given worlds whose metrics change with the step (`atStep`): healthy at the first step, failing at the second,
from the CLI, for the weight shift and the ECS-native deployment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mesh_rollout_local.cli import main
from tests.conftest import EVENTS, ROOT

TEMPLATE = str(ROOT / "template.yaml")
EXAMPLES = ROOT / "examples"


def run_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, dict[str, Any]]:
    dump = tmp_path / "dump.json"
    code = main(["local", *argv, "--template", TEMPLATE, "--dump", str(dump)])
    return code, capsys.readouterr().out, json.loads(dump.read_text())


def alb_shift_offline(tmp_path: Path, **changes: Any) -> tuple[Path, int]:
    """The ALB shift (its listenerArn and ruleArn are references to the world) with `changes`, run offline from the
    CLI on its world: the input's path and the exit code."""
    path = tmp_path / "shift.json"
    path.write_text(json.dumps({**json.loads((EVENTS / "weight-shift-alb.json").read_text()), **changes}))
    given = str(EVENTS / "local" / "alb-given.json")
    return path, main(["local", "WeightShiftStateMachine", "--input", str(path), "--given", given, "--template", TEMPLATE])


def test_a_canary_healthy_at_10_and_failing_at_50_rolls_back_at_50_to_its_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the example's world, whose canary answers 6% of its requests with a 5xx once the shift reaches 50%
    world = json.loads((EXAMPLES / "checkout-fails-at-50-given.json").read_text())
    assert [entry.get("atStep") for entry in world] == [None, 50]
    # When the example's shift (10, 50, 100) runs on it from the CLI
    code, out, dump = run_cli(
        tmp_path,
        capsys,
        "WeightShiftStateMachine",
        "--input",
        str(EXAMPLES / "checkout-shift.json"),
        "--given",
        str(EXAMPLES / "checkout-fails-at-50-given.json"),
    )
    # Then the gate passed 10% on the world's first minute, failed 50% on the step's datapoints alone, and the run
    # rolled back there
    assert (code, dump["status"], dump["error"]) == (1, "FAILED", "CanaryUnhealthy")
    assert dump["cause"].startswith("at 50%: UNHEALTHY: metric canaryErrorRate = 0.06, above 0.01")
    assert "CheckLegs  step 10%  HEALTHY" in out and "CheckLegs  step 50%  UNHEALTHY" in out
    assert "MoveLegs  step 100%" not in out
    # And the rule is back on its snapshot, byte for byte: the forward action the world created
    groups = {g["name"]: g["id"] for g in dump["vpcLattice"]["targetGroups"]}
    [rule] = [r for r in dump["vpcLattice"]["rules"] if r["name"] == "checkout"]
    created = next(e for e in json.loads((EXAMPLES / "checkout-given.json").read_text()) if e["operation"] == "create_rule")
    snapshot = created["params"]["action"]
    for target in snapshot["forward"]["targetGroups"]:
        target["targetGroupIdentifier"] = groups[
            {"{{given:checkoutGroup.id}}": "checkout"}.get(target["targetGroupIdentifier"], "checkoutv2")
        ]
    assert json.dumps(rule["action"]) == json.dumps(snapshot)
    # And the step's datapoints are the world's, not calls of the handler's (its role never publishes metrics)
    assert not [c for c in dump["apiCalls"] if c["operation"] == "PutMetricData"]


def test_an_ecs_deployment_healthy_at_20_and_failing_at_40_rolls_back_at_40(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the ECS deployment's ALB world, where green answers 8% of its requests with a 5xx from 40% on (both
    # target groups' metrics restated at the step: the earlier minutes are out of the step's window)
    def minutes(group: str, errors: int) -> dict[str, Any]:
        dimensions = [
            {"Name": "TargetGroup", "Value": f"{{{{given:{group}.TargetGroups[0].TargetGroupArn|after:123456789012:}}}}"},
            {"Name": "LoadBalancer", "Value": "{{given:alb.LoadBalancers[0].LoadBalancerArn|after::loadbalancer/}}"},
        ]
        data = [
            {"MetricName": "RequestCount", "Value": 1000, "Unit": "Count"},
            {"MetricName": "HTTPCode_Target_5XX_Count", "Value": errors, "Unit": "Count"},
            {"MetricName": "TargetResponseTime", "Value": 0.05, "Unit": "Seconds"},
        ]
        return {"metrics": {"Namespace": "AWS/ApplicationELB", "Dimensions": dimensions, "minutes": 10, "MetricData": data}}

    world = tmp_path / "world.json"
    step = {"atStep": 40, "given": [minutes("checkoutgreen", 80), minutes("checkoutblue", 1)]}
    world.write_text(json.dumps([{"include": str(EVENTS / "local" / "ecs-deployment-alb-given.json")}, step]))
    # When the LINEAR 20% deployment runs on it
    code, out, dump = run_cli(
        tmp_path,
        capsys,
        "EcsDeploymentStateMachine",
        "--approve",
        "--input",
        str(EVENTS / "ecs-deployment-alb.json"),
        "--given",
        str(world),
    )
    # Then 20% passed, 40% failed on the step's own datapoints, and ECS rolled back to blue
    assert (code, dump["status"], dump["error"]) == (1, "FAILED", "CanaryUnhealthy")
    assert dump["cause"].startswith(
        "step 40 % (PRE_PRODUCTION_TRAFFIC_SHIFT): UNHEALTHY: metric canaryErrorRate = 0.08, above 0.01"
    )
    checks = [line.split("CheckStep", 1)[1].split(":")[0].strip() for line in out.splitlines() if "-> CheckStep" in line]
    assert checks == ["HEALTHY", "HEALTHY", "UNHEALTHY"]
    assert "checkout-blue 100, checkout-green 0 (CLEAN_UP): ROLLED_BACK" in out


def test_a_mistake_in_a_steps_calls_is_one_line_before_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = tmp_path / "world.json"
    metrics = {"Namespace": "AWS/VpcLattice", "Dimensions": [{"Name": "TargetGroup", "Value": "{{given:checkoutV3Group.id}}"}]}
    metrics["MetricData"] = [{"MetricName": "HTTPCode_5XX_Count", "Value": 120}]
    world.write_text(
        json.dumps([{"include": str(EXAMPLES / "checkout-given.json")}, {"atStep": 50, "given": [{"metrics": metrics}]}])
    )
    argv = ["local", "WeightShiftStateMachine", "--input", str(EXAMPLES / "checkout-shift.json"), "--given", str(world)]
    assert main([*argv, "--template", TEMPLATE]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"mesh-rollout: --given {world} entry 2 atStep 50 entry 1 (cloudwatch.put_metric_data): {{{{given:checkoutV3Group.id}}}}"
    )
    assert "did you mean checkoutV2Group?" in err and "run 1" not in err


def test_the_fast_check_reports_every_problem_of_an_input_with_references_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the ALB shift (listenerArn and ruleArn are references to the world) with three mistakes elsewhere
    # When it runs offline
    path, code = alb_shift_offline(tmp_path, steps=[50, 150], bakeSeconds=-1, stable="serviceBv2")
    assert code == 2
    captured = capsys.readouterr()
    # Then all three are one line, before anything is built, and nothing of the fields holding references
    assert captured.out == ""
    assert captured.err == (
        f"mesh-rollout: --input {path}: InvalidRolloutInput: steps[1]: Input should be less than or equal to 100 | "
        "bakeSeconds: Input should be greater than or equal to 0 | canary: must differ from stable ('serviceBv2')\n"
    )


def test_every_reference_of_the_input_that_leads_nowhere_is_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two references to names the world saves, down paths its responses do not have (known only once built)
    references = {"listenerArn": "{{given:listener.Listeners[3].ListenerArn}}", "ruleArn": "{{given:rule.Rules[1].RuleArn}}"}
    path, code = alb_shift_offline(tmp_path, **references)
    assert code == 2
    assert capsys.readouterr().err == (
        f"mesh-rollout: --input {path}: {{{{given:listener.Listeners[3].ListenerArn}}}}: listener.Listeners has no [3]"
        " | {{given:rule.Rules[1].RuleArn}}: rule.Rules has no [1]\n"
    )


def test_a_reference_to_a_name_the_world_does_not_save_is_found_before_the_build_beside_other_mistakes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the ALB shift with its listener's reference misspelt and a negative bake
    # When it runs offline
    path, code = alb_shift_offline(tmp_path, listenerArn="{{given:listner.Listeners[0].ListenerArn}}", bakeSeconds=-1)
    assert code == 2
    captured = capsys.readouterr()
    # Then both are in one line, before the offline account is built
    assert captured.out == ""
    assert captured.err == (
        f"mesh-rollout: --input {path}: InvalidRolloutInput: listenerArn: {{{{given:listner.Listeners[0].ListenerArn}}}}:"
        " the --given world saves no 'listner'; did you mean listener? | bakeSeconds: Input should be greater than or"
        " equal to 0\n"
    )


def test_a_step_no_run_judged_is_said_after_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the example's world with calls at 75%, a step the example's shift (10, 50, 100) does not have
    world = tmp_path / "world.json"
    metrics = {"Namespace": "AWS/VpcLattice", "Dimensions": [{"Name": "TargetGroup", "Value": "{{given:checkoutV2Group.id}}"}]}
    metrics["MetricData"] = [{"MetricName": "HTTPCode_5XX_Count", "Value": 120}]
    world.write_text(
        json.dumps([{"include": str(EXAMPLES / "checkout-given.json")}, {"atStep": 75, "given": [{"metrics": metrics}]}])
    )
    # When the shift runs on it
    code, out, dump = run_cli(
        tmp_path,
        capsys,
        "WeightShiftStateMachine",
        "--input",
        str(EXAMPLES / "checkout-shift.json"),
        "--given",
        str(world),
        "--approve",
    )
    # Then it succeeds on the healthy world, and says the 75% calls never applied
    assert (code, dump["status"]) == (0, "SUCCEEDED")
    assert "  --given: atStep 75 never applied: no run judged a 75% step\n" in out


def test_a_given_runs_approval_is_answered_by_approve_and_without_it_the_world_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a world that runs the worked example's shift (approval before 100%) before the run
    world = tmp_path / "world.json"
    world.write_text(
        json.dumps(
            [
                {"include": str(EXAMPLES / "checkout-given.json")},
                {"run": "WeightShiftStateMachine", "input": str(EXAMPLES / "checkout-shift.json")},
            ]
        )
    )
    argv = ["local", "WeightShiftStateMachine", "--input", str(EXAMPLES / "checkout-shift.json"), "--given", str(world)]
    # When it runs with --approve, the given run's approval is answered too: the world is built at checkoutv2 100,
    # where the same shift again has nothing to do
    assert main([*argv, "--template", TEMPLATE, "--approve"]) == 0
    assert "checkoutv2 100" in capsys.readouterr().out
    # When it runs with neither --approve nor --reject, the given run's approval is rejected, not left waiting
    assert main([*argv, "--template", TEMPLATE]) == 2
    err = capsys.readouterr().err
    assert f"--given {world} entry 2: run WeightShiftStateMachine ended FAILED: ApprovalRejected" in err
    assert err.rstrip().endswith(
        "(a given run's approvals are answered by --approve or --reject; with neither, they are rejected)"
    )


def test_an_account_with_step_calls_is_collected_once_closed() -> None:
    import gc
    import weakref

    from mesh_rollout_local import given
    from mesh_rollout_local.runner import OfflineAccount

    # Given an account whose world has calls at a step (given.py keeps them by account, weakly)
    world = json.loads((EXAMPLES / "checkout-fails-at-50-given.json").read_text())
    with OfflineAccount(TEMPLATE) as account:
        account.apply_given(world, EXAMPLES)
        assert given.steps_not_reached(account) == [50.0]
    # When it is closed and nothing else refers to it
    gone = weakref.ref(account)
    del account
    gc.collect()
    # Then it is collected (the calls kept for it do not keep it alive)
    assert gone() is None
