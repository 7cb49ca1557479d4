"""The IAM evaluator tests/offline/test_iam.py relies on: IAM's wildcards, conditions, Deny, intrinsics resolved against a
stack, and the requests derived from calls. No emulated account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mesh_rollout_local.iam_policy import (
    NotEvaluated,
    Request,
    Statement,
    arn_match,
    condition_holds,
    decide,
    role_statements,
    wildcard_match,
)
from mesh_rollout_local.iam_requests import Stack, UnknownCall, requests
from mesh_rollout_local.template import Template

TABLE = "arn:aws:dynamodb:us-west-2:123456789012:table/locks"
STACK = Stack("us-west-2", "123456789012", topic_keys={"arn:aws:sns:us-west-2:123456789012:t": "arn:aws:kms:k"})


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("service/apps/*", "service/apps/serviceB", True),
        ("service/apps/*", "service/apps/a/b", True),  # * spans slashes
        ("service/apps/*", "service/apps2/serviceB", False),
        ("rule/?", "rule/1", True),
        ("rule/?", "rule/12", False),  # ? is exactly one character
        ("table/Locks", "table/locks", False),  # case-sensitive
        ("a.b+c", "a.b+c", True),  # regex characters are literal
        ("a.b", "axb", False),
    ],
)
def test_wildcards(pattern: str, value: str, expected: bool) -> None:
    assert wildcard_match(pattern, value) is expected


def test_action_names_match_without_regard_to_case() -> None:
    assert wildcard_match("DynamoDB:Get*", "dynamodb:GetItem", case_sensitive=False)
    assert not wildcard_match("dynamodb:Get*", "dynamodb:PutItem", case_sensitive=False)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*", True),
        (TABLE, True),
        ("arn:aws:dynamodb:*:123456789012:table/*", True),
        ("arn:aws:dynamodb:us-west-2:123456789012:table/lock?", True),
        ("arn:aws:dynamodb:us-west-2:123456789012:table/other", False),
        ("arn:aws:dynamodb:us-west-2:*", False),  # a wildcard does not stand for the parts after it
        ("arn:aws:dynamodb:us-*:table/locks", False),
        ("arn:aws:dynamodb:us-west-2:210987654321:table/locks", False),
    ],
)
def test_arns_match_part_by_part(pattern: str, expected: bool) -> None:
    assert arn_match(pattern, TABLE) is expected


def test_conditions_need_every_operator_and_any_value_of_a_key() -> None:
    context = {"iam:PassedToService": "ecs-tasks.amazonaws.com", "ecs:cluster": "arn:aws:ecs:us-west-2:1:cluster/apps"}
    assert condition_holds({"StringEquals": {"iam:PassedToService": ["ecs.amazonaws.com", "ecs-tasks.amazonaws.com"]}}, context)
    assert not condition_holds({"StringEquals": {"iam:PassedToService": "ECS-TASKS.amazonaws.com"}}, context)
    assert condition_holds({"StringLike": {"iam:PassedToService": "ecs-*"}}, context)
    assert condition_holds({"ArnLike": {"ecs:cluster": "arn:aws:ecs:*:1:cluster/app?"}}, context)
    assert not condition_holds({"ArnLike": {"ecs:cluster": "arn:aws:ecs:*:1:cluster/other"}}, context)
    assert condition_holds({"ArnEquals": {"ecs:cluster": "arn:aws:ecs:*:1:cluster/apps"}}, context)  # as ArnLike
    assert not condition_holds({"ArnLike": {"ecs:cluster": "arn:aws:ecs:*"}}, context)
    assert not condition_holds({"ArnNotLike": {"ecs:cluster": "arn:aws:ecs:*:1:cluster/*"}}, context)
    assert not condition_holds({"StringNotEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}, context)
    both = {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}, "ArnLike": {"ecs:cluster": "*/other"}}
    assert not condition_holds(both, context)


def test_a_condition_key_the_request_does_not_carry_is_not_decided() -> None:
    assert condition_holds({"StringEquals": {"aws:ResourceTag/team": "a"}}, {}) is None
    assert condition_holds({"StringNotEquals": {"aws:ResourceTag/team": "a"}}, {}) is None
    # a key that fails decides, whatever the others
    assert condition_holds({"StringEquals": {"aws:ResourceTag/team": "a", "k": "x"}}, {"k": "y"}) is False
    with pytest.raises(NotEvaluated, match="NumericLessThan"):
        condition_holds({"NumericLessThan": {"k": "1"}}, {"k": "0"})


def _statement(**raw: object) -> Statement:
    return Statement.parse({"Effect": "Allow", **raw})


def test_decisions_deny_wins_then_allow_then_implicit_deny() -> None:
    put = Request("dynamodb:PutItem", TABLE)
    allow = _statement(Action=["dynamodb:PutItem", "dynamodb:GetItem"], Resource=TABLE)
    deny = Statement.parse({"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"})
    assert decide([allow], put) == "allowed"
    assert decide([allow, deny], put) == "explicitly denied"
    assert decide([allow], Request("dynamodb:DeleteItem", TABLE)) == "denied"
    assert decide([allow], Request("dynamodb:PutItem", TABLE + "2")) == "denied"
    assert decide([], put) == "denied"


def test_not_resource_and_not_action() -> None:
    everything_but = _statement(Action="dynamodb:*", NotResource=TABLE)
    assert decide([everything_but], Request("dynamodb:PutItem", TABLE)) == "denied"
    assert decide([everything_but], Request("dynamodb:PutItem", TABLE + "2")) == "allowed"
    all_but_delete = _statement(NotAction="dynamodb:Delete*", Resource="*")
    assert decide([all_but_delete], Request("dynamodb:DeleteItem", TABLE)) == "denied"
    assert decide([all_but_delete], Request("dynamodb:GetItem", TABLE)) == "allowed"


def test_an_allow_whose_condition_cannot_be_decided_leaves_the_request_undecided() -> None:
    tagged = _statement(Action="ecs:UpdateService", Resource="*", Condition={"StringEquals": {"aws:ResourceTag/a": "b"}})
    assert decide([tagged], Request("ecs:UpdateService", "arn:aws:ecs:r:1:service/c/s")) == "not evaluated"


def test_a_statement_with_an_element_the_evaluator_does_not_read_is_refused() -> None:
    with pytest.raises(NotEvaluated):
        Statement.parse({"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"})


def test_role_statements_resolve_the_templates_intrinsics(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        """
Parameters:
  ClusterName: {Type: String, Default: "*"}
  Roles: {Type: CommaDelimitedList, Default: ""}
Conditions:
  AnyRole: !Equals [!Join ["", !Ref Roles], ""]
Resources:
  Locks: {Type: AWS::DynamoDB::Table, Properties: {}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: h.handler
      Policies:
        - Statement:
            - Sid: Lock
              Effect: Allow
              Action: dynamodb:PutItem
              Resource: !GetAtt Locks.Arn
            - Sid: Services
              Effect: Allow
              Action: ecs:UpdateService
              Resource: !Sub arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/${ClusterName}/*
            - Sid: Pass
              Effect: Allow
              Action: iam:PassRole
              Resource: !If [AnyRole, !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*", !Ref Roles]
              Condition: {StringEquals: {iam:PassedToService: ecs-tasks.amazonaws.com}}
"""
    )
    template = Template(tmp_path / "template.yaml")
    stack = {
        "AWS::Partition": "aws",
        "AWS::Region": "us-west-2",
        "AWS::AccountId": "123456789012",
        "Locks.Arn": TABLE,
        "ClusterName": "apps",
        "Roles": ["arn:aws:iam::123456789012:role/task"],
    }
    lock, services, passing = role_statements(template, "Fn", stack)
    assert lock.resources == (TABLE,)
    assert services.resources == ("arn:aws:ecs:us-west-2:123456789012:service/apps/*",)
    assert passing.resources == ("arn:aws:iam::123456789012:role/task",)
    assert decide([passing], Request("iam:PassRole", "arn:aws:iam::123456789012:role/other", {})) == "denied"
    any_role = role_statements(template, "Fn", {**stack, "Roles": [""]})[2]
    assert any_role.resources == ("arn:aws:iam::123456789012:role/*",)


def test_requests_of_a_task_definition_registration() -> None:
    params = {"family": "web", "taskRoleArn": "arn:aws:iam::1:role/t", "tags": [{"key": "a", "value": "b"}]}
    found = requests("ecs", "RegisterTaskDefinition", params, STACK)
    assert [(r.action, r.resource, r.context) for r in found] == [
        ("ecs:RegisterTaskDefinition", "*", {}),
        ("iam:PassRole", "arn:aws:iam::1:role/t", {"iam:PassedToService": "ecs-tasks.amazonaws.com"}),
        (
            "ecs:TagResource",
            "arn:aws:ecs:us-west-2:123456789012:task-definition/web:*",
            {"ecs:CreateAction": "RegisterTaskDefinition"},
        ),
    ]


def test_requests_name_the_resources_of_the_call() -> None:
    def arns(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
        return [(r.action, r.resource) for r in requests(service, operation, params, STACK)]

    assert arns("ecs", "DescribeServices", {"cluster": "apps", "services": ["a", "arn:aws:ecs:r:1:service/x/b"]}) == [
        ("ecs:DescribeServices", "arn:aws:ecs:us-west-2:123456789012:service/apps/a"),
        ("ecs:DescribeServices", "arn:aws:ecs:r:1:service/x/b"),
    ]
    assert arns("appmesh", "UpdateRoute", {"meshName": "m", "virtualRouterName": "r", "routeName": "x"}) == [
        ("appmesh:UpdateRoute", "arn:aws:appmesh:us-west-2:123456789012:mesh/m/virtualRouter/r/route/x")
    ]
    assert arns(
        "vpc-lattice", "UpdateRule", {"serviceIdentifier": "svc-1", "listenerIdentifier": "l", "ruleIdentifier": "r"}
    ) == [("vpc-lattice:UpdateRule", "arn:aws:vpc-lattice:us-west-2:123456789012:service/svc-1/listener/l/rule/r")]
    assert arns("route53", "ChangeResourceRecordSets", {"HostedZoneId": "/hostedzone/Z1"}) == [
        ("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z1")
    ]
    transaction = {"TransactItems": [{"Delete": {"TableName": "locks"}}, {"Put": {"TableName": TABLE}}]}
    assert arns("dynamodb", "TransactWriteItems", transaction) == [("dynamodb:DeleteItem", TABLE), ("dynamodb:PutItem", TABLE)]
    assert arns("sns", "Publish", {"TopicArn": "arn:aws:sns:us-west-2:123456789012:t"}) == [
        ("sns:Publish", "arn:aws:sns:us-west-2:123456789012:t"),
        ("kms:GenerateDataKey", "arn:aws:kms:k"),
        ("kms:Decrypt", "arn:aws:kms:k"),
    ]
    assert [(r.action, r.context) for r in requests("ecs", "ListServices", {}, STACK)] == [
        ("ecs:ListServices", {"ecs:cluster": "arn:aws:ecs:us-west-2:123456789012:cluster/default"})
    ]
    assert requests("sts", "GetCallerIdentity", {}, STACK) == []


def test_a_call_whose_resources_are_not_derived_is_refused() -> None:
    with pytest.raises(UnknownCall, match=r"ecs\.DeleteService"):
        requests("ecs", "DeleteService", {"service": "a"}, STACK)
