"""The line a followed run prints for PlanWeightShift (local/mesh_rollout_local/progress.plan_facts): a plain function
of the plan, so no account."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_rollout_local.progress import plan_facts

PLAN: dict[str, Any] = {
    "route": {"label": "checkout/http-80/checkout"},
    "plannedWeights": {"checkout": 100, "checkoutv2": 0},
    "steps": [{"percent": 10}, {"percent": 100, "approval": True}],
}
RELEASE = {"cluster": "shop", "service": "checkoutv2", "images": {"app": "example/checkout:2.1"}}


@pytest.mark.parametrize(
    ("pending", "said"),
    [(True, "; release to shop/checkoutv2"), (False, "; shop/checkoutv2 already runs the release's images")],
)
def test_a_release_says_where_it_goes_or_that_the_service_already_runs_it(pending: bool, said: str) -> None:
    line = plan_facts({**PLAN, "release": {**RELEASE, "pending": pending}})
    assert line == (
        "route checkout/http-80/checkout at checkout 100 / checkoutv2 0; steps 10% -> 100%, approval before 100%" + said
    )


@pytest.mark.parametrize("release", [None, {"pending": False}])  # the plan's release when the input asks for none
def test_a_plan_without_a_release_says_nothing_of_one(release: dict[str, Any] | None) -> None:
    assert plan_facts({**PLAN, "release": release}).endswith("steps 10% -> 100%, approval before 100%")
