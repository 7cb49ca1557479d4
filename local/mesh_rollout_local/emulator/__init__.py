"""Fill the gaps of moto 5.2.5 that mesh-rollout depends on, following botocore's service models.

One module per service, each with what moto lacks or does differently from the model and from AWS:
- `appmesh`: virtual services; the model's error codes; CreateMesh that does not replace; requests checked
  against the model (Cloud Map without attributes accepted, a weight of 150 refused); missing route targets.
- `cloudwatch`: percentile statistics (`p99`) in GetMetricData.
- `elbv2`: an ALB's weighted forward actions as AWS takes them (<= 5 target groups, weights 0-999, in the load
  balancer's VPC, HTTP/HTTPS); the default rule and the listener's default actions kept as one.
- `iam`: the AWS managed policy AmazonECSInfrastructureRolePolicyForVpcLattice, attachable by ARN;
  SimulatePrincipalPolicy, which evaluates a role's, user's or group's identity policies (never "allowed" where
  iam_policy.py's evaluator cannot decide).
- `ecs`: deployments that go IN_PROGRESS -> COMPLETED (or FAILED, on request) over DescribeServices calls (one
  IN_PROGRESS answer, or as many as a tag asks).
- `ecs_deployments`: service deployments of the BLUE_GREEN, LINEAR and CANARY strategies, run by an engine thread
  on a scaled clock (stages, listener-rule weights, PAUSE and Lambda lifecycle hooks, alarms, rollback);
  List/DescribeServiceDeployments, ContinueServiceDeployment, StopServiceDeployment.
- `events`: EventBridge rules deliver matching events to their Lambda targets (asynchronously).
- `kms`: a symmetric key's RSA key pair, which moto makes for every key, generated only if something reads it.
- `lattice`: listener rules and default actions that can be read and changed (GetRule, ListRules, UpdateRule,
  UpdateListener, DeleteTargetGroup), checked against the model; target groups that exist.
- `route53`: a change batch that leaves a CNAME beside another record of its name is refused (InvalidChangeBatch).
- `stepfunctions`: StopExecution ends ABORTED at once; Lambda service errors named `Lambda.<code>`; nested
  executions (`states:startExecution.sync:2`) that run; GetExecutionHistory paged as the model says (maxResults,
  nextToken, reverseOrder, includeExecutionData) and written without moto's slow serializer; a definition and each
  JSONPath parsed once, a Task's client made once; the runner told when an execution ends.

``install()`` is idempotent and must run before any request reaches moto.
"""

from __future__ import annotations

import threading

from mesh_rollout_local.emulator import (
    appmesh,
    cloudwatch,
    ecs,
    ecs_deployments,
    elbv2,
    events,
    iam,
    kms,
    lattice,
    route53,
    stepfunctions,
)
from mesh_rollout_local.emulator.ecs import FAIL_NEXT_DEPLOYMENT_TAG, IN_PROGRESS_CHECKS_TAG

__all__ = ["FAIL_NEXT_DEPLOYMENT_TAG", "IN_PROGRESS_CHECKS_TAG", "install"]
_installed = False
_lock = threading.Lock()


def install() -> None:
    """Patch moto once per process."""
    global _installed
    with _lock:
        if _installed:
            return
        for service in (appmesh, cloudwatch, ecs, ecs_deployments, elbv2, events, iam, kms, lattice, route53, stepfunctions):
            service.install()
        _installed = True
