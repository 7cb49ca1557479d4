"""Virtual gateways as Lattice services (pure): the entry point the user names in `lattice.gateways`.

A gateway is the mesh's ingress: an Envoy in an ECS service of its own that listens and routes to virtual services.
On VPC Lattice the same job is a Lattice service: each gateway listener becomes a listener (HTTP, or HTTPS with the
gateway's ACM certificate), each gateway route a listener rule forwarding straight to the target groups behind its
target virtual service (the router's weights when the virtual service has a router with one route). A Lattice
service (rather than an ALB listener) keeps the whole move in one API and one converge path, and it is reachable
from every VPC of the service network at the domain name the user gives; clients outside those VPCs (an internet
NLB in front of the gateway today) need their own front door to it. The gateway's own ECS service is left alone.
"""

from __future__ import annotations

from typing import Any

from mesh_rollout.migration.translate import (
    Loss,
    forward,
    http_match_from_grpc,
    http_match_from_http,
    indexed_by,
    lattice_name,
    left_out,
    listener_rule,
)

GATEWAY_ROUTE_KINDS = ("httpRoute", "http2Route", "grpcRoute")
GATEWAY_LOSSES = {
    "backendDefaults": "Lattice has no client TLS policy: the gateway's TLS validation of backends is not translated",
    "logging": "the gateway's access log goes with its Envoy; use a Lattice access log subscription instead",
}
GATEWAY_LISTENER_LOSSES = {
    "healthCheck": "the gateway's own health check goes with its Envoy; Lattice checks each target group instead",
    "connectionPool": "Lattice has no connection pool limits",
}


def gateway_services(
    mesh_requests: dict[str, list[dict[str, Any]]],
    lattice: dict[str, Any],
    targets_of: dict[str, tuple[str, list[tuple[int, dict[str, Any]]]]],
    groups: dict[str, Any],
    losses: list[Loss],
) -> list[dict[str, Any]]:
    """The Lattice service of every gateway named in `lattice.gateways`; `targets_of` maps a virtual service name to
    (its provider's kind, its routes or node) as translate finds them."""
    entries = {e["virtualGatewayName"]: e for e in lattice.get("gateways", [])}
    routes_of = indexed_by(mesh_requests.get("gatewayRoutes", []), "virtualGatewayName")
    services = []
    for index, gateway in enumerate(mesh_requests.get("virtualGateways", [])):
        where = f"virtualGateways[{index}]"
        name = gateway["virtualGatewayName"]
        entry = entries.get(name)
        if entry is None:
            losses.append(Loss(where, "no entry point in lattice.gateways: the gateway and its routes are not translated"))
            continue
        spec = gateway.get("spec") or {}
        for key, what in GATEWAY_LOSSES.items():
            if spec.get(key):
                losses.append(Loss(f"{where}.spec.{key}", what))
        rules: list[dict[str, Any]] = []
        for route_index, route in routes_of.get(name, []):
            rule = _gateway_rule(route, f"gatewayRoutes[{route_index}]", entry, targets_of, groups, losses, len(rules))
            if rule is not None:
                rules.append(rule)
        certificate: str | None = None
        listeners = []
        for listener_index, listener in enumerate(spec.get("listeners") or []):
            at = f"{where}.spec.listeners[{listener_index}]"
            for key, what in GATEWAY_LISTENER_LOSSES.items():
                if listener.get(key):
                    losses.append(Loss(f"{at}.{key}", what))
            acm = _tls_certificate(listener.get("tls"), f"{at}.tls", losses)
            if acm and certificate and acm != certificate:
                losses.append(Loss(f"{at}.tls.certificate", "a Lattice service has one certificate: this listener is plain HTTP"))
                acm = None
            certificate = certificate or acm
            port = listener["portMapping"]["port"]
            protocol = "HTTPS" if acm else "HTTP"
            listeners.append(
                {
                    "name": f"{protocol.lower()}-{port}",
                    "protocol": protocol,
                    "port": port,
                    "defaultAction": {"fixedResponse": {"statusCode": 404}},
                    "rules": [{k: v for k, v in r.items() if k != "port"} for r in rules if r["port"] in (None, port)],
                }
            )
        service = {
            "name": entry.get("serviceName") or lattice_name(name, 40, f"{where}.virtualGatewayName"),
            "customDomainName": entry["customDomainName"],
            "authType": lattice.get("authType", "NONE"),
            "from": where,
            "virtualGatewayName": name,
            "listeners": listeners,
            **({"certificateArn": certificate} if certificate else {}),
            **({"authPolicy": lattice["authPolicy"]} if lattice.get("authPolicy") is not None else {}),
        }
        services.append(service)
    return services


def _tls_certificate(tls: dict[str, Any] | None, where: str, losses: list[Loss]) -> str | None:
    """The ACM certificate of a gateway listener's TLS, if Lattice can terminate it (an HTTPS listener)."""
    if not tls or tls.get("mode") == "DISABLED":
        return None
    if tls.get("validation"):
        losses.append(Loss(f"{where}.validation", "Lattice does not validate client certificates (no mutual TLS)"))
    acm = (tls.get("certificate") or {}).get("acm", {}).get("certificateArn")
    if not acm:
        losses.append(
            Loss(f"{where}.certificate", "Lattice terminates TLS with ACM certificates only: accepted, the listener is HTTP")
        )
        return None
    if tls.get("mode") == "PERMISSIVE":
        losses.append(Loss(f"{where}.mode", "a Lattice HTTPS listener takes TLS only: plaintext clients are refused"))
    return str(acm)


def _gateway_rule(
    route: dict[str, Any],
    where: str,
    entry: dict[str, Any],
    targets_of: dict[str, tuple[str, list[tuple[int, dict[str, Any]]]]],
    groups: dict[str, Any],
    losses: list[Loss],
    position: int,
) -> dict[str, Any] | None:
    spec = route["spec"]
    kind = next(k for k in GATEWAY_ROUTE_KINDS if k in spec)
    body = spec[kind]
    match = body.get("match") or {}
    action = body["action"]
    lost = len(losses)
    if kind == "grpcRoute":
        http_match = http_match_from_grpc(match, f"{where}.spec.grpcRoute.match", losses)
    else:
        http_match = http_match_from_http(
            {k: v for k, v in match.items() if k != "hostname"}, f"{where}.spec.{kind}.match", losses
        )
    hostname = match.get("hostname")
    if hostname and hostname != {"exact": entry["customDomainName"]}:
        losses.append(
            Loss(f"{where}.spec.{kind}.match.hostname", "Lattice rules cannot match on the host (the service has one name)")
        )
    if left_out(losses, lost, where):
        return None
    _rewrite_losses(kind, match, action.get("rewrite") or {}, f"{where}.spec.{kind}.action.rewrite", losses)
    target = action["target"]
    weighted = _weighted_targets(target, f"{where}.spec.{kind}.action.target", targets_of, groups, losses)
    if weighted is None:
        return None
    return listener_rule(
        lattice_name(route["gatewayRouteName"], 63, f"{where}.gatewayRouteName"),
        spec,
        position,
        http_match,
        forward(weighted, groups),
        where,
        match.get("port"),
    )


def _rewrite_losses(kind: str, match: dict[str, Any], rewrite: dict[str, Any], where: str, losses: list[Loss]) -> None:
    """Lattice forwards the request as it came: App Mesh's rewrites (its defaults included) are lost."""
    if rewrite.get("path") or (rewrite.get("prefix") or {}).get("value"):
        losses.append(Loss(where, "Lattice cannot rewrite the path: the target gets the path the client sent"))
    elif match.get("prefix", "/") != "/" and (rewrite.get("prefix") or {}).get("defaultPrefix") != "DISABLED":
        losses.append(
            Loss(
                f"{where}.prefix",
                f"App Mesh rewrites the matched prefix {match['prefix']!r} to '/' by default; Lattice cannot: the target"
                " gets the path the client sent (defaultPrefix DISABLED says you need no rewrite)",
            )
        )
    if (rewrite.get("hostname") or {}).get("defaultTargetHostname") != "DISABLED":
        losses.append(
            Loss(
                f"{where}.hostname",
                "App Mesh sets the Host to the target virtual service's name by default; Lattice passes the client's"
                " (defaultTargetHostname DISABLED says you need no rewrite)",
            )
        )


def _weighted_targets(
    target: dict[str, Any],
    where: str,
    targets_of: dict[str, tuple[str, list[tuple[int, dict[str, Any]]]]],
    groups: dict[str, Any],
    losses: list[Loss],
) -> list[dict[str, Any]] | None:
    """The virtual nodes (and weights) a gateway route reaches through its target virtual service."""
    name = target["virtualService"]["virtualServiceName"]
    kind, routes = targets_of[name]
    port = target.get("port")
    if kind == "virtualRouter":
        routes = [(i, r) for i, r in routes if _route_port(r) in (None, port) or port is None]
        if len(routes) != 1 or _route_match(routes[0][1]):
            losses.append(
                Loss(
                    where,
                    f"{name} routes by its router's own matches ({len(routes)} route(s)); a Lattice rule forwards once:"
                    " give the gateway one route per router route, or accept to leave this route out (no rule)",
                )
            )
            return None
        spec = routes[0][1]["spec"]
        weighted: list[dict[str, Any]] = next(spec[k] for k in spec if k.endswith("Route"))["action"]["weightedTargets"]
    elif kind == "virtualNode":
        weighted = [{"virtualNode": routes[0][1]["virtualNodeName"], "weight": 100}]
    else:
        losses.append(Loss(where, f"{name} has no provider: no rule"))
        return None
    missing = [t["virtualNode"] for t in weighted if groups.get(t["virtualNode"]) is None]
    if missing:
        losses.append(Loss(where, f"{name} reaches nodes without a target group: {', '.join(missing)} (no rule)"))
        return None
    return weighted


def _route_port(route: dict[str, Any]) -> int | None:
    spec = route["spec"]
    body = next(spec[k] for k in spec if k.endswith("Route"))
    port: int | None = (body.get("match") or {}).get("port")
    return port


def _route_match(route: dict[str, Any]) -> bool:
    """Whether a router's route matches on anything but the whole path space (then a gateway rule cannot fold it in)."""
    spec = route["spec"]
    kind = next(k for k in spec if k.endswith("Route"))
    if kind == "tcpRoute":
        return True
    match = {k: v for k, v in ((spec[kind].get("match")) or {}).items() if k != "port"}
    return match not in ({}, {"prefix": "/"})


def gateway_requests(
    raw: dict[str, Any], mesh_name: str, virtual_services: list[dict[str, Any]], entries: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """`virtualGateways` and `gatewayRoutes` of the input as CreateVirtualGateway / CreateGatewayRoute requests,
    checked against the App Mesh model and each other, and the gateways `lattice.gateways` names."""
    from mesh_rollout.aws.specs import request_problems
    from mesh_rollout.errors import InvalidRolloutInput, UnknownReference

    out: dict[str, list[dict[str, Any]]] = {}
    problems: list[tuple[str, str]] = []
    for key, operation in (("virtualGateways", "CreateVirtualGateway"), ("gatewayRoutes", "CreateGatewayRoute")):
        items = raw.get(key) or []
        if not isinstance(items, list):
            raise InvalidRolloutInput(key, "must be a list")
        for index, item in enumerate(items):
            where = f"{key}[{index}]"
            if not isinstance(item, dict):
                problems.append((where, "must be an object"))
                continue
            problems += request_problems("appmesh", operation, {**item, "meshName": mesh_name}, where)
        out[key] = [{**item, "meshName": mesh_name} for item in items]
    if problems:
        raise InvalidRolloutInput.of(problems)
    gateways = {g["virtualGatewayName"] for g in out["virtualGateways"]}
    services = {s["virtualServiceName"] for s in virtual_services}
    for index, route in enumerate(out["gatewayRoutes"]):
        if route["virtualGatewayName"] not in gateways:
            raise UnknownReference(
                f"gatewayRoutes[{index}].virtualGatewayName", f"{route['virtualGatewayName']!r} is not in virtualGateways"
            )
        kind = next(k for k in GATEWAY_ROUTE_KINDS if k in route["spec"])
        target = route["spec"][kind]["action"]["target"]["virtualService"]["virtualServiceName"]
        if target not in services:
            raise UnknownReference(
                f"gatewayRoutes[{index}].spec.{kind}.action.target.virtualService.virtualServiceName",
                f"{target!r} is not in virtualServices",
            )
    for index, entry in enumerate(entries):
        if entry["virtualGatewayName"] not in gateways:
            raise UnknownReference(
                f"lattice.gateways[{index}].virtualGatewayName", f"{entry['virtualGatewayName']!r} is not in virtualGateways"
            )
    return out
