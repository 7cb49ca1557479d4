"""Fill the gaps of moto 5.2.5 that mesh-rollout depends on, following botocore's service models.

- App Mesh virtual services (Create/Describe/Update/Delete/ListVirtualServices), which moto lacks.
- App Mesh errors with the codes and HTTP statuses of the API model (moto answers 400 "MeshNotFound",
  "VirtualNodeNameAlreadyTaken", ... where AWS answers 404 NotFoundException / 409 ConflictException).
- CreateMesh on an existing name raises ConflictException instead of silently replacing the mesh.
- App Mesh requests follow botocore's appmesh model, not moto, where the two differ:
  - moto is stricter: it rejects a virtual node whose ``serviceDiscovery.awsCloudMap`` has no ``attributes``
    or whose ``listeners[].timeout.tcp`` has no ``idle`` ("MissingRequiredField ... must be defined"); the model
    makes both optional, so both are accepted and described back as given.
  - moto is looser: it accepts what the model forbids. Create*/Update* bodies are checked against the model's
    required members, unions (exactly one member), enums and min/max, and answer 400 BadRequestException as
    AWS does (botocore checks only minimums on the client: moto stored a route weight of 150).
  - moto stores a route whose weighted target names a virtual node the mesh lacks; AWS answers 404
    NotFoundException ("VirtualNode with name ... is missing"), and so does the emulator.
- ECS deployments: UpdateService with a new task definition (or forceNewDeployment) starts a new PRIMARY deployment that is
  IN_PROGRESS when first described and COMPLETED on the next DescribeServices. A service tagged
  ``mesh-rollout:emulator/next-deployment = FAILED`` instead sees its next deployment FAILED (the tag
  is consumed, so the rollback deployment that follows succeeds).
- StopExecution ends the execution ABORTED at once (moto lets a Task waiting on a task token either fail the
  execution with States.Runtime or, now and then, wait out its whole timeout); as on AWS, no Catch runs.
- A Lambda service error (throttling, 5xx) of a Task whose Resource is a function ARN is named as AWS
  names it, `Lambda.<code>` (moto names it `Exception`, which no Retry or Catch of ours matches).

``install()`` is idempotent and must run before any request reaches moto.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.model import ListShape, Shape, StructureShape
from moto.appmesh import exceptions as appmesh_exceptions
from moto.appmesh import responses as appmesh_responses
from moto.appmesh import urls as appmesh_urls
from moto.appmesh.dataclasses.shared import Timeout
from moto.appmesh.models import AppMeshBackend, appmesh_backends
from moto.appmesh.responses import AppMeshResponse
from moto.core.exceptions import JsonRESTError
from moto.ecs.models import EC2ContainerServiceBackend
from moto.stepfunctions.parser.api import ExecutionStatus, HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution

FAIL_NEXT_DEPLOYMENT_TAG = "mesh-rollout:emulator/next-deployment"
_installed = False
_lock = threading.Lock()


class NotFoundException(JsonRESTError):
    code = 404

    def __init__(self, message: str) -> None:
        super().__init__("NotFoundException", message)


class ConflictException(JsonRESTError):
    code = 409

    def __init__(self, message: str) -> None:
        super().__init__("ConflictException", message)


class BadRequestException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("BadRequestException", message)


# --- App Mesh virtual services ------------------------------------------------------------------


def _now() -> float:
    return dt.datetime.now(dt.UTC).timestamp()


def _services(backend: AppMeshBackend, mesh_name: str) -> dict[str, dict[str, Any]]:
    if mesh_name not in backend.meshes:
        raise NotFoundException(f"There are no meshes with the name {mesh_name}.")
    mesh = backend.meshes[mesh_name]
    store: dict[str, dict[str, Any]] = mesh.__dict__.setdefault("_virtual_services", {})
    return store


def _check_provider(backend: AppMeshBackend, mesh_name: str, spec: dict[str, Any]) -> None:
    provider = spec.get("provider") or {}
    mesh = backend.meshes[mesh_name]
    if "virtualRouter" in provider:
        name = provider["virtualRouter"]["virtualRouterName"]
        if name not in mesh.virtual_routers:
            raise NotFoundException(f"The mesh {mesh_name} does not have a virtual router named {name}.")
    if "virtualNode" in provider:
        name = provider["virtualNode"]["virtualNodeName"]
        if name not in mesh.virtual_nodes:
            raise NotFoundException(f"The mesh {mesh_name} does not have a virtual node named {name}.")


def _service_data(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("meshName", "metadata", "spec", "status", "virtualServiceName")}


class VirtualServiceResponse(AppMeshResponse):
    """The five virtual service operations, shaped as botocore's appmesh model declares them (data is the payload)."""

    @property
    def _backend(self) -> AppMeshBackend:
        return appmesh_backends[self.current_account][self.region]

    def _mesh(self) -> str:
        return str(self._get_param("meshName"))

    def _record(self, name: str) -> dict[str, Any]:
        services = _services(self._backend, self._mesh())
        if name not in services:
            raise NotFoundException(f"There is no virtual service named {name} in mesh {self._mesh()}.")
        return services[name]

    def create_virtual_service(self) -> str:
        params = json.loads(self.body or "{}")
        mesh_name, name = self._mesh(), params["virtualServiceName"]
        services = _services(self._backend, mesh_name)
        if name in services:
            raise ConflictException(f"There is already a virtual service named {name} in mesh {mesh_name}.")
        spec = params.get("spec") or {}
        _check_provider(self._backend, mesh_name, spec)
        owner = self.current_account
        now = _now()
        services[name] = {
            "meshName": mesh_name,
            "virtualServiceName": name,
            "spec": spec,
            "status": {"status": "ACTIVE"},
            "tags": params.get("tags") or [],
            "metadata": {
                "arn": f"arn:aws:appmesh:{self.region}:{owner}:mesh/{mesh_name}/virtualService/{name}",
                "createdAt": now,
                "lastUpdatedAt": now,
                "meshOwner": owner,
                "resourceOwner": owner,
                "uid": str(uuid.uuid4()),
                "version": 1,
            },
        }
        return json.dumps(_service_data(services[name]))

    def describe_virtual_service(self) -> str:
        return json.dumps(_service_data(self._record(str(self._get_param("virtualServiceName")))))

    def update_virtual_service(self) -> str:
        params = json.loads(self.body or "{}")
        record = self._record(str(self._get_param("virtualServiceName")))
        spec = params.get("spec") or {}
        _check_provider(self._backend, self._mesh(), spec)
        record["spec"] = spec
        record["metadata"]["version"] += 1
        record["metadata"]["lastUpdatedAt"] = _now()
        return json.dumps(_service_data(record))

    def delete_virtual_service(self) -> str:
        name = str(self._get_param("virtualServiceName"))
        record = self._record(name)
        del _services(self._backend, self._mesh())[name]
        record["status"] = {"status": "DELETED"}
        return json.dumps(_service_data(record))

    def list_virtual_services(self) -> str:
        limit = self._get_int_param("limit") or 100
        start = int(self._get_param("nextToken") or 0)
        records = list(_services(self._backend, self._mesh()).values())
        page = records[start : start + limit]
        refs = [
            {
                "arn": r["metadata"]["arn"],
                "createdAt": r["metadata"]["createdAt"],
                "lastUpdatedAt": r["metadata"]["lastUpdatedAt"],
                "meshName": r["meshName"],
                "meshOwner": r["metadata"]["meshOwner"],
                "resourceOwner": r["metadata"]["resourceOwner"],
                "version": r["metadata"]["version"],
                "virtualServiceName": r["virtualServiceName"],
            }
            for r in page
        ]
        body: dict[str, Any] = {"virtualServices": refs}
        if start + limit < len(records):
            body["nextToken"] = str(start + limit)
        return json.dumps(body)


# --- App Mesh error codes and CreateMesh ----------------------------------------------------------


def _model_error_init(self: JsonRESTError, error_type: str, message: str, *args: Any, **kwargs: Any) -> None:
    if error_type.endswith("NotFound"):
        error_type, self.code = "NotFoundException", 404
    elif error_type.endswith("AlreadyTaken"):
        error_type, self.code = "ConflictException", 409
    elif error_type == "MeshOwnerDoesNotMatch":
        error_type, self.code = "ForbiddenException", 403
    JsonRESTError.__init__(self, error_type, message, *args, **kwargs)


def _create_mesh_without_replacing(original: Any) -> Any:
    def create_mesh(self: AppMeshBackend, **kwargs: Any) -> Any:
        if kwargs.get("mesh_name") in self.meshes:
            raise ConflictException(f"There is already a mesh named {kwargs['mesh_name']}.")
        mesh = original(self, **kwargs)
        # AWS stores the default egress filter (moto: None), names the mesh "mesh/<name>" in its ARN
        # and reports the account as owner (moto: the caller's access key).
        if not mesh.spec.egress_filter.get("type"):
            mesh.spec.egress_filter["type"] = "DROP_ALL"
        mesh.metadata.arn = f"arn:aws:appmesh:{self.region_name}:{self.account_id}:mesh/{mesh.mesh_name}"
        mesh.metadata.mesh_owner = mesh.metadata.resource_owner = self.account_id
        return mesh

    return create_mesh


# --- App Mesh requests against botocore's model -----------------------------------------------------


@functools.cache
def _appmesh_input(operation: str) -> StructureShape:
    shape = botocore.session.get_session().get_service_model("appmesh").operation_model(operation).input_shape
    assert shape is not None  # every Create*/Update* operation has an input
    return shape


def _model_problems(value: Any, shape: Shape, path: str) -> Iterator[str]:
    """Where `value` breaks a rule of the model that AWS checks: required, union, enum, min/max (botocore checks types)."""
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    counted = isinstance(value, str | list)  # min/max bound a string's or a list's length
    size = len(value) if counted else value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if size is not None and ((low is not None and size < low) or (high is not None and size > high)):
        yield f"{path}: {'length ' if counted else ''}{size} is outside [{low}, {high}]"
    enum = getattr(shape, "enum", None)
    if enum and value not in enum:
        yield f"{path}: {value!r} is not one of {enum}"
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        yield from (f"{path}.{name}: is required" for name in shape.required_members if name not in value)
        if shape.is_tagged_union and len(value) != 1:
            yield f"{path}: must set exactly one of {sorted(shape.members)}"
        for name, item in value.items():
            if name in shape.members:
                yield from _model_problems(item, shape.members[name], f"{path}.{name}")
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _model_problems(item, shape.member, f"{path}[{index}]")


def _checked_against_model(operation: str, original: Any) -> Any:
    def handler(self: AppMeshResponse) -> Any:
        shape, body = _appmesh_input(operation), json.loads(self.body or "{}")
        payload = {name: member for name, member in shape.members.items() if "location" not in member.serialization}
        problems = [f"{name}: is required" for name in shape.required_members if name in payload and name not in body]
        for name, value in body.items():
            if name in payload:
                problems += _model_problems(value, payload[name], name)
        if problems:
            raise BadRequestException(problems[0])
        return original(self)

    return handler


def _virtual_node_spec_with_optional_members(original: Any) -> Any:
    """moto requires awsCloudMap.attributes and timeout.tcp.idle, which the model leaves optional."""

    def build(spec: dict[str, Any]) -> Any:
        spec = copy.deepcopy(spec)
        cloud_map = (spec.get("serviceDiscovery") or {}).get("awsCloudMap")
        if cloud_map is not None:
            cloud_map.setdefault("attributes", [])  # moto describes an empty list back as absent
        tcp_without_idle = []
        for index, listener in enumerate(spec.get("listeners") or []):
            timeout = listener.get("timeout") or {}
            if "tcp" in timeout and "idle" not in (timeout["tcp"] or {}):
                del timeout["tcp"]
                tcp_without_idle.append(index)
        built = original(spec)
        for index in tcp_without_idle:
            built.listeners[index].timeout.tcp = Timeout()  # no idle, no perRequest: described back as {}
        return built

    return build


def _route_targets_must_exist(original: Any) -> Any:
    def handler(self: AppMeshBackend, **kwargs: Any) -> Any:
        mesh, spec = self.meshes.get(kwargs["mesh_name"]), kwargs["spec"]
        if mesh is not None and kwargs["virtual_router_name"] in mesh.virtual_routers:
            routes = (spec.grpc_route, spec.http_route, spec.http2_route, spec.tcp_route)
            for target in (t for route in routes if route for t in route.action.weighted_targets):
                if target.virtual_node not in mesh.virtual_nodes:
                    raise NotFoundException(f"VirtualNode with name {target.virtual_node} is missing")
        return original(self, **kwargs)

    return handler


# --- ECS deployments --------------------------------------------------------------------------------


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
        "_fail": fail,
    }


def _advance(service: Any) -> None:
    """Move the PRIMARY deployment one step: IN_PROGRESS is seen once, then COMPLETED or FAILED."""
    primary = next((d for d in service.deployments if d.get("status") == "PRIMARY"), None)
    if primary is None or primary.get("rolloutState") != "IN_PROGRESS" or "_observed" not in primary:
        return
    primary["_observed"] += 1
    if primary["_observed"] < 2:
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
        forced = bool(service_properties.get("force_new_deployment"))  # moto pops the keys it reads
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


# --- Step Functions: StopExecution -------------------------------------------------------------------


def _remember_stop(original: Any) -> Any:
    def stop(self: Execution, stop_date: Any, error: str | None, cause: str | None) -> None:
        self._mesh_rollout_stopped = True  # type: ignore[attr-defined]
        original(self, stop_date, error, cause)
        # moto only marks the program stopped: a Task waiting on a task token (or inside a Map waiting for such a
        # Task) would sleep for its whole timeout. As on AWS, a stop ends the waits at once.
        worker = self.exec_worker
        pool = getattr(getattr(worker, "env", None), "callback_pool_manager", None)
        for endpoint in list(getattr(pool, "_pool", {}).values()):
            endpoint.interrupt_all()

    return stop


def _aborted_when_stopped(original: Any) -> Any:
    def reflect(self: BaseExecutionWorkerCommunication) -> None:
        original(self)
        if getattr(self.execution, "_mesh_rollout_stopped", False):
            self.execution.exec_status = ExecutionStatus.ABORTED
            self.execution.error = self.execution.cause = None

    return reflect


# --- Step Functions: Lambda service errors of function-ARN tasks ------------------------------------


def _lambda_service_errors_named(original: Any) -> Any:
    def from_error(self: StateTaskLambda, env: Any, ex: Exception) -> FailureEvent:
        if not isinstance(ex, ClientError):
            return original(self, env, ex)  # type: ignore[no-any-return]
        # As AWS reports it: "Lambda.TooManyRequestsException", the message and the response details.
        code, metadata = ex.response["Error"]["Code"], ex.response.get("ResponseMetadata", {})
        error = f"Lambda.{code}"
        cause = (
            f"{ex.response['Error'].get('Message', '')} (Service: AWSLambda; Status Code: {metadata.get('HTTPStatusCode')}; "
            f"Error Code: {code}; Request ID: {metadata.get('RequestId', '')}; Proxy: null)"
        )
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause)
            ),
        )

    return from_error


def install() -> None:
    """Patch moto once per process."""
    global _installed
    with _lock:
        if _installed:
            return
        base = "{0}/v20190125/meshes/(?P<meshName>[^/]+)/virtualServices"
        appmesh_urls.url_paths[base + "$"] = VirtualServiceResponse.dispatch
        appmesh_urls.url_paths[base + "/(?P<virtualServiceName>[^/]+)$"] = VirtualServiceResponse.dispatch
        appmesh_exceptions.MeshError.__init__ = _model_error_init  # type: ignore[method-assign]
        AppMeshBackend.create_mesh = _create_mesh_without_replacing(AppMeshBackend.create_mesh)  # type: ignore[method-assign]
        for cls in (AppMeshResponse, VirtualServiceResponse):
            for name in [n for n in vars(cls) if n.startswith(("create_", "update_"))]:
                operation = "".join(word.capitalize() for word in name.split("_"))
                setattr(cls, name, _checked_against_model(operation, getattr(cls, name)))
        appmesh_responses.build_virtual_node_spec = _virtual_node_spec_with_optional_members(
            appmesh_responses.build_virtual_node_spec
        )
        for name in ("create_route", "update_route"):
            setattr(AppMeshBackend, name, _route_targets_must_exist(getattr(AppMeshBackend, name)))
        EC2ContainerServiceBackend.update_service = _update_service_with_deployment(  # type: ignore[method-assign]
            EC2ContainerServiceBackend.update_service
        )
        EC2ContainerServiceBackend.describe_services = _describe_services_advancing(  # type: ignore[method-assign]
            EC2ContainerServiceBackend.describe_services
        )
        Execution.stop = _remember_stop(Execution.stop)  # type: ignore[method-assign]
        BaseExecutionWorkerCommunication._reflect_execution_status = _aborted_when_stopped(  # type: ignore[method-assign]
            BaseExecutionWorkerCommunication._reflect_execution_status
        )
        StateTaskLambda._from_error = _lambda_service_errors_named(StateTaskLambda._from_error)  # type: ignore[method-assign]
        _installed = True
