"""`replay_given_runs`: a world built by replaying a given run's handler calls is the world the run built."""

from __future__ import annotations

from typing import Any

from mesh_rollout_local.report import snapshot
from mesh_rollout_local.runner import GIVEN_RUNS, OfflineAccount
from tests.conftest import EVENTS, ROOT, load_json


def essentials(world: dict[str, Any]) -> dict[str, Any]:
    """What the tests read of a world, without what the emulator makes up (ARNs, IDs, times)."""
    mesh = world["appmesh"]
    ecs = world["ecs"]
    by_name = {
        kind: sorted(
            ({k: r[k] for k in r if k in ("meshName", "virtualRouterName", "spec")} | {"name": name_of(r)} for r in mesh[kind]),
            key=lambda r: str(r["name"]),
        )
        for kind in ("meshes", "virtualServices", "virtualNodes", "virtualRouters", "routes")
    }
    task_definitions = sorted(
        (
            {
                "family": td["family"],
                "revision": td["revision"],
                "containers": td["containerDefinitions"],
                "proxy": td.get("proxyConfiguration"),
                "roles": (td.get("taskRoleArn"), td.get("executionRoleArn")),
            }
            for td in ecs["taskDefinitions"]
        ),
        key=lambda td: (td["family"], td["revision"]),
    )
    services = sorted(
        (
            s["serviceName"],
            s["taskDefinition"].rsplit("/", 1)[-1],
            s["desiredCount"],
            sorted((d["status"], d.get("rolloutState"), d["taskDefinition"].rsplit("/", 1)[-1]) for d in s["deployments"]),
        )
        for s in ecs["services"]
    )
    return {"appmesh": by_name, "taskDefinitions": task_definitions, "services": services}


def name_of(resource: dict[str, Any]) -> str:
    return str(
        next(
            resource[k]
            for k in ("routeName", "virtualNodeName", "virtualServiceName", "virtualRouterName", "meshName")
            if k in resource
        )
    )


def build(replay: bool) -> tuple[dict[str, Any], list[str]]:
    with OfflineAccount(ROOT / "template.yaml", replay_given_runs=replay) as account:
        account.apply_given(load_json(EVENTS / "local" / "weight-shift-given.json"), EVENTS / "local")
        sfn = account.client("stepfunctions")
        ran = [
            e["executionArn"]
            for arn in account.state_machine_arns.values()
            for e in sfn.list_executions(stateMachineArn=arn)["executions"]
        ]
        return essentials(snapshot(account)), ran


def test_a_replayed_given_run_builds_the_world_the_run_built() -> None:
    GIVEN_RUNS.clear()
    ran_world, ran = build(replay=True)  # the first build runs the state machine, and records
    assert len(GIVEN_RUNS) == 1 and ran  # one mesh rollout and its services' executions
    calls = next(iter(GIVEN_RUNS.values()))
    assert ("ecs", "UpdateService") in {(service, operation) for service, operation, _, _ in calls}
    replayed_world, replayed = build(replay=True)
    assert replayed == []  # nothing ran: the calls were replayed
    assert replayed_world == ran_world
    assert {r["name"]: r["spec"] for r in replayed_world["appmesh"]["routes"]}["serviceB"]["http2Route"]["action"] == {
        "weightedTargets": [{"virtualNode": "serviceB", "weight": 75}, {"virtualNode": "serviceBv2", "weight": 25}]
    }
    plain_world, _ = build(replay=False)  # without replay, the run itself, whatever the cache holds
    assert plain_world == ran_world
