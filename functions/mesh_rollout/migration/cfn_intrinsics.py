"""CloudFormation's intrinsic functions, resolved as a stack would resolve them (pure).

A template is taken in its JSON form (YAML's short forms `!Ref`, `!Sub`, `!GetAtt a.b` ... already turned into
`{"Ref": ...}`, `{"Fn::Sub": ...}`, `{"Fn::GetAtt": [a, b]}`). Values come from the parameters the user gives (else
their defaults), the pseudo parameters (AWS::Region ...) and, for the resources of the template, from the resolver's
`attribute` callback. What has no value yet (a Ref to a VPC the stack would create) is refused by its path with the
override that supplies it (`LogicalId=value`, `LogicalId.Attribute=value`), as `--parameter-overrides` gives it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mesh_rollout.errors import InvalidRolloutInput

NO_VALUE = object()  # AWS::NoValue: the property is removed
SUB_VARIABLE = re.compile(r"\$\{([^}!]*)\}")
ATTRIBUTE = re.compile(r"^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)+$")


class Unresolvable(InvalidRolloutInput):
    """A value the template leaves to the stack: the message names the override that gives it."""


def partition_of(region: str) -> tuple[str, str]:
    """(AWS::Partition, AWS::URLSuffix) of a Region."""
    if region.startswith("cn-"):
        return "aws-cn", "amazonaws.com.cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov", "amazonaws.com"
    return "aws", "amazonaws.com"


class Resolver:
    """Resolves one template's intrinsics; `attribute(logical_id, name, path)` answers Ref (name None) and GetAtt of
    its resources, or None when the value must be given as an override."""

    def __init__(
        self,
        template: dict[str, Any],
        overrides: dict[str, str],
        attribute: Callable[[str, str | None, str], Any],
    ) -> None:
        self.template = template
        self.overrides = overrides
        self.attribute = attribute
        self.parameters = _mapping(template, "Parameters")
        self.resources = _mapping(template, "Resources")
        self.mappings = _mapping(template, "Mappings")
        self.conditions = _mapping(template, "Conditions")
        self._condition_values: dict[str, bool] = {}
        self._check_overrides()

    def _check_overrides(self) -> None:
        for key in self.overrides:
            known = key in self.parameters or key.startswith("AWS::") or key.split(".", 1)[0] in self.resources
            if not known:
                raise InvalidRolloutInput(
                    f"--parameter-overrides {key}", "the template has no parameter or resource of that name"
                )

    def resolve(self, value: Any, path: str) -> Any:
        """`value` with every intrinsic replaced by what it stands for; AWS::NoValue removes the key or item."""
        if isinstance(value, list):
            items = [self.resolve(v, f"{path}[{i}]") for i, v in enumerate(value)]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._function(key, argument, f"{path}.{key}")
        resolved = {k: self.resolve(v, f"{path}.{k}") for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def string(self, value: Any, path: str) -> str:
        resolved = self.resolve(value, path)
        if isinstance(resolved, bool) or not isinstance(resolved, (str, int, float)):
            raise InvalidRolloutInput(path, f"must resolve to a string, not {resolved!r}")
        return str(resolved)

    def condition(self, name: str, path: str) -> bool:
        """The value of a condition of the template's Conditions section."""
        if name not in self._condition_values:
            if name not in self.conditions:
                raise InvalidRolloutInput(path, f"the template has no condition {name!r}")
            outcome = self.resolve(self.conditions[name], f"Conditions.{name}")
            if not isinstance(outcome, bool):
                raise InvalidRolloutInput(f"Conditions.{name}", "must be a condition function (Fn::Equals ...)")
            self._condition_values[name] = outcome
        return self._condition_values[name]

    def _function(self, name: str, argument: Any, path: str) -> Any:
        if name == "Ref":
            if not isinstance(argument, str):
                raise InvalidRolloutInput(path, f"malformed Ref: {argument!r}")
            return self.ref(argument, path)
        if name == "Fn::GetAtt":
            if isinstance(argument, str):
                argument = argument.split(".", 1)
            if not isinstance(argument, list) or len(argument) != 2:
                raise InvalidRolloutInput(path, f"malformed Fn::GetAtt: {argument!r} (LogicalId.Attribute)")
            logical_id, attribute = (self.string(a, path) for a in argument)
            return self.value_of(logical_id, attribute, path)
        if name == "Condition":
            return self.condition(str(argument), path)
        function = FUNCTIONS.get(name)
        if function is None:
            raise Unresolvable(path, f"{name} is not resolved here; give the value itself in the template")
        try:
            return function(self, argument, path)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            raise InvalidRolloutInput(path, f"malformed {name}: {argument!r}") from None

    def ref(self, name: str, path: str) -> Any:
        if name in self.overrides:
            return self._parameter_value(name, self.overrides[name], path)
        if name == "AWS::NoValue":
            return NO_VALUE
        if name.startswith("AWS::"):
            return self._pseudo(name, path)
        if name in self.parameters:
            declared = self.parameters[name]
            if isinstance(declared, dict) and "Default" in declared:
                return self._parameter_value(name, str(declared["Default"]), path)
            raise Unresolvable(path, f"parameter {name} has no default: pass {name}=VALUE in --parameter-overrides")
        return self.value_of(name, None, path)

    def _parameter_value(self, name: str, value: str, path: str) -> Any:
        declared = self.parameters.get(name)
        if not isinstance(declared, dict):
            return value
        allowed = declared.get("AllowedValues")
        if allowed and value not in [str(a) for a in allowed]:
            raise InvalidRolloutInput(f"Parameters.{name}", f"{value!r} is not one of its AllowedValues {allowed}")
        kind = str(declared.get("Type", "String"))
        return value.split(",") if kind.startswith("List<") or kind == "CommaDelimitedList" else value

    def _pseudo(self, name: str, path: str) -> Any:
        region = self.overrides.get("AWS::Region")
        if name in ("AWS::Partition", "AWS::URLSuffix") and region:
            return partition_of(region)[0 if name == "AWS::Partition" else 1]
        raise Unresolvable(path, f"{name} has no value: pass {name}=VALUE in --parameter-overrides")

    def value_of(self, logical_id: str, attribute: str | None, path: str) -> Any:
        key = logical_id if attribute is None else f"{logical_id}.{attribute}"
        if key in self.overrides:
            return self.overrides[key]
        if logical_id not in self.resources:
            raise InvalidRolloutInput(path, f"the template has no resource or parameter {logical_id!r}")
        value = self.attribute(logical_id, attribute, path)
        if value is None:
            what = f"Ref {logical_id}" if attribute is None else f"GetAtt {key}"
            raise Unresolvable(path, f"{what} is the stack's to make: pass {key}=VALUE in --parameter-overrides")
        return value


def _mapping(template: dict[str, Any], section: str) -> dict[str, Any]:
    value = template.get(section) or {}
    if not isinstance(value, dict):
        raise InvalidRolloutInput(section, "must be an object")
    return value


def _sub(resolver: Resolver, argument: Any, path: str) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
    values = {k: resolver.resolve(v, f"{path}[1].{k}") for k, v in variables.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return str(values[name])
        if ATTRIBUTE.match(name) and name.split(".", 1)[0] in resolver.resources:
            logical_id, attribute = name.split(".", 1)
            return str(resolver.value_of(logical_id, attribute, path))
        ref = resolver.ref(name, path)
        return ",".join(ref) if isinstance(ref, list) else str(ref)

    return SUB_VARIABLE.sub(replace, text).replace("${!", "${")


def _join(resolver: Resolver, argument: Any, path: str) -> str:
    delimiter, items = argument
    values = resolver.resolve(items, f"{path}[1]")
    return str(delimiter).join(str(v) for v in values)


def _select(resolver: Resolver, argument: Any, path: str) -> Any:
    index, items = resolver.resolve(argument, path)
    return items[int(index)]


def _split(resolver: Resolver, argument: Any, path: str) -> list[str]:
    delimiter, text = resolver.resolve(argument, path)
    return str(text).split(str(delimiter))


def _find_in_map(resolver: Resolver, argument: Any, path: str) -> Any:
    name, top, second = (resolver.string(a, f"{path}[{i}]") for i, a in enumerate(argument[:3]))
    try:
        return resolver.mappings[name][top][second]
    except (KeyError, TypeError):
        raise InvalidRolloutInput(path, f"Mappings has no {name}.{top}.{second}") from None


def _if(resolver: Resolver, argument: Any, path: str) -> Any:
    name, when_true, when_false = argument
    chosen = when_true if resolver.condition(name, path) else when_false
    return resolver.resolve(chosen, path)


def _equals(resolver: Resolver, argument: Any, path: str) -> bool:
    left, right = resolver.resolve(argument, path)
    return bool(str(left) == str(right))


def _not(resolver: Resolver, argument: Any, path: str) -> bool:
    return not resolver.resolve(argument, path)[0]


def _and(resolver: Resolver, argument: Any, path: str) -> bool:
    return all(resolver.resolve(argument, path))


def _or(resolver: Resolver, argument: Any, path: str) -> bool:
    return any(resolver.resolve(argument, path))


FUNCTIONS: dict[str, Callable[[Resolver, Any, str], Any]] = {
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::FindInMap": _find_in_map,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": _not,
    "Fn::And": _and,
    "Fn::Or": _or,
}
