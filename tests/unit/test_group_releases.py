"""A group's releases (grouping.releases): each leg's deployment read at the group's poll, undone only where the
rollback put the leg back."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout.grouping import releases
from mesh_rollout.grouping.releases import register_releases, undo_releases


def revision(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "cluster": "shop",
        "service": f"{name}v2",
        "previousTaskDefinition": f"{name}v2:1",
        "taskDefinition": f"{name}v2:2",
    }


@pytest.fixture
def undone(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def undo_release(ecs: Any, found: dict[str, Any]) -> str:
        calls.append(found["name"])
        return f"put back on {found['previousTaskDefinition']}"

    monkeypatch.setattr(releases, "undo_release", undo_release)
    return calls


def test_only_the_legs_the_rollback_put_back_have_their_releases_undone(undone: list[str]) -> None:
    # Given a was restored, b was left as someone set it (RouteDrifted), c's lock is another rollout's, d's wave failed
    rolled_back = [
        {"restored": {"legs": [{"name": "a", "restored": True}, {"name": "b", "problem": "RouteDrifted: hand-set"}]}},
        {"restored": {"legs": [{"name": "c", "problem": "LockLost: now arn:other"}]}},
        {"restored": None, "restoreFailure": {"Error": "RollbackFailed", "Cause": "leg d: ..."}},
    ]
    result = undo_releases(None, [revision(n) for n in "abcd"], rolled_back)
    # Then only a is put back; the others keep their release, as their weights
    assert undone == ["a"]
    assert result["done"] == ["leg a: put back on av2:1"]
    assert [line.split(":")[0] for line in result["kept"]] == ["leg d", "leg c", "leg b"]


def test_a_rollback_that_failed_as_a_whole_undoes_no_release(undone: list[str]) -> None:
    result = undo_releases(None, [revision("a")], {"Error": "States.Runtime", "Cause": "..."})
    assert undone == [] and result["kept"] == ["leg a: ECS service shop/av2 left on the release's revision, as its route"]


def test_each_release_is_read_at_the_groups_poll_within_its_own_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        releases,
        "release_revision",
        lambda ecs, cluster, service, images: {
            "cluster": cluster,
            "service": service,
            "previousTaskDefinition": "x:1",
            "taskDefinition": "x:2",
            "registered": True,
            "needsUpdate": True,
        },
    )
    given = [
        {
            "name": "a",
            "lockId": "l-a",
            "release": {"cluster": "shop", "service": "av2", "images": {}, "pollSeconds": 60, "maxChecks": 30},
        },
        {
            "name": "b",
            "lockId": "l-b",
            "release": {"cluster": "shop", "service": "bv2", "images": {}, "pollSeconds": 15, "maxChecks": 120},
        },
    ]
    registered = register_releases(None, given)
    # a's 30 min (30 reads a minute apart) are 120 reads 15 s apart
    assert registered["pollSeconds"] == 15
    assert [r["maxChecks"] for r in registered["revisions"]] == [120, 120]
