"""`mesh-rollout export-given`: a live route as a `--given` world, so a team rehearses its own route offline.

Read-only: every call is a Describe*, Get* or List* (a hook on each client refuses any other before it is sent,
and counts them). From a weight shift's input it reads what the plan reads (functions/mesh_rollout: the traffic
backend's `resolve`, the ECS services registered in the target groups, the gate's metrics) and what the emulator
needs to hold the same route: the rule, listener and load balancer (ALB) or service, listener, rule and service
networks (VPC Lattice), the target groups, the ECS services behind them with their clusters and task definitions,
the VPCs, subnets and security groups those use, the IAM roles they name (same names and trust, no policies),
the alarms the input names (definition and state, no actions) and the last minutes of every metric the gate and
the judge read.

The world is written with the live values, then every identifier the emulator makes up anew (IDs, ARNs, the
metric dimensions made of them) is replaced by a `{{given:NAME.path}}` reference to the given call that creates
it; the input gets the same replacements (an ALB's listener and rule ARNs; a Lattice route named by name needs
none). Not exported: container environments and secrets (values that may be secret), Cloud Map and Service
Connect, listener certificates, alarm actions, security group rules, App Mesh routes."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mesh_rollout_local.rollouts import functions_importable

READ_ONLY = ("Describe", "Get", "List")


class ExportError(Exception):
    """What the export cannot do (an App Mesh route, an input the plan refuses): one line for the user."""


@dataclass
class Exported:
    """The world (given calls), the input with references, and the calls the export made, by operation."""

    world: list[dict[str, Any]]
    execution_input: dict[str, Any]
    calls: Counter[str] = field(default_factory=Counter)
    region: str = ""


class ReadOnlyClients:
    """One client per service from the session, each refusing any call but Describe*, Get*, List* before it is
    sent (botocore's before-call event), and counting those it lets through."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.calls: Counter[str] = Counter()
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            made = self.session.client(service)
            made.meta.events.register("before-call", self._check)
            self._clients[service] = made
        return self._clients[service]

    def _check(self, model: Any, **kwargs: Any) -> None:
        name = f"{model.service_model.service_name}:{model.name}"
        if not model.name.startswith(READ_ONLY):
            raise ExportError(f"refused {name}: export-given only reads (Describe*, Get*, List*)")
        self.calls[name] += 1


class World:
    """Given calls in order, and the live identifiers each saved response stands for."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.refs: dict[str, str] = {}  # live identifier (ID, ARN, dimension value) -> the text that stands for it
        self.saved: set[str] = set()

    def name(self, kind: str, label: str) -> str:
        """A saveAs name, readable and unique: albTargetGroupServiceB, latticeServiceCheckout ..."""
        words = re.findall(r"[A-Za-z0-9]+", label)
        base = kind + "".join(w[:1].upper() + w[1:] for w in words)
        found, number = base, 1
        while found in self.saved:
            number += 1
            found = f"{base}{number}"
        self.saved.add(found)
        return found

    def add(self, service: str, operation: str, params: dict[str, Any], save_as: str | None = None) -> None:
        call: dict[str, Any] = {"service": service, "operation": operation, "params": params}
        if save_as:
            call["saveAs"] = save_as
        self.calls.append(call)

    def refer(self, live: str | None, reference: str) -> None:
        if live:
            self.refs[live] = reference

    def rewrite(self, value: Any) -> Any:
        """Every live identifier in the strings of `value` replaced by its reference (the longest first; an
        identifier inside a longer word is not one)."""
        if not self.refs:
            return value
        pattern = re.compile(
            "|".join(rf"(?<![A-Za-z0-9-]){re.escape(k)}(?![A-Za-z0-9-])" for k in sorted(self.refs, key=len, reverse=True))
        )

        def walk(item: Any) -> Any:
            if isinstance(item, str):
                return pattern.sub(lambda m: self.refs[m.group(0)], item)
            if isinstance(item, dict):
                return {k: walk(v) for k, v in item.items()}
            if isinstance(item, list):
                return [walk(v) for v in item]
            return item

        return walk(value)


def _pick(source: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: source[k] for k in keys if source.get(k) not in (None, "", [], {})}


def _pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(key, [])


class Exporter:
    """Reads the route of one weight-shift input and writes it as a world (see the module's docstring)."""

    def __init__(self, clients: Callable[[str], Any], minutes: int, now: dt.datetime) -> None:
        self.client = clients
        self.minutes = minutes
        self.now = now
        self.world = World()
        self.roles: dict[str, str] = {}  # role ARN -> name
        self.vpcs: set[str] = set()
        self.subnets: set[str] = set()
        self.security_groups: set[str] = set()
        self.clusters: set[str] = set()
        self.services: dict[tuple[str, str], dict[str, Any]] = {}
        self.task_definitions: dict[str, dict[str, Any]] = {}

    # --- what the input names, read as the plan reads it ------------------------------------------------

    def export(self, raw: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        with functions_importable():
            from mesh_rollout.errors import MeshRolloutError

            try:
                return self._export(raw)
            except MeshRolloutError as exc:  # the input's mistake, or AWS's answer, as the plan names them
                raise ExportError(f"{type(exc).__name__}: {exc}") from None

    def _export(self, raw: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        from mesh_rollout.aws.ecs import AmbiguousService, service_of_target_group
        from mesh_rollout.shifting.inputs import ROUTE_FIELDS, parse_spec
        from mesh_rollout.shifting.plan import compare_gate, threshold_presets
        from mesh_rollout.traffic import backend_module

        spec = parse_spec(raw)
        backend = spec.route_backend
        if backend == "appmesh":
            raise ExportError("an App Mesh route is not exported (export a VPC Lattice or ALB route)")
        traffic = self.client("elbv2" if backend == "alb" else "vpc-lattice")
        fields = {f: getattr(spec, f) for f in ROUTE_FIELDS[backend]}
        # the route, stable and canary as the plan resolves them (traffic/alb.py, traffic/lattice.py)
        resolved = backend_module(backend).resolve(fields, spec.stable, spec.canary, traffic)
        # the metrics the gate and the judge read: the input's own, the presets' (shifting/plan.py), both sides'
        cloudwatch = self.client("cloudwatch")
        stats = [m["metricStat"] for m in spec.healthGate.model_dump(mode="json")["metrics"]]
        stats += [m.get("divideBy") for m in spec.healthGate.model_dump(mode="json")["metrics"]]
        for preset in threshold_presets(spec, resolved, cloudwatch):
            stats += [preset["metricStat"], preset.get("divideBy")]
        for metric in (compare_gate(spec, resolved, cloudwatch) or {}).get("metrics", []):
            for side in ("canary", "stable"):
                stats += [metric[side].get("metricStat"), metric[side].get("divideBy")]
        # the ECS services the input names, and those registered in the route's target groups (as the plan finds them)
        named = [spec.canaryEcsService, spec.finalize.stableEcsService, *spec.healthGate.ecsServices]
        wanted = {(ref.cluster, ref.service) for ref in named if ref is not None}
        ecs = self.client("ecs")
        for arn in resolved["arns"].values():
            try:
                found = service_of_target_group(ecs, arn)
            except AmbiguousService as several:
                raise ExportError(f"ECS services {several} all register in target group {arn}") from None
            if found is not None:
                wanted.add((found["cluster"], found["service"]))
        self._read_services(sorted(wanted))
        route = self._read_alb(resolved) if backend == "alb" else self._read_lattice(resolved)
        self._write_roles()
        self._write_network()
        self._write_ecs_base()
        route["write"]()
        self._write_services()
        self._write_alarms(list(spec.healthGate.alarmNames))
        self._write_metrics([stat for stat in stats if stat])
        world = self.world
        return [{**c, "params": world.rewrite(c["params"])} for c in world.calls], world.rewrite(raw)

    # --- ECS services and what they use --------------------------------------------------------------

    def _read_services(self, wanted: list[tuple[str, str]]) -> None:
        ecs = self.client("ecs")
        for cluster, name in wanted:
            [service] = ecs.describe_services(cluster=cluster, services=[name])["services"] or [None]
            if service is None:
                continue
            self.clusters.add(cluster)
            self.services[(cluster, name)] = service
            arn = service["taskDefinition"]
            if arn not in self.task_definitions:
                self.task_definitions[arn] = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            definition = self.task_definitions[arn]
            for key in ("taskRoleArn", "executionRoleArn"):
                self._role(definition.get(key))
            vpc = service.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
            self.subnets.update(vpc.get("subnets", []))
            self.security_groups.update(vpc.get("securityGroups", []))
            for deployment in service.get("deployments", [])[:1]:
                for config in deployment.get("vpcLatticeConfigurations", []):
                    self._role(config.get("roleArn"))
            for balancer in service.get("loadBalancers", []):
                self._role(balancer.get("advancedConfiguration", {}).get("roleArn"))

    def _role(self, arn: str | None) -> None:
        if arn and ":role/" in arn:
            self.roles[arn] = arn.rsplit("/", 1)[-1]

    def _write_roles(self) -> None:
        iam = self.client("iam")
        for arn, name in sorted(self.roles.items(), key=lambda item: item[1]):
            role = iam.get_role(RoleName=name)["Role"]
            trust = role["AssumeRolePolicyDocument"]
            params = {
                "RoleName": name,
                "Path": role.get("Path", "/"),
                "AssumeRolePolicyDocument": trust if isinstance(trust, str) else json.dumps(trust),
                **_pick(role, "Description"),
            }
            saved = self.world.name("role", name)
            self.world.add("iam", "create_role", params, saved)
            self.world.refer(arn, f"{{{{given:{saved}.Role.Arn}}}}")

    def _write_network(self) -> None:
        ec2 = self.client("ec2")
        subnets = ec2.describe_subnets(SubnetIds=sorted(self.subnets))["Subnets"] if self.subnets else []
        groups = (
            ec2.describe_security_groups(GroupIds=sorted(self.security_groups))["SecurityGroups"] if self.security_groups else []
        )
        self.vpcs.update(s["VpcId"] for s in subnets)
        self.vpcs.update(g["VpcId"] for g in groups if g.get("VpcId"))
        for vpc in ec2.describe_vpcs(VpcIds=sorted(self.vpcs))["Vpcs"] if self.vpcs else []:
            saved = self.world.name("vpc", _tag_name(vpc))
            self.world.add("ec2", "create_vpc", {"CidrBlock": vpc["CidrBlock"]}, saved)
            self.world.refer(vpc["VpcId"], f"{{{{given:{saved}.Vpc.VpcId}}}}")
        for subnet in subnets:
            saved = self.world.name("subnet", _tag_name(subnet))
            params = {"VpcId": subnet["VpcId"], "CidrBlock": subnet["CidrBlock"], "AvailabilityZone": subnet["AvailabilityZone"]}
            self.world.add("ec2", "create_subnet", params, saved)
            self.world.refer(subnet["SubnetId"], f"{{{{given:{saved}.Subnet.SubnetId}}}}")
        for group in groups:
            saved = self.world.name("securityGroup", group["GroupName"])
            if group["GroupName"] == "default":  # every VPC has its own, made with it
                filters = [{"Name": "vpc-id", "Values": [group["VpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
                self.world.add("ec2", "describe_security_groups", {"Filters": filters}, saved)
                self.world.refer(group["GroupId"], f"{{{{given:{saved}.SecurityGroups[0].GroupId}}}}")
                continue
            params = {"GroupName": group["GroupName"], "Description": group.get("Description") or group["GroupName"]}
            self.world.add("ec2", "create_security_group", {**params, "VpcId": group["VpcId"]}, saved)
            self.world.refer(group["GroupId"], f"{{{{given:{saved}.GroupId}}}}")

    def _write_ecs_base(self) -> None:
        for cluster in sorted(self.clusters):
            self.world.add("ecs", "create_cluster", {"clusterName": cluster.rsplit("/", 1)[-1]})
        for arn, definition in self.task_definitions.items():
            containers = [
                {
                    k: v
                    for k, v in container.items()
                    if k not in ("environment", "secrets", "environmentFiles", "repositoryCredentials")
                }
                for container in definition["containerDefinitions"]
            ]
            params = {
                **_pick(
                    definition,
                    "family",
                    "taskRoleArn",
                    "executionRoleArn",
                    "networkMode",
                    "volumes",
                    "placementConstraints",
                    "requiresCompatibilities",
                    "cpu",
                    "memory",
                    "pidMode",
                    "ipcMode",
                    "proxyConfiguration",
                    "runtimePlatform",
                    "ephemeralStorage",
                ),
                "containerDefinitions": containers,
            }
            saved = self.world.name("taskDefinition", f"{definition['family']} {definition.get('revision', '')}")
            self.world.add("ecs", "register_task_definition", params, saved)
            self.world.refer(arn, f"{{{{given:{saved}.taskDefinition.taskDefinitionArn}}}}")

    def _write_services(self) -> None:
        for (cluster, _), service in sorted(self.services.items()):
            params: dict[str, Any] = {
                "cluster": cluster.rsplit("/", 1)[-1],
                "serviceName": service["serviceName"],
                "taskDefinition": service["taskDefinition"],
                "desiredCount": service.get("desiredCount", 1),
                **_pick(
                    service,
                    "launchType",
                    "capacityProviderStrategy",
                    "platformVersion",
                    "networkConfiguration",
                    "healthCheckGracePeriodSeconds",
                    "schedulingStrategy",
                    "deploymentController",
                ),
            }
            balancers = [
                _pick(b, "targetGroupArn", "containerName", "containerPort", "advancedConfiguration")
                for b in service.get("loadBalancers", [])
            ]
            if balancers:
                params["loadBalancers"] = balancers
            lattice = [
                _pick(c, "roleArn", "targetGroupArn", "portName")
                for deployment in service.get("deployments", [])[:1]
                for c in deployment.get("vpcLatticeConfigurations", [])
            ]
            if lattice:
                params["vpcLatticeConfigurations"] = lattice
            self.world.add("ecs", "create_service", params)

    # --- the route -------------------------------------------------------------------------------------

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
                **_pick(balancer, "SecurityGroups", "Scheme", "IpAddressType"),
            }
            world.add("elbv2", "create_load_balancer", params, saved)
            world.refer(balancer["LoadBalancerArn"], f"{{{{given:{saved}.LoadBalancers[0].LoadBalancerArn}}}}")
            dimension = balancer["LoadBalancerArn"].split(":loadbalancer/", 1)[-1]  # the LoadBalancer dimension
            world.refer(dimension, f"{{{{given:{saved}.LoadBalancers[0].LoadBalancerArn|after::loadbalancer/}}}}")
            for group in groups:
                name = world.name("targetGroup", group["TargetGroupName"])
                keys = ("Protocol", "ProtocolVersion", "Port", "VpcId", "TargetType", "IpAddressType", "Matcher")
                keys += tuple(k for k in group if k.startswith("HealthCheck") and k != "HealthCheckEnabled")
                world.add("elbv2", "create_target_group", {"Name": group["TargetGroupName"], **_pick(group, *keys)}, name)
                arn = f"{{{{given:{name}.TargetGroups[0].TargetGroupArn}}}}"
                world.refer(group["TargetGroupArn"], arn)
                resource = group["TargetGroupArn"].split(":", 5)[-1]  # the TargetGroup dimension: targetgroup/NAME/ID
                world.refer(resource, f"targetgroup/{{{{given:{name}.TargetGroups[0].TargetGroupArn|after::targetgroup/}}}}")
            saved = world.name("listener", f"{balancer['LoadBalancerName']} {listener['Port']}")
            params = {
                "LoadBalancerArn": balancer["LoadBalancerArn"],
                "DefaultActions": [_action(a) for a in listener["DefaultActions"]],
                **_pick(listener, "Protocol", "Port", "SslPolicy", "AlpnPolicy"),
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
                world.add("vpc-lattice", "create_service_network", _pick(network, "name", "authType"), saved)
                world.refer(network["id"], f"{{{{given:{saved}.id}}}}")
                world.refer(network["arn"], f"{{{{given:{saved}.arn}}}}")
                for vpc in vpcs:
                    params = {"serviceNetworkIdentifier": network["id"], "vpcIdentifier": vpc["vpcId"]}
                    world.add("vpc-lattice", "create_service_network_vpc_association", params)
            saved = world.name("latticeService", service["name"])
            world.add("vpc-lattice", "create_service", _pick(service, "name", "authType", "customDomainName"), saved)
            world.refer(service["id"], f"{{{{given:{saved}.id}}}}")
            world.refer(service["arn"], f"{{{{given:{saved}.arn}}}}")
            for network, _ in networks:
                params = {"serviceNetworkIdentifier": network["id"], "serviceIdentifier": service["id"]}
                world.add("vpc-lattice", "create_service_network_service_association", params)
            for group in groups:
                name = world.name("targetGroup", group["name"])
                config = _pick(
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
                    {**_pick(group, "name", "type"), **({"config": config} if config else {})},
                    name,
                )
                world.refer(group["id"], f"{{{{given:{name}.id}}}}")
                world.refer(group["arn"], f"{{{{given:{name}.arn}}}}")
            saved = world.name("listener", f"{service['name']} {listener['name']}")
            params = {"serviceIdentifier": service["id"], **_pick(listener, "name", "protocol", "port", "defaultAction")}
            world.add("vpc-lattice", "create_listener", params, saved)
            world.refer(listener["id"], f"{{{{given:{saved}.id}}}}")
            world.refer(listener["arn"], f"{{{{given:{saved}.arn}}}}")
            if rule is not None:
                saved = world.name("rule", f"{service['name']} {rule['name']}")
                params = {
                    "serviceIdentifier": service["id"],
                    "listenerIdentifier": listener["id"],
                    **_pick(rule, "name", "priority", "match", "action"),
                }
                world.add("vpc-lattice", "create_rule", params, saved)
                world.refer(rule["id"], f"{{{{given:{saved}.id}}}}")
                world.refer(rule["arn"], f"{{{{given:{saved}.arn}}}}")

        return {"write": write}

    # --- alarms and metrics ----------------------------------------------------------------------------

    def _write_alarms(self, names: list[str]) -> None:
        if not names:
            return
        cloudwatch = self.client("cloudwatch")
        found = cloudwatch.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        for alarm in found.get("MetricAlarms", []):
            params = _pick(
                alarm,
                "AlarmName",
                "AlarmDescription",
                "MetricName",
                "Namespace",
                "Statistic",
                "ExtendedStatistic",
                "Dimensions",
                "Period",
                "Unit",
                "EvaluationPeriods",
                "DatapointsToAlarm",
                "Threshold",
                "ComparisonOperator",
                "TreatMissingData",
                "EvaluateLowSampleCountPercentile",
                "Metrics",
                "ThresholdMetricId",
            )
            self.world.add("cloudwatch", "put_metric_alarm", params)
            self._alarm_state(alarm)
        for alarm in found.get("CompositeAlarms", []):
            self.world.add("cloudwatch", "put_composite_alarm", _pick(alarm, "AlarmName", "AlarmDescription", "AlarmRule"))
            self._alarm_state(alarm)

    def _alarm_state(self, alarm: dict[str, Any]) -> None:
        params = {
            "AlarmName": alarm["AlarmName"],
            "StateValue": alarm["StateValue"],
            "StateReason": alarm.get("StateReason") or "exported",
        }
        self.world.add("cloudwatch", "set_alarm_state", params)

    def _write_metrics(self, stats: list[dict[str, Any]]) -> None:
        """The last minutes of each metric the gate and the judge read, one datapoint a minute, each as its age
        ({{given:now-N}}). A metric read with one statistic is written as that minute's value of it (a Sum as the
        minute's Sum, SampleCount as that many 1s, any other as a single Value: its Average, Maximum and any pNN are
        that value offline). A metric read with several (p99 by the thresholds, p50 by the judge, Average by a
        metric of the input) is read once per statistic and written as one minute's Values and Counts from which the
        emulator computes each of them as it was read (`_samples`)."""
        unique: dict[str, dict[str, Any]] = {}
        for stat in stats:
            metric = stat["Metric"]
            key = json.dumps([_metric_key(metric), stat["Stat"]])
            unique.setdefault(key, {"Metric": metric, "Period": 60, "Stat": stat["Stat"]})
        if not unique:
            return
        queries: list[dict[str, Any]] = [
            {"Id": f"m{index}", "MetricStat": stat, "ReturnData": True} for index, stat in enumerate(unique.values())
        ]
        results = self._read_metrics(queries)
        # each metric's statistics, and each minute's value of them
        metrics: dict[str, tuple[dict[str, Any], set[str], dict[dt.datetime, dict[str, float]]]] = {}
        for query in queries:
            stat = query["MetricStat"]
            _, statistics, minutes = metrics.setdefault(_metric_key(stat["Metric"]), (stat["Metric"], set(), {}))
            statistics.add(stat["Stat"])
            for stamp, value in results.get(query["Id"], []):
                minutes.setdefault(stamp, {})[stat["Stat"]] = value
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for metric, statistics, minutes in metrics.values():
            for stamp, values in sorted(minutes.items()):
                age = max(1, int((self.now - stamp).total_seconds()))
                datum: dict[str, Any] = {"MetricName": metric["MetricName"], "Dimensions": metric.get("Dimensions", [])}
                datum.update(_published(values, several=len(statistics) > 1), Timestamp=f"{{{{given:now-{age}}}}}")
                by_namespace.setdefault(metric["Namespace"], []).append(datum)
        for namespace, data in by_namespace.items():
            for begin in range(0, len(data), 1000):  # PutMetricData takes up to 1000 metrics (given.DATA_PER_CALL)
                self.world.add(
                    "cloudwatch", "put_metric_data", {"Namespace": namespace, "MetricData": data[begin : begin + 1000]}
                )

    def _read_metrics(self, queries: list[dict[str, Any]]) -> dict[str, list[tuple[dt.datetime, float]]]:
        """Each query's (timestamp, value) over the last `minutes`."""
        start = self.now - dt.timedelta(minutes=self.minutes)
        results: dict[str, list[tuple[dt.datetime, float]]] = {}
        cloudwatch = self.client("cloudwatch")
        for begin in range(0, len(queries), 500):  # GetMetricData takes up to 500 queries
            for page in cloudwatch.get_paginator("get_metric_data").paginate(
                MetricDataQueries=queries[begin : begin + 500], StartTime=start, EndTime=self.now
            ):
                for result in page["MetricDataResults"]:
                    results.setdefault(result["Id"], []).extend(
                        zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                    )
        return results


def _published(values: dict[str, float], several: bool) -> dict[str, Any]:
    """A minute of a metric as PutMetricData's datum fields (see `Exporter._write_metrics`)."""
    if several and any(stat in COMPUTED or PERCENTILE.match(stat) for stat in values):
        samples = _samples(values)
        return {"Values": [v for v, _ in samples], "Counts": [float(c) for _, c in samples]}
    if "SampleCount" in values:
        return {"Values": [1.0], "Counts": [values["SampleCount"]]}
    return {"Value": next(iter(values.values()))}


def _metric_key(metric: dict[str, Any]) -> str:
    """A metric's identity: namespace, name and dimensions (in any order)."""
    dimensions = sorted(json.dumps(d, sort_keys=True) for d in metric.get("Dimensions", []))
    return json.dumps([metric.get("Namespace"), metric.get("MetricName"), dimensions])


COMPUTED = frozenset({"SampleCount", "Sum", "Average", "Minimum", "Maximum"})  # and pNN (emulator/cloudwatch.py)
PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,2})?)$")


def _samples(values: dict[str, float]) -> list[tuple[float, int]]:
    """One minute's published values (value, count), ascending, from which the emulator computes each statistic in
    `values` as CloudWatch answered it: SampleCount as their count, Sum as their sum, Average as their mean,
    Minimum and Maximum as the first and last, pNN as the nearest-rank percentile (emulator/cloudwatch.py).

    The count is the SampleCount, else Sum / Average, else 100 (1,000 or 10,000 when two percentiles would share a
    rank). Each statistic that is a value of the ordered samples is pinned at its rank; the samples between two
    pinned ranks take the upper one's value, then those not pinned move (within their neighbours' values, above
    0 if no value read is negative) until the mean is the Average (or the sum the Sum). Values CloudWatch answered
    that no samples can hold at once (a p50 above the p99, an Average below the Minimum) are kept as near as the
    order allows. Statistics the emulator does not compute (trimmed means and the like) are left out."""
    ranks = sorted(
        (float(match.group(1)), value) for stat, value in values.items() if (match := PERCENTILE.match(stat)) is not None
    )
    size, total = _size(values, ranks)
    pinned: dict[int, float] = {}
    if "Minimum" in values:
        pinned[1] = values["Minimum"]
    for rank, value in ranks:
        pinned.setdefault(_rank(rank, size), value)
    if "Maximum" in values:
        pinned.setdefault(size, values["Maximum"])
    floor = min(0.0, *values.values())
    runs = _runs(pinned, size, floor)
    if total is not None:
        _fit(runs, total)
    samples: list[tuple[float, int]] = []
    for first, last, _, _, value in runs:
        if samples and samples[-1][0] == value:
            samples[-1] = (value, samples[-1][1] + int(last - first) + 1)
        else:
            samples.append((value, int(last - first) + 1))
    return samples


def _size(values: dict[str, float], ranks: list[tuple[float, float]]) -> tuple[int, float | None]:
    """How many samples a minute holds, and their sum if a statistic read says it."""
    count, total, average = values.get("SampleCount"), values.get("Sum"), values.get("Average")
    if count is None and total is not None and average:
        count = total / average
    if count is not None:
        size = max(1, round(count))
    else:
        size = next((n for n in (100, 1_000) if len({_rank(r, n) for r, _ in ranks}) == len({r for r, _ in ranks})), 10_000)
    if total is None and average is not None:
        total = average * size
    return size, total


def _runs(pinned: dict[int, float], size: int, floor: float) -> list[list[float]]:
    """The samples as runs [first position, last position, lowest, highest, value]: each pinned rank alone, the
    samples below it at its value (they may go down to the rank below it, or `floor`), those above the highest rank
    at its value (they may go up without bound). Pinned values are kept ascending."""
    runs: list[list[float]] = []
    previous, below = 0, floor
    for position, value in sorted(pinned.items()):
        value = max(value, below)
        if position > previous + 1:
            runs.append([previous + 1, position - 1, below, value, value])
        runs.append([position, position, value, value, value])
        previous, below = position, value
    if previous < size:
        runs.append([previous + 1, size, below, math.inf, below])
    return runs


def _fit(runs: list[list[float]], total: float) -> None:
    """Moves the runs that are free to move until the samples sum to `total`, or as near as their bounds allow."""
    free = [run for run in runs if run[2] != run[3]]
    missing = total - sum((run[1] - run[0] + 1) * run[4] for run in runs)
    if missing > 0 and free and math.isinf(free[-1][3]):  # the samples above the highest rank
        top = free[-1]
        top[4] += missing / (top[1] - top[0] + 1)
    elif missing < 0:
        room = sum((run[1] - run[0] + 1) * (run[4] - run[2]) for run in free)
        share = min(1.0, -missing / room) if room else 0.0
        for run in free:
            run[4] -= share * (run[4] - run[2])


def _rank(rank: float, size: int) -> int:
    """The 1-based position of the nearest-rank pNN among `size` ordered samples."""
    return max(math.ceil(rank / 100 * size), 1)


def _tag_name(resource: dict[str, Any]) -> str:
    return next((str(t["Value"]) for t in resource.get("Tags", []) if t.get("Key") == "Name"), "")


def _action(action: dict[str, Any]) -> dict[str, Any]:
    """An ALB action as CreateRule and CreateListener take it (DescribeRules answers the same shape)."""
    return {k: v for k, v in action.items() if v not in (None, [], {})}


def export_given(session: Any, raw: dict[str, Any], minutes: int = 15, now: dt.datetime | None = None) -> Exported:
    """The world and the offline input for the weight-shift input `raw`, read through `session` (read-only)."""
    clients = ReadOnlyClients(session)
    exporter = Exporter(clients, minutes, now or dt.datetime.now(dt.UTC))
    world, execution_input = exporter.export(raw)
    return Exported(world, execution_input, clients.calls, str(session.region_name or ""))
