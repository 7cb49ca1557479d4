"""Spec comparison and the model walker."""

from __future__ import annotations

import pytest

from mesh_rollout.aws.specs import check_request, same_spec, strip_empty
from mesh_rollout.errors import InvalidRolloutInput


def test_empty_fields_and_server_defaults_do_not_count_as_differences() -> None:
    defaults = {"egressFilter": {"type": "DROP_ALL"}}
    assert same_spec({}, {"egressFilter": {"type": "DROP_ALL"}, "serviceDiscovery": {}}, defaults)
    assert not same_spec({"egressFilter": {"type": "ALLOW_ALL"}}, {"egressFilter": {"type": "DROP_ALL"}}, defaults)


def test_list_order_and_values_count() -> None:
    a = {"backends": [{"virtualService": {"virtualServiceName": "a"}}, {"virtualService": {"virtualServiceName": "b"}}]}
    b = {"backends": list(reversed(a["backends"]))}
    assert not same_spec(a, b)
    assert same_spec(a, a | {"backendDefaults": {}})


def test_strip_empty_keeps_false_and_zero() -> None:
    assert strip_empty({"a": 0, "b": False, "c": None, "d": [], "e": {"f": {}}}) == {"a": 0, "b": False}


def test_every_problem_is_named_the_first_first() -> None:
    with pytest.raises(InvalidRolloutInput) as caught:
        check_request("appmesh", "CreateVirtualRouter", {"meshName": "apps", "spec": {"listeners": [{}]}}, "virtualRouters[0]")
    assert caught.value.field == "virtualRouters[0].virtualRouterName"
    assert str(caught.value) == (
        "virtualRouters[0].virtualRouterName: is required [CreateVirtualRouter request]"
        " | virtualRouters[0].spec.listeners[0].portMapping: is required [CreateVirtualRouter request]"
    )


def test_an_unknown_member_is_answered_with_the_nearest_one() -> None:
    with pytest.raises(InvalidRolloutInput) as caught:
        check_request("appmesh", "CreateMesh", {"meshName": "apps", "spec": {"egresFilter": {"type": "ALLOW_ALL"}}}, "mesh")
    assert str(caught.value) == (
        "mesh.spec.egresFilter: is not a field of MeshSpec; did you mean egressFilter? [CreateMesh request]"
    )
