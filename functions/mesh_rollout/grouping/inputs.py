"""The group input: several legs moved on one step schedule, checked whole before any AWS call (pure).

    {"legs": [{"name": "payments", "weightShift": {...}},
              {"name": "checkout", "after": ["payments"], "ecsDeployment": {...}}],
     "steps": [10, 50, 100], "bakeSeconds": 300, "approval": {"beforeSteps": [100]}, "dryRun": false}

A leg's own input is exactly what its state machine takes alone (a WeightShiftStateMachine input, or an
EcsDeploymentStateMachine one), without what the group decides for every leg: the schedule (steps, stepPercent,
bakeSeconds, approval, mode) and whenLocked, dryRun. A plain weight-shift input (no `legs`) is a group of one leg
named by its route, its problems named as today.

Limits (Step Functions' quotas, https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html: 25,000
events in an execution's history, 256 KiB of input or output per state):
- history (history_events): `make bench` measures 45 events outside the steps, and at each step 20 (every route
  leg moves in one MoveLegs, its waves in order), or with ECS legs 19 plus 11 for each wave (its MoveWaves iteration
  and MoveWaveLegs), plus 19 for an approval, whatever the number of legs; a
  rollback's wave about 14; releases 12, and 9 for each read of their deployments; plus each
  re-check of the gates while any leg is PENDING (Wait, Choice and the task: 9), at most the largest
  maxPendingChecks of the legs at every step. An ECS leg's wave reads its deployment until ECS holds it at the
  step: at most its plan's maxPolls reads (9 events each) for each of ECS's pauses, and again to finish it and to
  roll it back; that term is known once the legs are planned (plan.plan_group checks it). The worst case must stay
  within HISTORY_BUDGET, which leaves 5,000 events for retries.
- payload: the group's state holds every leg's plan, which repeats the leg's input and adds its weights at every
  step (a few hundred bytes a step); a group input of at most MAX_INPUT_BYTES leaves the plan its 256 KiB.
- MAX_LEGS: 25 (the issue asks for 20 with room). All legs' locks are taken in one DynamoDB transaction, and
  released in one with a record each (two actions a lock): 100 actions at most per transaction
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html) allow 50 legs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import Field, StrictBool, StrictInt, StrictStr

from mesh_rollout.deploying import inputs as deploying_inputs
from mesh_rollout.deploying.inputs import EcsDeploymentSpec
from mesh_rollout.errors import InvalidRolloutInput
from mesh_rollout.grouping.order import find_cycle, waves
from mesh_rollout.parsing import Strict, parse_input
from mesh_rollout.shapes import closest_name, require_object
from mesh_rollout.shifting import inputs as shifting_inputs
from mesh_rollout.shifting.inputs import (
    ROUTE_FIELDS,
    Approval,
    Percent,
    WeightShiftSpec,
    approval_problems,
    step_list,
    step_problems,
)

MAX_LEGS = 25
HISTORY_EVENTS = 25_000
HISTORY_BUDGET = 20_000
EVENTS_OUTSIDE_STEPS = 45
EVENTS_PER_STEP = 20  # route legs only: every wave in one MoveLegs
EVENTS_PER_ECS_STEP = 19  # with ECS legs: the MoveWaves Map, then EVENTS_PER_WAVE a wave
EVENTS_PER_WAVE = 11
EVENTS_PER_APPROVAL = 19  # the request, its answer, and every gate read again before anything moves
EVENTS_PER_ROLLBACK_WAVE = 14
EVENTS_FOR_RELEASES = 12  # RegisterReleases, UpdateCanaryServices, StartReleasesGate; then a re-check a read
EVENTS_PER_RECHECK = 9
EVENTS_PER_ECS_PHASE = 7  # a start or CONTINUE, its Wait, then EVENTS_PER_RECHECK for each read
MAX_INPUT_BYTES = 64 * 1024
# What the group decides for every leg; a leg giving one is refused (a leg's own input has the same fields)
SCHEDULE_FIELDS = ("steps", "stepPercent", "bakeSeconds", "approval", "mode")
GROUP_FIELDS = {
    "weightShift": (*SCHEDULE_FIELDS, "whenLocked", "dryRun"),
    "ecsDeployment": ("approval", "whenLocked", "dryRun"),
}
# The group's fields a leg's own rules read (alternate needs mode plan; an ECS pause must outlast the approval):
# given to the leg's parse_spec, their problems named at the group's field
SHARED_FIELDS = {"weightShift": ("mode",), "ecsDeployment": ("approval",)}
LegName = Annotated[StrictStr, Field(min_length=1, max_length=255)]
LegKind = Literal["weightShift", "ecsDeployment"]
T = TypeVar("T")


class LegInput(Strict):
    """One leg: its name, the legs it waits for at each step, and its own input (one of the two kinds)."""

    name: LegName
    after: list[LegName] = Field(default_factory=list)
    weightShift: dict[str, Any] | None = None
    ecsDeployment: dict[str, Any] | None = None


class GroupInput(Strict):
    """The group's own fields; each leg is parsed on its own (LegInput), so that every leg's problems are found."""

    legs: list[Any] = Field(min_length=1)
    steps: list[Percent] | None = Field(default=None, min_length=1, max_length=100)
    stepPercent: Percent | None = None
    bakeSeconds: StrictInt = Field(default=300, ge=0, le=604_800)
    approval: Approval | None = None
    mode: Literal["plan", "increment"] = "plan"
    whenLocked: Literal["fail", "skip"] = "fail"
    dryRun: StrictBool = False


@dataclass(frozen=True)
class GroupLeg:
    name: str
    after: tuple[str, ...]
    kind: LegKind
    spec: WeightShiftSpec | EcsDeploymentSpec
    field: str  # where its own input is ("legs[1].weightShift"; "" for a plain weight-shift input)


@dataclass(frozen=True)
class GroupSpec:
    legs: tuple[GroupLeg, ...]
    steps: tuple[int, ...]  # the schedule, in percent of each leg's traffic on its new version
    bakeSeconds: int
    approval: Approval | None
    mode: str
    whenLocked: str
    dryRun: bool

    @property
    def after(self) -> dict[str, list[str]]:
        """Each leg's name -> the legs it waits for (order.waves' argument)."""
        return {leg.name: list(leg.after) for leg in self.legs}


def parse_group(raw: Any) -> GroupSpec:
    """The input as a checked GroupSpec, or one InvalidRolloutInput with every problem: the group's fields, each
    leg's (its own state machine's rules, at legs[i].<kind>.<field>), and those between legs."""
    require_object(raw)
    if "legs" not in raw:
        return one_leg(raw)
    problems: list[tuple[str, str]] = []
    group = _collect(problems, partial(parse_input, raw, GroupInput))
    if group is None:  # the schedule is still checked, without the unknown fields that were refused
        group = _collect([], partial(parse_input, {k: v for k, v in raw.items() if k in GroupInput.model_fields}, GroupInput))
    raw_legs = raw["legs"] if isinstance(raw["legs"], list) else []
    parsed = [_parse_leg(leg, i, raw, problems) for i, leg in enumerate(raw_legs)]
    headers = [(f"legs[{i}]", header) for i, (header, _) in enumerate(parsed) if header is not None]
    legs = [leg for _, leg in parsed if leg is not None]
    if len(raw_legs) > MAX_LEGS:
        problems.append(
            ("legs", f"{len(raw_legs)} legs: a group takes at most {MAX_LEGS} (Step Functions' history and payload limits)")
        )
    if group is not None:
        problems.extend(_schedule_problems(group))
        problems.extend(_mode_problems(group, legs))
    problems.extend(_problems_between(raw_legs, headers, legs))
    if group is not None and len(legs) == len(raw_legs):
        problems.extend(_size_problems(raw, group, legs))
    if problems or group is None:
        raise InvalidRolloutInput.of(problems)
    return GroupSpec(
        legs=tuple(legs),
        steps=tuple(step_list(cast(WeightShiftSpec, group))),  # reads only steps and stepPercent
        bakeSeconds=group.bakeSeconds,
        approval=group.approval,
        mode=group.mode,
        whenLocked=group.whenLocked,
        dryRun=group.dryRun,
    )


def one_leg(raw: dict[str, Any]) -> GroupSpec:
    """A plain WeightShiftStateMachine input as a group of one leg, named by its route (problems named as today)."""
    spec = shifting_inputs.parse_spec(raw)
    route = "/".join(str(getattr(spec, f)) for f in ROUTE_FIELDS[spec.route_backend] if getattr(spec, f) is not None)
    return GroupSpec(
        legs=(GroupLeg(name=route, after=(), kind="weightShift", spec=spec, field=""),),
        steps=tuple(step_list(spec)),
        bakeSeconds=spec.bakeSeconds,
        approval=spec.approval,
        mode=spec.mode,
        whenLocked=spec.whenLocked,
        dryRun=spec.dryRun,
    )


def _collect(problems: list[tuple[str, str]], parse: Callable[[], T]) -> T | None:
    """parse(), or None with its problems added to `problems`."""
    try:
        return parse()
    except InvalidRolloutInput as exc:
        problems.extend(exc.problems)
        return None


def _parse_leg(
    raw: Any, index: int, group_raw: dict[str, Any], problems: list[tuple[str, str]]
) -> tuple[LegInput | None, GroupLeg | None]:
    """The leg's name and `after` (None if they do not parse) and the leg (None if anything in it has a problem,
    each added to `problems`)."""
    where = f"legs[{index}]"
    header = _collect(problems, partial(parse_input, raw, LegInput, where))
    if header is None:
        return None, None
    kinds = [kind for kind in ("weightShift", "ecsDeployment") if getattr(header, kind) is not None]
    if len(kinds) != 1:
        problem = "give weightShift or ecsDeployment, not both" if kinds else "give the leg's weightShift or ecsDeployment"
        problems.append((f"{where}.{kinds[-1] if kinds else 'weightShift'}", problem))
        return header, None
    kind = cast(LegKind, kinds[0])
    own: dict[str, Any] = getattr(header, kind)
    field = f"{where}.{kind}"
    found = [(f"{field}.{name}", _group_field_problem(name)) for name in GROUP_FIELDS[kind] if name in own]
    shared = {name: group_raw[name] for name in SHARED_FIELDS[kind] if name in group_raw}
    given = {**{k: v for k, v in own.items() if k not in GROUP_FIELDS[kind]}, **shared}
    parse_spec = shifting_inputs.parse_spec if kind == "weightShift" else deploying_inputs.parse_spec
    try:
        spec = parse_spec(given)
    except InvalidRolloutInput as exc:
        found.extend(_at_leg(exc.problems, field, shared, header.name))
    problems.extend(found)
    return header, None if found else GroupLeg(name=header.name, after=tuple(header.after), kind=kind, spec=spec, field=field)


def _group_field_problem(name: str) -> str:
    if name in SCHEDULE_FIELDS:
        return "the group's schedule rules: give it once, beside legs (every leg moves on the group's steps)"
    return f"is the group's: give {name} once, beside legs"


def _at_leg(problems: list[tuple[str, str]], field: str, shared: dict[str, Any], name: str) -> list[tuple[str, str]]:
    """A leg's problems at its place in the group input; those of a group field it was given, at the group's."""
    placed = []
    for path, problem in problems:
        if path.split(".")[0].split("[")[0] in shared:
            placed.append((path, f"{problem} (for leg {name!r})"))
        else:
            placed.append((field if path == "(input)" else f"{field}.{path}", problem))
    return placed


def _schedule_problems(group: GroupInput) -> list[tuple[str, str]]:
    """The group's steps rise, and every approval is before one of them: a route's own schedule rules."""
    schedule = cast(WeightShiftSpec, group)
    return [*step_problems(schedule), *approval_problems(schedule)]


def _mode_problems(group: GroupInput, legs: list[GroupLeg]) -> list[tuple[str, str]]:
    """A group moves in plan mode (mode increment takes one step per execution: a schedule's ticks on a route). An ECS leg
    starts its own deployment of its taskDefinition (not a release it registers, not a deployment someone else
    started), and the group's last step is 100%: ECS finishes a deployment it started only at 100%."""
    ecs = [leg for leg in legs if leg.kind == "ecsDeployment"]
    problems = []
    if group.mode == "increment":  # a schedule's step-mode ticks move one route; a group moves in one execution
        problems.append(("mode", "a group moves in plan mode (every step in one execution)"))
    for leg in ecs:
        spec = cast(EcsDeploymentSpec, leg.spec)
        if spec.imageDefinitions is not None:
            problems.append((f"{leg.field}.imageDefinitions", "not supported in a group yet: give the taskDefinition to deploy"))
        if spec.serviceDeploymentArn is not None:
            problems.append(
                (f"{leg.field}.serviceDeploymentArn", "a group starts its ECS legs' deployments itself: give taskDefinition")
            )
    steps = step_list(cast(WeightShiftSpec, group))
    if ecs and steps and steps[-1] != 100:
        field = "steps" if group.stepPercent is None else "stepPercent"
        problems.append((field, f"end at 100: ECS finishes {ecs[0].name}'s deployment only once it has all the traffic"))
    return problems


def _problems_between(raw_legs: list[Any], headers: list[tuple[str, LegInput]], legs: list[GroupLeg]) -> list[tuple[str, str]]:
    """Unique names, `after` naming legs of the group and no cycle, no route or service in two legs."""
    problems = []
    names = [leg.get("name") for leg in raw_legs if isinstance(leg, dict)]  # a leg with problems is still a leg
    first: dict[str, str] = {}
    for where, header in headers:
        if header.name in first:
            problems.append((f"{where}.name", f"{header.name!r} is the name of {first[header.name]} too: each leg has its own"))
        first.setdefault(header.name, where)
        for index, other in enumerate(header.after):
            if other not in names:
                closest = closest_name(other, [str(name) for name in names])
                hint = f"did you mean {closest}?" if closest else f"the legs are {', '.join(map(str, names))}"
                problems.append((f"{where}.after[{index}]", f"{other!r} is not a leg of the group; {hint}"))
    duplicated = len({header.name for _, header in headers}) != len(headers)  # said above; no order to read then
    cycle = None if duplicated else find_cycle({header.name: list(header.after) for _, header in headers})
    if cycle:
        loop = f"{' -> '.join(cycle)} is a cycle: no leg of it can move first"
        problems.append((f"{first[cycle[0]]}.after", "a leg cannot wait for itself" if len(cycle) == 2 else loop))
    owners: dict[tuple[str, ...], str] = {}
    for leg in legs:
        for key, field, what in _targets(leg):
            if key in owners and owners[key] != leg.name:
                problems.append((f"{leg.field}.{field}", f"{what} is also moved by leg {owners[key]!r}: two legs cannot move it"))
            owners.setdefault(key, leg.name)
    return problems


def _position(leg: GroupLeg) -> str:
    """legs[i], where the leg is in the input."""
    return leg.field.rsplit(".", 1)[0]


def _targets(leg: GroupLeg) -> list[tuple[tuple[str, ...], str, str]]:
    """(what a leg changes, its field, in words): its route, or its ECS service, as the input names them (two names
    of one resource, a name and an ARN, are told apart only by their lock ids, once resolved: check_distinct_locks)."""
    spec = leg.spec
    if isinstance(spec, EcsDeploymentSpec):
        return [(_service_key(spec.cluster, spec.service), "service", f"ECS service {spec.cluster}/{spec.service}")]
    backend = spec.route_backend
    fields = ROUTE_FIELDS[backend]
    route = tuple(str(getattr(spec, f) or "") for f in fields)
    found = [(("route", backend, *route), fields[-1] if getattr(spec, fields[-1]) else fields[-2], "the route")]
    if spec.canaryEcsService is not None:
        ref = spec.canaryEcsService
        found.append((_service_key(ref.cluster, ref.service), "canaryEcsService", f"ECS service {ref.cluster}/{ref.service}"))
    return found


def _service_key(cluster: str, service: str) -> tuple[str, ...]:
    return ("ecs", cluster.rsplit("/", 1)[-1], service.rsplit("/", 1)[-1])


def _size_problems(raw: dict[str, Any], group: GroupInput, legs: list[GroupLeg]) -> list[tuple[str, str]]:
    """A history within HISTORY_BUDGET events (at worst), an input within MAX_INPUT_BYTES."""
    problems = []
    steps = 1 if group.mode == "increment" else len(step_list(cast(WeightShiftSpec, group)))
    approvals = len(group.approval.beforeSteps) if group.approval else 0
    rechecks = max(leg.spec.healthGate.maxPendingChecks for leg in legs)
    try:
        wave_count = len(waves({leg.name: list(leg.after) for leg in legs}))
    except ValueError:  # a cycle, refused by _problems_between
        wave_count = len(legs)
    events = history_events(steps, approvals, wave_count, rechecks, with_ecs=any(leg.kind == "ecsDeployment" for leg in legs))
    if events > HISTORY_BUDGET:
        problems.append(("steps" if group.stepPercent is None else "stepPercent", history_problem(steps, events)))
    size = len(json.dumps(raw, separators=(",", ":")).encode())
    if size > MAX_INPUT_BYTES:
        problems.append(
            ("(input)", f"is {size} bytes: a group's input takes at most {MAX_INPUT_BYTES} (its plan must fit 256 KiB)")
        )
    return problems


def history_events(
    steps: int,
    approvals: int,
    wave_count: int,
    rechecks: int,
    ecs_waves: Sequence[tuple[int, int]] = (),
    release_reads: int = 0,
    with_ecs: bool = False,
) -> int:
    """The most events a group's execution history may take (see the module's docstring): `ecs_waves` is, for each
    wave with ECS legs, (the pauses ECS makes for its legs, the plan's maxPolls); `release_reads`, the most reads of
    the releases' deployments (0: no release); `with_ecs`: the group has ECS legs (its steps go wave by wave), known
    before their plans are."""
    events = EVENTS_OUTSIDE_STEPS + EVENTS_PER_APPROVAL * approvals + EVENTS_PER_ROLLBACK_WAVE * wave_count
    if release_reads:
        events += EVENTS_FOR_RELEASES + EVENTS_PER_RECHECK * release_reads
    moving = EVENTS_PER_ECS_STEP + EVENTS_PER_WAVE * wave_count if (with_ecs or ecs_waves) else EVENTS_PER_STEP
    events += steps * (moving + EVENTS_PER_RECHECK * rechecks)
    for phases, polls in ecs_waves:
        events += phases * (EVENTS_PER_ECS_PHASE + EVENTS_PER_RECHECK * polls)
    if ecs_waves:  # finishing every ECS leg (its final pause, then its bake) and, at worst, rolling them back
        events += 3 * (EVENTS_PER_ECS_PHASE + EVENTS_PER_RECHECK * max(polls for _, polls in ecs_waves))
    return events


def history_problem(steps: int, events: int) -> str:
    return (
        f"{steps} steps may take {events} events of the execution's history, whose limit is {HISTORY_EVENTS}"
        f" ({HISTORY_BUDGET} for the steps): give fewer steps or fewer waves (after), or lower the legs'"
        " healthGate.maxPendingChecks (an ECS leg: its pollSeconds' reads)"
    )


def check_distinct_locks(locks: list[tuple[GroupLeg, str]]) -> None:
    """Once the legs' routes and services are resolved (each leg with its lock id): two legs on one lock (a route
    named by its name in one leg and its ARN in another) are refused at the second one's place in the input (the
    leg's own field, whatever the list's order), naming the first."""
    owners: dict[str, GroupLeg] = {}
    problems = []
    for leg, lock_id in locks:
        if lock_id in owners:
            problems.append((_position(leg), f"moves {lock_id}, as leg {owners[lock_id].name!r} does"))
        owners.setdefault(lock_id, leg)
    if problems:
        raise InvalidRolloutInput.of(problems)
