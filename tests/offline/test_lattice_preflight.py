"""What must be true on the account before the move to VPC Lattice (issue 21, items 1, 4 and 8): the tasks' security
groups admit Lattice, no other record holds a name the rollout CNAMEs, the ECS infrastructure role can register
targets. Plan mode reports them; apply adds the ingress and refuses the rest before any change."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mesh_rollout_local.progress import task_facts
from mesh_rollout_local.runner import ACCOUNT_ID, OfflineAccount
from tests.support.lattice import rollout_input

SM = "LatticeRolloutStateMachine"
LATTICE_POLICY = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForVpcLattice"
ECS_TRUST_STATEMENT = {"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}
ECS_TRUST: dict[str, Any] = {"Version": "2012-10-17", "Statement": [ECS_TRUST_STATEMENT]}


def lattice_prefix_lists(account: OfflineAccount) -> dict[str, str]:
    names = ["com.amazonaws.us-west-2.vpc-lattice", "com.amazonaws.us-west-2.ipv6.vpc-lattice"]
    listed = account.client("ec2").describe_managed_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": names}])
    return {p["PrefixListName"]: p["PrefixListId"] for p in listed["PrefixLists"]}


def ingress_from_lattice(account: OfflineAccount, group: str) -> list[dict[str, Any]]:
    lists = set(lattice_prefix_lists(account).values())
    rules = account.client("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
    return [
        {k: v for k, v in r.items() if k != "SecurityGroupRuleId"}
        for r in rules["SecurityGroupRules"]
        if r.get("PrefixListId") in lists
    ]


def add_a_record(account: OfflineAccount, name: str) -> dict[str, Any]:
    record = {"Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.1.17"}]}
    account.client("route53").change_resource_record_sets(
        HostedZoneId=account.saved["zone"]["HostedZone"]["Id"],
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]},
    )
    return record


def records_at(account: OfflineAccount, name: str) -> dict[str, list[str]]:
    listed = account.client("route53").list_resource_record_sets(HostedZoneId=account.saved["zone"]["HostedZone"]["Id"])
    return {
        r["Type"]: [v["Value"] for v in r["ResourceRecords"]]
        for r in listed["ResourceRecordSets"]
        if r["Name"].rstrip(".") == name
    }


def service_path(given: dict[str, Any], name: str) -> str:
    index = [s["virtualServiceName"] for s in given["virtualServices"]].index(name)
    return f"virtualServices[{index}].virtualServiceName"


def role(account: OfflineAccount, name: str, trust: dict[str, Any] = ECS_TRUST) -> str:
    return str(account.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def refusal(result: Any) -> str:
    assert (result.status, result.error) == ("FAILED", "InvalidRolloutInput"), result.cause
    assert result.mutating_calls() == {} and result.states == ["PlanLatticeRollout"]
    return str(json.loads(result.cause or "{}")["errorMessage"])


def test_plan_mode_reports_missing_ingress_a_conflicting_record_and_a_bad_role_and_changes_nothing(
    meshed: OfflineAccount,
) -> None:
    # Given an A record at serviceb.apps.local and a role that ECS may assume but that carries no policy
    add_a_record(meshed, "serviceb.apps.local")
    bare = role(meshed, "bareInfrastructureRole")
    given = rollout_input(meshed, ecsInfrastructureRoleArn=bare)
    # When the rollout is planned
    plan = meshed.run(SM, {**given, "mode": "plan"})
    # Then it says all three before any change
    assert plan.status == "SUCCEEDED", plan.cause
    assert plan.mutating_calls() == {}
    preflight = plan.output["preflight"]
    group = meshed.saved["sg"]["GroupId"]
    lists = lattice_prefix_lists(meshed)
    assert preflight["securityGroupIngress"] == [
        {
            "groupId": group,
            "port": 9080,
            "prefixListId": lists[name],
            "prefixListName": name,
            "for": ["apps/serviceB", "apps/serviceBv2", "apps/serviceA"],
        }
        for name in ("com.amazonaws.us-west-2.vpc-lattice", "com.amazonaws.us-west-2.ipv6.vpc-lattice")
    ]
    assert preflight["existingRecords"] == [
        {
            "name": "serviceb.apps.local",
            "hostedZoneId": meshed.saved["zone"]["HostedZone"]["Id"].rsplit("/", 1)[-1],
            "type": "A",
            "values": ["10.0.1.17"],
            "becomes": "refused: Route 53 allows no CNAME beside it",
        }
    ]
    fields = [p["field"] for p in preflight["problems"]]
    assert fields == [service_path(given, "serviceb.apps.local"), "lattice.ecsInfrastructureRoleArn"]
    assert "AmazonECSInfrastructureRolePolicyForVpcLattice" in preflight["problems"][1]["problem"]
    assert preflight["infrastructureRole"]["missingActions"][:2] == [
        "vpc-lattice:RegisterTargets",
        "vpc-lattice:DeregisterTargets",
    ]


def test_apply_adds_exactly_the_ingress_lattice_needs_once(meshed: OfflineAccount) -> None:
    group = meshed.saved["sg"]["GroupId"]
    assert ingress_from_lattice(meshed, group) == []
    first = meshed.run(SM, rollout_input(meshed))
    assert first.status == "SUCCEEDED", first.cause
    assert first.states.index("AllowLatticeIngress") < first.states.index("EnsureServiceNetwork")
    lists = lattice_prefix_lists(meshed)
    expected = [
        {
            "GroupId": group,
            "IsEgress": False,
            "IpProtocol": "tcp",
            "FromPort": 9080,
            "ToPort": 9080,
            "PrefixListId": lists[name],
            "Tags": [{"Key": "made-by", "Value": "mesh-rollout"}],
        }
        for name in ("com.amazonaws.us-west-2.vpc-lattice", "com.amazonaws.us-west-2.ipv6.vpc-lattice")
    ]
    assert ingress_from_lattice(meshed, group) == expected
    assert first.api_calls[("ec2", "AuthorizeSecurityGroupIngress")] == 2
    assert first.mutating_calls()["ec2:AuthorizeSecurityGroupIngress"] == 2  # counted as changes, as plan tests read them
    again = meshed.run(SM, rollout_input(meshed))
    assert again.status == "SUCCEEDED" and again.mutating_calls() == {}
    assert ingress_from_lattice(meshed, group) == expected


def test_with_allow_lattice_ingress_false_a_missing_rule_is_refused_naming_the_service(meshed: OfflineAccount) -> None:
    message = refusal(meshed.run(SM, rollout_input(meshed, allowLatticeIngress=False)))
    assert message.startswith(f"ecsServices[0]: security group {meshed.saved['sg']['GroupId']} does not admit VPC Lattice")
    assert "on tcp 9080" in message


def test_a_record_of_another_type_is_refused_before_any_change_until_replace_records_names_it(
    meshed: OfflineAccount,
) -> None:
    add_a_record(meshed, "serviceb.apps.local")
    given = rollout_input(meshed)
    message = refusal(meshed.run(SM, given))
    assert message.startswith(f"{service_path(given, 'serviceb.apps.local')}: serviceb.apps.local has A records")
    assert "lattice.replaceRecords" in message
    assert records_at(meshed, "serviceb.apps.local") == {"A": ["10.0.1.17"]}

    replaced = meshed.run(SM, rollout_input(meshed, replaceRecords=["serviceb.apps.local"]))
    assert replaced.status == "SUCCEEDED", replaced.cause
    (cname,) = records_at(meshed, "serviceb.apps.local")["CNAME"]
    assert list(records_at(meshed, "serviceb.apps.local")) == ["CNAME"]
    assert cname.endswith(".vpc-lattice-svcs.us-west-2.on.aws")


@pytest.mark.parametrize(
    ("make_role", "problem"),
    [
        (lambda a: f"arn:aws:iam::{ACCOUNT_ID}:role/noSuchRole", "no role arn:aws:iam::"),
        (
            lambda a: role(
                a,
                "notEcs",
                {**ECS_TRUST, "Statement": [{**ECS_TRUST_STATEMENT, "Principal": {"Service": "ec2.amazonaws.com"}}]},
            ),
            "does not let ecs.amazonaws.com assume it",
        ),
        (lambda a: role(a, "noPolicy"), "carries neither AmazonECSInfrastructureRolePolicyForVpcLattice nor"),
    ],
    ids=["missing", "not-trusting-ecs", "without-the-policy"],
)
def test_an_infrastructure_role_ecs_cannot_use_is_refused_before_any_change(
    meshed: OfflineAccount, make_role: Any, problem: str
) -> None:
    message = refusal(meshed.run(SM, rollout_input(meshed, ecsInfrastructureRoleArn=make_role(meshed))))
    assert message.startswith("lattice.ecsInfrastructureRoleArn: ") and problem in message


def test_an_inline_policy_with_the_same_actions_does_for_the_managed_one(meshed: OfflineAccount) -> None:
    arn = role(meshed, "inlineRole")
    statement = {
        "Effect": "Allow",
        "Action": ["vpc-lattice:*Targets", "vpc-lattice:GetTargetGroup", "ec2:Describe*"],
        "Resource": "*",
    }
    meshed.client("iam").put_role_policy(
        RoleName="inlineRole",
        PolicyName="lattice",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    plan = meshed.run(SM, {**rollout_input(meshed, ecsInfrastructureRoleArn=arn), "mode": "plan"})
    assert plan.status == "SUCCEEDED", plan.cause
    assert plan.output["preflight"]["problems"] == []
    assert plan.output["preflight"]["infrastructureRole"] == {
        "arn": arn,
        "exists": True,
        "managedPolicyAttached": False,
        "missingActions": [],
    }


# --- the emulator's Route 53 and IAM, as AWS answers -----------------------------------------------------------------


def test_route53_refuses_a_cname_beside_another_record_and_changes_nothing(meshed: OfflineAccount) -> None:
    add_a_record(meshed, "servicea.apps.local")
    cname = {"Name": "servicea.apps.local", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "x.on.aws"}]}
    other = {"Name": "other.apps.local", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.1.9"}]}
    batch = {"Changes": [{"Action": "CREATE", "ResourceRecordSet": other}, {"Action": "UPSERT", "ResourceRecordSet": cname}]}
    with pytest.raises(ClientError) as refused:
        meshed.client("route53").change_resource_record_sets(
            HostedZoneId=meshed.saved["zone"]["HostedZone"]["Id"], ChangeBatch=batch
        )
    assert refused.value.response["Error"]["Code"] == "InvalidChangeBatch"
    assert "RRSet of type CNAME with DNS name servicea.apps.local. is not permitted" in str(refused.value)
    assert records_at(meshed, "servicea.apps.local") == {"A": ["10.0.1.17"]} and records_at(meshed, "other.apps.local") == {}


def test_iam_has_the_ecs_lattice_managed_policy_as_aws_publishes_it(meshed: OfflineAccount) -> None:
    iam = meshed.client("iam")
    policy = iam.get_policy(PolicyArn=LATTICE_POLICY)["Policy"]
    document = iam.get_policy_version(PolicyArn=LATTICE_POLICY, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    actions = {
        a for s in document["Document"]["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "vpc-lattice:RegisterTargets" in actions and "ec2:DescribeSubnets" in actions
    attached = iam.list_attached_role_policies(RoleName="ecsInfrastructureRoleForVpcLattice")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [LATTICE_POLICY]


def test_the_progress_line_of_the_plan_counts_what_the_account_lacks() -> None:
    plan = {
        "serviceNetwork": {"name": "apps"},
        "targetGroups": [{}, {}],
        "services": [{}],
        "ecsServices": [{}],
        "planOnly": True,
        "preflight": {"securityGroupIngress": [{}, {}], "existingRecords": [{}], "problems": [{}]},
    }
    assert task_facts(plan) == (
        "plan only, service network apps: 2 target groups, 1 service, 1 ECS service; 2 missing ingress rules, 1 preflight problem"
    )
