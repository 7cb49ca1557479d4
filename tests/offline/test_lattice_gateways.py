"""Virtual gateways on the Lattice rollout: the gateway's listeners and routes as a Lattice service at the name the
user gives, converged by an offline run (the plan alone: tests/unit/test_lattice_gateways.py)."""

from __future__ import annotations

from mesh_rollout_local.runner import OfflineAccount
from tests.support.lattice import NO_REWRITE, gateway_route, rollout_input, with_gateway

SM = "LatticeRolloutStateMachine"


def test_a_gateway_converges_offline_as_a_lattice_service_with_its_rules_and_name(meshed: OfflineAccount) -> None:
    raw = rollout_input(meshed)
    routes = [gateway_route("to-b", "httpRoute", {"prefix": "/"}, "serviceb.apps.local", rewrite=NO_REWRITE)]
    rollout = with_gateway(raw, routes)
    result = meshed.run(SM, rollout)
    assert result.status == "SUCCEEDED", result.cause
    lattice = meshed.client("vpc-lattice")
    services = {s["name"]: s for s in lattice.list_services()["items"]}
    ingress = services["ingress"]
    assert ingress["customDomainName"] == "ingress.apps.local"
    (listener,) = lattice.list_listeners(serviceIdentifier=ingress["id"])["items"]
    assert (listener["name"], listener["port"]) == ("http-8080", 8080)
    keys = {"serviceIdentifier": ingress["id"], "listenerIdentifier": listener["id"]}
    (rule,) = [
        lattice.get_rule(**keys, ruleIdentifier=r["id"]) for r in lattice.list_rules(**keys)["items"] if not r["isDefault"]
    ]
    groups = {g["id"]: g["name"] for g in lattice.list_target_groups()["items"]}
    weights = {groups[t["targetGroupIdentifier"]]: t["weight"] for t in rule["action"]["forward"]["targetGroups"]}
    assert (rule["name"], weights) == ("to-b", {"serviceb": 75, "servicebv2": 25})
    zone = meshed.saved["zone"]["HostedZone"]["Id"]
    records = meshed.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    target = lattice.get_service(serviceIdentifier=ingress["id"])["dnsEntry"]["domainName"]
    assert any(r["Name"].rstrip(".") == "ingress.apps.local" and r["ResourceRecords"][0]["Value"] == target for r in records)
    again = meshed.run(SM, rollout)
    assert again.status == "SUCCEEDED" and again.mutating_calls() == {}
