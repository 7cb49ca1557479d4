"""What the emulated account holds after a run: the --dump document and the summary tables."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mesh_rollout_local.runner import OfflineAccount, RunResult


def _pages(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    return [item for page in client.get_paginator(operation).paginate(**params) for item in page[key]]


def snapshot(account: OfflineAccount) -> dict[str, Any]:
    """Every App Mesh resource and ECS task definition/service, each as its describe_* call returns it."""
    appmesh, ecs = account.client("appmesh"), account.client("ecs")
    mesh_doc: dict[str, list[Any]] = {k: [] for k in ("meshes", "virtualServices", "virtualNodes", "virtualRouters", "routes")}
    for ref in _pages(appmesh, "list_meshes", "meshes"):
        mesh = ref["meshName"]
        mesh_doc["meshes"].append(appmesh.describe_mesh(meshName=mesh)["mesh"])
        for item in _pages(appmesh, "list_virtual_services", "virtualServices", meshName=mesh):
            name = item["virtualServiceName"]
            mesh_doc["virtualServices"].append(
                appmesh.describe_virtual_service(meshName=mesh, virtualServiceName=name)["virtualService"]
            )
        for item in _pages(appmesh, "list_virtual_nodes", "virtualNodes", meshName=mesh):
            name = item["virtualNodeName"]
            mesh_doc["virtualNodes"].append(appmesh.describe_virtual_node(meshName=mesh, virtualNodeName=name)["virtualNode"])
        for item in _pages(appmesh, "list_virtual_routers", "virtualRouters", meshName=mesh):
            router = item["virtualRouterName"]
            mesh_doc["virtualRouters"].append(
                appmesh.describe_virtual_router(meshName=mesh, virtualRouterName=router)["virtualRouter"]
            )
            for route in _pages(appmesh, "list_routes", "routes", meshName=mesh, virtualRouterName=router):
                mesh_doc["routes"].append(
                    appmesh.describe_route(meshName=mesh, virtualRouterName=router, routeName=route["routeName"])["route"]
                )
    task_definitions = [
        ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        for arn in _pages(ecs, "list_task_definitions", "taskDefinitionArns", status="ACTIVE")
    ]
    services = []
    for cluster in _pages(ecs, "list_clusters", "clusterArns"):
        arns = _pages(ecs, "list_services", "serviceArns", cluster=cluster)
        for start in range(0, len(arns), 10):
            services += ecs.describe_services(cluster=cluster, services=arns[start : start + 10])["services"]
    return {
        "appmesh": mesh_doc,
        "ecs": {"taskDefinitions": task_definitions, "services": services},
        "vpcLattice": _lattice(account.client("vpc-lattice")),
        "elbv2": _elbv2(account.client("elbv2")),
    }


def _lattice(lattice: Any) -> dict[str, list[Any]]:
    """Lattice target groups and, per service and listener, every rule (the default one included) via GetRule."""
    doc: dict[str, list[Any]] = {"targetGroups": _pages(lattice, "list_target_groups", "items"), "rules": []}
    for service in _pages(lattice, "list_services", "items"):
        for listener in _pages(lattice, "list_listeners", "items", serviceIdentifier=service["id"]):
            keys = {"serviceIdentifier": service["id"], "listenerIdentifier": listener["id"]}
            for rule in _pages(lattice, "list_rules", "items", **keys):
                found = lattice.get_rule(**keys, ruleIdentifier=rule["id"])
                found.pop("ResponseMetadata", None)
                doc["rules"].append({"service": service["name"], "listener": listener["name"], **found})
    return doc


def _elbv2(elbv2: Any) -> dict[str, list[Any]]:
    """ALB target groups and every listener's rules (the default one included)."""
    doc: dict[str, list[Any]] = {"targetGroups": _pages(elbv2, "describe_target_groups", "TargetGroups"), "rules": []}
    for balancer in _pages(elbv2, "describe_load_balancers", "LoadBalancers"):
        for listener in _pages(elbv2, "describe_listeners", "Listeners", LoadBalancerArn=balancer["LoadBalancerArn"]):
            for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
                doc["rules"].append({"loadBalancer": balancer["LoadBalancerName"], "port": listener["Port"], **rule})
    return doc


def _traffic_lines(world: dict[str, Any]) -> list[str]:
    """One line per Lattice or ALB rule that forwards to weighted target groups."""
    lines: list[str] = []
    lattice = world.get("vpcLattice", {"targetGroups": [], "rules": []})
    names = {g["id"]: g["name"] for g in lattice["targetGroups"]}
    for rule in lattice["rules"]:
        targets = (rule.get("action") or {}).get("forward", {}).get("targetGroups", [])
        if targets:
            where = f"{rule['service']}/{rule['listener']}/{rule['name']}"
            weights = ", ".join(f"{names.get(t['targetGroupIdentifier'].rsplit('/', 1)[-1], '?')} {t['weight']}" for t in targets)
            lines.append(f"  {'Lattice ' + where:<44} {weights}")
    elbv2 = world.get("elbv2", {"targetGroups": [], "rules": []})
    names = {g["TargetGroupArn"]: g["TargetGroupName"] for g in elbv2["targetGroups"]}
    for rule in elbv2["rules"]:
        for action in (a for a in rule["Actions"] if a["Type"] == "forward" and "ForwardConfig" in a):
            where = f"{rule['loadBalancer']}:{rule['port']}/{'default' if rule['IsDefault'] else 'rule ' + rule['Priority']}"
            targets = action["ForwardConfig"]["TargetGroups"]
            weights = ", ".join(f"{names.get(t['TargetGroupArn'], '?')} {t.get('Weight', 1)}" for t in targets)
            lines.append(f"  {'ALB ' + where:<44} {weights}")
    return ["Weighted target groups", f"  {'rule':<44} weights", *sorted(lines)] if lines else []


def dump_document(runs: list[RunResult], world: dict[str, Any]) -> dict[str, Any]:
    last = runs[-1]
    return {
        "status": last.status,
        "output": last.output,
        "error": last.error,
        "cause": last.cause,
        **world,
        "apiCalls": [
            {"run": r.run, "service": service, "operation": operation, "count": count}
            for r in runs
            for (service, operation), count in sorted(r.api_calls.items())
        ],
        "states": [r.states for r in runs],
    }


def _weights(route: dict[str, Any]) -> str:
    for kind, action in ((k, v.get("action", {})) for k, v in route["spec"].items() if isinstance(v, dict)):
        targets = action.get("weightedTargets", [])
        if targets:
            return f"{kind}: " + ", ".join(f"{t['virtualNode']} {t['weight']}" for t in targets)
    return "(no weighted targets)"


def _provider(service: dict[str, Any]) -> str:
    provider = service["spec"].get("provider") or {}
    if "virtualRouter" in provider:
        return f"router {provider['virtualRouter']['virtualRouterName']}"
    if "virtualNode" in provider:
        return f"node {provider['virtualNode']['virtualNodeName']}"
    return "(no provider)"


def summary(world: dict[str, Any]) -> str:
    """Plain-text tables of the mesh, the Lattice and ALB rules with weighted target groups, and the ECS services."""
    mesh, ecs = world["appmesh"], world["ecs"]
    lines: list[str] = []
    # rows by name: the order the emulator lists resources in changes from run to run
    for m in sorted(mesh["meshes"], key=lambda m: m["meshName"]):
        name = m["meshName"]
        lines.append(f"Mesh {name} (egress {m['spec'].get('egressFilter', {}).get('type', '-')})")
        lines.append(f"  {'virtual service':<28} provider")
        services = sorted((s for s in mesh["virtualServices"] if s["meshName"] == name), key=lambda s: s["virtualServiceName"])
        lines += [f"  {s['virtualServiceName']:<28} {_provider(s)}" for s in services]
        lines.append(f"  {'virtual node':<28} {'dns hostname':<26} {'listeners':<12} backends")
        for n in sorted((n for n in mesh["virtualNodes"] if n["meshName"] == name), key=lambda n: n["virtualNodeName"]):
            spec = n["spec"]
            dns = spec.get("serviceDiscovery", {}).get("dns", {}).get("hostname", "-")
            listeners = ",".join(f"{x['portMapping']['protocol']}:{x['portMapping']['port']}" for x in spec.get("listeners", []))
            backends = ",".join(
                b["virtualService"]["virtualServiceName"] for b in spec.get("backends", []) if "virtualService" in b
            )
            lines.append(f"  {n['virtualNodeName']:<28} {dns:<26} {listeners:<12} {backends or '-'}")
        lines.append(f"  {'router / route':<28} weights")
        for r in sorted((r for r in mesh["virtualRouters"] if r["meshName"] == name), key=lambda r: r["virtualRouterName"]):
            lines.append(f"  {r['virtualRouterName']:<28}")
            routes = (x for x in mesh["routes"] if x["meshName"] == name and x["virtualRouterName"] == r["virtualRouterName"])
            for route in sorted(routes, key=lambda x: x["routeName"]):
                lines.append(f"    {route['routeName']:<26} {_weights(route)}")
    lines += _traffic_lines(world)
    lines += _ecs_lines(ecs)
    return "\n".join(lines)


def _envoy_node(task_definition: dict[str, Any]) -> str | None:
    """The virtual node an App Mesh Envoy sidecar of the task definition serves, if it has one."""
    proxy = task_definition.get("proxyConfiguration", {}).get("containerName")
    envoy: dict[str, Any] = next((c for c in task_definition.get("containerDefinitions", []) if c["name"] == proxy), {})
    return next((e["value"] for e in envoy.get("environment", []) if e["name"] == "APPMESH_VIRTUAL_NODE_NAME"), None)


def _ecs_lines(ecs: dict[str, Any]) -> list[str]:
    """One row per ECS service; the Envoy column only in a world where some task definition has the sidecar."""
    by_arn = {td["taskDefinitionArn"]: td for td in ecs["taskDefinitions"]}
    nodes = {s["serviceArn"]: _envoy_node(by_arn.get(s["taskDefinition"], {})) for s in ecs["services"]}
    mesh = any(nodes.values())
    envoy_header = f"{'envoy (virtual node)':<40} " if mesh else ""
    lines = ["ECS services", f"  {'cluster/service':<28} {'task definition':<16} {envoy_header}deployment"]
    for s in sorted(ecs["services"], key=lambda s: (s["clusterArn"].rsplit("/", 1)[-1], s["serviceName"])):
        primary: dict[str, Any] = next((d for d in s.get("deployments", []) if d.get("status") == "PRIMARY"), {})
        node = nodes[s["serviceArn"]]
        envoy = f"{('yes (' + node + ')') if node else 'no':<40} " if mesh else ""
        where = f"{s['clusterArn'].rsplit('/', 1)[-1]}/{s['serviceName']}"
        lines.append(f"  {where:<28} {s['taskDefinition'].rsplit('/', 1)[-1]:<16} {envoy}{primary.get('rolloutState', '-')}")
    return lines


# The calls that read or write a weighted route, whatever its backend (an App Mesh route, a VPC Lattice listener
# rule or default action, an ALB listener rule or default actions).
TRAFFIC_READS = frozenset(
    {
        ("appmesh", "DescribeRoute"),
        ("vpc-lattice", "GetRule"),
        ("vpc-lattice", "GetListener"),
        ("elbv2", "DescribeRules"),
        ("elbv2", "DescribeListeners"),
    }
)
TRAFFIC_WRITES = frozenset(
    {
        ("appmesh", "UpdateRoute"),
        ("vpc-lattice", "UpdateRule"),
        ("vpc-lattice", "UpdateListener"),
        ("elbv2", "ModifyRule"),
        ("elbv2", "ModifyListener"),
    }
)


@dataclass
class Segment:
    """A stretch of an execution with a Map: before the Map's first iteration, one iteration, or after the Map."""

    name: str
    states: list[str] = field(default_factory=list)  # the states entered, in order
    invocations: int = 0  # Lambda invocations (the approval request's included)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # AWS calls of those invocations

    @property
    def traffic_reads(self) -> int:
        return sum(n for call, n in self.calls.items() if call in TRAFFIC_READS)

    @property
    def traffic_writes(self) -> int:
        return sum(n for call, n in self.calls.items() if call in TRAFFIC_WRITES)

    @property
    def other_calls(self) -> int:
        return sum(self.calls.values()) - self.traffic_reads - self.traffic_writes


def segments(
    result: RunResult, before: str = "before the steps", after: str = "after the steps", steps_map: str | None = None
) -> list[Segment]:
    """The execution cut at its Map's iterations (a weight shift's GroupSteps: one segment per step; `steps_map`
    names the Map when others run inside it, as a group's MoveWaves inside GroupSteps). Handlers run one at a time,
    in the order the history schedules them, so each invocation's calls go to its segment."""
    found = [Segment(before)]
    calls = iter(result.invocation_calls)
    for event in result.history:
        kind = event["type"]
        started = event.get("mapIterationStartedEventDetails", {}).get("name")
        exited = event.get("stateExitedEventDetails", {}).get("name")
        if kind == "MapIterationStarted" and steps_map in (None, started):
            found.append(Segment(f"step {len(found)}"))
        elif kind == "MapStateExited" and steps_map in (None, exited):
            found.append(Segment(after))
        elif kind.endswith("StateEntered"):
            found[-1].states.append(event["stateEnteredEventDetails"]["name"])
        elif kind in ("LambdaFunctionScheduled", "TaskScheduled"):
            found[-1].invocations += 1
            found[-1].calls.update(next(calls, []))
    return found
