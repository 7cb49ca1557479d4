"""The requests derived from botocore's appmesh model, that the emulated App Mesh is tested with, reach the members
mesh-rollout's users set (the emulator against them: tests/offline/test_emulator_model.py)."""

from __future__ import annotations

from tests.support.appmesh_model import SPEC_SHAPES, spec_requests


def test_the_requests_reach_the_members_our_users_set() -> None:
    """The derived requests cover the members mesh-rollout's users set (a generator that skipped them would pass)."""
    paths = {op: {path for path, _ in spec_requests(op)} for op in SPEC_SHAPES}
    node = {
        "serviceDiscovery.awsCloudMap",
        "serviceDiscovery.awsCloudMap.attributes",
        "serviceDiscovery.awsCloudMap.ipPreference",
        "serviceDiscovery.dns",
        "serviceDiscovery.dns.responseType",
        "serviceDiscovery.dns.ipPreference",
        "listeners.healthCheck",
        "listeners.timeout.tcp",
        "listeners.timeout.tcp.idle",
        "listeners.tls.validation",
        "listeners.outlierDetection",
        "listeners.connectionPool.http.maxPendingRequests",
        "backendDefaults.clientPolicy.tls",
        "backends.virtualService.clientPolicy",
        "logging.accessLog.file.format.json",
    }
    route = {f"{kind}.{member}" for kind in ("httpRoute", "http2Route") for member in ("retryPolicy", "timeout", "match.headers")}
    route |= {"grpcRoute.retryPolicy", "grpcRoute.match.metadata", "tcpRoute.match", "tcpRoute.timeout.idle", "priority"}
    route |= {f"{kind}.action.weightedTargets.port" for kind in ("httpRoute", "http2Route", "grpcRoute", "tcpRoute")}
    assert node <= paths["CreateVirtualNode"]
    assert route <= paths["CreateRoute"]
    assert {"egressFilter", "serviceDiscovery.ipPreference"} <= paths["CreateMesh"]
    assert {"provider.virtualNode", "provider.virtualRouter"} <= paths["CreateVirtualService"]
