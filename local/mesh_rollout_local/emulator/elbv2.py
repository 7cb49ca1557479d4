"""Elastic Load Balancing v2 in the emulated account: weighted forward actions as an Application Load Balancer
takes them.

moto 5.2.5 stores `ForwardConfig` weights as given: a weight of 5000, nine target groups, a target group of
another VPC or a TCP target group on an ALB listener are all accepted, ModifyListener does not check that the
target groups exist, and ModifyRule on a listener's default rule leaves DescribeListeners' DefaultActions
behind. Here, following the ELB documentation (rule-action-types.html, load-balancer-limits.html):
- a forward action of an Application Load Balancer has at most 5 target groups, each weight 0-999
  (ValidationError), every target group exists (TargetGroupNotFound), is in the load balancer's VPC and speaks
  HTTP or HTTPS (InvalidConfigurationRequest), on CreateListener, ModifyListener, CreateRule and ModifyRule;
- the default rule and the listener's DefaultActions are one: ModifyRule on the default rule changes both.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

from moto.elbv2.exceptions import InvalidConfigurationRequest, TargetGroupNotFoundError, ValidationError
from moto.elbv2.models import ELBv2Backend, FakeAction

MAX_TARGET_GROUPS = 5  # per action on an ALB, not adjustable (load-balancer-limits.html)
MAX_WEIGHT = 999  # rule-action-types.html: "The range is 0 to 999"


def _forwarded(action: FakeAction) -> list[dict[str, Any]]:
    data = action.data
    if data.get("Type") != "forward":
        return []
    if "ForwardConfig" in data:
        return list(data["ForwardConfig"].get("TargetGroups", []))
    return [{"TargetGroupArn": data["TargetGroupArn"]}] if "TargetGroupArn" in data else []


def _check_forward(backend: ELBv2Backend, load_balancer_arn: str, actions: list[FakeAction]) -> None:
    load_balancer = backend.load_balancers.get(load_balancer_arn)
    if load_balancer is None or load_balancer.type != "application":
        return
    for action in actions:
        targets = _forwarded(action)
        if len(targets) > MAX_TARGET_GROUPS:
            raise ValidationError(f"A forward action can have at most {MAX_TARGET_GROUPS} target groups, not {len(targets)}")
        for target in targets:
            weight = target.get("Weight", 1)
            if not 0 <= int(weight) <= MAX_WEIGHT:
                raise ValidationError(f"Target group weight {weight} is outside [0, {MAX_WEIGHT}]")
            group = backend.target_groups.get(target["TargetGroupArn"])
            if group is None:
                raise TargetGroupNotFoundError()
            if group.vpc_id != load_balancer.vpc_id:
                raise InvalidConfigurationRequest(
                    f"Target group {group.name} is in {group.vpc_id}, not in the load balancer's VPC {load_balancer.vpc_id}"
                )
            if group.protocol not in ("HTTP", "HTTPS"):
                raise InvalidConfigurationRequest(
                    f"Target group {group.name} uses {group.protocol}; an Application Load Balancer forwards to HTTP or HTTPS"
                )


def _listener_load_balancer(backend: ELBv2Backend, listener_arn: str) -> str:
    (listener,) = backend.describe_listeners(load_balancer_arn=None, listener_arns=[listener_arn])
    return str(listener.load_balancer_arn)


def _rule_load_balancer(backend: ELBv2Backend, rule_arn: str) -> str:
    (rule,) = backend.describe_rules(listener_arn=None, rule_arns=[rule_arn])
    return _listener_load_balancer(backend, rule.listener_arn)


def _checked(original: Any, load_balancer_of: Callable[[ELBv2Backend, dict[str, Any]], str]) -> Any:
    """Check the `actions` argument of a moto backend method before it runs."""
    signature = inspect.signature(original)

    def method(self: ELBv2Backend, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        if arguments.get("actions"):
            actions = [FakeAction(copy.deepcopy(a)) for a in arguments["actions"]]
            _check_forward(self, load_balancer_of(self, arguments), actions)
        return original(self, *args, **kwargs)

    return method


def _modify_rule_in_step(original: Any) -> Any:
    def modify_rule(self: ELBv2Backend, *args: Any, **kwargs: Any) -> Any:
        modified = original(self, *args, **kwargs)
        if getattr(modified, "is_default", False):
            (listener,) = self.describe_listeners(load_balancer_arn=None, listener_arns=[modified.listener_arn])
            listener.default_actions = modified.actions  # one action, seen from the listener and from its rule
        return modified

    return modify_rule


def install() -> None:
    checks: dict[str, Callable[[ELBv2Backend, dict[str, Any]], str]] = {
        "create_listener": lambda backend, arguments: str(arguments["load_balancer_arn"]),
        "modify_listener": lambda backend, arguments: _listener_load_balancer(backend, arguments["arn"]),
        "create_rule": lambda backend, arguments: _listener_load_balancer(backend, arguments["listener_arn"]),
        "modify_rule": lambda backend, arguments: _rule_load_balancer(backend, arguments["rule_arn"]),
    }
    for name, load_balancer_of in checks.items():
        setattr(ELBv2Backend, name, _checked(getattr(ELBv2Backend, name), load_balancer_of))
    ELBv2Backend.modify_rule = _modify_rule_in_step(ELBv2Backend.modify_rule)  # type: ignore[method-assign]
