"""Input models. App Mesh requests stay in AWS's own shape; only our own fields are modelled here."""

from __future__ import annotations

import json
from typing import Any, Literal, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from mesh_rollout.errors import InvalidRolloutInput

ProxyPropertyName = Literal[
    "IgnoredUID",
    "IgnoredGID",
    "ProxyIngressPort",
    "ProxyEgressPort",
    "AppPorts",
    "EgressIgnoredIPs",
    "EgressIgnoredPorts",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProxyProperty(_Strict):
    name: ProxyPropertyName
    value: StrictStr


class ProxyConfigurationOverrides(_Strict):
    """ECS's own ProxyConfiguration shape; each property given here replaces the guide's default."""

    type: Literal["APPMESH"] = "APPMESH"
    # None: the task definition's own Envoy (by image or proxyConfiguration) if it has one, else "envoy"
    containerName: StrictStr | None = Field(default=None, min_length=1, max_length=255)
    properties: list[ProxyProperty] = Field(default_factory=list)


class EcsServiceTarget(_Strict):
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
    deploymentTimeoutSeconds: StrictInt = Field(default=1800, ge=60, le=86400)
    deploymentPollSeconds: StrictInt = Field(default=15, ge=1, le=300)


class MeshSection(BaseModel):
    """The CreateMesh request; checked field by field against the App Mesh model."""

    model_config = ConfigDict(extra="allow", frozen=True)
    meshName: StrictStr


class RolloutSpec(_Strict):
    """The MeshRolloutStateMachine input: App Mesh create requests plus the ECS services to mesh."""

    mesh: MeshSection
    virtualNodes: list[dict[str, Any]] = Field(default_factory=list)
    virtualRouters: list[dict[str, Any]] = Field(default_factory=list)
    routes: list[dict[str, Any]] = Field(default_factory=list)
    virtualServices: list[dict[str, Any]] = Field(default_factory=list)
    ecsServices: list[EcsServiceTarget] = Field(default_factory=list)


Model = TypeVar("Model", bound=BaseModel)


def field_path(location: tuple[int | str, ...], prefix: str = "") -> str:
    """('ecsServices', 0, 'xray') -> 'ecsServices[0].xray'."""
    path = prefix
    for part in location:
        path = f"{path}[{part}]" if isinstance(part, int) else (f"{path}.{part}" if path else str(part))
    return path or "(input)"


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, with its article: 'a string', 'an array', 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else f"a {type(value).__name__}"


def parse_input(event: Any, model: type[Model], prefix: str = "") -> Model:
    """Parse with Powertools' parser; a pydantic error becomes InvalidRolloutInput naming the field.

    Only an object is accepted. Powertools' parser would also decode a string holding JSON; an execution
    input that is such a string (an object JSON-encoded twice) is a mistake, refused here by both state
    machines alike. Handler events are objects: Step Functions and EventBridge never send a string."""
    if not isinstance(event, dict):
        hint = " holding a JSON object: pass the object itself, not a string of it" if _holds_object(event) else ""
        raise InvalidRolloutInput(prefix or "(input)", f"must be a JSON object, got {json_type(event)}{hint}")
    try:
        return parse(event=event, model=model)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRolloutInput(field_path(tuple(first["loc"]), prefix), first["msg"]) from exc


def _holds_object(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return isinstance(json.loads(value), dict)
    except ValueError:
        return False
