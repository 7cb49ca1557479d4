"""Every validation error of an input in one InvalidRolloutInput; an unknown field is answered with the known name
it is closest to (issue 14)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.onboarding.plan import build_requests
from mesh_rollout.parsing import parse_input
from mesh_rollout.shapes import Shape, field
from mesh_rollout.shifting.inputs import WeightShiftSpec
from tests.conftest import EVENTS, load_json
from tests.support.inputs import three_mistakes

SHIFT = load_json(EVENTS / "weight-shift-apps.json")


ROLLOUT = load_json(EVENTS / "mesh-rollout-apps.json")


def refusal(raw: Any, model: Any = WeightShiftSpec) -> InvalidRolloutInput:
    with pytest.raises(InvalidRolloutInput) as caught:
        parse_input(raw, model)
    return caught.value


class Step(Shape):
    name: str = field(min_length=1)
    percent: int = field(ge=1)


class StepEvent(Shape):
    lockId: str
    steps: list[Step]


def test_three_mistakes_are_one_error_naming_each_field_in_input_order() -> None:
    raw = three_mistakes()
    error = refusal(raw)
    assert [field for field, _ in error.problems] == ["bakeSeconds", "stepPercnt", "mode"]
    assert error.field == "bakeSeconds"
    assert str(error) == (
        "bakeSeconds: Input should be greater than or equal to 0"
        " | stepPercnt: unknown field; did you mean stepPercent?"
        " | mode: Input should be 'plan' or 'increment'"
    )


@pytest.mark.parametrize(
    ("given", "instead_of", "answer"),
    [
        ("stepPercnt", "steps", "stepPercnt: unknown field; did you mean stepPercent?"),
        ("meshname", "meshName", "meshname: unknown field; did you mean meshName?"),
        ("HealthGate", "healthGate", "HealthGate: unknown field; did you mean healthGate?"),
        (
            "rollbackOnError",
            None,
            "rollbackOnError: unknown field; known fields: alternate, approval, backend, bakeSeconds, canary,",
        ),
    ],
)
def test_an_unknown_field_suggests_the_nearest_known_name_or_lists_them(given: str, instead_of: str | None, answer: str) -> None:
    raw = {key: value for key, value in SHIFT.items() if key != instead_of} | {given: SHIFT.get(instead_of or "", 1)}
    assert str(refusal(raw)).startswith(answer)


def test_an_unknown_field_inside_a_section_names_that_sections_fields() -> None:
    raw = copy.deepcopy(SHIFT)
    raw["approval"] = {"beforeStep": [100]}
    raw["healthGate"]["ecsServices"][0]["Cluster"] = "apps"
    assert str(refusal(raw)) == (
        "healthGate.ecsServices[0].Cluster: unknown field; did you mean cluster?"
        " | approval.beforeStep: unknown field; did you mean beforeSteps?"
    )


def test_a_union_gives_one_problem_per_field() -> None:
    raw = copy.deepcopy(SHIFT)
    raw["healthGate"]["metrics"] = [{"id": "errors", "metricStat": {}, "threshold": "5"}]
    raw["healthGate"]["maxLatencyMs"] = "200"
    assert str(refusal(raw)) == (
        "healthGate.metrics[0].threshold: Input should be a valid number"
        " | healthGate.maxLatencyMs: Input should be a valid number"
    )


def test_a_single_problem_reads_as_before() -> None:
    assert str(refusal({**SHIFT, "bakeSeconds": -1})) == "bakeSeconds: Input should be greater than or equal to 0"
    raw = copy.deepcopy(ROLLOUT)
    raw["routes"][0]["spec"]["http2Route"]["action"]["weightedTargets"][1]["weight"] = 101
    with pytest.raises(InvalidRolloutInput) as caught:
        build_requests(raw)
    assert str(caught.value) == (
        "routes[0].spec.http2Route.action.weightedTargets[1].weight: 101 is above the maximum 100 [CreateRoute request]"
    )


def test_past_ten_problems_the_rest_are_counted() -> None:
    error = refusal({**SHIFT, **{f"extra{n:02}": n for n in range(12)}})
    assert len(error.problems) == 12
    assert str(error).endswith(
        "extra09: unknown field; known fields: alternate, approval, backend, bakeSeconds, canary, canaryContainer,"
        " canaryEcsService, canaryImage, deploymentPollSeconds, deploymentTimeoutSeconds, dryRun, finalize"
        " (and 16 more) | and 2 more problems"
    )


def test_a_mesh_rollout_names_every_malformed_item_and_the_field_meant() -> None:
    raw = copy.deepcopy(ROLLOUT)
    raw["virtualNodes"][0]["spec"]["serviceDiscovry"] = raw["virtualNodes"][0]["spec"].pop("serviceDiscovery")
    raw["virtualRouters"][0]["spec"]["listeners"][0]["portMapping"]["protocol"] = "http3"
    with pytest.raises(InvalidRolloutInput) as caught:
        build_requests(raw)
    assert caught.value.field == "virtualNodes[0].spec.serviceDiscovry"
    assert str(caught.value).startswith(
        "virtualNodes[0].spec.serviceDiscovry: is not a field of VirtualNodeSpec; did you mean serviceDiscovery?"
        " [CreateVirtualNode request] | virtualRouters[0].spec.listeners[0].portMapping.protocol: must be one of"
    )


def test_a_mesh_rollouts_ecs_service_with_an_unknown_field_suggests_the_right_name() -> None:
    raw = copy.deepcopy(ROLLOUT)
    raw["ecsServices"][1]["virtualNodeNmae"] = raw["ecsServices"][1].pop("virtualNodeName")
    with pytest.raises(InvalidRolloutInput) as caught:
        build_requests(raw)
    assert str(caught.value) == (  # not also "virtualNodeName: Field required": it is the field misspelled
        "ecsServices[1].virtualNodeNmae: unknown field; did you mean virtualNodeName?"
    )


def test_a_handler_event_shape_reports_every_problem_too() -> None:
    with pytest.raises(InvalidRolloutInput) as caught:
        StepEvent.parse({"steps": [{"name": "", "percent": 1}, {"name": "b", "percnt": 5}], "lockid": "x"})
    assert str(caught.value) == (
        "steps[0].name: String should have at least 1 character"
        " | steps[1].percnt: unknown field; did you mean percent?"
        " | lockid: unknown field; did you mean lockId?"
    )  # a misspelled required field is not also said to be missing


def test_the_rules_between_fields_are_all_reported_at_once() -> None:
    from mesh_rollout.shifting.inputs import parse_spec

    raw = {**copy.deepcopy(SHIFT), "canary": "serviceB", "steps": [50, 10, 100], "approval": {"beforeSteps": [75]}}
    with pytest.raises(InvalidRolloutInput) as caught:
        parse_spec(raw)
    assert caught.value.field == "canary"
    assert str(caught.value) == (
        "canary: must differ from stable ('serviceB')"
        " | steps[1]: 10 must be above the step before it (50)"
        " | approval.beforeSteps[0]: 75 is not a step of the plan [50, 10, 100]"
    )


def test_a_single_broken_rule_keeps_its_own_message() -> None:
    from mesh_rollout.shifting.inputs import parse_spec

    with pytest.raises(InvalidRolloutInput) as caught:
        parse_spec({**copy.deepcopy(SHIFT), "steps": [50, 10, 100]})
    assert (caught.value.field, str(caught.value)) == ("steps[1]", "steps[1]: 10 must be above the step before it (50)")


def test_without_route_fields_the_rules_that_need_no_route_are_still_checked() -> None:
    from mesh_rollout.shifting.inputs import parse_spec

    raw = {k: v for k, v in copy.deepcopy(SHIFT).items() if k not in ("meshName", "virtualRouterName", "routeName")}
    with pytest.raises(InvalidRolloutInput) as caught:
        parse_spec({**raw, "canary": "serviceB"})
    assert str(caught.value).startswith("(input): name the route: meshName/virtualRouterName/routeName (App Mesh), ")
    assert str(caught.value).endswith(" | canary: must differ from stable ('serviceB')")
