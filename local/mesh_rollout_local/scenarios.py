"""Generated inputs for scale and stress runs: the guide's world with N services instead of three."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mesh_rollout_local.emulator.ecs import IN_PROGRESS_CHECKS_TAG

ROOT = Path(__file__).resolve().parents[2]
ROLE = "arn:aws:iam::123456789012:role/{}"


def _world_base() -> list[dict[str, Any]]:
    """The guide's roles, VPC, subnet, security group and cluster (base-given.json)."""
    given: list[dict[str, Any]] = json.loads((ROOT / "events" / "local" / "base-given.json").read_text())
    return given


def mesh_of(n: int, routes: int = 0, in_progress_checks: int = 1) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(MeshRolloutStateMachine input, given world) for `n` ECS services, each with its virtual node and
    virtual service (provider: the node), and `routes` routers each splitting 50/50 between two of the nodes.
    Each service's deployments are seen IN_PROGRESS by `in_progress_checks` DescribeServices calls (the ECS
    emulator's tag): 120 is a 30-minute deployment checked every 15 s."""
    given = _world_base()
    nodes, services, targets = [], [], []
    for i in range(n):
        name = f"svc{i:03d}"
        given.append(
            {
                "service": "ecs",
                "operation": "register_task_definition",
                "params": {
                    "family": name,
                    "memory": "1024",
                    "cpu": "512",
                    "networkMode": "awsvpc",
                    "requiresCompatibilities": ["FARGATE"],
                    "taskRoleArn": ROLE.format("ecsTaskRole"),
                    "executionRoleArn": ROLE.format("ecsTaskExecutionRole"),
                    "containerDefinitions": [
                        {
                            "name": "app",
                            "image": f"example/{name}:1.0",
                            "essential": True,
                            "portMappings": [{"containerPort": 9080, "protocol": "tcp"}],
                        }
                    ],
                },
            }
        )
        given.append(
            {
                "service": "ecs",
                "operation": "create_service",
                "params": {
                    "cluster": "apps",
                    "serviceName": name,
                    "taskDefinition": name,
                    "desiredCount": 1,
                    "launchType": "FARGATE",
                    "tags": [{"key": IN_PROGRESS_CHECKS_TAG, "value": str(in_progress_checks)}],
                    "networkConfiguration": {
                        "awsvpcConfiguration": {
                            "subnets": ["{{given:subnet.Subnet.SubnetId}}"],
                            "securityGroups": ["{{given:sg.GroupId}}"],
                            "assignPublicIp": "DISABLED",
                        }
                    },
                },
            }
        )
        nodes.append(
            {
                "virtualNodeName": name,
                "spec": {
                    "listeners": [{"portMapping": {"port": 80, "protocol": "http2"}}],
                    "serviceDiscovery": {"dns": {"hostname": f"{name}.apps.local"}},
                },
            }
        )
        services.append(
            {"virtualServiceName": f"{name}.apps.local", "spec": {"provider": {"virtualNode": {"virtualNodeName": name}}}}
        )
        targets.append({"cluster": "apps", "service": name, "virtualNodeName": name})
    routers = [
        {"virtualRouterName": f"router{r:03d}", "spec": {"listeners": [{"portMapping": {"port": 80, "protocol": "http2"}}]}}
        for r in range(routes)
    ]
    route_list = [
        {
            "virtualRouterName": f"router{r:03d}",
            "routeName": f"route{r:03d}",
            "spec": {
                "http2Route": {
                    "match": {"prefix": "/"},
                    "action": {
                        "weightedTargets": [
                            {"virtualNode": nodes[(2 * r) % n]["virtualNodeName"], "weight": 50},
                            {"virtualNode": nodes[(2 * r + 1) % n]["virtualNodeName"], "weight": 50},
                        ]
                    },
                }
            },
        }
        for r in range(routes)
    ]
    rollout = {
        "mesh": {"meshName": "apps", "spec": {}},
        "virtualNodes": nodes,
        "virtualRouters": routers,
        "routes": route_list,
        "virtualServices": services,
        "ecsServices": targets,
    }
    return rollout, given
