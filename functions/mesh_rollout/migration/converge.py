"""Converge AWS to a translated Lattice topology, by name, creating or updating only what differs.

Every function finds its resources by name first (List*, then Get*), so a re-run makes no mutating call and a
run stopped half way resumes where it stopped. Identifiers in a topology are names; IDs are looked up here.
"""

from __future__ import annotations

from typing import Any, TypedDict

from mesh_rollout.aws import aws_errors
from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.migration.auth import ensure_network_auth, ensure_service_auth
from mesh_rollout.migration.translate import api_action


def _items(lattice: Any, operation: str, **params: Any) -> list[dict[str, Any]]:
    with aws_errors(operation):
        return [i for page in lattice.get_paginator(operation).paginate(**params) for i in page["items"]]


class NetworkEnsured(TypedDict):
    """EnsureLattice's network: the service network's id, and what changed (in words)."""

    id: str
    changes: list[str]


class TargetGroupsEnsured(TypedDict):
    """EnsureLattice's targetGroups: {target group name: id} and {name: ARN}, and what changed."""

    ids: dict[str, str]
    arns: dict[str, str]
    changes: list[str]


class ServiceEnsured(TypedDict):
    """EnsureLattice's service: its id, the DNS name Lattice gave it (where MoveNames points the custom name), changes."""

    id: str
    domainName: str
    changes: list[str]


def _named(items: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((i for i in items if i.get("name") == name), None)


def _create(lattice: Any, operation: str, **request: Any) -> dict[str, Any]:
    with aws_errors(f"{operation} {request.get('name', '')}".strip()):
        created: dict[str, Any] = getattr(lattice, operation)(**request)
    return created


def ensure_network(lattice: Any, network: dict[str, Any]) -> NetworkEnsured:
    """The service network and its VPC associations; {"id", "changes"}."""
    changes: list[str] = []
    found = _named(_items(lattice, "list_service_networks"), network["name"])
    if found is None:
        found = _create(lattice, "create_service_network", name=network["name"], authType=network["authType"])
        changes.append(f"created service network {network['name']}")
    associated = {
        a["vpcId"] for a in _items(lattice, "list_service_network_vpc_associations", serviceNetworkIdentifier=found["id"])
    }
    for vpc in network["vpcs"]:
        if vpc not in associated:
            _create(lattice, "create_service_network_vpc_association", serviceNetworkIdentifier=found["id"], vpcIdentifier=vpc)
            changes.append(f"associated {vpc} with service network {network['name']}")
    changes += ensure_network_auth(lattice, found["id"], network)
    return {"id": found["id"], "changes": changes}


def ensure_target_groups(lattice: Any, groups: list[dict[str, Any]]) -> TargetGroupsEnsured:
    """Each target group (by name); a health check that differs is updated, a port, protocol or VPC that differs
    cannot be (Lattice fixes them at creation): InvalidRolloutInput naming the node. {"ids", "arns", "changes"}."""
    existing = {g["name"]: g for g in _items(lattice, "list_target_groups")}
    ids: dict[str, str] = {}
    arns: dict[str, str] = {}
    changes: list[str] = []
    for group in groups:
        found = existing.get(group["name"])
        if found is None:
            created = _create(lattice, "create_target_group", name=group["name"], type=group["type"], config=group["config"])
            ids[group["name"]], arns[group["name"]] = created["id"], created["arn"]
            changes.append(f"created target group {group['name']}")
            continue
        with aws_errors(f"GetTargetGroup {group['name']}"):
            current = lattice.get_target_group(targetGroupIdentifier=found["id"])
        config = current.get("config", {})
        fixed = ("port", "protocol", "protocolVersion", "vpcIdentifier")
        different = [k for k in fixed if group["config"].get(k) is not None and config.get(k) != group["config"][k]]
        if different or current.get("type") != group["type"]:
            raise InvalidRolloutInput(
                group["from"],
                f"target group {group['name']} exists with another {', '.join(different) or 'type'}; Lattice cannot"
                " change them after creation: delete the group or rename the node",
            )
        wanted = group["config"].get("healthCheck")
        if wanted and any(config.get("healthCheck", {}).get(k) != v for k, v in wanted.items()):
            with aws_errors(f"UpdateTargetGroup {group['name']}"):
                lattice.update_target_group(targetGroupIdentifier=found["id"], healthCheck=wanted)
            changes.append(f"updated the health check of target group {group['name']}")
        ids[group["name"]], arns[group["name"]] = found["id"], found["arn"]
    return {"ids": ids, "arns": arns, "changes": changes}


def ensure_service(
    lattice: Any, route53: Any, service: dict[str, Any], network_id: str, group_ids: dict[str, str], zone_id: str
) -> ServiceEnsured:
    """The Lattice service, its association with the network, its listeners and rules; the DNS name that resolves
    to it (`domainName`), where migration/dns.py points the custom domain name last. {"id", "domainName",
    "changes"}. (`route53` and `zone_id` are no longer used here.)"""
    changes: list[str] = []
    found = _named(_items(lattice, "list_services"), service["name"])
    if found is None:
        found = _create(
            lattice,
            "create_service",
            name=service["name"],
            customDomainName=service["customDomainName"],
            authType=service["authType"],
            **({"certificateArn": service["certificateArn"]} if service.get("certificateArn") else {}),
        )
        changes.append(f"created service {service['name']} ({service['customDomainName']})")
    with aws_errors(f"GetService {service['name']}"):
        current = lattice.get_service(serviceIdentifier=found["id"])
    associations = _items(lattice, "list_service_network_service_associations", serviceIdentifier=found["id"])
    if not any(a.get("serviceNetworkId") == network_id for a in associations):
        _create(
            lattice,
            "create_service_network_service_association",
            serviceNetworkIdentifier=network_id,
            serviceIdentifier=found["id"],
        )
        changes.append(f"associated service {service['name']} with the service network")
    changes += ensure_service_auth(lattice, found["id"], current.get("authType"), service)
    for listener in service["listeners"]:
        changes += _ensure_listener(lattice, found["id"], listener, group_ids)
    # Its name moves last, once its ECS services are on Lattice (MoveNames, migration/dns.py), not here
    domain = current["dnsEntry"]["domainName"]
    return {"id": found["id"], "domainName": domain, "changes": changes}


def _ensure_listener(lattice: Any, service_id: str, listener: dict[str, Any], group_ids: dict[str, str]) -> list[str]:
    changes: list[str] = []
    default = api_action(listener["defaultAction"], group_ids)
    found = _named(_items(lattice, "list_listeners", serviceIdentifier=service_id), listener["name"])
    if found is None:
        found = _create(
            lattice,
            "create_listener",
            serviceIdentifier=service_id,
            name=listener["name"],
            protocol=listener["protocol"],
            port=listener["port"],
            defaultAction=default,
        )
        changes.append(f"created listener {listener['name']}")
    else:
        with aws_errors(f"GetListener {listener['name']}"):
            current = lattice.get_listener(serviceIdentifier=service_id, listenerIdentifier=found["id"])
        if current.get("defaultAction") != default:
            with aws_errors(f"UpdateListener {listener['name']}"):
                lattice.update_listener(serviceIdentifier=service_id, listenerIdentifier=found["id"], defaultAction=default)
            changes.append(f"updated the default action of listener {listener['name']}")
    keys = {"serviceIdentifier": service_id, "listenerIdentifier": found["id"]}
    rules = {r["name"]: r for r in _items(lattice, "list_rules", **keys)}
    for rule in listener["rules"]:
        wanted = {"match": rule["match"], "priority": rule["priority"], "action": api_action(rule["action"], group_ids)}
        if rule["name"] not in rules:
            _create(lattice, "create_rule", **keys, name=rule["name"], **wanted)
            changes.append(f"created rule {rule['name']} on listener {listener['name']}")
            continue
        with aws_errors(f"GetRule {rule['name']}"):
            current = lattice.get_rule(**keys, ruleIdentifier=rules[rule["name"]]["id"])
        if any(current.get(k) != v for k, v in wanted.items()):
            with aws_errors(f"UpdateRule {rule['name']}"):
                lattice.update_rule(**keys, ruleIdentifier=rules[rule["name"]]["id"], **wanted)
            changes.append(f"updated rule {rule['name']} on listener {listener['name']}")
    return changes


def ensure_record(route53: Any, zone_id: str, name: str, target: str, replaces: list[dict[str, Any]] | None = None) -> list[str]:
    """A CNAME from the virtual service's name to the Lattice service's DNS name, unless it is there already. The
    records it `replaces` (as the plan found them: lattice.replaceRecords) are deleted in the same batch, since Route 53
    allows no CNAME beside them; one that changed since fails the batch, and nothing changes."""
    with aws_errors(f"ListResourceRecordSets {name}"):
        found = route53.list_resource_record_sets(
            HostedZoneId=zone_id, StartRecordName=name, StartRecordType="CNAME", MaxItems="1"
        )
    for record in found["ResourceRecordSets"]:
        same_name = record["Name"].rstrip(".") == name.rstrip(".") and record["Type"] == "CNAME"
        if same_name and [r["Value"] for r in record.get("ResourceRecords", [])] == [target]:
            return []
    change = {
        "Action": "UPSERT",
        "ResourceRecordSet": {"Name": name, "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": target}]},
    }
    deletes = [{"Action": "DELETE", "ResourceRecordSet": record} for record in replaces or []]
    with aws_errors(f"ChangeResourceRecordSets {name}"):
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [*deletes, change]})
    replaced = ", ".join(f"{r['Type']} record" for r in replaces or [])
    return [f"pointed {name} at {target}" + (f" (replacing its {replaced})" if replaced else "")]
