"""What must be true on the account before the move to VPC Lattice, checked read-only (PlanLatticeRollout):

- the tasks' security groups admit VPC Lattice (its managed prefix lists) on the port Lattice sends to: Lattice's
  traffic, health checks included, arrives from com.amazonaws.<region>.vpc-lattice and
  com.amazonaws.<region>.ipv6.vpc-lattice and is governed by the targets' security groups (VPC Lattice User Guide,
  "Control traffic in VPC Lattice using security groups"). What is missing is added by `allow_lattice_ingress`
  (EnsureLattice, kind "ingress") unless `lattice.allowLatticeIngress` is false;
- no record of another type than CNAME holds a name the rollout will CNAME: Route 53 refuses a CNAME beside it
  (Route 53 Developer Guide, CNAME record type); such records are replaced only when `lattice.replaceRecords`
  names them;
- the infrastructure role ECS registers tasks with exists, trusts ecs.amazonaws.com and may do what
  AmazonECSInfrastructureRolePolicyForVpcLattice allows.

Each check returns what it found and (field, problem) pairs; the planner reports them in plan mode and refuses on
them in apply mode, before any change.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any, TypedDict
from urllib.parse import unquote

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, error_code

Problem = tuple[str, str]
MADE_BY = {"Key": "made-by", "Value": "mesh-rollout"}
LATTICE_PREFIX_LISTS = ("com.amazonaws.{region}.vpc-lattice", "com.amazonaws.{region}.ipv6.vpc-lattice")
ECS_LATTICE_POLICY = "AmazonECSInfrastructureRolePolicyForVpcLattice"
# What the managed policy allows (AWS Managed Policy Reference, AmazonECSInfrastructureRolePolicyForVpcLattice v1).
ECS_LATTICE_ACTIONS = (
    "vpc-lattice:RegisterTargets",
    "vpc-lattice:DeregisterTargets",
    "vpc-lattice:GetTargetGroup",
    "vpc-lattice:ListTargets",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeInstances",
)


# --- 1. security groups -------------------------------------------------------------------------------------------


def lattice_ingress(ec2: Any, services: list[dict[str, Any]], add: bool) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The ingress rules the tasks' security groups lack, one per (group, port, prefix list); `services` are the
    planner's ({"field", "name", "securityGroups", "ports"}). With `add` false, each is a problem naming its service."""
    region = ec2.meta.region_name
    names = [n.format(region=region) for n in LATTICE_PREFIX_LISTS]
    with aws_errors("DescribeManagedPrefixLists"):
        listed = ec2.describe_managed_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": names}])["PrefixLists"]
    lists = {p["PrefixListName"]: p["PrefixListId"] for p in listed}
    problems: list[Problem] = [
        (s["field"], "it has no awsvpc security groups; ECS attaches only awsvpc services to VPC Lattice")
        for s in services
        if not s["securityGroups"]
    ]
    if not lists:
        return [], [*problems, ("lattice", f"no managed prefix list {' or '.join(names)} in {region}: VPC Lattice is not here")]
    groups = sorted({g for s in services for g in s["securityGroups"]})
    rules = _ingress_rules(ec2, groups) if groups else []
    missing: dict[tuple[str, int, str], dict[str, Any]] = {}
    for service in services:
        for group in service["securityGroups"]:
            for port in service["ports"]:
                for name in names:
                    prefix_list = lists.get(name)
                    if prefix_list is None or _admits(rules, group, port, prefix_list):
                        continue
                    rule = missing.setdefault(
                        (group, port, prefix_list),
                        {"groupId": group, "port": port, "prefixListId": prefix_list, "prefixListName": name, "for": []},
                    )
                    rule["for"].append(service["name"])
                    if not add:
                        problems.append(
                            (
                                service["field"],
                                f"security group {group} does not admit VPC Lattice ({name}, {prefix_list}) on tcp {port}:"
                                " add that ingress rule, or leave lattice.allowLatticeIngress true",
                            )
                        )
    return list(missing.values()), problems


def _ingress_rules(ec2: Any, groups: list[str]) -> list[dict[str, Any]]:
    with aws_errors("DescribeSecurityGroupRules"):
        pages = ec2.get_paginator("describe_security_group_rules").paginate(Filters=[{"Name": "group-id", "Values": groups}])
        return [r for page in pages for r in page["SecurityGroupRules"] if not r.get("IsEgress")]


def _admits(rules: list[dict[str, Any]], group: str, port: int, prefix_list: str) -> bool:
    return any(
        r["GroupId"] == group
        and r.get("PrefixListId") == prefix_list
        and (r["IpProtocol"] == "-1" or (r["IpProtocol"] in ("tcp", "6") and r["FromPort"] <= port <= r["ToPort"]))
        for r in rules
    )


class IngressAllowed(TypedDict):
    """EnsureLattice's ingress: the security group rules added (in words)."""

    changes: list[str]


def allow_lattice_ingress(ec2: Any, rules: list[dict[str, Any]]) -> IngressAllowed:
    """Add each planned ingress rule (one port, one prefix list), described and tagged as mesh-rollout's; a rule that
    is there already (InvalidPermission.Duplicate) is left as it is. {"changes"}."""
    changes = []
    for rule in rules:
        permission = {
            "IpProtocol": "tcp",
            "FromPort": rule["port"],
            "ToPort": rule["port"],
            "PrefixListIds": [
                {
                    "PrefixListId": rule["prefixListId"],
                    "Description": f"VPC Lattice to {', '.join(rule['for'])} (mesh-rollout)"[:255],
                }
            ],
        }
        try:
            ec2.authorize_security_group_ingress(
                GroupId=rule["groupId"],
                IpPermissions=[permission],
                TagSpecifications=[{"ResourceType": "security-group-rule", "Tags": [MADE_BY]}],
            )
        except ClientError as exc:
            if error_code(exc) == "InvalidPermission.Duplicate":
                continue
            with aws_errors(f"AuthorizeSecurityGroupIngress {rule['groupId']}"):
                raise
        changes.append(f"security group {rule['groupId']} admits {rule['prefixListName']} on tcp {rule['port']}")
    return {"changes": changes}


# --- 4. records at the names the rollout will CNAME -----------------------------------------------------------------


def existing_records(
    route53: Any, services: list[dict[str, Any]], zones: dict[str, str], replace: list[str]
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], list[Problem]]:
    """Per name the rollout will CNAME, the records there now and what becomes of them; the record sets a run
    deletes in the CNAME's batch ({name: [record sets]}, names in `replace` only) and a problem per name holding
    another type that `replace` does not name."""
    found: list[dict[str, Any]] = []
    deletes: dict[str, list[dict[str, Any]]] = {}
    problems: list[Problem] = []
    wanted = {n.rstrip(".").lower() for n in replace}
    for service in services:
        name, zone = service["customDomainName"], zones[service["customDomainName"]]
        with aws_errors(f"ListResourceRecordSets {name}"):
            listed = route53.list_resource_record_sets(HostedZoneId=zone, StartRecordName=name, MaxItems="20")
        records = [r for r in listed["ResourceRecordSets"] if r["Name"].rstrip(".").lower() == name.rstrip(".").lower()]
        others = [r for r in records if r["Type"] != "CNAME"]
        for record in records:
            values = [v["Value"] for v in record.get("ResourceRecords", [])] or [
                f"alias {record.get('AliasTarget', {}).get('DNSName', '?')}"
            ]
            if record["Type"] == "CNAME":
                becomes = "replaced by the CNAME to its Lattice service"
                if any(".vpc-lattice-svcs." in v for v in values):
                    becomes = "kept: it points at VPC Lattice already"
            elif name.rstrip(".").lower() in wanted:
                becomes = "deleted in the batch that writes the CNAME (lattice.replaceRecords)"
            else:
                becomes = "refused: Route 53 allows no CNAME beside it"
            found.append({"name": name, "hostedZoneId": zone, "type": record["Type"], "values": values, "becomes": becomes})
        if others and name.rstrip(".").lower() in wanted:
            deletes[name] = others
        elif others:
            types = ", ".join(sorted({r["Type"] for r in others}))
            problems.append(
                (
                    f"{service['from']}.virtualServiceName",
                    f"{name} has {types} records in hosted zone {zone} and Route 53 allows no CNAME beside them: add"
                    f" {name} to lattice.replaceRecords to replace them when its Lattice service is ready (if Cloud Map"
                    " wrote them, take the ECS service off its registry first or it writes them back), or remove them",
                )
            )
    return found, deletes, problems


# --- 8. the ECS infrastructure role ---------------------------------------------------------------------------------


def infrastructure_role(iam: Any, arn: str) -> tuple[dict[str, Any], list[Problem]]:
    """The role ECS registers tasks with: it exists, ECS may assume it, and it may do what the managed policy allows."""
    field = "lattice.ecsInfrastructureRoleArn"
    name = arn.rsplit("/", 1)[-1]
    try:
        got = iam.get_role(RoleName=name)
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            with aws_errors(f"GetRole {name}"):
                raise
        got = None
    if got is None or got["Role"]["Arn"] != arn:
        return {"arn": arn, "exists": False}, [(field, f"no role {arn}: create it (see the README's Lattice section)")]
    problems: list[Problem] = []
    if not _trusts_ecs(_document(got["Role"].get("AssumeRolePolicyDocument"))):
        problems.append((field, f"role {name} does not let ecs.amazonaws.com assume it (sts:AssumeRole in its trust policy)"))
    with aws_errors(f"ListAttachedRolePolicies {name}"):
        attached = [
            p["PolicyArn"]
            for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
            for p in page["AttachedPolicies"]
        ]
    managed = any(a.split(":", 5)[-1] == f"policy/{ECS_LATTICE_POLICY}" and ":iam::aws:" in a for a in attached)
    missing: list[str] = []
    if not managed:
        allowed = _allowed_actions(iam, name, attached)
        missing = [a for a in ECS_LATTICE_ACTIONS if not any(fnmatch.fnmatchcase(a.lower(), p.lower()) for p in allowed)]
        if missing:
            problems.append(
                (
                    field,
                    f"role {name} carries neither {ECS_LATTICE_POLICY} nor a policy allowing {', '.join(missing)}:"
                    f" attach arn:aws:iam::aws:policy/{ECS_LATTICE_POLICY}",
                )
            )
    return {"arn": arn, "exists": True, "managedPolicyAttached": managed, "missingActions": missing}, problems


def _document(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        return dict(json.loads(unquote(raw)))
    return dict(raw or {})


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _trusts_ecs(document: dict[str, Any]) -> bool:
    return any(
        s.get("Effect") == "Allow"
        and any(a in ("sts:AssumeRole", "sts:*", "*") for a in _listed(s.get("Action", [])))
        and "ecs.amazonaws.com" in _listed((s.get("Principal") or {}).get("Service", []))
        for s in _listed(document.get("Statement", []))
    )


def _allowed_actions(iam: Any, role: str, attached: list[str]) -> list[str]:
    """The action patterns the role's Allow statements name (inline and attached policies). Resources and conditions
    are not weighed: the managed policy's own resources are targetgroup/* and *."""
    documents = []
    for arn in attached:
        with aws_errors(f"GetPolicy {arn}"):
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            documents.append(_document(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]))
    with aws_errors(f"ListRolePolicies {role}"):
        inline = [n for page in iam.get_paginator("list_role_policies").paginate(RoleName=role) for n in page["PolicyNames"]]
    for policy in inline:
        with aws_errors(f"GetRolePolicy {role} {policy}"):
            documents.append(_document(iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]))
    return [
        a
        for d in documents
        for s in _listed(d.get("Statement", []))
        if s.get("Effect") == "Allow"
        for a in _listed(s.get("Action", []))
    ]
