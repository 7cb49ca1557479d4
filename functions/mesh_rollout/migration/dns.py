"""The virtual services' names moved onto VPC Lattice last, and put back as they were if the move fails.

A name moves only once every ECS service behind its Lattice service is on its target group with its deployment
completed (the names move after the ECS services' rollout, which ends only when each deployment has completed or
been rolled back). What each name held before (every record set of that name, any type) is read and kept in the
execution's state before any record changes, so the put-back restores it exactly, and a name that had no record
has none again.
"""

from __future__ import annotations

from typing import Any, TypedDict

from mesh_rollout.aws import aws_errors
from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.migration.converge import ensure_record


def record_sets_at(route53: Any, zone_id: str, name: str) -> list[dict[str, Any]]:
    """Every record set of exactly `name` in the zone, as ListResourceRecordSets describes them."""
    wanted = name.rstrip(".") + "."
    found: list[dict[str, Any]] = []
    with aws_errors(f"ListResourceRecordSets {name}"):
        for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id, StartRecordName=name):
            for record in page["ResourceRecordSets"]:
                if record["Name"] != wanted:
                    return found
                found.append(record)
    return found


class NameRecords(TypedDict):
    name: str
    zoneId: str
    recordSets: list[dict[str, Any]]


class NamesRead(TypedDict):
    """MoveNames' read: what each service's name holds before any change (what putBack puts back)."""

    names: list[NameRecords]


class NamesMoved(TypedDict):
    """MoveNames' move: the names pointed at VPC Lattice, those left as they were (and why), the changes."""

    moved: list[str]
    left: list[str]
    changes: list[str]


class NamesPutBack(TypedDict):
    putBack: list[str]


class NamesPutBackAfterFailure(NamesPutBack):
    """MoveNames' putBack: the names put back, and the failure the Fail state reports (the cause says which names)."""

    error: str
    cause: str


def read_names(route53: Any, services: list[dict[str, Any]], zones: dict[str, str]) -> NamesRead:
    """What each service's name holds now, before any change: {"names": [{"name", "zoneId", "recordSets"}]}."""
    names: list[NameRecords] = []
    for service in services:
        name = service["customDomainName"]
        names.append({"name": name, "zoneId": zones[name], "recordSets": record_sets_at(route53, zones[name], name)})
    return {"names": names}


def groups_of(service: dict[str, Any]) -> set[str]:
    """The target groups a Lattice service forwards to (its listeners' default actions and rules)."""
    actions = [
        a for listener in service["listeners"] for a in (listener["defaultAction"], *(r["action"] for r in listener["rules"]))
    ]
    return {t["targetGroup"] for a in actions for t in a.get("forward", {}).get("targetGroups", [])}


ON_LATTICE = ("updated", "unchanged")  # the service rollout's actions that leave a service on its target group


def on_lattice_targets(ecs_services: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, str]:
    """{target group: cluster/service} of the ECS services the rollout left on their target group (`results`: the
    service rollouts' results, in `ecs_services`' order)."""
    if len(ecs_services) != len(results):
        raise InvalidRolloutInput("results", f"{len(results)} results for {len(ecs_services)} ecsServices")
    return {
        target["targetGroup"]: f"{target['cluster']}/{target['service']}"
        for target, result in zip(ecs_services, results, strict=True)
        if result.get("action") in ON_LATTICE
    }


def move_names(
    route53: Any, services: list[dict[str, Any]], domains: list[str], on_lattice: dict[str, str], zones: dict[str, str]
) -> NamesMoved:
    """Point each service's name at its Lattice DNS name (`domains`, in `services`' order) if every target group it
    forwards to has an ECS service that this rollout put on it (`on_lattice`: target group -> cluster/service);
    a name with a group no ECS service of the rollout serves is left as it is, and said so.
    {"moved", "left", "changes"}."""
    moved: list[str] = []
    left: list[str] = []
    changes: list[str] = []
    for service, domain in zip(services, domains, strict=True):
        name = service["customDomainName"]
        unserved = sorted(groups_of(service) - set(on_lattice))
        if unserved:
            left.append(f"{name} (target group {', '.join(unserved)} has no ECS service in this rollout)")
            continue
        changed = ensure_record(route53, zones[name], name, domain, service.get("replaceRecords", []))
        moved += [name] if changed else []
        changes += changed
    return {"moved": moved, "left": left, "changes": changes}


def put_names_back(route53: Any, names: list[dict[str, Any]]) -> NamesPutBack:
    """Give each name the record sets it held before (`names`, as read_names returned them), in one batch per
    name: a record set it did not have is deleted, one replaced or changed is written back (UPSERT). A name that
    holds what it held is not touched. {"putBack": [names]}."""
    put_back: list[str] = []
    for entry in names:
        now = record_sets_at(route53, entry["zoneId"], entry["name"])
        before = entry["recordSets"]
        kept = {_key(r) for r in before}
        batch = [{"Action": "DELETE", "ResourceRecordSet": r} for r in now if _key(r) not in kept]
        batch += [{"Action": "UPSERT", "ResourceRecordSet": r} for r in before if r not in now]
        if not batch:
            continue
        with aws_errors(f"ChangeResourceRecordSets {entry['name']}"):
            route53.change_resource_record_sets(HostedZoneId=entry["zoneId"], ChangeBatch={"Changes": batch})
        put_back.append(entry["name"])
    return {"putBack": put_back}


def _key(record: dict[str, Any]) -> tuple[str, str, str]:
    """What identifies a record set in a zone: its name, type and (weighted, latency... routing) set identifier."""
    return record["Name"], record["Type"], record.get("SetIdentifier", "")


def dns_failure_cause(failure: str, put_back: list[str]) -> str:
    """The rollout's cause when moving the names failed: what failed, and which names were put back."""
    names = ", ".join(put_back) if put_back else "none (no name had moved)"
    return f"moving the names to VPC Lattice failed ({failure}); names moved and put back as they were: {names}"
