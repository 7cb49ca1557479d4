"""ECS in the emulated account: deployments that move, as they do on AWS.

- UpdateService with a new task definition, new `vpcLatticeConfigurations` or forceNewDeployment starts a new
  PRIMARY deployment that is IN_PROGRESS when first described and COMPLETED on the next DescribeServices. A
  service tagged ``mesh-rollout:emulator/next-deployment = FAILED`` instead sees its next deployment FAILED (the
  tag is consumed, so the rollback deployment that follows succeeds). A service tagged
  ``mesh-rollout:emulator/in-progress-checks = K`` has its deployments seen IN_PROGRESS by K DescribeServices
  calls instead of one (a long deployment, as a real one of 30 minutes polled every 15 s is seen 120 times).
- CreateService's first deployment completes the same way (moto's stays IN_PROGRESS for ever).
- `vpcLatticeConfigurations` given to CreateService or UpdateService are kept and described back where the
  model puts them, on each deployment (`deployments[].vpcLatticeConfigurations`); moto drops them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse

FAIL_NEXT_DEPLOYMENT_TAG = "mesh-rollout:emulator/next-deployment"
IN_PROGRESS_CHECKS_TAG = "mesh-rollout:emulator/in-progress-checks"


def _lattice(service: Any) -> dict[str, Any]:
    configurations = getattr(service, "vpc_lattice_configurations", None)
    return {"vpcLatticeConfigurations": configurations} if configurations else {}


def _in_progress_checks(service: Any) -> int:
    tags = {t["key"]: t["value"] for t in service.tags or []}
    return max(int(tags.get(IN_PROGRESS_CHECKS_TAG, "1")), 1)


def _new_deployment(service: Any, task_definition: str, fail: bool) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    deployment_id = f"ecs-svc/{uuid.uuid4().int % 10**19:019d}"
    return {
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": service.desired_count,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
        "_observed": 0,
        "_in_progress": _in_progress_checks(service),
        "_fail": fail,
        **_lattice(service),
    }


def _advance(service: Any) -> None:
    """Move the PRIMARY deployment one step: IN_PROGRESS is seen once, then COMPLETED or FAILED."""
    primary = next((d for d in service.deployments if d.get("status") == "PRIMARY"), None)
    if primary is None or primary.get("rolloutState") != "IN_PROGRESS" or "_observed" not in primary:
        return
    primary["_observed"] += 1
    if primary["_observed"] <= primary.get("_in_progress", 1):
        return
    primary["updatedAt"] = dt.datetime.now(dt.UTC)
    if primary["_fail"]:
        primary.update(
            rolloutState="FAILED",
            rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.",
            failedTasks=max(primary["desiredCount"], 1),
            pendingCount=0,
        )
        return
    primary.update(
        rolloutState="COMPLETED",
        rolloutStateReason=f"ECS deployment {primary['id']} completed.",
        runningCount=primary["desiredCount"],
        pendingCount=0,
    )
    service.deployments = [primary]
    service.running_count, service.pending_count = primary["desiredCount"], 0


def _update_service_with_deployment(original: Any) -> Any:
    def update_service(self: EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> Any:
        cluster = service_properties.get("cluster", "default")
        name = service_properties["service"].split("/")[-1]
        before = self._get_service(cluster, name).task_definition
        # moto pops the keys it reads; new Lattice configurations start a deployment too (UpdateService docs)
        # ([] detaches the service, which starts one as well)
        forced = bool(service_properties.get("force_new_deployment")) or (
            service_properties.get("vpc_lattice_configurations") is not None
        )
        service = original(self, service_properties)
        # As on AWS, a new task definition or forceNewDeployment starts a new deployment.
        if service.task_definition != before or forced:
            service.task_definition = self.describe_task_definition(service.task_definition).arn
            tags = {t["key"]: t["value"] for t in service.tags or []}
            fail = tags.get(FAIL_NEXT_DEPLOYMENT_TAG) == "FAILED"
            if fail:
                service.tags = [t for t in service.tags if t["key"] != FAIL_NEXT_DEPLOYMENT_TAG]
            for deployment in service.deployments:
                if deployment.get("status") == "PRIMARY":
                    deployment["status"] = "ACTIVE"
            service.deployments.insert(0, _new_deployment(service, service.task_definition, fail))
        return service

    return update_service


def _describe_services_advancing(original: Any) -> Any:
    def describe_services(self: EC2ContainerServiceBackend, cluster_str: str, service_names_or_arns: list[str]) -> Any:
        services, failures = original(self, cluster_str, service_names_or_arns)
        for service in services:
            _advance(service)
        return services, failures

    return describe_services


def _create_service_keeping_lattice(original: Any) -> Any:
    def create_service(self: EC2ContainerServiceResponse) -> Any:
        result = original(self)
        service = result.result["service"]
        configurations = self._get_param("vpcLatticeConfigurations")
        if configurations:
            service.vpc_lattice_configurations = configurations
        for deployment in service.deployments:
            if deployment.get("rolloutState") == "IN_PROGRESS":  # the first deployment completes as any other
                deployment.update(_observed=0, _fail=False)
            if configurations:
                deployment["vpcLatticeConfigurations"] = configurations
        return result

    return create_service


def install() -> None:
    EC2ContainerServiceResponse.create_service = _create_service_keeping_lattice(  # type: ignore[method-assign]
        EC2ContainerServiceResponse.create_service
    )
    EC2ContainerServiceBackend.update_service = _update_service_with_deployment(  # type: ignore[method-assign]
        EC2ContainerServiceBackend.update_service
    )
    EC2ContainerServiceBackend.describe_services = _describe_services_advancing(  # type: ignore[method-assign]
        EC2ContainerServiceBackend.describe_services
    )
