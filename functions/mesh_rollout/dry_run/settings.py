"""Where the dry run's reads go and where the real run's calls would go: the clients, and the stack (its lock
table, topic, functions' roles, ECS clusters and key) as the dry-run function's settings give it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from mesh_rollout.aws import client


@dataclass(frozen=True)
class Clients:
    cloudwatch: Any
    ecs: Any
    dynamodb: Any
    sns: Any
    iam: Any


@dataclass(frozen=True)
class Stack:
    """Where the real run's own calls go: the lock table, the notification topic (its ARN gives the partition,
    Region and account), the functions' roles ({logical id: role ARN}), the ECS clusters it may act in and the
    stack's KMS key that encrypts the table and the topic (None: its use is not checked)."""

    lock_table: str
    topic_arn: str
    roles: dict[str, str] | None = None
    clusters: str = "*"
    key_arn: str | None = None

    def arn(self, service: str, resource: str) -> str:
        partition, _, region, account = self.topic_arn.split(":")[1:5]
        return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def stack_from_env() -> Stack:
    """The dry-run function's settings (template.yaml), read and checked when its handler starts."""
    roles = json.loads(os.environ.get("STACK_ROLES") or "{}")  # {function logical id: role ARN}
    if not isinstance(roles, dict) or not all(isinstance(v, str) for v in roles.values()):
        raise ValueError(f"STACK_ROLES is not an object of role ARNs: {roles!r}")
    return Stack(
        lock_table=os.environ["ROUTE_LOCK_TABLE"],
        topic_arn=os.environ["NOTIFICATION_TOPIC_ARN"],
        roles=roles,
        clusters=os.environ.get("ECS_CLUSTERS", "*"),
        key_arn=os.environ.get("KMS_KEY_ARN") or None,  # the key of the table and the topic (MeshRolloutKey)
    )


def aws_clients() -> Clients:
    return Clients(client("cloudwatch"), client("ecs"), client("dynamodb"), client("sns"), client("iam"))
