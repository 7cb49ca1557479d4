"""Decide, as IAM does for one identity policy, whether a role's statements allow a request (action, resource,
condition keys): explicit Deny wins, then any Allow whose Action, Resource and Condition all match.

Statements come from template.yaml with their intrinsics resolved against a deployed stack (`role_statements`).
Only what the template uses is supported; anything else raises `NotEvaluated`, so it is never taken as allowed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from mesh_rollout_local.template import Template

Decision = Literal["allowed", "denied", "explicitly denied", "not evaluated"]
# the condition operators the evaluator knows (IfExists / ForAnyValue forms are not used by the template)
_POSITIVE = {"StringEquals", "StringLike", "ArnEquals", "ArnLike"}
_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


class NotEvaluated(ValueError):
    """A policy element or condition the evaluator cannot decide offline."""


@dataclass(frozen=True)
class Request:
    """What one AWS call asks IAM for: an action on a resource ARN ("*" where the action has no resource type),
    with the condition keys the call carries."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)
    call: str = ""  # the call it comes from ("ecs.RegisterTaskDefinition"), for reports


@dataclass(frozen=True)
class Statement:
    sid: str
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    condition: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Statement:
        known = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
        if set(raw) - known or "Principal" in raw:
            raise NotEvaluated(f"statement {raw.get('Sid')}: unsupported elements {sorted(set(raw) - known)}")
        return cls(
            sid=str(raw.get("Sid", "")),
            effect=raw["Effect"],
            actions=_strings(raw.get("Action")),
            not_actions=_strings(raw.get("NotAction")),
            resources=_strings(raw.get("Resource")),
            not_resources=_strings(raw.get("NotResource")),
            condition=raw.get("Condition", {}),
        )

    def applies(self, request: Request) -> bool | None:
        """Whether the statement covers the request: True, False, or None when its Condition uses a key the
        request does not carry (the evaluator cannot tell)."""
        if self.actions and not any(wildcard_match(a, request.action, case_sensitive=False) for a in self.actions):
            return False
        if self.not_actions and any(wildcard_match(a, request.action, case_sensitive=False) for a in self.not_actions):
            return False
        if self.resources and not any(arn_match(r, request.resource) for r in self.resources):
            return False
        if self.not_resources and any(arn_match(r, request.resource) for r in self.not_resources):
            return False
        return condition_holds(self.condition, request.context)


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def wildcard_match(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    """IAM's string wildcards: * is any run of characters (also none, also across / and :), ? is one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE | re.DOTALL) is not None


def arn_match(pattern: str, arn: str) -> bool:
    """A Resource (or ArnLike) pattern against an ARN: "*" matches anything; otherwise each of the six
    colon-separated parts is matched on its own (a wildcard never spans a colon before the resource part)."""
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(wildcard_match(w, a) for w, a in zip(wanted, actual, strict=True))


def condition_holds(condition: dict[str, dict[str, Any]], context: dict[str, str]) -> bool | None:
    """All operators and keys must match (IAM ANDs them; a key's values are ORed). A key the request does not
    carry makes the answer None: this evaluator never guesses whether AWS would have carried it."""
    verdict: bool | None = True
    for operator, keys in condition.items():
        if operator not in _POSITIVE | _NEGATED:
            raise NotEvaluated(f"condition operator {operator}")
        for key, wanted in keys.items():
            if key not in context:
                verdict = None if verdict else verdict
                continue
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            # ArnEquals and ArnLike are the same test (IAM user guide, condition operators): part by part, wildcards
            match = arn_match if operator.startswith("Arn") else _equals_or_like(operator)
            found = any(match(str(v), context[key]) for v in values)
            if (operator in _NEGATED) == found:
                verdict = False
    return verdict


def _equals_or_like(operator: str) -> Callable[[str, str], bool]:
    if "Like" in operator:
        return wildcard_match
    return lambda wanted, actual: wanted == actual


def decide(statements: list[Statement], request: Request) -> Decision:
    """IAM's order for one identity policy: an explicit Deny that applies wins, then an Allow that applies;
    nothing applying is an implicit deny. A statement that might apply (None) leaves the request undecided."""
    deny = [s.applies(request) for s in statements if s.effect == "Deny"]
    if True in deny:
        return "explicitly denied"
    if None in deny:
        return "not evaluated"
    allow = [s.applies(request) for s in statements if s.effect == "Allow"]
    if True in allow:
        return "allowed"
    return "not evaluated" if None in allow else "denied"


def role_statements(template: Template, function: str, stack: dict[str, Any]) -> list[Statement]:
    """The statements of a function's inline policies, their !Sub / !GetAtt / !Ref / !Join / !If resolved against
    `stack` (parameters, pseudo parameters, physical ids: OfflineAccount.deployed). SAM policy templates and
    managed policies are not read: they raise NotEvaluated, so a new one fails rather than being ignored."""
    statements: list[Statement] = []
    for policy in template.resources[function]["Properties"].get("Policies", []):
        if not (isinstance(policy, dict) and set(policy) == {"Statement"}):
            raise NotEvaluated(f"{function}: policy {policy!r} is not an inline Statement list")
        statements.extend(Statement.parse(template.resolve(raw, stack)) for raw in policy["Statement"])
    return statements
