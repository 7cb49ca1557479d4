"""The ECS side of the move to Lattice: each service's task definition off the mesh, attached to its target group."""

from __future__ import annotations

from typing import Any

from mesh_rollout.aws.ecs import RolloutRevision, lattice_configurations, revise_service, short_name
from mesh_rollout.migration.offmesh import off_mesh


def register_off_mesh(ecs: Any, target: dict[str, Any], target_group_arn: str, role_arn: str) -> RolloutRevision:
    """Find or register the service's revision without the mesh; the state its EcsServiceRolloutStateMachine
    execution carries (the shape RegisterTaskDefinition returns, so the deployment gate and rollback apply unchanged)."""
    field = f"{target['cluster']}/{target['service']}"
    port_names: list[str] = []

    def without_mesh(current: dict[str, Any], service: dict[str, Any]) -> dict[str, Any]:
        desired, port_name = off_mesh(current, target["port"], keep_xray=target["keepXray"], field=field)
        port_names.append(port_name)
        return desired

    revision, service = revise_service(ecs, target["cluster"], target["service"], field, without_mesh)
    wanted = [{"roleArn": role_arn, "targetGroupArn": target_group_arn, "portName": port_names[0]}]
    return {
        **revision,
        "revision": short_name(revision["taskDefinition"]),
        "needsUpdate": revision["needsUpdate"] or lattice_configurations(service) != wanted,
        "vpcLatticeConfigurations": wanted,
        "previousVpcLatticeConfigurations": lattice_configurations(service),  # what a rollback puts back ([]: none)
        "pollSeconds": target["pollSeconds"],
        "maxChecks": target["maxChecks"],
    }
