"""What the shipped schedule (and pipeline) send, read from template.yaml, run offline to the expected result."""

from __future__ import annotations

import json
from typing import Any

from mesh_rollout.shifting.cleanup import state_output
from mesh_rollout_local.runner import OfflineAccount
from mesh_rollout_local.template import Template
from tests.conftest import EVENTS, ROOT, load_json
from tests.support import weights
from tests.support.routes import set_rule_weights

SM = "WeightShiftStateMachine"
TICK = (EVENTS / "weight-shift-step.json").read_text()
GUIDE_ROUTE = {"CanaryTickInput": TICK}


def schedule_input(account: OfflineAccount, **parameters: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the schedule's properties, the execution input it sends), with these stack parameters."""
    template = Template(ROOT / "template.yaml")
    context = {
        **template.parameter_defaults(),
        **parameters,
        SM: account.state_machine_arns[SM],
        "CanaryScheduleRole.Arn": "arn:aws:iam::123456789012:role/schedule",
        "AWS::StackName": account.deployed["AWS::StackName"],
    }
    schedule = template.resources["CanarySchedule"]
    assert schedule["Condition"] == "HasCanarySchedule"
    assert template.condition("HasCanarySchedule", context)
    properties = template.resolve(schedule["Properties"], context)
    return properties, json.loads(properties["Target"]["Input"])


def test_the_schedule_is_disabled_by_default_and_absent_without_a_route(shift_account: OfflineAccount) -> None:
    template = Template(ROOT / "template.yaml")
    assert not template.condition("HasCanarySchedule", template.parameter_defaults())
    properties, _ = schedule_input(shift_account, **GUIDE_ROUTE)
    assert properties["State"] == "DISABLED" and properties["ScheduleExpression"] == "rate(1 hour)"
    assert properties["Target"]["Arn"] == shift_account.state_machine_arns[SM]
    assert properties["Name"] == "mesh-rollout-local-canary"  # the stack's name first: the deployer policy scopes it so


def test_the_schedule_walks_the_guides_canary_up_then_its_ticks_do_nothing(shift_account: OfflineAccount) -> None:
    properties, tick = schedule_input(shift_account, **GUIDE_ROUTE)
    assert properties["Target"]["Input"] == TICK  # sent as given
    assert tick["mode"] == "increment" and tick["whenLocked"] == "skip" and tick["stepPercent"] == 25
    seen = []
    for _ in range(5):
        result = shift_account.run(SM, tick)
        assert result.status == "SUCCEEDED", result.cause
        seen.append(weights(shift_account))
    assert seen == [
        {"serviceB": 50, "serviceBv2": 50},
        {"serviceB": 25, "serviceBv2": 75},
        {"serviceB": 0, "serviceBv2": 100},
        {"serviceBv2": 100},
        {"serviceBv2": 100},
    ]
    assert result.output["status"] == "NOTHING_TO_DO" and result.mutating_calls() == {}


def test_the_schedule_drives_a_vpc_lattice_rule_with_the_same_parameter() -> None:
    from tests.conftest import load_json

    with OfflineAccount(ROOT / "template.yaml") as account:
        account.apply_given(load_json(EVENTS / "local" / "lattice-given.json"), EVENTS / "local")
        tick = {**json.loads(TICK), "serviceIdentifier": "serviceb", "listenerIdentifier": "http-80"}
        tick.update(ruleIdentifier="serviceb", stable="serviceb", canary="servicebv2", healthGate={"maxErrorRate": 0.01})
        for field in ("meshName", "virtualRouterName", "routeName"):
            tick.pop(field)
        _, sent = schedule_input(account, CanaryTickInput=json.dumps(tick))
        result = account.run(SM, sent)
        assert result.status == "SUCCEEDED", result.cause
        assert [s["weights"] for s in result.output["steps"]] == [{"serviceb": 50, "servicebv2": 50}]


def pipeline_sends(tmp_path: Any, **parameters: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the release action's configuration, the input it sends): the pipeline's own build commands (read from
    pipeline/template.yaml, docker left out) run with these parameters."""
    import os
    import shutil
    import subprocess

    import yaml

    pipeline = Template(ROOT / "pipeline" / "template.yaml")
    context = {
        **pipeline.parameter_defaults(),
        **parameters,
        "AWS::AccountId": "123456789012",
        "AWS::Region": "us-west-2",
        "AWS::URLSuffix": "amazonaws.com",
    }
    stages = {s["Name"]: s for s in pipeline.resources["Pipeline"]["Properties"]["Stages"]}
    (action,) = pipeline.resolve(stages["Release"]["Actions"], context)
    assert action["ActionTypeId"] == {"Category": "Invoke", "Owner": "AWS", "Provider": "StepFunctions", "Version": "1"}
    assert action["Configuration"]["InputType"] == "FilePath"
    project = pipeline.resources["Build"]["Properties"]
    buildspec = yaml.safe_load(project["Source"]["BuildSpec"])
    assert action["Configuration"]["Input"] in buildspec["artifacts"]["files"]
    commands = [c for c in buildspec["phases"]["build"]["commands"] if not c.startswith("docker ")]
    env = {v["Name"]: str(pipeline.resolve(v["Value"], context)) for v in project["Environment"]["EnvironmentVariables"]}
    shutil.copytree(ROOT / "pipeline", tmp_path / "pipeline")
    subprocess.run(
        ["bash", "-euc", "\n".join(commands)],
        cwd=tmp_path,
        env={**os.environ, **env, "TAG": "0123456789ab"},
        check=True,
    )
    return action, json.loads((tmp_path / action["Configuration"]["Input"]).read_text())


def test_the_pipeline_release_action_sends_what_its_build_writes_and_it_deploys(
    shift_account: OfflineAccount, tmp_path: Any
) -> None:
    """The pipeline's own build commands (read from pipeline/template.yaml) write the input its action sends."""
    arn = shift_account.state_machine_arns[SM]
    action, sent = pipeline_sends(tmp_path, WeightShiftStateMachineArn=arn)
    assert (action["Name"], action["Configuration"]["StateMachineArn"]) == ("CanaryWeightShift", arn)
    image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/servicebv2:0123456789ab"
    assert sent["imageDefinitions"] == [{"name": "app", "imageUri": image}]

    result = shift_account.run(SM, sent, approver=lambda pending: (True, "release"))
    assert result.status == "SUCCEEDED", result.cause  # the pipeline action succeeds only then
    ecs = shift_account.client("ecs")
    arn = ecs.describe_services(cluster="apps", services=["serviceBv2"])["services"][0]["taskDefinition"]
    task_definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    assert {c["name"]: c["image"] for c in task_definition["containerDefinitions"]}["app"] == image
    assert weights(shift_account) == {"serviceBv2": 100}


def test_the_pipeline_releases_an_image_as_an_ecs_native_deployment(tmp_path: Any) -> None:
    """With EcsDeploymentStateMachineArn, the same build writes an EcsDeploymentStateMachine input (the base's
    cluster, service, strategy and gate, plus the image) and that execution deploys it with ECS's LINEAR steps."""
    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True) as account:
        account.apply_given(load_json(EVENTS / "local" / "ecs-deployment-alb-given.json"), EVENTS / "local")
        arn = account.state_machine_arns["EcsDeploymentStateMachine"]
        action, sent = pipeline_sends(tmp_path, EcsDeploymentStateMachineArn=arn, ImageRepositoryName="checkout")
        assert (action["Name"], action["Configuration"]["StateMachineArn"]) == ("EcsDeployment", arn)
        image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/checkout:0123456789ab"
        base = load_json(ROOT / "pipeline" / "ecs-deployment-base.json")
        assert sent == {**base, "imageDefinitions": [{"name": "app", "imageUri": image}]}

        result = account.run("EcsDeploymentStateMachine", sent, approver=lambda pending: (True, "release"))
        assert result.status == "SUCCEEDED", result.cause  # the pipeline action succeeds only then
        ecs = account.client("ecs")
        service = ecs.describe_services(cluster="apps", services=["checkout"])["services"][0]
        task_definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        assert {c["name"]: c["image"] for c in task_definition["containerDefinitions"]}["app"] == image
        assert [step["percent"] for step in result.output["steps"]] == [0, 20, 40, 60, 80, 100]


def test_the_pipeline_releases_to_the_idle_lattice_service_with_the_lattice_base(tmp_path: Any) -> None:
    """ReleaseBaseFile=pipeline/release-base-lattice.json (the worked example's checkout route, `alternate`): the build's
    image goes to the service whose target group is at weight 0, and the traffic moves to it; both groups stay."""
    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True) as account:
        account.apply_given(load_json(ROOT / "examples" / "checkout-given.json"), ROOT / "examples")
        arn = account.state_machine_arns[SM]
        base_file = "pipeline/release-base-lattice.json"
        _, sent = pipeline_sends(
            tmp_path, WeightShiftStateMachineArn=arn, ReleaseBaseFile=base_file, ImageRepositoryName="checkout"
        )
        image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/checkout:0123456789ab"
        assert sent == {**load_json(ROOT / base_file), "imageDefinitions": [{"name": "app", "imageUri": image}]}

        result = account.run(SM, sent, approver=lambda pending: (True, "release"))
        assert result.status == "SUCCEEDED", result.cause
        plan = state_output(result.history, "PlanWeightShift")  # the roles the plan decided, which every state reads
        assert plan is not None and (plan["stable"], plan["canary"]) == ("checkout", "checkoutv2")
        assert _images(account, "shop", "checkout", "checkoutv2") == {"checkout": "example/checkout:1.4", "checkoutv2": image}
        assert result.output["steps"][-1]["weights"] == {"checkout": 0, "checkoutv2": 100}


def test_the_pipeline_releases_to_the_idle_alb_service_with_the_alb_base(tmp_path: Any) -> None:
    """ReleaseBaseFile=pipeline/release-base-alb.json, its listener and rule ARNs put in (as a team does): the same
    turn-taking on an ALB rule whose target groups are the base's checkout and checkoutv2 (the guide's ALB world with
    its two groups named so; its services serviceB and serviceBv2 registered in them), checkout holding the traffic."""
    names = {"serviceB": "checkout", "serviceBv2": "checkoutv2"}
    world = [
        {**call, "params": {**call["params"], "Name": names[call["params"]["Name"]]}}
        if call.get("operation") == "create_target_group"
        else call
        for call in load_json(EVENTS / "local" / "alb-given.json")
    ]
    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=True) as account:
        account.apply_given(world, EVENTS / "local")
        rule = account.saved["rule"]["Rules"][0]
        set_rule_weights(account, {"checkout": 100, "checkoutv2": 0})
        arn = account.state_machine_arns[SM]
        base_file = "pipeline/release-base-alb.json"
        _, sent = pipeline_sends(
            tmp_path, WeightShiftStateMachineArn=arn, ReleaseBaseFile=base_file, ImageRepositoryName="checkout"
        )
        image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/checkout:0123456789ab"
        assert sent == {**load_json(ROOT / base_file), "imageDefinitions": [{"name": "app", "imageUri": image}]}

        listener = account.saved["listener"]["Listeners"][0]["ListenerArn"]
        result = account.run(SM, {**sent, "listenerArn": listener, "ruleArn": rule["RuleArn"]}, approver=lambda p: (True, "go"))
        assert result.status == "SUCCEEDED", result.cause
        assert _images(account, "apps", "serviceB", "serviceBv2") == {"serviceB": "example/serviceb:1.0", "serviceBv2": image}
        assert result.output["steps"][-1]["weights"] == {"checkout": 0, "checkoutv2": 100}


def _images(account: OfflineAccount, cluster: str, *services: str) -> dict[str, str]:
    ecs, found = account.client("ecs"), {}
    for service in services:
        arn = ecs.describe_services(cluster=cluster, services=[service])["services"][0]["taskDefinition"]
        containers = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"]
        found[service] = {c["name"]: c["image"] for c in containers}["app"]
    return found
