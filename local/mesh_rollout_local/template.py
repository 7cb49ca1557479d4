"""Read the SAM template: functions, state machines and the intrinsics needed to wire them offline."""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml


def default_template() -> Path | None:
    """./template.yaml if there is one, else the template.yaml of the checkout this package is installed from
    (`pip install -e .`), so the CLI runs from any directory; None if neither exists."""
    for candidate in (Path("template.yaml"), Path(__file__).resolve().parents[2] / "template.yaml"):
        if candidate.is_file():
            return candidate
    return None


class CfnLoader(yaml.SafeLoader):
    """YAML loader that turns !Ref / !GetAtt / !Sub ... into their long JSON forms."""


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class FunctionDef:
    logical_id: str
    handler: str
    code_uri: Path
    environment: dict[str, Any] = field(default_factory=dict)
    # the logical id of the execution role SAM generates for the function, `<LogicalId>Role` (an AWS::IAM::Role
    # that !Ref and !GetAtt <LogicalId>Role.Arn name), or None when the function names its own Role; see
    # https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-generated-resources-function.html
    generated_role: str | None = None


@dataclass(frozen=True)
class StateMachineDef:
    logical_id: str
    definition_uri: Path
    substitutions: dict[str, Any]


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> dict[str, Any]:
    """template.yaml parsed once per process and text (PyYAML takes about a second for it; every offline account
    reads it); callers get a deep copy."""
    return cast(dict[str, Any], yaml.load(text, Loader=CfnLoader))  # noqa: S506 - SafeLoader subclass


class Template:
    """The parts of template.yaml that the offline runner deploys into the emulated account."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        self.root = self.path.parent
        self.body: dict[str, Any] = copy.deepcopy(_parsed(self.path.read_text()))
        self.resources: dict[str, Any] = self.body.get("Resources", {})
        globals_ = self.body.get("Globals", {}).get("Function", {})
        self.functions: dict[str, FunctionDef] = {}
        self.state_machines: dict[str, StateMachineDef] = {}
        for logical_id, resource in self.resources.items():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::Serverless::Function":
                env = {
                    **globals_.get("Environment", {}).get("Variables", {}),
                    **props.get("Environment", {}).get("Variables", {}),
                }
                code_uri = props.get("CodeUri", globals_.get("CodeUri", "."))
                role = None if "Role" in props or "Role" in globals_ else f"{logical_id}Role"
                self.functions[logical_id] = FunctionDef(logical_id, props["Handler"], self.root / code_uri, env, role)
            elif resource["Type"] == "AWS::Serverless::StateMachine":
                self.state_machines[logical_id] = StateMachineDef(
                    logical_id, self.root / props["DefinitionUri"], props.get("DefinitionSubstitutions", {})
                )

    def resources_of(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """{logical id: Properties} of every resource of one type (tables, topics ...)."""
        return {
            logical_id: resource.get("Properties", {})
            for logical_id, resource in self.resources.items()
            if resource["Type"] == resource_type
        }

    def parameter_defaults(self) -> dict[str, Any]:
        """Each parameter's default; a CommaDelimitedList is a list, as CloudFormation passes it."""
        defaults: dict[str, Any] = {}
        for name, parameter in self.body.get("Parameters", {}).items():
            value = str(parameter.get("Default", ""))
            defaults[name] = value.split(",") if parameter.get("Type") == "CommaDelimitedList" else value
        return defaults

    def condition(self, name: str, context: dict[str, Any]) -> bool:
        return self._truth(self.body.get("Conditions", {})[name], context)

    def _truth(self, expression: Any, context: dict[str, Any]) -> bool:
        ((key, arg),) = expression.items()
        if key == "Condition":
            return self.condition(arg, context)
        if key == "Fn::Equals":
            return bool(self.resolve(arg[0], context) == self.resolve(arg[1], context))
        if key == "Fn::Not":
            return not self._truth(arg[0], context)
        if key == "Fn::And":
            return all(self._truth(a, context) for a in arg)
        if key == "Fn::Or":
            return any(self._truth(a, context) for a in arg)
        raise ValueError(f"unsupported condition function {key}")

    def resolve(self, value: Any, context: dict[str, Any]) -> Any:
        """Resolve Ref, Fn::GetAtt, Fn::Sub, Fn::Join and Fn::If against `context` ('Name' and 'Name.Attr' keys)."""
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return context[arg]
            if key == "Fn::GetAtt":
                return context[".".join(arg)]
            if key == "Fn::Join":
                return str(self.resolve(arg[0], context)).join(str(v) for v in self.resolve(arg[1], context))
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0], context) else arg[2], context)
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                names = {**context, **{k: self.resolve(v, context) for k, v in extra.items()}}
                return re.sub(r"\$\{([^}!]+)\}", lambda m: str(names[m.group(1)]), text)
        if isinstance(value, dict):
            return {k: self.resolve(v, context) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, context) for v in value]
        return value
