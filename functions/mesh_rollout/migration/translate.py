"""An App Mesh definition (the MeshRolloutStateMachine input) as the equivalent VPC Lattice topology (pure).

Each App Mesh object becomes the Lattice requests that reproduce it, in the vpc-lattice API's own shapes:
- mesh -> service network (CreateServiceNetwork), associated with each VPC of `lattice.vpcs`;
- virtual node -> target group of type IP on the node's listener port, its health check from the listener's;
  http2 and grpc become the target group's protocol version;
- virtual service -> Lattice service with the virtual service's name as its custom domain name (and the private
  DNS record that makes that name resolve to it);
- virtual router listener -> Lattice listener (HTTP on the same port), default action a 404;
- route -> listener rule (path prefix/exact, header and method matches, priority, weighted target groups: App
  Mesh's 0-100 weights are valid Lattice weights and keep their proportions);
- a virtual service whose provider is a node -> a listener whose default action forwards to that node's group.

Whatever has no Lattice equivalent is a `Loss` with the input path it comes from; nothing is dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mesh_rollout.aws.specs import check_request
from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.migration.auth import policy_text

ROUTE_KINDS = ("httpRoute", "http2Route", "grpcRoute", "tcpRoute")
PROTOCOL_VERSION = {"http": "HTTP1", "http2": "HTTP2", "grpc": "GRPC"}
NODE_LISTENER_LOSSES = {
    "outlierDetection": "Lattice has no outlier detection (unhealthy targets are taken out by the health check only)",
    "connectionPool": "Lattice has no per-target connection pool limits",
    "tls": "Lattice terminates TLS at the service (HTTPS listener with a certificate), not on the task's listener",
    "timeout": "Lattice has no per-target request or idle timeouts",
}
ROUTE_LOSSES = {
    "retryPolicy": "Lattice listener rules have no retry policy",
    "timeout": "Lattice listener rules have no per-route timeouts",
}
HEADER_MATCHES = {"exact": "exact", "prefix": "prefix"}
MAX_HEADER_MATCHES = 5
DEFAULT_PRIORITY_BASE = 1001  # after App Mesh's explicit priorities 0-1000 (+1: Lattice counts from 1)


@dataclass(frozen=True)
class Loss:
    """A part of the App Mesh definition with no Lattice equivalent, and why."""

    path: str
    what: str


def lattice_name(name: str, max_length: int, path: str) -> str:
    """A Lattice resource name from an App Mesh one: lower case, runs of other characters as one '-'
    ('serviceb.apps.local' -> 'serviceb-apps-local'); names must be 3 characters or more."""
    out = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:max_length].rstrip("-")
    if len(out) < 3:
        raise InvalidRolloutInput(path, f"{name!r} makes the Lattice name {out!r}, shorter than the 3 characters Lattice needs")
    return out


def indexed_by(items: list[dict[str, Any]], key: str) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """{item[key]: [(index in items, item), ...]}, in the items' order: routes by their router or gateway."""
    found: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, item in enumerate(items):
        found.setdefault(item[key], []).append((index, item))
    return found


def translate(mesh_requests: dict[str, list[dict[str, Any]]], lattice: dict[str, Any]) -> dict[str, Any]:
    """The Lattice topology of an App Mesh definition (`mesh_requests` as build_requests returns them) and its losses.

    `lattice`: {"serviceNetworkName", "vpcs": [vpc ids], "targetGroupVpc"?, "authType"?}."""
    losses: list[Loss] = []
    mesh = mesh_requests["mesh"][0]
    losses += _mesh_losses(mesh)
    vpc = lattice.get("targetGroupVpc") or lattice["vpcs"][0]
    groups = {
        node["virtualNodeName"]: _target_group(node, f"virtualNodes[{i}]", vpc, losses)
        for i, node in enumerate(mesh_requests.get("virtualNodes", []))
    }
    _unique_names({n: g["name"] for n, g in groups.items() if g}, "virtualNodes", "virtualNodeName")
    routers = {r["virtualRouterName"]: (i, r) for i, r in enumerate(mesh_requests.get("virtualRouters", []))}
    routes_of = indexed_by(mesh_requests.get("routes", []), "virtualRouterName")
    services = []
    for index, service in enumerate(mesh_requests.get("virtualServices", [])):
        where = f"virtualServices[{index}]"
        provider = (service.get("spec") or {}).get("provider") or {}
        name = service["virtualServiceName"]
        base = {
            "name": lattice_name(name, 40, f"{where}.virtualServiceName"),
            "customDomainName": name,
            "authType": lattice.get("authType", "NONE"),
            "from": where,
            **_auth_policy(lattice),
        }
        if "virtualRouter" in provider:
            router_name = provider["virtualRouter"]["virtualRouterName"]
            router_index, router = routers[router_name]
            listeners = _router_listeners(
                router, f"virtualRouters[{router_index}]", routes_of.get(router_name, []), groups, losses
            )
        elif "virtualNode" in provider:
            node_name = provider["virtualNode"]["virtualNodeName"]
            listeners = _node_listeners(node_name, groups, f"{where}.spec.provider.virtualNode", losses)
        else:
            losses.append(Loss(f"{where}.spec.provider", "a virtual service without a provider has no Lattice service"))
            continue
        if not listeners:
            losses.append(
                Loss(
                    f"{where}.spec.provider", "no listener of it has a Lattice equivalent: no service, its DNS name is left as is"
                )
            )
            continue
        services.append({**base, "listeners": listeners})
    services += _gateway_services(mesh_requests, lattice, routers, routes_of, groups, losses)
    _unique_names({s["customDomainName"]: s["name"] for s in services}, "virtualServices", "virtualServiceName")
    return {
        "serviceNetwork": {
            "name": lattice["serviceNetworkName"],
            "authType": lattice.get("authType", "NONE"),
            "vpcs": list(lattice["vpcs"]),
            "from": "mesh",
            **_auth_policy(lattice),
        },
        "targetGroups": [g for g in groups.values() if g],
        "services": services,
        "losses": [{"path": loss.path, "what": loss.what} for loss in losses],
    }


def _gateway_services(
    mesh_requests: dict[str, list[dict[str, Any]]],
    lattice: dict[str, Any],
    routers: dict[str, tuple[int, dict[str, Any]]],
    routes_of: dict[str, list[tuple[int, dict[str, Any]]]],
    groups: dict[str, Any],
    losses: list[Loss],
) -> list[dict[str, Any]]:
    """The Lattice services of the virtual gateways (migration.gateways), each route reaching its target virtual
    service's nodes."""
    from mesh_rollout.migration.gateways import gateway_services

    targets_of: dict[str, tuple[str, list[tuple[int, dict[str, Any]]]]] = {}
    for service in mesh_requests.get("virtualServices", []):
        provider = (service.get("spec") or {}).get("provider") or {}
        if "virtualRouter" in provider:
            name = provider["virtualRouter"]["virtualRouterName"]
            targets_of[service["virtualServiceName"]] = ("virtualRouter", routes_of.get(name, []) if name in routers else [])
        elif "virtualNode" in provider:
            targets_of[service["virtualServiceName"]] = ("virtualNode", [(0, provider["virtualNode"])])
        else:
            targets_of[service["virtualServiceName"]] = ("none", [])
    return gateway_services(mesh_requests, lattice, targets_of, groups, losses)


def _auth_policy(lattice: dict[str, Any]) -> dict[str, Any]:
    """The auth policy a network or service carries (AWS_IAM only: see migration.auth)."""
    return {"authPolicy": lattice["authPolicy"]} if lattice.get("authPolicy") is not None else {}


def _unique_names(names: dict[str, str], section: str, key: str) -> None:
    seen: dict[str, str] = {}
    for original, name in names.items():
        if name in seen:
            raise InvalidRolloutInput(
                section, f"{key} {original!r} and {seen[name]!r} both become the Lattice name {name!r}; rename one"
            )
        seen[name] = original


def _mesh_losses(mesh: dict[str, Any]) -> list[Loss]:
    spec = mesh.get("spec") or {}
    losses = []
    if (spec.get("egressFilter") or {}).get("type", "DROP_ALL") == "DROP_ALL":  # App Mesh's default
        losses.append(
            Loss(
                "mesh.spec.egressFilter",
                "DROP_ALL (App Mesh's default) has no Lattice equivalent: tasks reach what their security groups allow",
            )
        )
    if spec.get("serviceDiscovery"):
        losses.append(Loss("mesh.spec.serviceDiscovery", "Lattice chooses the IP version itself (no ipPreference)"))
    return losses


def _target_group(node: dict[str, Any], where: str, vpc: str, losses: list[Loss]) -> dict[str, Any] | None:
    spec = node.get("spec") or {}
    listeners = spec.get("listeners") or []
    for key in ("backendDefaults", "logging"):
        if spec.get(key):
            what = {
                "backendDefaults": "Lattice has no client TLS policy: TLS validation of backends is not translated",
                "logging": "App Mesh access logs go with Envoy; use a Lattice access log subscription instead",
            }[key]
            losses.append(Loss(f"{where}.spec.{key}", what))
    for index, backend in enumerate(spec.get("backends") or []):
        if (backend.get("virtualService") or {}).get("clientPolicy"):
            losses.append(Loss(f"{where}.spec.backends[{index}].virtualService.clientPolicy", "Lattice has no client TLS policy"))
    if not listeners:
        losses.append(Loss(f"{where}.spec.listeners", "a node without a listener receives no traffic: no target group"))
        return None
    for index in range(1, len(listeners)):
        losses.append(Loss(f"{where}.spec.listeners[{index}]", "a target group has one port: only listeners[0] is translated"))
    listener = listeners[0]
    for key, what in NODE_LISTENER_LOSSES.items():
        if listener.get(key):
            losses.append(Loss(f"{where}.spec.listeners[0].{key}", what))
    mapping = listener["portMapping"]
    if mapping["protocol"] == "tcp":
        losses.append(Loss(f"{where}.spec.listeners[0].portMapping.protocol", "plain TCP: Lattice forwards HTTP(S) and TLS"))
        return None
    config: dict[str, Any] = {
        "port": mapping["port"],
        "protocol": "HTTP",
        "protocolVersion": PROTOCOL_VERSION[mapping["protocol"]],
        "vpcIdentifier": vpc,
    }
    check = listener.get("healthCheck")
    if check and check["protocol"] in ("http", "http2"):
        config["healthCheck"] = {
            "enabled": True,
            "protocol": "HTTP",
            "protocolVersion": "HTTP2" if check["protocol"] == "http2" else "HTTP1",
            "path": check.get("path", "/"),
            "healthCheckIntervalSeconds": max(5, check["intervalMillis"] // 1000),
            "healthCheckTimeoutSeconds": max(1, check["timeoutMillis"] // 1000),
            "healthyThresholdCount": check["healthyThreshold"],
            "unhealthyThresholdCount": check["unhealthyThreshold"],
            **({"port": check["port"]} if check.get("port") else {}),
        }
    elif check:
        config["healthCheck"] = {"enabled": False}  # Lattice's default (GET /) would fail a gRPC- or TCP-only task
        losses.append(
            Loss(
                f"{where}.spec.listeners[0].healthCheck.protocol",
                f"Lattice health checks are HTTP(S), not {check['protocol']}: the target group's health check is turned off",
            )
        )
    name = lattice_name(node["virtualNodeName"], 128, f"{where}.virtualNodeName")
    return {"name": name, "type": "IP", "config": config, "from": where, "virtualNodeName": node["virtualNodeName"]}


def forward(targets: list[dict[str, Any]], groups: dict[str, Any]) -> dict[str, Any]:
    """A Lattice forward action to the target groups of App Mesh weighted targets, at their weights."""
    return {
        "forward": {"targetGroups": [{"targetGroup": groups[t["virtualNode"]]["name"], "weight": t["weight"]} for t in targets]}
    }


def _node_listeners(node: str, groups: dict[str, Any], where: str, losses: list[Loss]) -> list[dict[str, Any]]:
    group = groups.get(node)
    if group is None:
        losses.append(Loss(where, f"node {node!r} has no target group (see its losses)"))
        return []
    port = group["config"]["port"]
    return [
        {
            "name": f"http-{port}",
            "protocol": "HTTP",
            "port": port,
            "defaultAction": forward([{"virtualNode": node, "weight": 100}], groups),
            "rules": [],
        }
    ]


def _router_listeners(
    router: dict[str, Any],
    where: str,
    routes: list[tuple[int, dict[str, Any]]],
    groups: dict[str, Any],
    losses: list[Loss],
) -> list[dict[str, Any]]:
    listeners = []
    translated: list[dict[str, Any]] = []
    for route_index, route in routes:
        rule = _rule(route, f"routes[{route_index}]", groups, losses, len(translated))
        if rule is not None:
            translated.append(rule)
    for index, listener in enumerate((router.get("spec") or {}).get("listeners") or []):
        mapping = listener["portMapping"]
        if mapping["protocol"] == "tcp":
            losses.append(Loss(f"{where}.spec.listeners[{index}].portMapping.protocol", "plain TCP listeners have no rules"))
            continue
        # a route whose match names a port belongs to that listener only (App Mesh's match.port)
        rules = [{k: v for k, v in r.items() if k != "port"} for r in translated if r["port"] in (None, mapping["port"])]
        listeners.append(
            {
                "name": f"{mapping['protocol']}-{mapping['port']}".replace("http2", "http"),
                "protocol": "HTTP",
                "port": mapping["port"],
                "defaultAction": {"fixedResponse": {"statusCode": 404}},
                "rules": rules,
            }
        )
    return listeners


def _rule(route: dict[str, Any], where: str, groups: dict[str, Any], losses: list[Loss], position: int) -> dict[str, Any] | None:
    spec = route["spec"]
    kind = next(k for k in ROUTE_KINDS if k in spec)
    body = spec[kind]
    if kind == "tcpRoute":
        losses.append(Loss(f"{where}.spec.tcpRoute", "plain TCP routes have no Lattice listener rule"))
        return None
    for key, what in ROUTE_LOSSES.items():
        if body.get(key):
            losses.append(Loss(f"{where}.spec.{kind}.{key}", what))
    missing = [t["virtualNode"] for t in body["action"]["weightedTargets"] if groups.get(t["virtualNode"]) is None]
    if missing:
        losses.append(Loss(f"{where}.spec.{kind}.action", f"targets without a target group: {', '.join(missing)}"))
        return None
    lost = len(losses)
    match = (
        http_match_from_grpc(body.get("match") or {}, f"{where}.spec.grpcRoute.match", losses)
        if kind == "grpcRoute"
        else (http_match_from_http(body.get("match") or {}, f"{where}.spec.{kind}.match", losses))
    )
    if left_out(losses, lost, where):
        return None
    return listener_rule(
        lattice_name(route["routeName"], 63, f"{where}.routeName"),
        spec,
        position,
        match,
        forward(body["action"]["weightedTargets"], groups),
        where,
        (body.get("match") or {}).get("port"),
    )


def left_out(losses: list[Loss], since: int, where: str) -> bool:
    """Whether the route at `where` gets no rule: a condition of its match has no Lattice equivalent (the losses
    added since `since`), and a rule without it would take requests the route never took. Those losses say so."""
    for index in range(since, len(losses)):
        losses[index] = Loss(losses[index].path, f"{losses[index].what}; accepting it leaves {where} out (no rule)")
    return len(losses) > since


def listener_rule(
    name: str, spec: dict[str, Any], position: int, http_match: dict[str, Any], action: dict[str, Any], where: str, port: Any
) -> dict[str, Any]:
    """The Lattice listener rule of a route or gateway route (`spec`): at its App Mesh priority (+1: Lattice counts
    from 1), or, without one, after App Mesh's explicit priorities in the order of the routes (`position`)."""
    priority = spec["priority"] + 1 if spec.get("priority") is not None else DEFAULT_PRIORITY_BASE + position
    return {"name": name, "priority": priority, "match": {"httpMatch": http_match}, "action": action, "from": where, "port": port}


def _headers(headers: list[dict[str, Any]], where: str, losses: list[Loss]) -> list[dict[str, Any]]:
    out = []
    for index, header in enumerate(headers):
        match = header.get("match") or {}
        kind = next(iter(match), None)
        if header.get("invert"):
            losses.append(Loss(f"{where}[{index}]", "Lattice header matches cannot be inverted (header absent or different)"))
            continue
        if kind not in HEADER_MATCHES:
            losses.append(Loss(f"{where}[{index}]", f"Lattice header matches are exact or prefix, not {kind or 'presence'}"))
            continue
        out.append({"name": header["name"], "match": {HEADER_MATCHES[kind]: str(match[kind])}, "caseSensitive": True})
    if len(out) > MAX_HEADER_MATCHES:
        losses.append(Loss(where, f"Lattice takes at most {MAX_HEADER_MATCHES} header matches per rule"))
        out = out[:MAX_HEADER_MATCHES]
    return out


def http_match_from_http(match: dict[str, Any], where: str, losses: list[Loss]) -> dict[str, Any]:
    """An App Mesh HTTP route match as a Lattice httpMatch; what Lattice cannot match on goes to `losses`."""
    out: dict[str, Any] = {}
    path = match.get("path") or {}
    if "prefix" in match:
        out["pathMatch"] = {"match": {"prefix": match["prefix"]}, "caseSensitive": True}
    elif "exact" in path:
        out["pathMatch"] = {"match": {"exact": path["exact"]}, "caseSensitive": True}
    elif path:
        losses.append(Loss(f"{where}.path", "Lattice path matches are exact or prefix, not regex"))
    if match.get("method"):
        out["method"] = match["method"]
    if match.get("headers"):
        headers = _headers(match["headers"], f"{where}.headers", losses)
        if headers:
            out["headerMatches"] = headers
    for key in ("queryParameters", "scheme"):
        if match.get(key) is not None:
            losses.append(Loss(f"{where}.{key}", f"Lattice rules cannot match on {key}"))
    return out


def http_match_from_grpc(match: dict[str, Any], where: str, losses: list[Loss]) -> dict[str, Any]:
    """gRPC calls are HTTP/2 POSTs to /<service>/<method>: a service (and method) is a path match."""
    out: dict[str, Any] = {}
    if match.get("serviceName") and match.get("methodName"):
        out["pathMatch"] = {"match": {"exact": f"/{match['serviceName']}/{match['methodName']}"}, "caseSensitive": True}
    elif match.get("serviceName"):
        out["pathMatch"] = {"match": {"prefix": f"/{match['serviceName']}/"}, "caseSensitive": True}
    if match.get("metadata"):
        headers = _headers(match["metadata"], f"{where}.metadata", losses)
        if headers:
            out["headerMatches"] = headers
    return out


def refuse_unaccepted(losses: list[dict[str, str]], accepted: list[str]) -> None:
    """InvalidRolloutInput naming every loss the input has not accepted (`lattice.acceptLosses`), all at once; and
    an accepted path that is no loss (a typo would otherwise accept nothing, silently)."""
    paths = {loss["path"] for loss in losses}
    for index, path in enumerate(accepted):
        if path not in paths:
            raise InvalidRolloutInput(f"lattice.acceptLosses[{index}]", f"{path!r} is not a loss of this mesh: {sorted(paths)}")
    open_losses = [loss for loss in losses if loss["path"] not in accepted]
    if open_losses:
        listed = "; ".join(f"{loss['path']} ({loss['what']})" for loss in open_losses)
        raise InvalidRolloutInput(
            "lattice.acceptLosses",
            f"{len(open_losses)} part(s) of the mesh have no VPC Lattice equivalent: {listed}. Accept each path in"
            " lattice.acceptLosses to go on without it",
        )


def requests_of(topology: dict[str, Any]) -> list[dict[str, Any]]:
    """The vpc-lattice create requests of a topology, in the order they must run, each checked against the API
    model; a target group is named by `{"targetGroupName": ...}` where the request needs its ID."""
    out: list[dict[str, Any]] = []
    network = topology["serviceNetwork"]
    out.append({"operation": "CreateServiceNetwork", "request": {"name": network["name"], "authType": network["authType"]}})
    out += _put_auth_policy(network["name"], network)
    for vpc in network["vpcs"]:
        out.append(
            {
                "operation": "CreateServiceNetworkVpcAssociation",
                "request": {"serviceNetworkIdentifier": network["name"], "vpcIdentifier": vpc},
            }
        )
    for group in topology["targetGroups"]:
        out.append({"operation": "CreateTargetGroup", "request": {k: group[k] for k in ("name", "type", "config")}})
    for service in topology["services"]:
        body = {k: service[k] for k in ("name", "customDomainName", "authType", "certificateArn") if k in service}
        out.append({"operation": "CreateService", "request": body})
        out += _put_auth_policy(service["name"], service)
        association = {"serviceNetworkIdentifier": network["name"], "serviceIdentifier": service["name"]}
        out.append({"operation": "CreateServiceNetworkServiceAssociation", "request": association})
        for listener in service["listeners"]:
            keys = {"serviceIdentifier": service["name"]}
            create = {k: listener[k] for k in ("name", "protocol", "port")} | {
                "defaultAction": api_action(listener["defaultAction"])
            }
            out.append({"operation": "CreateListener", "request": keys | create})
            for rule in listener["rules"]:
                body = {k: rule[k] for k in ("name", "priority", "match")} | {"action": api_action(rule["action"])}
                out.append({"operation": "CreateRule", "request": keys | {"listenerIdentifier": listener["name"]} | body})
    for service in topology["services"]:
        record = {"Name": service["customDomainName"], "Type": "CNAME", "TTL": 300}
        record["ResourceRecords"] = [{"Value": f"<the DNS name of Lattice service {service['name']}>"}]
        change = {"ChangeBatch": {"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]}}
        out.append({"operation": "ChangeResourceRecordSets", "service": "route53", "request": change})
    for item in (
        i for i in out if i.get("service") != "route53"
    ):  # identifiers are names here (IDs exist once created): checked as an ID-long stand-in
        check_request("vpc-lattice", item["operation"], _with_stand_in_ids(item["request"]), item["operation"])
    return out


def _put_auth_policy(name: str, item: dict[str, Any]) -> list[dict[str, Any]]:
    if item.get("authPolicy") is None:
        return []
    return [{"operation": "PutAuthPolicy", "request": {"resourceIdentifier": name, "policy": policy_text(item["authPolicy"])}}]


def _with_stand_in_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: ("x" * 20 if k.endswith("Identifier") and k != "vpcIdentifier" else _with_stand_in_ids(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_with_stand_in_ids(v) for v in value]
    return value


def api_action(action: dict[str, Any], ids: dict[str, str] | None = None) -> dict[str, Any]:
    """A topology action in the API's shape: target group names become IDs (`ids`), or stay as names to show."""
    if "forward" not in action:
        return action
    groups = [
        {"targetGroupIdentifier": (ids or {}).get(t["targetGroup"], t["targetGroup"]), "weight": t["weight"]}
        for t in action["forward"]["targetGroups"]
    ]
    return {"forward": {"targetGroups": groups}}
