"""PlanLatticeRollout: the MeshRolloutStateMachine input plus a `lattice` section, checked and planned read-only."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictStr

from mesh_rollout.aws import aws_errors
from mesh_rollout.aws.ecs import describe_service, describe_task_definition
from mesh_rollout.errors import InvalidRolloutInput, UnknownReference
from mesh_rollout.migration.offmesh import app_port, off_mesh
from mesh_rollout.migration.translate import refuse_unaccepted, requests_of, translate
from mesh_rollout.onboarding.envoy import label
from mesh_rollout.onboarding.plan import build_requests
from mesh_rollout.parsing import Strict, parse_input


class LatticeSection(Strict):
    """Where the mesh goes on VPC Lattice."""

    serviceNetworkName: StrictStr = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
    vpcs: list[StrictStr] = Field(min_length=1, max_length=10)
    ecsInfrastructureRoleArn: StrictStr = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    authType: Literal["NONE", "AWS_IAM"] = "NONE"
    targetGroupVpc: StrictStr | None = None
    hostedZoneId: StrictStr | None = None
    acceptLosses: list[StrictStr] = Field(default_factory=list)


class LatticeRolloutInput(Strict):
    lattice: LatticeSection
    mode: Literal["plan", "apply"] = "apply"


def plan_lattice_rollout(raw: Any, ecs: Any, route53: Any) -> dict[str, Any]:
    """Check the input and what it names (read-only) and return every request a run would make."""
    if not isinstance(raw, dict):
        parse_input(raw, LatticeRolloutInput)  # the named error for a non-object
    ours = parse_input({k: raw[k] for k in ("lattice", "mode") if k in raw}, LatticeRolloutInput)
    mesh_input = {k: v for k, v in raw.items() if k not in ("lattice", "mode")}
    spec, requests = build_requests(mesh_input)
    lattice = ours.lattice.model_dump(mode="json", exclude_none=True)
    topology = translate(requests, lattice)
    refuse_unaccepted(topology["losses"], list(ours.lattice.acceptLosses))
    planned = requests_of(topology)
    zone = _hosted_zone(route53, ours.lattice.hostedZoneId, [s["customDomainName"] for s in topology["services"]])
    groups = {g["virtualNodeName"]: g["name"] for g in topology["targetGroups"]}
    services = []
    for index, target in enumerate(spec.ecsServices):
        field = f"ecsServices[{index}]"
        if target.virtualNodeName not in groups:
            raise InvalidRolloutInput(
                f"{field}.virtualNodeName", f"node {target.virtualNodeName!r} has no Lattice target group (see the losses)"
            )
        found = describe_service(ecs, target.cluster, target.service, field)
        current, _ = describe_task_definition(ecs, found["taskDefinition"])
        port = target.appPorts[0] if target.appPorts else app_port(current)
        if port is None:
            raise InvalidRolloutInput(
                f"{field}.appPorts", f"{label(current)} does not say which port the application serves: give it"
            )
        request, port_name = off_mesh(current, port, keep_xray=target.xray is not False, field=field)
        services.append(
            {
                "cluster": target.cluster,
                "service": target.service,
                "targetGroup": groups[target.virtualNodeName],
                "port": port,
                "portName": port_name,
                "keepXray": target.xray is not False,
                "appContainer": target.appContainer,
                "pollSeconds": target.deploymentPollSeconds,
                "maxChecks": -(-target.deploymentTimeoutSeconds // target.deploymentPollSeconds),
                "taskDefinitionChanges": _changes(current, request),
            }
        )
    return {
        "mode": ours.mode,
        "planOnly": ours.mode == "plan",
        "serviceNetwork": topology["serviceNetwork"],
        "targetGroups": topology["targetGroups"],
        "services": topology["services"],
        "losses": topology["losses"],
        "hostedZoneId": zone,
        "roleArn": ours.lattice.ecsInfrastructureRoleArn,
        "ecsServices": services,
        "requests": planned if ours.mode == "plan" else [],
    }


def _changes(current: dict[str, Any], request: dict[str, Any]) -> list[str]:
    """What taking the task definition off the mesh changes, for a person."""
    kept = {c["name"] for c in request["containerDefinitions"]}
    out = [f"remove container {c['name']}" for c in current["containerDefinitions"] if c["name"] not in kept]
    if current.get("proxyConfiguration"):
        out.append("remove the APPMESH proxyConfiguration")
    return [*out, "name the port mapping Lattice uses"]


def _hosted_zone(route53: Any, given: str | None, names: list[str]) -> str | None:
    """The private hosted zone the virtual services' names live in (given, or found by their common parent)."""
    if not names:
        return given
    if given:
        return given
    parents = {name.split(".", 1)[1] if "." in name else name for name in names}
    if len(parents) != 1:
        raise InvalidRolloutInput(
            "lattice.hostedZoneId", f"the virtual services live in several domains {sorted(parents)}: give the zone"
        )
    (parent,) = parents
    with aws_errors("ListHostedZonesByName"):
        zones = route53.list_hosted_zones_by_name(DNSName=parent, MaxItems="10")["HostedZones"]
    match = [z for z in zones if z["Name"].rstrip(".") == parent and z.get("Config", {}).get("PrivateZone")]
    if not match:
        raise UnknownReference(
            "lattice.hostedZoneId",
            f"no private hosted zone {parent} (where {names[0]} must resolve to its Lattice service); create it for your"
            " VPC (an App Mesh DNS or Cloud Map namespace usually has one) or give its ID",
        )
    return str(match[0]["Id"]).rsplit("/", 1)[-1]
