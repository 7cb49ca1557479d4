"""LatticeRolloutStateMachine end to end, offline: the guide's App Mesh definition converged onto VPC Lattice and ECS."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from moto.route53.exceptions import InvalidInput
from moto.route53.models import Route53Backend

from mesh_rollout_local.progress import Progress
from mesh_rollout_local.runner import OfflineAccount
from tests.support import fail_next_deployment, hold_deployment, service_of, slow_gates, states_of, stop_flags
from tests.support.lattice import rollout_input

SM = "LatticeRolloutStateMachine"
SERVICES = ("serviceB", "serviceBv2", "serviceA")  # the input's order


def task_definition(account: OfflineAccount, service: str) -> dict[str, Any]:
    ecs = account.client("ecs")
    found = ecs.describe_services(cluster="apps", services=[service])["services"][0]
    return {"service": found, **ecs.describe_task_definition(taskDefinition=found["taskDefinition"])["taskDefinition"]}


def test_the_guides_mesh_converges_onto_lattice_and_a_rerun_changes_nothing(meshed: OfflineAccount) -> None:
    first = meshed.run(SM, rollout_input(meshed))
    assert first.status == "SUCCEEDED", first.cause
    assert not [call for call in first.api_calls if call[0] == "appmesh"]  # not one App Mesh call
    lattice = meshed.client("vpc-lattice")
    (network,) = lattice.list_service_networks()["items"]
    assert network["name"] == "apps"
    services = {s["name"]: s for s in lattice.list_services()["items"]}
    assert {s["customDomainName"] for s in services.values()} == {"serviceb.apps.local", "servicea.apps.local"}
    groups = {g["id"]: g["name"] for g in lattice.list_target_groups()["items"]}
    assert sorted(groups.values()) == ["servicea", "serviceb", "servicebv2"]
    serviceb = services["serviceb-apps-local"]
    (listener,) = lattice.list_listeners(serviceIdentifier=serviceb["id"])["items"]
    rules = [
        r
        for r in lattice.list_rules(serviceIdentifier=serviceb["id"], listenerIdentifier=listener["id"])["items"]
        if not r["isDefault"]
    ]
    (rule,) = [
        lattice.get_rule(serviceIdentifier=serviceb["id"], listenerIdentifier=listener["id"], ruleIdentifier=r["id"])
        for r in rules
    ]
    weights = {groups[t["targetGroupIdentifier"]]: t["weight"] for t in rule["action"]["forward"]["targetGroups"]}
    assert weights == {"serviceb": 75, "servicebv2": 25}
    for name in ("serviceA", "serviceB", "serviceBv2"):
        task = task_definition(meshed, name)
        assert [c["name"] for c in task["containerDefinitions"] if "envoy" in c["name"]] == []
        assert "proxyConfiguration" not in task
        (attached,) = task["service"]["deployments"][0]["vpcLatticeConfigurations"]
        assert groups[attached["targetGroupArn"].rsplit("/", 1)[-1]] == name.lower()
        assert attached["portName"] == "http"
    zone = meshed.saved["zone"]["HostedZone"]["Id"]
    records = meshed.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    cnames = {r["Name"].rstrip("."): r["ResourceRecords"][0]["Value"] for r in records if r["Type"] == "CNAME"}
    target = lattice.get_service(serviceIdentifier=serviceb["id"])["dnsEntry"]["domainName"]
    assert cnames["serviceb.apps.local"] == target and target.endswith(".vpc-lattice-svcs.us-west-2.on.aws")
    again = meshed.run(SM, rollout_input(meshed))
    assert again.status == "SUCCEEDED" and again.mutating_calls() == {}


def test_plan_mode_lists_every_request_and_changes_nothing(meshed: OfflineAccount) -> None:
    plan = meshed.run(SM, {**rollout_input(meshed), "mode": "plan"})
    assert plan.status == "SUCCEEDED", plan.cause
    assert plan.mutating_calls() == {}
    operations = [r["operation"] for r in plan.output["requests"]]
    assert operations.count("CreateTargetGroup") == 3 and operations.count("CreateRule") == 1
    changes = {f"{s['cluster']}/{s['service']}": s["taskDefinitionChanges"] for s in plan.output["ecsServices"]}
    assert changes["apps/serviceBv2"] == [
        "remove container envoy",
        "remove the APPMESH proxyConfiguration",
        "container app no longer waits for envoy",
        "container app: name its port mapping 'http' for Lattice",
    ]
    dns = [r["request"] for r in plan.output["requests"] if r["operation"] == "ChangeResourceRecordSets"]
    assert [d["ChangeBatch"]["Changes"][0]["ResourceRecordSet"]["Name"] for d in dns] == [
        "serviceb.apps.local",
        "servicea.apps.local",
    ]
    assert plan.output["losses"] == [
        {
            "path": "mesh.spec.egressFilter",
            "what": "DROP_ALL (App Mesh's default) has no Lattice equivalent: tasks reach what their security groups allow",
        }
    ]


def test_what_has_no_lattice_equivalent_is_refused_before_any_change_until_accepted(meshed: OfflineAccount) -> None:
    refused_input = rollout_input(meshed)
    refused_input["lattice"]["acceptLosses"] = []
    refused_input["routes"][0]["spec"]["http2Route"]["retryPolicy"] = {
        "maxRetries": 2,
        "perRetryTimeout": {"unit": "ms", "value": 250},
        "httpRetryEvents": ["server-error"],
    }
    refused = meshed.run(SM, refused_input)
    assert (refused.status, refused.error) == ("FAILED", "InvalidRolloutInput")
    message = json.loads(refused.cause or "{}")["errorMessage"]
    assert message.startswith(
        "lattice.acceptLosses: 2 part(s) of the mesh have no VPC Lattice equivalent: mesh.spec.egressFilter"
    )
    assert "routes[0].spec.http2Route.retryPolicy (Lattice listener rules have no retry policy)" in message
    assert refused.mutating_calls() == {} and refused.states == ["PlanLatticeRollout"]


def test_each_ecs_service_moves_in_an_execution_of_its_own_at_most_max_concurrent_deployments_at_a_time(
    meshed: OfflineAccount,
) -> None:
    # Given two services at a time, serviceB's deployment held until serviceBv2 is deploying beside it
    sfn, child = meshed.client("stepfunctions"), meshed.state_machine_arns["EcsServiceRolloutStateMachine"]
    updated: list[str] = []
    running: list[int] = []

    def count_running(event: dict[str, Any]) -> None:
        running.append(len(sfn.list_executions(stateMachineArn=child, statusFilter="RUNNING")["executions"]))

    meshed.intercept("UpdateServiceFunction", lambda event: updated.append(event["service"]))
    meshed.intercept("DeploymentHealthFunction", count_running)
    hold_deployment(meshed, "serviceB", until=lambda: "serviceBv2" in updated)
    # When the rollout runs
    result = meshed.run(SM, slow_gates(rollout_input(meshed), maxConcurrentDeployments=2))
    # Then each service ran in an EcsServiceRolloutStateMachine execution, two of them at once and never more
    assert result.status == "SUCCEEDED", result.cause
    assert sorted(service_of(c) for c in result.children) == sorted(SERVICES)
    assert {c["executionArn"].split(":")[-2] for c in result.children} == {"EcsServiceRolloutStateMachine"}
    for execution in result.children:
        assert states_of(execution)[:4] == ["CheckStopFlag", "RolloutStopped", "RegisterLatticeTaskDefinition", "NeedsUpdate"]
        assert states_of(execution)[-1] == "OnLattice"
    assert max(running) == 2
    assert updated.index("serviceA") > 1  # started once serviceB or serviceBv2 had finished
    # the deployment gate ran in the services' executions, not in the rollout's
    parent = [e["stateEnteredEventDetails"]["name"] for e in result.history if e["type"].endswith("StateEntered")]
    assert "CheckDeployment" not in parent and parent.count("RolloutEcsService") == 3
    assert result.output["results"]["ecsServices"] == [
        {"cluster": "apps", "service": service, "taskDefinition": f"{family}:3", "action": "updated"}
        for service, family in zip(SERVICES, ("taskB", "taskBv2", "taskA"), strict=True)
    ]
    again = meshed.run(SM, rollout_input(meshed))
    assert [r["action"] for r in again.output["results"]["ecsServices"]] == ["unchanged"] * 3
    assert {states_of(c)[-1] for c in again.children} == {"AlreadyOnLattice"}


def service_as_it_is(account: OfflineAccount, service: str) -> dict[str, Any]:
    """DescribeServices' service with what every deployment renews (its id, times, reason) and the events left out."""
    found = account.client("ecs").describe_services(cluster="apps", services=[service])["services"][0]
    volatile = {"id", "createdAt", "updatedAt", "rolloutStateReason"}
    found["deployments"] = [{k: v for k, v in d.items() if k not in volatile} for d in found["deployments"]]
    return {k: v for k, v in found.items() if k != "events"}


def test_a_failed_deployment_puts_the_service_back_on_its_meshed_revision_and_stops(meshed: OfflineAccount) -> None:
    # Given serviceB (first) whose next deployment fails, and services moved one at a time
    fail_next_deployment(meshed, "serviceB")
    meshed_revision = task_definition(meshed, "serviceB")["taskDefinitionArn"]
    before = service_as_it_is(meshed, "serviceB")
    names = records(meshed)
    # When the rollout runs
    result = meshed.run(SM, {**rollout_input(meshed), "maxConcurrentDeployments": 1})
    # Then it fails with serviceB's error, serviceB is back on its meshed revision, the others were not started
    assert (result.status, result.error) == ("FAILED", "DeploymentFailed")
    assert str(result.cause).splitlines() == [
        "apps/serviceB: the deployment of taskB:3 failed (ECS deployment circuit breaker: tasks failed to start.); "
        "the service was put back on taskB:2",
        "1 of 3 services failed; not started (untouched: an earlier service failed): apps/serviceBv2, apps/serviceA",
        "DNS unchanged: no name was moved to VPC Lattice (names move once every ECS service is on it)",
    ]
    assert task_definition(meshed, "serviceB")["taskDefinitionArn"] == meshed_revision
    # as it was: on its meshed revision and no longer attached to a target group (no vpcLatticeConfigurations)
    assert service_as_it_is(meshed, "serviceB") == before
    assert "vpcLatticeConfigurations" not in before["deployments"][0]
    assert task_definition(meshed, "serviceBv2")["taskDefinitionArn"].endswith("taskBv2:2")  # never started
    assert task_definition(meshed, "serviceA")["taskDefinitionArn"].endswith("taskA:2")
    failed = next(c for c in result.children if c["status"] == "FAILED")
    assert states_of(failed)[-3:] == ["RollbackService", "WhyRolledBack", "DeploymentFailed"]
    assert [states_of(c) for c in result.children if service_of(c) != "serviceB"] == [
        ["CheckStopFlag", "RolloutStopped", "NotStarted"]
    ] * 2
    assert result.states[-3:] == ["FinishLatticeRollout", "EcsServicesOutcome", "EcsServiceFailed"]
    assert stop_flags(meshed) == []  # the flag that stopped the others is cleared at the end
    assert records(meshed) == names and "ReadNames" not in result.states  # DNS moves last: not one name moved


def records(account: OfflineAccount) -> list[dict[str, Any]]:
    zone = account.saved["zone"]["HostedZone"]["Id"]
    return account.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]  # type: ignore[no-any-return]


def refuse_route53_changes_to(name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Route 53 refusing (InvalidInput) any change batch that touches `name`; returns the backend's own
    ChangeResourceRecordSets, to put back."""
    original = Route53Backend.change_resource_record_sets

    def refusing(self: Route53Backend, zoneid: str, change_list: list[dict[str, Any]]) -> None:
        if any(c["ResourceRecordSet"]["Name"].rstrip(".") == name for c in change_list):
            raise InvalidInput(f"{name}: refused")
        original(self, zoneid, change_list)

    monkeypatch.setattr(Route53Backend, "change_resource_record_sets", refusing)
    return original


def test_names_move_last_and_a_failed_move_puts_every_name_back_as_it_was(
    meshed: OfflineAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given serviceb.apps.local, a CNAME of the user's (TTL 60), servicea.apps.local with no record, and Route 53
    # refusing any change to servicea.apps.local
    zone = meshed.saved["zone"]["HostedZone"]["Id"]
    user = {"Name": "serviceb.apps.local", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "envoy.apps.local"}]}
    meshed.client("route53").change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": user}]}
    )
    before = records(meshed)
    original = refuse_route53_changes_to("servicea.apps.local", monkeypatch)
    # When the rollout runs: every ECS service moves, then serviceb's name, then servicea's fails
    result = meshed.run(SM, rollout_input(meshed))
    # Then serviceb.apps.local is the user's CNAME again and servicea.apps.local has no record, byte for byte
    assert (result.status, result.error) == ("FAILED", "AwsRequestRejected")
    assert result.states[-4:] == ["ReadNames", "MoveNames", "PutNamesBack", "NamesPutBack"]
    assert result.cause == (
        "moving the names to VPC Lattice failed (AwsRequestRejected: ChangeResourceRecordSets servicea.apps.local:"
        " InvalidInput: servicea.apps.local: refused); names moved and put back as they were: serviceb.apps.local"
    )
    assert records(meshed) == before
    # and a run Route 53 lets through moves both names (the ECS services are on Lattice already)
    monkeypatch.setattr(Route53Backend, "change_resource_record_sets", original)
    again = meshed.run(SM, rollout_input(meshed))
    assert again.status == "SUCCEEDED", again.cause
    assert again.output["results"]["dns"]["moved"] == ["serviceb.apps.local", "servicea.apps.local"]
    assert [r["action"] for r in again.output["results"]["ecsServices"]] == ["unchanged"] * 3


def test_records_a_name_loses_to_its_cname_come_back_when_the_move_fails(
    meshed: OfflineAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given serviceb.apps.local with two A records (Cloud Map's, say) the CNAME may replace (lattice.replaceRecords),
    # and Route 53 refusing any change to servicea.apps.local
    zone = meshed.saved["zone"]["HostedZone"]["Id"]
    address = {
        "Name": "serviceb.apps.local",
        "Type": "A",
        "TTL": 10,
        "ResourceRecords": [{"Value": "10.0.1.7"}, {"Value": "10.0.2.9"}],
    }
    meshed.client("route53").change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": address}]}
    )
    before = records(meshed)
    refuse_route53_changes_to("servicea.apps.local", monkeypatch)
    rollout = rollout_input(meshed)
    rollout["lattice"]["replaceRecords"] = ["serviceb.apps.local"]
    # When the rollout runs
    result = meshed.run(SM, rollout)
    # Then the CNAME that replaced them is gone and the A records are back, byte for byte
    assert (result.status, result.states[-1]) == ("FAILED", "NamesPutBack"), result.cause
    assert str(result.cause).endswith("names moved and put back as they were: serviceb.apps.local")
    assert records(meshed) == before


def test_after_a_failure_only_the_services_already_moving_go_on(meshed: OfflineAccount) -> None:
    # Given two services at a time: serviceB, whose deployment fails once serviceBv2 is deploying beside it, and
    # serviceBv2, still deploying when serviceB fails; serviceA would start only after one of them ends
    updated: list[str] = []
    meshed.intercept("UpdateServiceFunction", lambda event: updated.append(event["service"]))
    fail_next_deployment(meshed, "serviceB")
    hold_deployment(meshed, "serviceB", until=lambda: "serviceBv2" in updated)
    hold_deployment(meshed, "serviceBv2", until=lambda: bool(stop_flags(meshed)))
    # When the rollout runs
    result = meshed.run(SM, slow_gates(rollout_input(meshed), maxConcurrentDeployments=2))
    # Then serviceB is rolled back, serviceBv2 is on Lattice, serviceA is untouched, as in the mesh rollout
    assert (result.status, result.error) == ("FAILED", "DeploymentFailed")
    assert str(result.cause).splitlines() == [
        "apps/serviceB: the deployment of taskB:3 failed (ECS deployment circuit breaker: tasks failed to start.); "
        "the service was put back on taskB:2",
        "1 of 3 services failed; updated (on their new revision): apps/serviceBv2 on taskBv2:3; "
        "not started (untouched: an earlier service failed): apps/serviceA",
        "DNS unchanged: no name was moved to VPC Lattice (names move once every ECS service is on it)",
    ]
    assert [task_definition(meshed, s)["taskDefinitionArn"].rsplit("/", 1)[-1] for s in SERVICES] == [
        "taskB:2",
        "taskBv2:3",
        "taskA:2",
    ]
    (attached,) = task_definition(meshed, "serviceBv2")["service"]["deployments"][0]["vpcLatticeConfigurations"]
    assert attached["portName"] == "http"
    assert {service_of(c): states_of(c)[-1] for c in result.children} == {
        "serviceB": "DeploymentFailed",
        "serviceBv2": "OnLattice",
        "serviceA": "NotStarted",
    }
    assert stop_flags(meshed) == []
    # and a re-run finishes the move: serviceB and serviceA onto Lattice, serviceBv2 left as it is
    finished = meshed.run(SM, rollout_input(meshed))
    assert finished.status == "SUCCEEDED", finished.cause
    assert [r["action"] for r in finished.output["results"]["ecsServices"]] == ["updated", "unchanged", "updated"]


def test_the_progress_names_each_ecs_service_in_its_own_execution(meshed: OfflineAccount) -> None:
    progress, lines = Progress(), []
    result = meshed.run(SM, json.dumps(rollout_input(meshed)), on_event=lambda e: lines.extend(progress.lines(e)))
    assert result.status == "SUCCEEDED", result.cause
    for service, family in zip(SERVICES, ("taskB", "taskBv2", "taskA"), strict=True):
        own = [line for line in lines if line.startswith(f"  [apps/{service}] ")]
        assert own[1] == f"  [apps/{service}] -> RegisterLatticeTaskDefinition  registered {family}:3 (was {family}:2)"
        assert own[-1] == f"  [apps/{service}] -> OnLattice  updated, {family}:3"
        assert lines.index(own[-1]) < lines.index(f"  -> RolloutEcsService  apps/{service}  updated, {family}:3")
    finished = lines.index("  -> FinishLatticeRollout  ECS services: 3 updated")
    assert [line.split("  ")[1] for line in lines[finished + 1 :]] == ["-> ReadNames", "-> MoveNames", "-> Summarize"]
    assert lines[-2].startswith("  -> MoveNames  pointed serviceb.apps.local at serviceb-apps-local-")  # DNS last


def test_a_lattice_section_that_is_wrong_is_named(meshed: OfflineAccount) -> None:
    bad = rollout_input(meshed)
    bad["lattice"] = {**bad["lattice"], "serviceNetworkName": "Apps"}
    result = meshed.run(SM, bad)
    assert (result.status, result.error) == ("FAILED", "InvalidRolloutInput")
    assert json.loads(result.cause or "{}")["errorMessage"].startswith("lattice.serviceNetworkName:")
    no_zone = copy.deepcopy(rollout_input(meshed))
    no_zone["virtualServices"][0]["virtualServiceName"] = "serviceb.other.local"
    no_zone["virtualNodes"][2]["spec"]["backends"][0]["virtualService"]["virtualServiceName"] = "serviceb.other.local"
    result = meshed.run(SM, no_zone)  # other.local has no private hosted zone in this account
    assert json.loads(result.cause or "{}")["errorMessage"].startswith("lattice.hostedZoneId: no private hosted zone other.local")
    assert result.mutating_calls() == {}
    zone = meshed.saved["zone"]["HostedZone"]["Id"]
    result = meshed.run(SM, {**no_zone, "lattice": {**no_zone["lattice"], "hostedZoneId": zone}})
    assert json.loads(result.cause or "{}")["errorMessage"] == (
        "lattice.hostedZoneId: zone apps.local cannot hold serviceb.other.local: leave it out"
    )
    assert result.mutating_calls() == {}


def test_the_weight_shift_then_moves_the_migrated_rule_to_servicebv2(meshed: OfflineAccount) -> None:
    assert meshed.run(SM, rollout_input(meshed)).status == "SUCCEEDED"
    shift = {
        "serviceIdentifier": "serviceb-apps-local",
        "listenerIdentifier": "http-80",
        "ruleIdentifier": "serviceb",
        "stable": "serviceb",
        "canary": "servicebv2",
        "steps": [50, 100],  # gated on serviceBv2's ECS deployment, found from its target group
    }
    result = meshed.run("WeightShiftStateMachine", shift)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["summary"] == "weight shift succeeded: route serviceb-apps-local/http-80/serviceb is at servicebv2 100"
    assert result.output["steps"][0]["health"]["reasons"] == ["ECS service apps/serviceBv2: 2/2 tasks running"]


def test_a_run_stopped_half_way_is_finished_by_the_next(meshed: OfflineAccount) -> None:
    stopped: list[str] = []

    def stop_at_the_second_service(event: dict[str, Any]) -> None:
        if event.get("kind") == "service" and event["service"]["name"] == "servicea-apps-local" and not stopped:
            stopped.append(event["executionArn"])
            meshed.client("stepfunctions").stop_execution(executionArn=event["executionArn"], error="Operator")

    meshed.intercept("EnsureLatticeFunction", stop_at_the_second_service)
    first = meshed.run(SM, rollout_input(meshed))
    assert first.status == "ABORTED" and stopped
    finished = meshed.run(SM, rollout_input(meshed))
    assert finished.status == "SUCCEEDED", finished.cause
    assert "vpc-lattice:CreateServiceNetwork" not in finished.mutating_calls()  # found, not made again
    assert len(meshed.client("vpc-lattice").list_services()["items"]) == 2
    assert meshed.run(SM, rollout_input(meshed)).mutating_calls() == {}


def test_a_changed_health_check_is_updated_in_place_on_the_next_run(meshed: OfflineAccount) -> None:
    assert meshed.run(SM, rollout_input(meshed)).status == "SUCCEEDED"
    changed = rollout_input(meshed)
    changed["virtualNodes"][0]["spec"]["listeners"][0]["healthCheck"] = {
        "protocol": "http2",
        "path": "/ping",
        "intervalMillis": 10000,
        "timeoutMillis": 2000,
        "healthyThreshold": 2,
        "unhealthyThreshold": 2,
    }
    result = meshed.run(SM, changed)
    assert result.status == "SUCCEEDED", result.cause
    assert result.mutating_calls() == {"vpc-lattice:UpdateTargetGroup": 1}
    lattice = meshed.client("vpc-lattice")
    (group,) = [g for g in lattice.list_target_groups()["items"] if g["name"] == "serviceb"]
    check = lattice.get_target_group(targetGroupIdentifier=group["id"])["config"]["healthCheck"]
    assert (check["path"], check["healthCheckIntervalSeconds"], check["protocolVersion"]) == ("/ping", 10, "HTTP2")
    assert meshed.run(SM, changed).mutating_calls() == {}


def test_virtual_services_of_two_domains_get_a_record_in_each_domains_zone(meshed: OfflineAccount) -> None:
    vpc = meshed.saved["vpc"]["Vpc"]["VpcId"]
    other = meshed.client("route53").create_hosted_zone(
        Name="other.local",
        CallerReference="other",
        HostedZoneConfig={"PrivateZone": True},
        VPC={"VPCRegion": "us-west-2", "VPCId": vpc},
    )["HostedZone"]["Id"]
    rollout = rollout_input(meshed)
    rollout["virtualServices"][1]["virtualServiceName"] = "servicea.other.local"
    result = meshed.run(SM, rollout)
    assert result.status == "SUCCEEDED", result.cause
    records = meshed.client("route53").list_resource_record_sets(HostedZoneId=other)["ResourceRecordSets"]
    assert [r["Name"].rstrip(".") for r in records if r["Type"] == "CNAME"] == ["servicea.other.local"]
