"""The MeshRolloutStateMachine input. App Mesh requests stay in AWS's own shape; only our own fields are modelled."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from mesh_rollout.aws.deployments import DEPLOYMENT_POLL_SECONDS, DEPLOYMENT_TIMEOUT_SECONDS
from mesh_rollout.parsing import Strict

# Inline Map states run at most 40 iterations at once; 10 services deploying at a time keep ECS's API calls
# (one DescribeServices per service every poll) far below its throttling limits.
MAX_CONCURRENT_DEPLOYMENTS = 10

ProxyPropertyName = Literal[
    "IgnoredUID",
    "IgnoredGID",
    "ProxyIngressPort",
    "ProxyEgressPort",
    "AppPorts",
    "EgressIgnoredIPs",
    "EgressIgnoredPorts",
]


class ProxyProperty(Strict):
    name: ProxyPropertyName
    value: StrictStr


class ProxyConfigurationOverrides(Strict):
    """ECS's own ProxyConfiguration shape; each property given here replaces the guide's default."""

    type: Literal["APPMESH"] = "APPMESH"
    # None: the task definition's own Envoy (by image or proxyConfiguration) if it has one, else "envoy"
    containerName: StrictStr | None = Field(default=None, min_length=1, max_length=255)
    properties: list[ProxyProperty] = Field(default_factory=list)


class EcsServiceTarget(Strict):
    """One ECS service to put on the mesh (the guide's "Update Services" step)."""

    cluster: StrictStr = Field(min_length=1)
    service: StrictStr = Field(min_length=1)
    virtualNodeName: StrictStr = Field(min_length=1, max_length=255)
    appContainer: StrictStr | None = Field(default=None, min_length=1)
    appPorts: list[StrictInt] | None = Field(default=None, min_length=1)
    envoyImage: StrictStr | None = Field(default=None, min_length=1)
    # None keeps the task definition's tracing; true ensures it; false turns Envoy's off (a daemon stays)
    xray: StrictBool | None = None
    xrayImage: StrictStr = Field(default="amazon/aws-xray-daemon", min_length=1)
    proxyConfiguration: ProxyConfigurationOverrides = Field(default_factory=ProxyConfigurationOverrides)
    deploymentTimeoutSeconds: StrictInt = Field(default=DEPLOYMENT_TIMEOUT_SECONDS, ge=60, le=86400)
    deploymentPollSeconds: StrictInt = Field(default=DEPLOYMENT_POLL_SECONDS, ge=1, le=300)


class MeshSection(BaseModel):
    """The CreateMesh request; checked field by field against the App Mesh model."""

    model_config = ConfigDict(extra="allow", frozen=True)
    meshName: StrictStr


class RolloutSpec(Strict):
    """The MeshRolloutStateMachine input: App Mesh create requests plus the ECS services to mesh."""

    mesh: MeshSection
    virtualNodes: list[dict[str, Any]] = Field(default_factory=list)
    virtualRouters: list[dict[str, Any]] = Field(default_factory=list)
    routes: list[dict[str, Any]] = Field(default_factory=list)
    virtualServices: list[dict[str, Any]] = Field(default_factory=list)
    ecsServices: list[EcsServiceTarget] = Field(default_factory=list)
    # How many ECS services deploy at once. After the first failed deployment no new one starts; those already
    # deploying finish their gate.
    maxConcurrentDeployments: StrictInt = Field(default=MAX_CONCURRENT_DEPLOYMENTS, ge=1, le=40)
