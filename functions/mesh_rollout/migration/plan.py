"""PlanLatticeRollout: the MeshRolloutStateMachine input plus a `lattice` section, checked and planned read-only."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from pydantic import Field, StrictStr

from mesh_rollout.aws import aws_errors
from mesh_rollout.aws.ecs import describe_service, describe_task_definition
from mesh_rollout.errors import InvalidRolloutInput, UnknownReference
from mesh_rollout.migration.auth import check_auth, clients_note
from mesh_rollout.migration.gateways import gateway_requests
from mesh_rollout.migration.offmesh import app_port, off_mesh
from mesh_rollout.migration.preflight import existing_records, infrastructure_role, lattice_ingress
from mesh_rollout.migration.translate import refuse_unaccepted, requests_of, translate
from mesh_rollout.onboarding.envoy import label
from mesh_rollout.onboarding.inputs import RolloutSpec
from mesh_rollout.onboarding.plan import build_requests
from mesh_rollout.parsing import Strict, parse_input


class GatewayEntry(Strict):
    """Where a virtual gateway goes: a Lattice service answering at `customDomainName` (migration.gateways)."""

    virtualGatewayName: StrictStr = Field(min_length=1, max_length=255)
    customDomainName: StrictStr = Field(min_length=3, max_length=255)
    serviceName: StrictStr | None = Field(default=None, min_length=3, max_length=40, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


class LatticeSection(Strict):
    """Where the mesh goes on VPC Lattice."""

    serviceNetworkName: StrictStr = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
    vpcs: list[StrictStr] = Field(min_length=1, max_length=10)
    ecsInfrastructureRoleArn: StrictStr = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
    authType: Literal["NONE", "AWS_IAM"] = "NONE"
    # With AWS_IAM: the IAM policy document (as PutAuthPolicy takes it) put on the network and on every service
    authPolicy: dict[str, Any] | None = None
    gateways: list[GatewayEntry] = Field(default_factory=list)
    targetGroupVpc: StrictStr | None = None
    hostedZoneId: StrictStr | None = None
    acceptLosses: list[StrictStr] = Field(default_factory=list)
    # Names whose records of another type (A, AAAA, a Cloud Map SRV...) the CNAME may replace (Route 53 refuses it beside them)
    replaceRecords: list[StrictStr] = Field(default_factory=list)
    # Add the ingress VPC Lattice needs to the tasks' security groups; false: refuse, saying what to add
    allowLatticeIngress: bool = True


class LatticeRolloutInput(Strict):
    lattice: LatticeSection
    mode: Literal["plan", "apply"] = "apply"


def parse_lattice_input(raw: Any) -> tuple[LatticeRolloutInput, RolloutSpec, dict[str, list[dict[str, Any]]]]:
    """The `lattice` section and `mode`, then the mesh rollout input around them (no AWS call)."""
    if not isinstance(raw, dict):
        parse_input(raw, LatticeRolloutInput)  # the named error for a non-object
    ours = parse_input({k: raw[k] for k in ("lattice", "mode") if k in raw}, LatticeRolloutInput)
    check_auth(ours.lattice.authType, ours.lattice.authPolicy)
    gateway_keys = ("virtualGateways", "gatewayRoutes")  # the Lattice rollout's own: the mesh rollout has no gateways
    spec, requests = build_requests({k: v for k, v in raw.items() if k not in ("lattice", "mode", *gateway_keys)})
    entries = [e.model_dump() for e in ours.lattice.gateways]
    requests |= gateway_requests(raw, spec.mesh.meshName, requests["virtualServices"], entries)
    return ours, spec, requests


class LatticeRolloutPlan(TypedDict):
    """PlanLatticeRollout's result, the LatticeRolloutStateMachine's state from there on (its ResultPath is `$`)."""

    mode: str  # plan or apply
    planOnly: bool
    serviceNetwork: dict[str, Any]
    targetGroups: list[dict[str, Any]]
    services: list[dict[str, Any]]
    losses: list[dict[str, Any]]
    clients: str
    hostedZones: dict[str, str]  # {custom domain name: hosted zone id}
    roleArn: str | None
    preflight: dict[str, Any]  # what the account lacks for the move (problems), and the ingress rules to add
    ecsServices: list[dict[str, Any]]
    maxConcurrentDeployments: int
    requests: list[dict[str, Any]]  # plan mode: every request a run would make


def plan_lattice_rollout(raw: Any, ecs: Any, route53: Any, ec2: Any, iam: Any) -> LatticeRolloutPlan:
    """Check the input and what it names (read-only) and return every request a run would make, with what the
    account lacks for the move (`preflight`): in apply mode a problem there is refused before any change."""
    ours, spec, requests = parse_lattice_input(raw)
    lattice = ours.lattice.model_dump(mode="json", exclude_none=True)
    topology = translate(requests, lattice)
    refuse_unaccepted(topology["losses"], list(ours.lattice.acceptLosses))
    planned = requests_of(topology)
    zones = _hosted_zones(route53, ours.lattice.hostedZoneId, [s["customDomainName"] for s in topology["services"]])
    groups = {g["virtualNodeName"]: g["name"] for g in topology["targetGroups"]}
    services = []
    reached: list[dict[str, Any]] = []
    for index, target in enumerate(spec.ecsServices):
        field = f"ecsServices[{index}]"
        if target.virtualNodeName not in groups:
            raise InvalidRolloutInput(
                f"{field}.virtualNodeName", f"node {target.virtualNodeName!r} has no Lattice target group (see the losses)"
            )
        found = describe_service(ecs, target.cluster, target.service, field)
        current, _ = describe_task_definition(ecs, found["taskDefinition"])
        port = target.appPorts[0] if target.appPorts else (app_port(current) or attached_port(found, current))
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
        reached.append(_reached(field, found, port, topology, groups[target.virtualNodeName]))
    preflight = _preflight(ours.lattice, topology, zones, reached, route53, ec2, iam)
    if ours.mode == "apply" and preflight["problems"]:
        raise InvalidRolloutInput.of([(p["field"], p["problem"]) for p in preflight["problems"]])
    return {
        "mode": ours.mode,
        "planOnly": ours.mode == "plan",
        "serviceNetwork": topology["serviceNetwork"],
        "targetGroups": topology["targetGroups"],
        "services": topology["services"],
        "losses": topology["losses"],
        "clients": clients_note(ours.lattice.authType),
        "hostedZones": zones,
        "roleArn": ours.lattice.ecsInfrastructureRoleArn,
        "preflight": preflight,
        "ecsServices": services,
        "maxConcurrentDeployments": spec.maxConcurrentDeployments,
        "requests": planned if ours.mode == "plan" else [],
    }


def _reached(field: str, service: dict[str, Any], port: int, topology: dict[str, Any], group: str) -> dict[str, Any]:
    """Where VPC Lattice reaches the service's tasks: their security groups and the ports it sends to (the port ECS
    registers, and the target group's health check port if it has its own)."""
    vpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    config = next(g["config"] for g in topology["targetGroups"] if g["name"] == group)
    check = (config.get("healthCheck") or {}).get("port")
    return {
        "field": field,
        "name": f"{service['clusterArn'].rsplit('/', 1)[-1]}/{service['serviceName']}",
        "securityGroups": list(vpc.get("securityGroups", [])),
        "ports": sorted({port, *([check] if check else [])}),
    }


def _preflight(
    lattice: LatticeSection,
    topology: dict[str, Any],
    zones: dict[str, str],
    reached: list[dict[str, Any]],
    route53: Any,
    ec2: Any,
    iam: Any,
) -> dict[str, Any]:
    """Items 1, 4 and 8 of the move (migration/preflight.py), read-only; a service whose records the CNAME replaces
    carries them (`replaceRecords`) to MoveNames, which deletes them in the CNAME's batch."""
    ingress, ingress_problems = lattice_ingress(ec2, reached, lattice.allowLatticeIngress)
    records, deletes, record_problems = existing_records(route53, topology["services"], zones, list(lattice.replaceRecords))
    role, role_problems = infrastructure_role(iam, lattice.ecsInfrastructureRoleArn)
    for service in topology["services"]:
        if service["customDomainName"] in deletes:
            service["replaceRecords"] = deletes[service["customDomainName"]]
    problems = [*ingress_problems, *record_problems, *role_problems]
    return {
        "securityGroupIngress": ingress if lattice.allowLatticeIngress else [],
        "existingRecords": records,
        "infrastructureRole": role,
        "problems": [{"field": f, "problem": p} for f, p in dict.fromkeys(problems)],
    }


def attached_port(service: dict[str, Any], task_definition: dict[str, Any]) -> int | None:
    """On a re-run (the mesh, and with it AppPorts, already gone): the container port of the task definition's
    port mapping that the ECS service's deployments' vpcLatticeConfigurations name (by portName), or None when
    none does. `service` as DescribeServices answers, `task_definition` as DescribeTaskDefinition does."""
    names = {c.get("portName") for d in service.get("deployments", []) for c in d.get("vpcLatticeConfigurations", [])}
    ports = [
        m["containerPort"]
        for c in task_definition["containerDefinitions"]
        for m in c.get("portMappings", [])
        if m.get("name") in names
    ]
    return ports[0] if ports else None


def _changes(current: dict[str, Any], request: dict[str, Any]) -> list[str]:
    """What taking the task definition off the mesh changes, for a person."""
    kept = {c["name"]: c for c in request["containerDefinitions"]}
    out = [f"remove container {c['name']}" for c in current["containerDefinitions"] if c["name"] not in kept]
    if current.get("proxyConfiguration"):
        out.append("remove the APPMESH proxyConfiguration")
    for container in (c for c in current["containerDefinitions"] if c["name"] in kept):
        gone = [
            d["containerName"] for d in container.get("dependsOn", []) if d not in kept[container["name"]].get("dependsOn", [])
        ]
        if gone:
            out.append(f"container {container['name']} no longer waits for {', '.join(gone)}")
        named = [m.get("name") for m in kept[container["name"]].get("portMappings", [])]
        if named != [m.get("name") for m in container.get("portMappings", [])]:
            out.append(f"container {container['name']}: name its port mapping {next(n for n in named if n)!r} for Lattice")
    return out or ["nothing: the task definition is off the mesh already"]


def _hosted_zones(route53: Any, given: str | None, names: list[str]) -> dict[str, str]:
    """{virtual service name: the private hosted zone it is written in}: the zone given (every name must be in it),
    else per name the private zone of its parent domain (apps.local for serviceb.apps.local)."""
    if given:
        with aws_errors(f"GetHostedZone {given}"):
            zone = route53.get_hosted_zone(Id=given)["HostedZone"]["Name"].rstrip(".")
        outside = [n for n in names if not n.endswith(f".{zone}")]
        if outside:
            raise InvalidRolloutInput("lattice.hostedZoneId", f"zone {zone} cannot hold {', '.join(outside)}: leave it out")
        return dict.fromkeys(names, given)
    zones: dict[str, str] = {}
    found: dict[str, str] = {}
    for name in names:
        parent = name.split(".", 1)[1] if "." in name else name
        if parent not in found:
            with aws_errors("ListHostedZonesByName"):
                listed = route53.list_hosted_zones_by_name(DNSName=parent, MaxItems="10")["HostedZones"]
            match = [z for z in listed if z["Name"].rstrip(".") == parent and z.get("Config", {}).get("PrivateZone")]
            if not match:
                raise UnknownReference(
                    "lattice.hostedZoneId",
                    f"no private hosted zone {parent} (where {name} must resolve to its Lattice service); create it for"
                    " your VPC (an App Mesh DNS or Cloud Map namespace usually has one) or give its ID",
                )
            found[parent] = str(match[0]["Id"]).rsplit("/", 1)[-1]
        zones[name] = found[parent]
    return zones
