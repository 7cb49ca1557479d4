"""The read-only clients export-given reads through, and the ECS services, network and IAM roles of a route."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mesh_rollout_local.export.world import World

READ_ONLY = ("Describe", "Get", "List")


class ExportError(Exception):
    """What the export cannot do (an App Mesh route, an input the plan refuses): one line for the user."""


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


def pick(source: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The `keys` of `source` that hold a value (not None, "", [] or {})."""
    return {k: source[k] for k in keys if source.get(k) not in (None, "", [], {})}


class ServicesMixin:
    """The Exporter's ECS services, their clusters and task definitions, the network and the IAM roles they use."""

    client: Callable[[str], Any]
    world: World
    roles: dict[str, str]
    vpcs: set[str]
    subnets: set[str]
    security_groups: set[str]
    clusters: set[str]
    services: dict[tuple[str, str], dict[str, Any]]
    task_definitions: dict[str, dict[str, Any]]

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
                **pick(role, "Description"),
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
                **pick(
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
                **pick(
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
                pick(b, "targetGroupArn", "containerName", "containerPort", "advancedConfiguration")
                for b in service.get("loadBalancers", [])
            ]
            if balancers:
                params["loadBalancers"] = balancers
            lattice = [
                pick(c, "roleArn", "targetGroupArn", "portName")
                for deployment in service.get("deployments", [])[:1]
                for c in deployment.get("vpcLatticeConfigurations", [])
            ]
            if lattice:
                params["vpcLatticeConfigurations"] = lattice
            self.world.add("ecs", "create_service", params)


def _tag_name(resource: dict[str, Any]) -> str:
    return next((str(t["Value"]) for t in resource.get("Tags", []) if t.get("Key") == "Name"), "")
