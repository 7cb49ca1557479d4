"""The emulator's iam:SimulatePrincipalPolicy (emulator/iam.py) on the deployed offline stack, whose functions each have
the role SAM generates (`<Function>Role`, deploy.py): answers parsed by botocore with its validation on."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mesh_rollout_local.iam_policy import Request, decide, role_statements
from mesh_rollout_local.runner import OfflineAccount

ACCOUNT = "123456789012"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def role(emulated: OfflineAccount, name: str, **inline: str) -> str:
    iam = emulated.client("iam")
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    for policy_name, document in inline.items():
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=document)
    return arn


def simulate(emulated: OfflineAccount, **params: Any) -> list[dict[str, Any]]:
    """Every page's EvaluationResults."""
    pages = emulated.client("iam").get_paginator("simulate_principal_policy").paginate(**params)
    return [result for page in pages for result in page["EvaluationResults"]]


def lattice_rule(emulated: OfflineAccount, region: str = "us-west-2") -> str:
    service = emulated.deployed["LatticeServiceId"].replace("*", "svc-0123456789abcdef0")
    return f"arn:aws:vpc-lattice:{region}:{ACCOUNT}:service/{service}/listener/listener-1/rule/rule-1"


def test_each_function_has_the_role_sam_generates_and_getatt_names_it(emulated: OfflineAccount) -> None:
    iam, lam = emulated.client("iam"), emulated.client("lambda")
    for function, definition in emulated.template.functions.items():
        arn = f"arn:aws:iam::{ACCOUNT}:role/{function}Role"
        assert definition.generated_role == f"{function}Role"
        assert emulated.template.resolve({"Fn::GetAtt": [f"{function}Role", "Arn"]}, emulated.deployed) == arn
        assert iam.get_role(RoleName=f"{function}Role")["Role"]["Arn"] == arn
        assert lam.get_function(FunctionName=function)["Configuration"]["Role"] == arn
        documents = emulated.template.resources[function]["Properties"]["Policies"]
        names = iam.list_role_policies(RoleName=f"{function}Role")["PolicyNames"]
        assert names == [f"{function}RolePolicy{i}" for i in range(len(documents))]


def test_the_shift_traffic_role_may_update_a_lattice_rule_of_the_stacks_service(emulated: OfflineAccount) -> None:
    role_arn = emulated.deployed["ShiftTrafficFunctionRole.Arn"]
    rule = lattice_rule(emulated)
    (update, delete) = simulate(
        emulated, PolicySourceArn=role_arn, ActionNames=["vpc-lattice:UpdateRule", "ecs:DeleteService"], ResourceArns=[rule]
    )
    # the top level's EvalResourceName is an ARN template in AWS, "*" here (emulator/iam.py); the rule is in
    # ResourceSpecificResults
    assert (update["EvalActionName"], update["EvalResourceName"], update["EvalDecision"]) == (
        "vpc-lattice:UpdateRule",
        "*",
        "allowed",
    )
    assert update["MatchedStatements"] == [{"SourcePolicyId": "ShiftTrafficFunctionRolePolicy0", "SourcePolicyType": "role"}]
    assert update["ResourceSpecificResults"] == [
        {
            "EvalResourceName": rule,
            "EvalResourceDecision": "allowed",
            "MatchedStatements": update["MatchedStatements"],
            "MissingContextValues": [],
        }
    ]
    assert (delete["EvalActionName"], delete["EvalDecision"], delete["MatchedStatements"]) == (
        "ecs:DeleteService",
        "implicitDeny",
        [],
    )
    assert [(r["EvalResourceName"], r["EvalResourceDecision"]) for r in delete["ResourceSpecificResults"]] == [
        (rule, "implicitDeny")
    ]
    # the grant is the stack's Region's: the same rule elsewhere is not allowed
    (elsewhere,) = simulate(
        emulated,
        PolicySourceArn=role_arn,
        ActionNames=["vpc-lattice:UpdateRule"],
        ResourceArns=[lattice_rule(emulated, "eu-west-1")],
    )
    assert elsewhere["EvalDecision"] == "implicitDeny"


def test_without_resource_arns_the_resource_is_star(emulated: OfflineAccount) -> None:
    role_arn = emulated.deployed["ShiftTrafficFunctionRole.Arn"]
    listed, updated = simulate(
        emulated,
        PolicySourceArn=role_arn,
        ActionNames=["elasticloadbalancing:DescribeRules", "vpc-lattice:UpdateRule"],
    )
    assert (listed["EvalResourceName"], listed["EvalDecision"]) == ("*", "allowed")
    assert "ResourceSpecificResults" not in listed and listed["MissingContextValues"] == []
    assert updated["EvalDecision"] == "implicitDeny"  # granted on the stack's rules, not on "*"


def test_context_entries_decide_a_condition_and_a_missing_key_is_reported(emulated: OfflineAccount) -> None:
    role_arn = emulated.deployed["StartEcsDeploymentFunctionRole.Arn"]
    target = f"arn:aws:iam::{ACCOUNT}:role/ecsInfrastructureRole"

    def passed_to(*service: str) -> dict[str, Any]:
        context = [{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": list(service), "ContextKeyType": "string"}]
        (result,) = simulate(
            emulated,
            PolicySourceArn=role_arn,
            ActionNames=["iam:PassRole"],
            ResourceArns=[target],
            **({"ContextEntries": context} if service else {}),
        )
        return result

    assert passed_to("ecs.amazonaws.com")["EvalDecision"] == "allowed"
    assert passed_to("lambda.amazonaws.com")["EvalDecision"] == "implicitDeny"
    unknown = passed_to()
    assert (unknown["EvalDecision"], unknown["MatchedStatements"]) == ("implicitDeny", [])
    assert unknown["ResourceSpecificResults"][0]["MissingContextValues"] == ["iam:PassedToService"]
    assert unknown["MissingContextValues"] == ["iam:PassedToService"]  # the top level's: every resource's, once


def test_one_result_per_action_whose_top_level_is_the_most_restrictive_over_its_resources(emulated: OfflineAccount) -> None:
    """API_EvaluationResult: one EvaluationResult per action; its EvalDecision the most restrictive of its resources',
    MatchedStatements those that decided it, MissingContextValues every resource's once; each resource's own answer in
    ResourceSpecificResults."""
    kept = "arn:aws:ecs:us-west-2:123456789012:service/prod/kept"
    other = "arn:aws:ecs:us-west-2:123456789012:service/prod/other"
    tagged = "arn:aws:ecs:us-west-2:123456789012:service/test/tagged"
    arn = role(
        emulated,
        "aggregate-test",
        everything=policy({"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:*:*:service/prod/*"}),
        keep=policy({"Effect": "Deny", "Action": "ecs:DeleteService", "Resource": kept}),
        tagged=policy(
            {
                "Effect": "Allow",
                "Action": "ecs:*",
                "Resource": "arn:aws:ecs:*:*:service/test/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/team": "mesh"}},
            }
        ),
    )
    deleted, updated = simulate(
        emulated, PolicySourceArn=arn, ActionNames=["ecs:DeleteService", "ecs:UpdateService"], ResourceArns=[kept, other]
    )
    assert (deleted["EvalActionName"], deleted["EvalResourceName"], deleted["EvalDecision"]) == (
        "ecs:DeleteService",
        "*",
        "explicitDeny",
    )
    assert deleted["MatchedStatements"] == [{"SourcePolicyId": "keep", "SourcePolicyType": "role"}]
    assert deleted["EvalDecisionDetails"] == {}
    assert [
        (r["EvalResourceName"], r["EvalResourceDecision"], r["MatchedStatements"]) for r in deleted["ResourceSpecificResults"]
    ] == [
        (kept, "explicitDeny", [{"SourcePolicyId": "keep", "SourcePolicyType": "role"}]),
        (other, "allowed", [{"SourcePolicyId": "everything", "SourcePolicyType": "role"}]),
    ]
    assert (updated["EvalDecision"], updated["MatchedStatements"]) == (
        "allowed",
        [{"SourcePolicyId": "everything", "SourcePolicyType": "role"}],
    )
    assert [r["EvalResourceDecision"] for r in updated["ResourceSpecificResults"]] == ["allowed", "allowed"]
    # one resource undecided (its tag not given) and one allowed: implicitDeny, no statement, the key once
    (mixed,) = simulate(emulated, PolicySourceArn=arn, ActionNames=["ecs:UpdateService"], ResourceArns=[other, tagged, tagged])
    assert (mixed["EvalDecision"], mixed["MatchedStatements"], mixed["MissingContextValues"]) == (
        "implicitDeny",
        [],
        ["aws:ResourceTag/team"],
    )
    assert [(r["EvalResourceDecision"], r["MissingContextValues"]) for r in mixed["ResourceSpecificResults"]] == [
        ("allowed", []),
        ("implicitDeny", ["aws:ResourceTag/team"]),
        ("implicitDeny", ["aws:ResourceTag/team"]),
    ]


def test_an_explicit_deny_wins_and_is_the_only_matched_statement(emulated: OfflineAccount) -> None:
    arn = role(
        emulated,
        "deny-test",
        everything=policy({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        keep=policy({"Effect": "Deny", "Action": "ecs:Delete*", "Resource": "*"}),
    )
    deleted, described = simulate(emulated, PolicySourceArn=arn, ActionNames=["ecs:DeleteService", "ecs:DescribeServices"])
    assert (deleted["EvalDecision"], deleted["MatchedStatements"]) == (
        "explicitDeny",
        [{"SourcePolicyId": "keep", "SourcePolicyType": "role"}],
    )
    assert (described["EvalDecision"], described["MatchedStatements"]) == (
        "allowed",
        [{"SourcePolicyId": "everything", "SourcePolicyType": "role"}],
    )


def test_not_action_and_attached_managed_policies(emulated: OfflineAccount) -> None:
    iam = emulated.client("iam")
    arn = role(emulated, "managed-test")
    managed = iam.create_policy(
        PolicyName="all-but-iam", PolicyDocument=policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="managed-test", PolicyArn=managed)
    lattice = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForVpcLattice"
    iam.attach_role_policy(RoleName="managed-test", PolicyArn=lattice)
    results = simulate(emulated, PolicySourceArn=arn, ActionNames=["sqs:SendMessage", "iam:CreateUser"])
    assert [(r["EvalDecision"], r["MatchedStatements"]) for r in results] == [
        ("allowed", [{"SourcePolicyId": managed, "SourcePolicyType": "user-managed"}]),
        ("implicitDeny", []),
    ]
    target_group = f"arn:aws:vpc-lattice:us-west-2:{ACCOUNT}:targetgroup/tg-0123456789abcdef0"
    iam.detach_role_policy(RoleName="managed-test", PolicyArn=managed)
    (register,) = simulate(
        emulated, PolicySourceArn=arn, ActionNames=["vpc-lattice:RegisterTargets"], ResourceArns=[target_group]
    )
    assert register["MatchedStatements"] == [{"SourcePolicyId": lattice, "SourcePolicyType": "aws-managed"}]


def test_a_permissions_boundary_caps_what_the_policies_allow(emulated: OfflineAccount) -> None:
    iam = emulated.client("iam")
    boundary = iam.create_policy(
        PolicyName="ecs-only", PolicyDocument=policy({"Effect": "Allow", "Action": "ecs:*", "Resource": "*"})
    )["Policy"]["Arn"]
    arn = iam.create_role(RoleName="bounded-test", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=boundary)["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="bounded-test", PolicyName="all", PolicyDocument=policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    )
    ecs, sqs = simulate(emulated, PolicySourceArn=arn, ActionNames=["ecs:UpdateService", "sqs:SendMessage"])
    assert (ecs["EvalDecision"], ecs["PermissionsBoundaryDecisionDetail"]) == ("allowed", {"AllowedByPermissionsBoundary": True})
    assert (sqs["EvalDecision"], sqs["PermissionsBoundaryDecisionDetail"]) == (
        "implicitDeny",
        {"AllowedByPermissionsBoundary": False},
    )
    # per resource, each its own detail; the top level's allowed only if the boundary allows every resource
    service, queue = "arn:aws:ecs:us-west-2:123456789012:service/c/s", "arn:aws:sqs:us-west-2:123456789012:q"
    (both,) = simulate(emulated, PolicySourceArn=arn, ActionNames=["ecs:UpdateService"], ResourceArns=[service, queue])
    assert both["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    (sent,) = simulate(emulated, PolicySourceArn=arn, ActionNames=["sqs:SendMessage"], ResourceArns=[queue, service])
    assert (sent["EvalDecision"], sent["PermissionsBoundaryDecisionDetail"]) == (
        "implicitDeny",
        {"AllowedByPermissionsBoundary": False},
    )
    assert [r["PermissionsBoundaryDecisionDetail"] for r in sent["ResourceSpecificResults"]] == [
        {"AllowedByPermissionsBoundary": False},
        {"AllowedByPermissionsBoundary": False},
    ]


def test_a_key_both_the_policies_and_the_boundary_lack_is_missing_once(emulated: OfflineAccount) -> None:
    iam = emulated.client("iam")
    passed_to_ecs = {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}}
    pass_role = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": passed_to_ecs}
    boundary = iam.create_policy(PolicyName="pass-to-ecs", PolicyDocument=policy(pass_role))["Policy"]["Arn"]
    arn = iam.create_role(RoleName="bounded-pass", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=boundary)["Role"]["Arn"]
    iam.put_role_policy(RoleName="bounded-pass", PolicyName="pass", PolicyDocument=policy(pass_role))
    target = f"arn:aws:iam::{ACCOUNT}:role/ecsInfrastructureRole"
    (result,) = simulate(emulated, PolicySourceArn=arn, ActionNames=["iam:PassRole"], ResourceArns=[target])
    assert result["EvalDecision"] == "implicitDeny"
    assert result["ResourceSpecificResults"][0]["MissingContextValues"] == ["iam:PassedToService"]
    assert result["MissingContextValues"] == ["iam:PassedToService"]


def test_a_users_groups_policies_count(emulated: OfflineAccount) -> None:
    iam = emulated.client("iam")
    user = iam.create_user(UserName="deployer-test")["User"]["Arn"]
    group = iam.create_group(GroupName="deployers-test")["Group"]["Arn"]
    iam.add_user_to_group(GroupName="deployers-test", UserName="deployer-test")
    iam.put_group_policy(
        GroupName="deployers-test",
        PolicyName="sam",
        PolicyDocument=policy({"Effect": "Allow", "Action": "cloudformation:*", "Resource": "*"}),
    )
    for principal in (user, group):
        (result,) = simulate(emulated, PolicySourceArn=principal, ActionNames=["cloudformation:CreateChangeSet"])
        assert (result["EvalDecision"], result["MatchedStatements"]) == (
            "allowed",
            [{"SourcePolicyId": "sam", "SourcePolicyType": "group"}],
        )


def test_what_the_evaluator_cannot_decide_is_never_allowed(emulated: OfflineAccount) -> None:
    arn = role(
        emulated,
        "undecided-test",
        dated=policy(
            {
                "Effect": "Allow",
                "Action": "ecs:*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:CurrentTime": "2100-01-01T00:00:00Z"}},
            }
        ),
    )
    (result,) = simulate(emulated, PolicySourceArn=arn, ActionNames=["ecs:UpdateService"])
    assert (result["EvalDecision"], result["MatchedStatements"]) == ("implicitDeny", [])


def test_an_unknown_principal_is_no_such_entity(emulated: OfflineAccount) -> None:
    for arn in (
        f"arn:aws:iam::{ACCOUNT}:role/NoSuchFunctionRole",
        f"arn:aws:iam::{ACCOUNT}:user/nobody",
        "arn:aws:iam::210987654321:role/ShiftTrafficFunctionRole",  # another account's
    ):
        with pytest.raises(ClientError) as raised:
            simulate(emulated, PolicySourceArn=arn, ActionNames=["ecs:DescribeServices"])
        assert raised.value.response["Error"]["Code"] == "NoSuchEntity", arn
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize(
    "params",
    [
        {"ActionNames": ["UpdateRule"]},  # no service prefix
        {
            "ActionNames": ["ecs:DescribeServices"],
            "PolicySourceArn": f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:ShiftTrafficFunction",
        },
        {
            "ActionNames": ["ecs:DescribeServices"],
            "PolicyInputList": [policy({"Effect": "Deny", "Action": "*", "Resource": "*"})],
        },
        {"ActionNames": ["ecs:DescribeServices"], "Marker": "not-a-marker"},
    ],
)
def test_invalid_input(emulated: OfflineAccount, params: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as raised:
        simulate(emulated, **{"PolicySourceArn": emulated.deployed["ShiftTrafficFunctionRole.Arn"], **params})
    assert raised.value.response["Error"]["Code"] == "InvalidInput"


def test_results_page_with_max_items_and_marker(emulated: OfflineAccount) -> None:
    iam = emulated.client("iam")
    params = {
        "PolicySourceArn": emulated.deployed["ShiftTrafficFunctionRole.Arn"],
        "ActionNames": ["vpc-lattice:GetRule", "vpc-lattice:UpdateRule", "ecs:DeleteService"],
        "ResourceArns": [lattice_rule(emulated), lattice_rule(emulated, "eu-west-1")],
    }
    # one result per action (3), each with both resources: MaxItems counts results, not (action, resource) pairs
    first = iam.simulate_principal_policy(**params, MaxItems=2)
    assert (len(first["EvaluationResults"]), first["IsTruncated"]) == (2, True)
    rest = iam.simulate_principal_policy(**params, MaxItems=2, Marker=first["Marker"])
    assert (len(rest["EvaluationResults"]), rest["IsTruncated"], "Marker" in rest) == (1, False, False)
    paged = [
        r
        for page in iam.get_paginator("simulate_principal_policy").paginate(**params, PaginationConfig={"PageSize": 2})
        for r in page["EvaluationResults"]
    ]
    everything = iam.simulate_principal_policy(**params)["EvaluationResults"]
    assert paged == everything == first["EvaluationResults"] + rest["EvaluationResults"]
    here, elsewhere = params["ResourceArns"]
    answered = {
        r["EvalActionName"]: (
            r["EvalDecision"],
            {s["EvalResourceName"]: s["EvalResourceDecision"] for s in r["ResourceSpecificResults"]},
        )
        for r in everything
    }
    assert list(answered) == params["ActionNames"]
    assert answered == {
        "vpc-lattice:GetRule": ("implicitDeny", {here: "allowed", elsewhere: "implicitDeny"}),
        "vpc-lattice:UpdateRule": ("implicitDeny", {here: "allowed", elsewhere: "implicitDeny"}),
        "ecs:DeleteService": ("implicitDeny", {here: "implicitDeny", elsewhere: "implicitDeny"}),
    }


def test_every_functions_role_answers_as_the_evaluator_does_on_the_templates_statements(emulated: OfflineAccount) -> None:
    """Each statement of each function, asked on a resource its first pattern names: the deployed role answers what
    iam_policy.decide answers on the template's statements (implicitDeny where it cannot decide)."""
    expected = {
        "allowed": "allowed",
        "denied": "implicitDeny",
        "explicitly denied": "explicitDeny",
        "not evaluated": "implicitDeny",
    }
    decisions = []
    for function in emulated.template.functions:
        statements = role_statements(emulated.template, function, emulated.deployed)
        asked = [
            Request(re.sub(r"[*?]", "X", s.actions[0]), re.sub(r"[*?]", "x", s.resources[0]))
            for s in statements
            if s.actions and s.resources
        ]
        results = simulate(
            emulated,
            PolicySourceArn=emulated.deployed[f"{function}Role.Arn"],
            ActionNames=list(dict.fromkeys(r.action for r in asked)),
            ResourceArns=list(dict.fromkeys(r.resource for r in asked)),
        )
        assert [r["EvalActionName"] for r in results] == list(dict.fromkeys(r.action for r in asked))
        answered = {
            (r["EvalActionName"], s["EvalResourceName"]): s["EvalResourceDecision"]
            for r in results
            for s in r["ResourceSpecificResults"]
        }
        for request in asked:
            assert answered[(request.action, request.resource)] == expected[decide(statements, request)], (function, request)
            decisions.append(answered[(request.action, request.resource)])
    assert len(decisions) > 100 and decisions.count("allowed") > 0.8 * len(decisions)
