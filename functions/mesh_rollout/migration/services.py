"""The ECS side of the move to Lattice: each service's task definition off the mesh, attached to its target group."""

from __future__ import annotations

from typing import Any

from mesh_rollout.aws.ecs import describe_service, describe_task_definition, find_or_register, lattice_configurations
from mesh_rollout.migration.offmesh import off_mesh


def register_off_mesh(ecs: Any, target: dict[str, Any], target_group_arn: str, role_arn: str) -> dict[str, Any]:
    """Find or register the service's revision without the mesh; the state the ECS part of the rollout carries
    (the same shape as the mesh rollout's, so its deployment gate and rollback apply unchanged)."""
    field = f"{target['cluster']}/{target['service']}"
    service = describe_service(ecs, target["cluster"], target["service"], field)
    current_arn = service["taskDefinition"]
    current, tags = describe_task_definition(ecs, current_arn)
    desired, port_name = off_mesh(current, target["port"], keep_xray=target["keepXray"], field=field)
    arn, registered = find_or_register(ecs, desired, current, tags)
    wanted = [{"roleArn": role_arn, "targetGroupArn": target_group_arn, "portName": port_name}]
    return {
        "cluster": target["cluster"],
        "service": target["service"],
        "previousTaskDefinition": current_arn,
        "taskDefinition": arn,
        "registered": registered,
        "needsUpdate": arn != current_arn or lattice_configurations(service) != wanted,
        "vpcLatticeConfigurations": wanted,
        "pollSeconds": target["pollSeconds"],
        "maxChecks": target["maxChecks"],
    }
