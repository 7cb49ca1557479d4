"""docs/deploying.md holds: the deployer's policy covers the template, its AWS CLI commands follow botocore's models,
samconfig.toml has a profile per backend, and every CLI command that calls AWS takes --profile."""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

import botocore.session
import cfnlint
import jmespath
from botocore.model import Shape

from tests.conftest import ROOT

POLICY = json.loads((ROOT / "docs" / "deployer-policy.json").read_text())
DEPLOYING = (ROOT / "docs" / "deploying.md").read_text()
CFN_LINT_SCHEMAS = Path(cfnlint.__path__[0]) / "data" / "schemas"

# Permissions a resource type's CloudFormation handlers list for features this template does not use (checked below
# against the transformed template where it can be): the policy leaves them out.
UNUSED = {
    "s3:REST.PUT.OBJECT": "not an IAM action (an S3 access-log operation name in the AWS::Logs::LogGroup schema)",
    "firehose:TagDeliveryStream": "log groups delivering to Firehose: none",
    "iam:AttachGroupPolicy": "AWS::IAM::ManagedPolicy attached to groups: ours attach to roles only",
    "iam:DetachGroupPolicy": "AWS::IAM::ManagedPolicy attached to groups: ours attach to roles only",
    "iam:AttachUserPolicy": "AWS::IAM::ManagedPolicy attached to users: ours attach to roles only",
    "iam:DetachUserPolicy": "AWS::IAM::ManagedPolicy attached to users: ours attach to roles only",
    "iam:CreateServiceLinkedRole": "DynamoDB global-table replicas: none",
    "dynamodb:CreateTableReplica": "DynamoDB global-table replicas: none",
    "dynamodb:AssociateTableReplica": "DynamoDB global-table replicas: none",
    "dynamodb:ImportTable": "a DynamoDB table imported from S3: none",
    "dynamodb:DescribeImport": "a DynamoDB table imported from S3: none",
    "s3:GetObjectMetadata": "a DynamoDB table imported from S3: none",
    "dynamodb:EnableKinesisStreamingDestination": "DynamoDB streaming to Kinesis: none",
    "dynamodb:DisableKinesisStreamingDestination": "DynamoDB streaming to Kinesis: none",
    "dynamodb:UpdateKinesisStreamingDestination": "DynamoDB streaming to Kinesis: none",
    "dynamodb:DescribeKinesisStreamingDestination": "DynamoDB streaming to Kinesis: none",
    "kinesis:DescribeStream": "DynamoDB streaming to Kinesis: none",
    "kinesis:PutRecords": "DynamoDB streaming to Kinesis: none",
    "elasticfilesystem:DescribeMountTargets": "a Lambda function with a file system: none",
    "s3files:ListMountTargets": "a Lambda function with a file system: none",
    "logs:PutIndexPolicy": "log groups with field index policies (FieldIndexPolicies): none",
    "logs:DeleteIndexPolicy": "log groups with field index policies (FieldIndexPolicies): none",
}


def transformed_template() -> dict[str, Any]:
    """template.yaml as CloudFormation receives it, after the SAM transform (tools/transform_template.py's way)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import transform_template
    finally:
        sys.path.remove(str(ROOT / "tools"))
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = transform_template.packaged(yaml_parse((ROOT / "template.yaml").read_text()))
    return transform(template, {}, transform_template.NoManagedPolicies())  # type: ignore[no-any-return]


def sam_template() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse((ROOT / "template.yaml").read_text())  # type: ignore[no-any-return]


def handler_permissions(resource_type: str) -> set[str]:
    """The create, update and delete handlers' permissions of a resource type's registry schema (cfn-lint's copy)."""
    index = json.loads((CFN_LINT_SCHEMAS / "providers" / "us-east-1.json").read_text())
    schema = json.loads((CFN_LINT_SCHEMAS / "resources" / f"{index[resource_type]}.json").read_text())
    handlers = schema.get("handlers", {})
    return {p for h in ("create", "update", "delete") for p in handlers.get(h, {}).get("permissions", [])}


def resources(statement: dict[str, Any]) -> list[str]:
    return statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]


def allows(action: str, arn: str) -> bool:
    """Whether an Allow statement without a condition matches `action` on `arn` (IAM's wildcards in the ARN)."""
    return any(
        "Condition" not in statement and any(fnmatch.fnmatchcase(arn, r) for r in resources(statement))
        for statement in allowed(action)
    )


def allowed(action: str) -> list[dict[str, Any]]:
    """The policy's Allow statements whose Action matches `action` (IAM's case-insensitive wildcards)."""
    found = []
    for statement in POLICY["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions):
            found.append(statement)
    return found


def test_the_deployer_policy_allows_every_resource_types_create_update_and_delete() -> None:
    template = transformed_template()
    types = sorted({r["Type"] for r in template["Resources"].values()})
    assert "AWS::Lambda::Function" in types and not [t for t in types if t.startswith("AWS::Serverless::")]
    missing = {
        (resource_type, permission)
        for resource_type in types
        for permission in handler_permissions(resource_type)
        if permission not in UNUSED and not allowed(permission)
    }
    assert not missing, sorted(missing)


def test_the_unused_features_are_unused() -> None:
    resources = transformed_template()["Resources"].values()
    properties: dict[str, list[dict[str, Any]]] = {r["Type"]: [] for r in resources}
    for resource in resources:
        properties[resource["Type"]].append(resource.get("Properties", {}))
    assert not any("Groups" in p or "Users" in p for p in properties["AWS::IAM::ManagedPolicy"])
    assert not any(
        {"Replicas", "ImportSourceSpecification", "KinesisStreamSpecification"} & set(p)
        for p in properties["AWS::DynamoDB::Table"]
    )
    assert not any("FileSystemConfigs" in p for p in properties["AWS::Lambda::Function"])
    assert not any("DataProtectionPolicy" in p and "firehose" in json.dumps(p) for p in properties["AWS::Logs::LogGroup"])
    assert not any("FieldIndexPolicies" in p for p in properties["AWS::Logs::LogGroup"])


def test_the_deployer_policy_is_scoped() -> None:
    statements = POLICY["Statement"]
    assert all(s["Effect"] == "Allow" for s in statements)
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9.]+", a) for a in actions), actions  # no wildcard action
    (pass_role,) = allowed("iam:PassRole")
    assert pass_role["Resource"] == "arn:aws:iam::111122223333:role/mesh-rollout*"
    assert set(pass_role["Condition"]["StringEquals"]["iam:PassedToService"]) == {
        "lambda.amazonaws.com",
        "states.amazonaws.com",
        "scheduler.amazonaws.com",
    }
    for action in ("lambda:CreateFunction", "iam:CreateRole", "dynamodb:CreateTable", "sns:CreateTopic"):
        (statement,) = allowed(action)
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert all("mesh-rollout*" in r for r in resources), (action, resources)
    assert allowed("cloudformation:CreateChangeSet")
    transform = "arn:aws:cloudformation:*:aws:transform/Serverless-2016-10-31"
    assert any(s["Resource"] == transform for s in allowed("cloudformation:CreateChangeSet"))
    (layer,) = allowed("ssm:GetParameters")
    parameter = re.search(r"resolve:ssm:([^}]+)", json.dumps(sam_template()["Globals"]))
    assert parameter is not None and fnmatch.fnmatchcase(f"arn:aws:ssm:us-west-2:*:parameter{parameter[1]}", layer["Resource"])


def test_the_state_machines_statement_names_the_templates_state_machines() -> None:
    """CloudFormation names a state machine without StateMachineName `<LogicalId>-<suffix>` (the Name return value,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-stepfunctions-statemachine.html#aws-resource-stepfunctions-statemachine-return-values):
    the statement is scoped to the transformed template's state machines' logical IDs, one each."""
    state_machines = {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in transformed_template()["Resources"].items()
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
    }
    assert state_machines and not [i for i, p in state_machines.items() if "StateMachineName" in p]
    (statement,) = allowed("states:CreateStateMachine")
    assert sorted(resources(statement)) == sorted(
        f"arn:aws:states:*:111122223333:stateMachine:{logical_id}-*" for logical_id in state_machines
    )
    for action in statement["Action"]:
        assert allows(action, "arn:aws:states:us-east-1:111122223333:stateMachine:WeightShiftStateMachine-Ab12Cd34Ef56")
    assert not allows("states:CreateStateMachine", "arn:aws:states:us-east-1:111122223333:stateMachine:someone-elses")


def test_every_scoped_action_has_a_resource_type_to_scope_by() -> None:
    """An action IAM authorizes on no resource type is granted only by Resource "*": in a scoped statement it is never
    granted (the Resource types column of the Service Authorization Reference, as cfn-lint's Policies.json copies it,
    https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
    Actions newer than cfn-lint's copy are not checked."""
    known = json.loads((CFN_LINT_SCHEMAS.parent / "AdditionalSpecs" / "Policies.json").read_text())
    unscoped = []
    for statement in POLICY["Statement"]:
        if resources(statement) == ["*"]:
            continue
        for action in statement["Action"]:
            service, name = action.split(":")
            actions = {a.lower(): v for a, v in known.get(service, {}).get("Actions", {}).items()}
            if name.lower() in actions and not actions[name.lower()].get("Resources"):
                unscoped.append((statement["Sid"], action))
    assert not unscoped, unscoped


def test_roles_are_passed_only_to_the_services_that_assume_them() -> None:
    template = transformed_template()
    trusted = set()
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::Role":
            for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                services = statement.get("Principal", {}).get("Service", [])
                trusted |= {services} if isinstance(services, str) else set(services)
    assert trusted == {"lambda.amazonaws.com", "states.amazonaws.com", "scheduler.amazonaws.com"}
    (pass_role,) = allowed("iam:PassRole")
    assert set(pass_role["Condition"]["StringEquals"]["iam:PassedToService"]) == trusted


# The S3 calls SAM CLI's uploader makes on the artifacts bucket's objects (sam deploy uploads, sam delete deletes the
# stack's template and code), and the IAM action each needs
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html). get_object_tagging reads
# a signed artifact's version: code signing only, and samconfig.toml's profiles sign nothing.
SAM_UPLOADER_S3_CALLS = {
    "head_object": "s3:GetObject",
    "delete_object": "s3:DeleteObject",
    "list_objects_v2": "s3:ListBucket",
    "get_object_tagging": None,
    "meta": None,  # the client's endpoint, no call
}
SAM_BUCKET = "arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-0123456789ab"


def test_the_policy_allows_sam_clis_calls_on_its_bucket() -> None:
    import samcli.lib.package.s3_uploader as uploader

    calls = set(re.findall(r"self\.s3\.(\w+)", Path(uploader.__file__).read_text()))
    assert calls <= set(SAM_UPLOADER_S3_CALLS), calls - set(SAM_UPLOADER_S3_CALLS)
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    profiles = [c for c in config.values() if isinstance(c, dict)]  # but `version`
    assert not any("signing_profiles" in c.get("deploy", {}).get("parameters", {}) for c in profiles)
    for call, action in SAM_UPLOADER_S3_CALLS.items():
        if action is not None and call in calls:
            arn = SAM_BUCKET if action == "s3:ListBucket" else f"{SAM_BUCKET}/mesh-rollout-prod/0123abcd.template"
            assert allows(action, arn), (call, action)
    assert allows("s3:PutObject", f"{SAM_BUCKET}/mesh-rollout-prod/0123abcd")  # the transfer manager's upload


def test_the_policy_allows_tagging_the_stacks_the_profiles_tag() -> None:
    """Stack tags in CreateChangeSet: CloudFormation authorizes cloudformation:TagResource on the stack as it tags it
    (the condition key cloudformation:CreateAction,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html)."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    tagged = [e for e, c in config.items() if isinstance(c, dict) and c.get("deploy", {}).get("parameters", {}).get("tags")]
    assert tagged
    for environment in tagged:
        name = config[environment]["global"]["parameters"]["stack_name"]
        assert allows("cloudformation:TagResource", f"arn:aws:cloudformation:us-east-1:111122223333:stack/{name}/a1b2")
    # SAM CLI's own stack, created with the ManagedStackSource tag
    assert allows(
        "cloudformation:TagResource", "arn:aws:cloudformation:us-east-1:111122223333:stack/aws-sam-cli-managed-default/a1"
    )


def test_the_policy_fits_a_roles_inline_policies() -> None:
    # IAM counts the characters but whitespace (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)
    size = len(re.sub(r"\s", "", json.dumps(POLICY)))
    assert 6_144 < size < 10_240, size  # more than a managed policy, less than a role's inline policies (docs/deploying.md)


# --- the AWS CLI commands that find a route's ARNs and IDs ---------------------------------------------------
GLOBAL_OPTIONS = {"--query", "--output", "--profile", "--region"}


def aws_commands() -> list[list[str]]:
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", DEPLOYING, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.findall(r"(?:\$\()?(aws (?:elbv2|vpc-lattice) [^)]*)", line):
                commands.append(shlex.split(part))
    return commands


def query_problems(node: dict[str, Any], shape: Shape | None, where: str) -> list[str]:
    """Every field of a JMESPath AST that the output shape does not have (a tolerant walk: literals, indexes)."""
    kind, children = node["type"], node.get("children", [])
    if kind == "field":
        members = getattr(shape, "members", {})
        return [] if node["value"] in members else [f"{where}: no field {node['value']!r} (has {sorted(members)})"]
    if kind == "subexpression":
        left, right = children
        return query_problems(left, shape, where) + query_problems(right, field_shape(left, shape), where)
    if kind in ("projection", "filter_projection"):
        left, right = children[0], children[1]
        listed = field_shape(left, shape)
        element = getattr(listed, "member", None)
        problems = query_problems(left, shape, where) + query_problems(right, element, where)
        if kind == "filter_projection":
            problems += query_problems(children[2], element, where)
        return problems
    if kind in ("index_expression",):
        left, right = children
        listed = field_shape(left, shape)
        return query_problems(left, shape, where) + query_problems(right, getattr(listed, "member", None), where)
    if kind in ("multi_select_list", "comparator", "and_expression", "or_expression", "not_expression"):
        return [p for child in children for p in query_problems(child, shape, where)]
    return []  # identity, literal, index, current, flatten's own node


def field_shape(node: dict[str, Any], shape: Shape | None) -> Shape | None:
    """The shape a projection's left side evaluates to."""
    if node["type"] == "field":
        return getattr(shape, "members", {}).get(node["value"])
    if node["type"] == "subexpression":
        return field_shape(node["children"][1], field_shape(node["children"][0], shape))
    if node["type"] == "index_expression":  # one element of the list
        return getattr(field_shape(node["children"][0], shape), "member", None)
    if node["type"] in ("flatten", "projection"):  # still the list: the projection takes its elements
        return field_shape(node["children"][0], shape)
    return shape


def test_the_commands_that_find_the_route_follow_botocores_models() -> None:
    commands = aws_commands()
    assert {(c[1], c[2]) for c in commands} == {
        ("elbv2", "describe-load-balancers"),
        ("elbv2", "describe-listeners"),
        ("elbv2", "describe-rules"),
        ("elbv2", "describe-target-groups"),
        ("vpc-lattice", "list-services"),
        ("vpc-lattice", "list-listeners"),
        ("vpc-lattice", "list-rules"),
        ("vpc-lattice", "list-target-groups"),
    }
    session = botocore.session.get_session()
    problems = []
    for argv in commands:
        model = session.get_service_model(argv[1])
        operations = {botocore.xform_name(name, "-"): name for name in model.operation_names}
        assert argv[2] in operations, argv
        operation = model.operation_model(operations[argv[2]])
        inputs = {botocore.xform_name(name, "-") for name in getattr(operation.input_shape, "members", {})}
        options = [a for a in argv[3:] if a.startswith("--")]
        problems += [f"{argv[2]}: no option {o}" for o in options if o not in GLOBAL_OPTIONS and o[2:] not in inputs]
        query = argv[argv.index("--query") + 1] if "--query" in argv else None
        if query is not None:
            problems += query_problems(jmespath.compile(query).parsed, operation.output_shape, f"{argv[2]} --query {query}")
    assert not problems, problems


def test_the_query_check_finds_a_wrong_field() -> None:
    shape = botocore.session.get_session().get_service_model("elbv2").operation_model("DescribeRules").output_shape
    assert query_problems(jmespath.compile("Rules[].[Priority,RuleArn]").parsed, shape, "q") == []
    (problem,) = query_problems(jmespath.compile("Rules[?Prio=='10'].RuleArn").parsed, shape, "q")
    assert problem.startswith("q: no field 'Prio'")


# --- samconfig.toml ----------------------------------------------------------------------------------------
def test_samconfig_has_a_lattice_and_an_alb_profile_scoped_to_their_route() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    template = sam_template()
    names = set()
    for environment, scoped in (("prod", "MeshName"), ("lattice", "LatticeServiceId"), ("alb", "LoadBalancerName")):
        deploy = config[environment]["deploy"]["parameters"]
        overrides = dict(pair.split("=", 1) for pair in shlex.split(deploy["parameter_overrides"]))
        assert set(overrides) <= set(template["Parameters"]), environment
        parameter = template["Parameters"][scoped]
        assert overrides[scoped] != "*" and re.fullmatch(parameter.get("AllowedPattern", ".*"), overrides[scoped])
        assert (
            overrides["ClusterName"] != "*"
            and deploy["capabilities"] == config["default"]["deploy"]["parameters"]["capabilities"]
        )
        assert deploy["resolve_s3"] is True and deploy["confirm_changeset"] is True
        names.add(config[environment]["global"]["parameters"]["stack_name"])
    assert names == {"mesh-rollout-prod", "mesh-rollout-lattice", "mesh-rollout-alb"}  # the policy's mesh-rollout* prefix
    assert "--config-env lattice" in DEPLOYING and "--config-env" in DEPLOYING


# --- --profile on every command that calls AWS -----------------------------------------------------------------
OFFLINE = {"local": "runs in an emulated account", "lattice-input": "writes an input from a template, no AWS call"}


def test_every_command_that_calls_aws_takes_profile_region_and_output() -> None:
    from mesh_rollout_local.cli import parser

    (commands,) = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in commands.choices.items():
        options = {o for action in command._actions for o in action.option_strings}
        if name in OFFLINE:
            assert "--profile" not in options, name
            continue
        assert {"--profile", "--region", "--output"} <= options, f"mesh-rollout {name} calls AWS without --profile"
    assert {"start", "status", "approve", "reject", "abort", "list"} <= set(commands.choices)
