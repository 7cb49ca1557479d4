"""App Mesh in the emulated account, as botocore's appmesh model says and moto does not.

- Virtual services (Create/Describe/Update/Delete/ListVirtualServices), which moto lacks.
- Errors with the model's codes and HTTP statuses (moto answers 400 "MeshNotFound", "VirtualNodeNameAlreadyTaken",
  ... where AWS answers 404 NotFoundException / 409 ConflictException).
- CreateMesh on an existing name raises ConflictException instead of silently replacing the mesh.
- Requests follow botocore's appmesh model, not moto, where the two differ:
  - moto is stricter: it rejects a virtual node whose ``serviceDiscovery.awsCloudMap`` has no ``attributes``
    or whose ``listeners[].timeout.tcp`` has no ``idle`` ("MissingRequiredField ... must be defined"); the model
    makes both optional, so both are accepted and described back as given.
  - moto is looser: it accepts what the model forbids. Create*/Update* bodies are checked against the model's
    required members, unions (exactly one member), enums and min/max, and answer 400 BadRequestException as
    AWS does (botocore checks only minimums on the client: moto stored a route weight of 150).
  - moto stores a route whose weighted target names a virtual node the mesh lacks; AWS answers 404
    NotFoundException ("VirtualNode with name ... is missing"), and so does the emulator.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from typing import Any

from moto.appmesh import exceptions as appmesh_exceptions
from moto.appmesh import responses as appmesh_responses
from moto.appmesh import urls as appmesh_urls
from moto.appmesh.dataclasses.shared import Timeout
from moto.appmesh.models import AppMeshBackend, appmesh_backends
from moto.appmesh.responses import AppMeshResponse
from moto.core.exceptions import JsonRESTError

from mesh_rollout_local.emulator.common import BadRequestException, ConflictException, NotFoundException, checked_against_model


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


# --- requests against botocore's model ----------------------------------------------------------------


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


def install() -> None:
    base = "{0}/v20190125/meshes/(?P<meshName>[^/]+)/virtualServices"
    appmesh_urls.url_paths[base + "$"] = VirtualServiceResponse.dispatch
    appmesh_urls.url_paths[base + "/(?P<virtualServiceName>[^/]+)$"] = VirtualServiceResponse.dispatch
    appmesh_exceptions.MeshError.__init__ = _model_error_init  # type: ignore[method-assign]
    AppMeshBackend.create_mesh = _create_mesh_without_replacing(AppMeshBackend.create_mesh)  # type: ignore[method-assign]
    for cls in (AppMeshResponse, VirtualServiceResponse):
        for name in [n for n in vars(cls) if n.startswith(("create_", "update_"))]:
            operation = "".join(word.capitalize() for word in name.split("_"))
            setattr(cls, name, checked_against_model("appmesh", operation, getattr(cls, name), BadRequestException))
    appmesh_responses.build_virtual_node_spec = _virtual_node_spec_with_optional_members(
        appmesh_responses.build_virtual_node_spec
    )
    for name in ("create_route", "update_route"):
        setattr(AppMeshBackend, name, _route_targets_must_exist(getattr(AppMeshBackend, name)))
