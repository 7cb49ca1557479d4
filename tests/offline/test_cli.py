"""`mesh-rollout local`: output, --dump, --repeat and the exit code."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from mesh_rollout_local.cli import main
from tests.conftest import EVENTS, ROOT


def run_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], execution_input: Any, *extra: str
) -> tuple[int, str, dict[str, Any]]:
    input_file = tmp_path / "input.json"
    input_file.write_text(execution_input if isinstance(execution_input, str) else json.dumps(execution_input))
    dump = tmp_path / "dump.json"
    code = main(
        [
            "local",
            "MeshRolloutStateMachine",
            "--input",
            str(input_file),
            "--given",
            str(EVENTS / "local" / "apps-given.json"),
            "--template",
            str(ROOT / "template.yaml"),
            "--dump",
            str(dump),
            *extra,
        ]
    )
    return code, capsys.readouterr().out, json.loads(dump.read_text())


def test_repeat_dumps_every_run(tmp_path: Path, capsys: pytest.CaptureFixture[str], scenario: dict[str, Any]) -> None:
    began = time.monotonic()
    code, out, dump = run_cli(tmp_path, capsys, scenario, "--repeat", "2")
    took = time.monotonic() - began
    assert code == 0
    assert "  -> ValidateRollout" in out and "run 2: SUCCEEDED" in out
    # a line before the world is built, then its time and each run's own (parts of the command's, not more)
    assert out.startswith(f"building the offline account: deploying {ROOT / 'template.yaml'}, then ")
    ready = re.search(r"^offline account ready in (\d+\.\d) s$", out, re.MULTILINE)
    runs = [float(t) for t in re.findall(r"^run \d: SUCCEEDED in (\d+\.\d\d) s$", out, re.MULTILINE)]
    assert ready and len(runs) == 2 and float(ready.group(1)) + sum(runs) <= took
    changes = (
        "15 changes (appmesh: 1 CreateMesh, 1 CreateRoute, 3 CreateVirtualNode, 1 CreateVirtualRouter, "
        "2 CreateVirtualService, 1 UpdateVirtualService; ecs: 3 RegisterTaskDefinition, 3 UpdateService)"
    )
    assert re.findall(r"^  AWS calls by our handlers: \d+, (.*)$", out, re.MULTILINE) == [changes, "no changes"]
    rows = [line.split()[0] for line in out.splitlines() if line.startswith(("  serviceA", "  serviceB", "  apps/"))]
    assert rows == ["serviceA", "serviceB", "serviceBv2", "serviceB", "apps/serviceA", "apps/serviceB", "apps/serviceBv2"]
    assert "serviceB                   http2Route: serviceB 75, serviceBv2 25" in out
    assert set(dump) == {"status", "output", "error", "cause", "appmesh", "ecs", "vpcLattice", "elbv2", "apiCalls", "states"}
    assert (dump["status"], dump["error"], dump["cause"]) == ("SUCCEEDED", None, None)
    assert {k: len(v) for k, v in dump["appmesh"].items()} == {
        "meshes": 1,
        "virtualServices": 2,
        "virtualNodes": 3,
        "virtualRouters": 1,
        "routes": 1,
    }
    assert dump["appmesh"]["routes"][0]["routeName"] == "serviceB"
    assert len(dump["ecs"]["taskDefinitions"]) == 6 and len(dump["ecs"]["services"]) == 3
    assert {"run": 1, "service": "appmesh", "operation": "CreateMesh", "count": 1} in dump["apiCalls"]
    second_run_ops = {c["operation"] for c in dump["apiCalls"] if c["run"] == 2}
    assert second_run_ops and not {op for op in second_run_ops if op.startswith(("Create", "Update", "Register", "Delete"))}
    assert len(dump["states"]) == 2 and dump["states"][0][0] == "ValidateRollout"


def test_a_failed_run_exits_non_zero_and_still_dumps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scenario: dict[str, Any]
) -> None:
    """A well-formed input naming an ECS service the account does not have: the run finds it, before any change."""
    scenario["ecsServices"][0]["service"] = "serviceZ"
    code, out, dump = run_cli(tmp_path, capsys, scenario)
    assert code == 1
    assert "run 1: FAILED" in out and "error: EcsServiceNotFound" in out and "cause: ecsServices[0]" in out
    assert (dump["status"], dump["error"]) == ("FAILED", "EcsServiceNotFound")
    assert dump["states"] == [["ValidateRollout"]]
    assert dump["appmesh"]["meshes"] == []


def test_an_input_the_first_state_would_refuse_is_refused_before_the_world_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The state machine's own checks (the handler's functions), run before the offline account: one line, exit 2."""
    path = tmp_path / "input.json"
    path.write_text('{"mesh": {}}')
    assert main(["local", "MeshRolloutStateMachine", "--input", str(path), "--template", TEMPLATE]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"mesh-rollout: --input {path}: InvalidRolloutInput: mesh.meshName: Field required\n"


TEMPLATE = str(ROOT / "template.yaml")
SCENARIO = str(EVENTS / "mesh-rollout-apps.json")


@pytest.mark.parametrize(
    ("argv", "first_line"),
    [
        (
            ["local", "MeshRolloutStateMachine", "--input", "missing.json", "--template", TEMPLATE],
            "mesh-rollout: --input missing.json: no such file",
        ),
        (
            ["local", "MeshRolloutStateMachin", "--input", SCENARIO, "--template", TEMPLATE],
            "mesh-rollout: MeshRolloutStateMachin is not a state machine of "
            f"{TEMPLATE}: use one of EcsDeploymentStateMachine, EcsServiceRolloutStateMachine, LatticeRolloutStateMachine, "
            "MeshRolloutStateMachine, WeightShiftStateMachine",
        ),
        (
            ["local", "MeshRolloutStateMachine", "--input", SCENARIO, "--template", "nowhere/template.yaml"],
            "mesh-rollout: --template nowhere/template.yaml: no such file",
        ),
        (
            ["local", "MeshRolloutStateMachine", "--input", "file://BAD", "--template", TEMPLATE],
            "mesh-rollout: --input file://BAD: not JSON: Expecting ':' delimiter at line 1, column 22",
        ),
        (
            ["local", "MeshRolloutStateMachine", "--input", SCENARIO, "--given", "file://BAD", "--template", TEMPLATE],
            "mesh-rollout: --given file://BAD: not JSON: Expecting ':' delimiter at line 1, column 22",
        ),
        (
            ["local", "WeightShiftStateMachine", "--input", str(EVENTS / "weight-shift-alb.json"), "--template", TEMPLATE],
            f"mesh-rollout: --input {EVENTS / 'weight-shift-alb.json'}: has {{{{given:...}}}} references to a --given world's "
            "responses, and no --given",
        ),
    ],
)
def test_a_users_mistake_is_one_line_and_exit_code_2_before_any_world_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str], first_line: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"mesh": {"meshName" "apps"}}')
    monkeypatch.chdir(tmp_path)
    argv = [f"file://{bad}" if a == "file://BAD" else a for a in argv]
    first_line = first_line.replace("file://BAD", f"file://{bad}")
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [first_line] and captured.out == ""


def test_file_urls_are_read_as_the_aws_cli_reads_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    given = EVENTS / "local" / "apps-given.json"
    argv = [
        "local",
        "MeshRolloutStateMachine",
        "--input",
        f"file://{SCENARIO}",
        "--given",
        f"file://{given}",
        "--template",
        TEMPLATE,
    ]
    assert main(argv) == 0
    assert "run 1: SUCCEEDED" in capsys.readouterr().out


def test_the_command_line_loads_no_emulator_until_it_runs_offline() -> None:
    """`mesh-rollout --help`, start, status, approve and reject never import moto (seconds of start-up)."""
    code = (
        "import sys; import mesh_rollout_local.cli as cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'moto', 'boto3', 'botocore', 'yaml'}))"
    )
    import subprocess
    import sys

    found = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "local")},
    )
    assert found.stdout.splitlines()[-1] == "[]"


def test_a_run_with_nothing_to_do_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shift = ["--input", str(EVENTS / "weight-shift-apps.json"), "--given", str(EVENTS / "local" / "weight-shift-given.json")]
    code = main(
        ["local", "WeightShiftStateMachine", *shift, "--template", str(ROOT / "template.yaml"), "--approve", "--repeat", "2"]
    )
    out = capsys.readouterr().out
    assert code == 0
    second = out[out.index("run 2: SUCCEEDED in") :].splitlines()
    assert second[1] == "  NOTHING_TO_DO: already at the end of the plan (route apps/serviceB/serviceB at serviceBv2 100)"
    assert re.fullmatch(r"  AWS calls by our handlers: \d+, no changes", second[2])


GIVEN_MISTAKES = [
    ({"a": 1}, "--given GIVEN: must be a JSON list of calls, not dict (events/local/README.md)"),
    (["vpc"], "--given GIVEN entry 1: must be an object with service, operation and params (or include, or run)"),
    (
        [{"service": "ec3", "operation": "create_vpc"}],
        "--given GIVEN entry 1 (ec3.create_vpc): 'ec3' is not a boto3 service name (e.g. ecs, elbv2, vpc-lattice)",
    ),
    (
        [{"service": "ecs", "operation": "create_clustr"}],
        "--given GIVEN entry 1 (ecs.create_clustr): ecs has no operation 'create_clustr' (boto3's snake_case name); "
        "did you mean create_cluster?",
    ),
    (
        [{"service": "ecs", "operation": "create_cluster", "params": {"clusterNme": "shop"}}],
        "--given GIVEN entry 1 (ecs.create_cluster): Parameter validation failed: Unknown parameter in input: "
        '"clusterNme", must be one of: clusterName, tags, settings, configuration, capacityProviders, '
        "defaultCapacityProviderStrategy, serviceConnectDefaults",
    ),
    (
        [{"service": "ecs", "operation": "create_service", "params": {"serviceName": "web", "cluster": "nope"}}],
        "--given GIVEN entry 1 (ecs.create_service): An error occurred (ClusterNotFoundException) when calling the "
        "CreateService operation: Cluster not found.",
    ),
    (
        [
            {"service": "ec2", "operation": "create_vpc", "params": {"CidrBlock": "10.0.0.0/16"}, "saveAs": "vpc"},
            {"service": "ecs", "operation": "create_cluster", "params": {"clusterName": "{{given:vpcc.Vpc.VpcId}}"}},
        ],
        "--given GIVEN entry 2 (ecs.create_cluster): {{given:vpcc.Vpc.VpcId}}: no earlier given call was saved as 'vpcc'; "
        "did you mean vpc?",
    ),
    (
        [
            {"service": "ec2", "operation": "create_vpc", "params": {"CidrBlock": "10.0.0.0/16"}, "saveAs": "vpc"},
            {"service": "ecs", "operation": "create_cluster", "params": {"clusterName": "{{given:vpc.Vpcs[0].VpcId}}"}},
        ],
        "--given GIVEN entry 2 (ecs.create_cluster): {{given:vpc.Vpcs[0].VpcId}}: vpc has no Vpcs (it has ResponseMetadata, Vpc)",
    ),
]


@pytest.mark.parametrize(("given", "line"), GIVEN_MISTAKES)
def test_a_given_file_that_cannot_be_applied_is_one_line_naming_its_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: Any, line: str
) -> None:
    path = tmp_path / "given.json"
    path.write_text(json.dumps(given))
    shift = str(EVENTS / "weight-shift-apps.json")
    assert main(["local", "WeightShiftStateMachine", "--input", shift, "--given", str(path), "--template", TEMPLATE]) == 2
    assert capsys.readouterr().err.splitlines() == [f"mesh-rollout: {line.replace('GIVEN', str(path))}"]


def test_an_input_reference_to_nothing_the_world_saved_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shift = json.loads((EVENTS / "weight-shift-alb.json").read_text())
    path = tmp_path / "shift.json"
    path.write_text(json.dumps({**shift, "listenerArn": "{{given:listner.Listeners[0].ListenerArn}}"}))
    given = str(EVENTS / "local" / "alb-given.json")
    assert main(["local", "WeightShiftStateMachine", "--input", str(path), "--given", given, "--template", TEMPLATE]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"mesh-rollout: --input {path}: InvalidRolloutInput: listenerArn: {{{{given:listner.Listeners[0].ListenerArn}}}}: "
        "the --given world saves no 'listner'; did you mean listener?"
    ]


def test_the_ecs_table_has_an_envoy_column_only_in_a_world_with_the_sidecar() -> None:
    from mesh_rollout_local.report import _ecs_lines

    arn = "arn:aws:ecs:us-west-2:123456789012:"
    plain = {"taskDefinitionArn": f"{arn}task-definition/web:3", "containerDefinitions": [{"name": "app"}]}
    meshed = {
        "taskDefinitionArn": f"{arn}task-definition/api:2",
        "proxyConfiguration": {"containerName": "envoy"},
        "containerDefinitions": [
            {"name": "app"},
            {"name": "envoy", "environment": [{"name": "APPMESH_VIRTUAL_NODE_NAME", "value": "mesh/apps/virtualNode/api"}]},
        ],
    }

    def service(name: str, task_definition: dict[str, Any]) -> dict[str, Any]:
        deployment = {"status": "PRIMARY", "rolloutState": "COMPLETED"}
        return {
            "serviceArn": f"{arn}service/shop/{name}",
            "serviceName": name,
            "clusterArn": f"{arn}cluster/shop",
            "taskDefinition": task_definition["taskDefinitionArn"],
            "deployments": [deployment],
        }

    assert _ecs_lines({"taskDefinitions": [plain], "services": [service("web", plain)]})[1:] == [
        f"  {'cluster/service':<28} {'task definition':<16} deployment",
        f"  {'shop/web':<28} {'web:3':<16} COMPLETED",
    ]
    both = _ecs_lines({"taskDefinitions": [plain, meshed], "services": [service("web", plain), service("api", meshed)]})
    assert both[1:] == [
        f"  {'cluster/service':<28} {'task definition':<16} {'envoy (virtual node)':<40} deployment",
        f"  {'shop/api':<28} {'api:2':<16} {'yes (mesh/apps/virtualNode/api)':<40} COMPLETED",
        f"  {'shop/web':<28} {'web:3':<16} {'no':<40} COMPLETED",
    ]


def test_an_ecs_deployments_progress_names_target_groups_weights_and_ecs_stage() -> None:
    from mesh_rollout_local.progress import ecs_weights, rule_target_names, task_facts

    blue = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/checkout-blue/49d11ffcf3493c01"
    green = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/checkout-green/d1b4ab2595f29544"
    deployment = "arn:aws:ecs:us-west-2:123456789012:service-deployment/apps/checkout/yXG56r6Q"
    read = {"serviceDeploymentArn": deployment, "polls": 2, "state": "PAUSED", "stage": "PRE_PRODUCTION_TRAFFIC_SHIFT"}
    assert task_facts({**read, "weights": {green: 20, blue: 80}}) == (
        "checkout-blue 80, checkout-green 20 (PRE_PRODUCTION_TRAFFIC_SHIFT)"
    )
    assert task_facts({**read, "weights": {green: 20, blue: 80}, "polls": 0, "decision": "ROLLBACK"}) == (
        "ROLLBACK at checkout-blue 80, checkout-green 20 (PRE_PRODUCTION_TRAFFIC_SHIFT)"
    )
    rolled_back = {**read, "state": "ROLLED_BACK", "stage": "CLEAN_UP", "statusReason": "alarm checkout-5xx in ALARM"}
    assert task_facts({**rolled_back, "weights": {blue: 100, green: 0}, "decision": "ROLLBACK"}) == (
        "checkout-blue 100, checkout-green 0 (CLEAN_UP): ROLLED_BACK, alarm checkout-5xx in ALARM"
    )
    lattice = "arn:aws:vpc-lattice:us-west-2:123456789012:targetgroup/tg-0123456789abcdef0"
    assert task_facts({**read, "weights": {lattice: 100}}) == "tg-0123456789abcdef0 100 (PRE_PRODUCTION_TRAFFIC_SHIFT)"
    # the plan's production rule names a Lattice rule's groups (the rule uses ids)
    plan = {"productionRule": {"backend": "lattice", "targets": {"checkout-blue": "tg-0123456789abcdef0"}}}
    assert rule_target_names({"plan": plan}) == {"tg-0123456789abcdef0": "checkout-blue"}
    assert ecs_weights({lattice: 100}, rule_target_names({"plan": plan})) == "checkout-blue 100"
    assert task_facts({"serviceDeploymentArn": deployment, "polls": 0, "state": "RUNNING"}) == ("ECS deployment yXG56r6Q started")
    assert task_facts({"lockId": "ecs:arn:aws:ecs:us-west-2:123456789012:service/apps/checkout", "owner": "x"}) == (
        "lock ecs:apps/checkout taken"
    )


def test_a_reader_that_stops_reading_ends_the_command_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mesh-rollout local ... | head -1`: the pipe breaks under the printer; exit 1, never a traceback."""
    from mesh_rollout_local import cli

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli.sys, "stdout", ClosedPipe())
    code = cli.main(["local", "WeightShiftStateMachine", "--input", str(ROOT / "examples" / "checkout-shift.json"), "--dry-run"])
    assert code == 1
    assert capsys.readouterr().err == ""
