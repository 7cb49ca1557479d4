"""The route export-given reads: an ALB's listener, rule and target groups, or a VPC Lattice service's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from mesh_rollout_local.export.reads import pick

if TYPE_CHECKING:
    from mesh_rollout_local.export.world import World


def _pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(key, [])


class RouteMixin:
    """The Exporter's route: read when the export starts, written (`write`) after the network and the ECS base."""

    client: Callable[[str], Any]
    world: World
    vpcs: set[str]
    subnets: set[str]
    security_groups: set[str]

    def _read_alb(self, resolved: dict[str, Any]) -> dict[str, Any]:
        elbv2 = self.client("elbv2")
        reference = resolved["reference"]
        [listener] = elbv2.describe_listeners(ListenerArns=[reference["listenerArn"]])["Listeners"]
        [balancer] = elbv2.describe_load_balancers(LoadBalancerArns=[listener["LoadBalancerArn"]])["LoadBalancers"]
        rule = elbv2.describe_rules(RuleArns=[reference["ruleArn"]])["Rules"][0] if reference.get("ruleArn") else None
        actions = [*listener["DefaultActions"], *(rule["Actions"] if rule else [])]
        arns = set(resolved["arns"].values())
        for action in actions:
            arns.update(t["TargetGroupArn"] for t in action.get("ForwardConfig", {}).get("TargetGroups", []))
            if action.get("TargetGroupArn"):
                arns.add(action["TargetGroupArn"])
        groups = elbv2.describe_target_groups(TargetGroupArns=sorted(arns))["TargetGroups"]
        self.vpcs.add(balancer["VpcId"])
        self.vpcs.update(g["VpcId"] for g in groups if g.get("VpcId"))
        self.subnets.update(zone["SubnetId"] for zone in balancer.get("AvailabilityZones", []) if zone.get("SubnetId"))
        self.security_groups.update(balancer.get("SecurityGroups", []))

        def write() -> None:
            world = self.world
            saved = world.name("alb", balancer["LoadBalancerName"])
            params = {
                "Name": balancer["LoadBalancerName"],
                "Type": "application",
                "Subnets": [zone["SubnetId"] for zone in balancer.get("AvailabilityZones", [])],
                **pick(balancer, "SecurityGroups", "Scheme", "IpAddressType"),
            }
            world.add("elbv2", "create_load_balancer", params, saved)
            world.refer(balancer["LoadBalancerArn"], f"{{{{given:{saved}.LoadBalancers[0].LoadBalancerArn}}}}")
            dimension = balancer["LoadBalancerArn"].split(":loadbalancer/", 1)[-1]  # the LoadBalancer dimension
            world.refer(dimension, f"{{{{given:{saved}.LoadBalancers[0].LoadBalancerArn|after::loadbalancer/}}}}")
            for group in groups:
                name = world.name("targetGroup", group["TargetGroupName"])
                keys = ("Protocol", "ProtocolVersion", "Port", "VpcId", "TargetType", "IpAddressType", "Matcher")
                keys += tuple(k for k in group if k.startswith("HealthCheck") and k != "HealthCheckEnabled")
                world.add("elbv2", "create_target_group", {"Name": group["TargetGroupName"], **pick(group, *keys)}, name)
                arn = f"{{{{given:{name}.TargetGroups[0].TargetGroupArn}}}}"
                world.refer(group["TargetGroupArn"], arn)
                resource = group["TargetGroupArn"].split(":", 5)[-1]  # the TargetGroup dimension: targetgroup/NAME/ID
                world.refer(resource, f"targetgroup/{{{{given:{name}.TargetGroups[0].TargetGroupArn|after::targetgroup/}}}}")
            saved = world.name("listener", f"{balancer['LoadBalancerName']} {listener['Port']}")
            params = {
                "LoadBalancerArn": balancer["LoadBalancerArn"],
                "DefaultActions": [_action(a) for a in listener["DefaultActions"]],
                **pick(listener, "Protocol", "Port", "SslPolicy", "AlpnPolicy"),
            }
            world.add("elbv2", "create_listener", params, saved)
            world.refer(listener["ListenerArn"], f"{{{{given:{saved}.Listeners[0].ListenerArn}}}}")
            if rule is not None:
                saved = world.name("rule", f"{balancer['LoadBalancerName']} {listener['Port']} {rule['Priority']}")
                conditions = [
                    {k: v for k, v in c.items() if not (k == "Values" and any(key.endswith("Config") for key in c))}
                    for c in rule["Conditions"]
                ]
                params = {
                    "ListenerArn": listener["ListenerArn"],
                    "Priority": int(rule["Priority"]),
                    "Conditions": conditions,
                    "Actions": [_action(a) for a in rule["Actions"]],
                }
                world.add("elbv2", "create_rule", params, saved)
                world.refer(rule["RuleArn"], f"{{{{given:{saved}.Rules[0].RuleArn}}}}")

        return {"write": write}

    def _read_lattice(self, resolved: dict[str, Any]) -> dict[str, Any]:
        lattice = self.client("vpc-lattice")
        reference = resolved["reference"]
        service = lattice.get_service(serviceIdentifier=reference["service"])
        listener = lattice.get_listener(serviceIdentifier=reference["service"], listenerIdentifier=reference["listener"])
        rule = (
            lattice.get_rule(
                serviceIdentifier=reference["service"], listenerIdentifier=reference["listener"], ruleIdentifier=reference["rule"]
            )
            if reference.get("rule")
            else None
        )
        identifiers = set(resolved["ids"].values())
        for action in (listener.get("defaultAction", {}), (rule or {}).get("action", {})):
            identifiers.update(t["targetGroupIdentifier"] for t in action.get("forward", {}).get("targetGroups", []))
        groups = [lattice.get_target_group(targetGroupIdentifier=i) for i in sorted(identifiers)]
        self.vpcs.update(g["config"]["vpcIdentifier"] for g in groups if g.get("config", {}).get("vpcIdentifier"))
        networks = []
        for association in _pages(lattice, "list_service_network_service_associations", "items", serviceIdentifier=service["id"]):
            network = lattice.get_service_network(serviceNetworkIdentifier=association["serviceNetworkId"])
            # the associations of the route's VPCs, as listed (their security groups are not needed offline: nothing
            # there sends traffic through them)
            vpcs = [
                v
                for v in _pages(lattice, "list_service_network_vpc_associations", "items", serviceNetworkIdentifier=network["id"])
                if v.get("vpcId") in self.vpcs
            ]
            networks.append((network, vpcs))

        def write() -> None:
            world = self.world
            for network, vpcs in networks:
                saved = world.name("serviceNetwork", network["name"])
                world.add("vpc-lattice", "create_service_network", pick(network, "name", "authType"), saved)
                world.refer(network["id"], f"{{{{given:{saved}.id}}}}")
                world.refer(network["arn"], f"{{{{given:{saved}.arn}}}}")
                for vpc in vpcs:
                    params = {"serviceNetworkIdentifier": network["id"], "vpcIdentifier": vpc["vpcId"]}
                    world.add("vpc-lattice", "create_service_network_vpc_association", params)
            saved = world.name("latticeService", service["name"])
            world.add("vpc-lattice", "create_service", pick(service, "name", "authType", "customDomainName"), saved)
            world.refer(service["id"], f"{{{{given:{saved}.id}}}}")
            world.refer(service["arn"], f"{{{{given:{saved}.arn}}}}")
            for network, _ in networks:
                params = {"serviceNetworkIdentifier": network["id"], "serviceIdentifier": service["id"]}
                world.add("vpc-lattice", "create_service_network_service_association", params)
            for group in groups:
                name = world.name("targetGroup", group["name"])
                config = pick(
                    group.get("config", {}),
                    "port",
                    "protocol",
                    "protocolVersion",
                    "ipAddressType",
                    "vpcIdentifier",
                    "healthCheck",
                    "lambdaEventStructureVersion",
                )
                world.add(
                    "vpc-lattice",
                    "create_target_group",
                    {**pick(group, "name", "type"), **({"config": config} if config else {})},
                    name,
                )
                world.refer(group["id"], f"{{{{given:{name}.id}}}}")
                world.refer(group["arn"], f"{{{{given:{name}.arn}}}}")
            saved = world.name("listener", f"{service['name']} {listener['name']}")
            params = {"serviceIdentifier": service["id"], **pick(listener, "name", "protocol", "port", "defaultAction")}
            world.add("vpc-lattice", "create_listener", params, saved)
            world.refer(listener["id"], f"{{{{given:{saved}.id}}}}")
            world.refer(listener["arn"], f"{{{{given:{saved}.arn}}}}")
            if rule is not None:
                saved = world.name("rule", f"{service['name']} {rule['name']}")
                params = {
                    "serviceIdentifier": service["id"],
                    "listenerIdentifier": listener["id"],
                    **pick(rule, "name", "priority", "match", "action"),
                }
                world.add("vpc-lattice", "create_rule", params, saved)
                world.refer(rule["id"], f"{{{{given:{saved}.id}}}}")
                world.refer(rule["arn"], f"{{{{given:{saved}.arn}}}}")

        return {"write": write}


def _action(action: dict[str, Any]) -> dict[str, Any]:
    """An ALB action as CreateRule and CreateListener take it (DescribeRules answers the same shape)."""
    return {k: v for k, v in action.items() if v not in (None, [], {})}
