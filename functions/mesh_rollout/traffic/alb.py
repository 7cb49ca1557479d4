"""The ALB backend: a listener rule's (or the listener's default) forward action, target groups weighted 0-999.

Weights are keyed by target group name; the reference holds the listener and rule ARNs (rule None: the default
actions) and each target group's ARN. Other actions of the rule (authenticate-*) and the forward action's
stickiness are kept as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from mesh_rollout.aws import aws_errors, classify, client, error_code
from mesh_rollout.errors import InvalidRolloutInput, UnknownReference
from mesh_rollout.traffic import RouteState, Weights, WeightScale

# ALB forward action: at most 5 target groups, each weight 0-999 (load-balancer-limits.html, rule-action-types.html)
SCALE = WeightScale(max_weight=999, max_total=None, max_targets=5, relative=True)
NOT_FOUND = ("ListenerNotFound", "RuleNotFound", "TargetGroupNotFound", "LoadBalancerNotFound")


def forward_action(actions: list[dict[str, Any]], where: str) -> dict[str, Any]:
    forwards = [a for a in actions if a.get("Type") == "forward"]
    if not forwards:
        kinds = ", ".join(str(a.get("Type")) for a in actions) or "none"
        raise InvalidRolloutInput(where, f"its action is {kinds}, not forward: there are no weighted target groups to shift")
    return forwards[0]


def forwarded(action: dict[str, Any]) -> list[dict[str, Any]]:
    """The (TargetGroupArn, Weight) pairs of a forward action, in either of its two shapes."""
    if "ForwardConfig" in action:
        return [
            {"TargetGroupArn": t["TargetGroupArn"], "Weight": int(t.get("Weight", 1))}
            for t in action["ForwardConfig"]["TargetGroups"]
        ]
    return [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]


@dataclass
class AlbRoute:
    reference: dict[str, Any]
    elbv2: Any = None
    scale: WeightScale = SCALE

    def __post_init__(self) -> None:
        self.elbv2 = self.elbv2 or client("elbv2")
        self.label = str(self.reference["label"])
        self.names = {arn: name for name, arn in self.reference["targets"].items()}

    def _state(self, actions: list[dict[str, Any]]) -> RouteState:
        where = "ruleArn" if self.reference.get("ruleArn") else "listenerArn"
        weights: Weights = {
            self.names.get(t["TargetGroupArn"], t["TargetGroupArn"]): t["Weight"]
            for t in forwarded(forward_action(actions, where))
        }
        return RouteState(weights, {"actions": actions})

    def read(self) -> RouteState:
        rule = self.reference.get("ruleArn")
        with aws_errors(f"Describe{'Rules' if rule else 'Listeners'} {self.label}"):
            if rule:
                return self._state(self.elbv2.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"])
            return self._state(
                self.elbv2.describe_listeners(ListenerArns=[self.reference["listenerArn"]])["Listeners"][0]["DefaultActions"]
            )

    def write(self, weights: Weights, based_on: RouteState | None = None) -> RouteState:
        actions = (based_on or self.read()).snapshot["actions"]
        targets = [
            {"TargetGroupArn": self.reference["targets"].get(name, name), "Weight": weight} for name, weight in weights.items()
        ]
        new = []
        for action in actions:
            if action is forward_action(actions, "ruleArn"):
                config = {**action.get("ForwardConfig", {}), "TargetGroups": targets}
                action = {k: v for k, v in action.items() if k != "TargetGroupArn"} | {"ForwardConfig": config}
            elif action.get("Type") == "authenticate-oidc" and "ClientSecret" not in action.get("AuthenticateOidcConfig", {}):
                # Describe* never returns the client secret; a modify keeps the one the rule has (elbv2 model)
                action = {
                    **action,
                    "AuthenticateOidcConfig": {**action["AuthenticateOidcConfig"], "UseExistingClientSecret": True},
                }
            new.append(action)
        rule = self.reference.get("ruleArn")
        with aws_errors(f"Modify{'Rule' if rule else 'Listener'} {self.label}"):
            if rule:
                return self._state(self.elbv2.modify_rule(RuleArn=rule, Actions=new)["Rules"][0]["Actions"])
            modified = self.elbv2.modify_listener(ListenerArn=self.reference["listenerArn"], DefaultActions=new)
            return self._state(modified["Listeners"][0]["DefaultActions"])

    def target_exists(self, target: str) -> bool:
        arn = self.reference["targets"].get(target, target)
        if not arn.startswith("arn:"):  # a name the plan did not resolve (a stable deleted by a finished shift's finalize)
            found = _describe(self.elbv2.describe_target_groups, "TargetGroups", "DescribeTargetGroups", Names=[arn])
            return found is not None
        return _target_groups(self.elbv2, [arn]) is not None

    def other_uses(self, target: str) -> list[str]:
        arn = self.reference["targets"].get(target, target)
        (group,) = _target_groups(self.elbv2, [arn]) or [{}]
        mine = f"loadbalancer/{self.reference['loadBalancer']}"
        uses = [f"load balancer {b.rsplit('/', 2)[-2]}" for b in group.get("LoadBalancerArns", []) if not b.endswith(mine)]
        balancer = next((b for b in group.get("LoadBalancerArns", []) if b.endswith(mine)), None)
        if balancer is None:
            return uses
        with aws_errors("DescribeListeners / DescribeRules"):
            for listener in self.elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"]:
                for rule in self.elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
                    ours = rule["RuleArn"] == self.reference.get("ruleArn") or (
                        rule.get("IsDefault")
                        and not self.reference.get("ruleArn")
                        and listener["ListenerArn"] == self.reference["listenerArn"]
                    )
                    forwards = [a for a in rule["Actions"] if a.get("Type") == "forward"]
                    if not ours and any(t["TargetGroupArn"] == arn and t["Weight"] > 0 for a in forwards for t in forwarded(a)):
                        where = "default actions" if rule.get("IsDefault") else f"rule {rule['Priority']}"
                        uses.append(f"listener {listener['Port']} {where}")
        return uses

    def delete_target(self, target: str) -> bool:
        if not self.target_exists(target):  # DeleteTargetGroup answers success for a group that is gone
            return False
        with aws_errors(f"DeleteTargetGroup {target}"):
            self.elbv2.delete_target_group(TargetGroupArn=self.reference["targets"].get(target, target))
        return True

    def check_exists(self) -> None:
        resolve_route(self.elbv2, self.reference["listenerArn"], self.reference.get("ruleArn"))


def from_reference(reference: dict[str, Any]) -> AlbRoute:
    return AlbRoute(reference)


# --- resolving the input's ARNs and names ---------------------------------------------------------------


def _describe(call: Any, key: str, action: str, **params: Any) -> list[dict[str, Any]] | None:
    try:
        found: list[dict[str, Any]] = call(**params)[key]
    except ClientError as exc:
        if error_code(exc) in NOT_FOUND:
            return None
        raise classify(exc, action) from exc
    return found


def _target_groups(elbv2: Any, arns: list[str]) -> list[dict[str, Any]] | None:
    return _describe(elbv2.describe_target_groups, "TargetGroups", "DescribeTargetGroups", TargetGroupArns=arns)


def resolve_route(elbv2: Any, listener_arn: str, rule_arn: str | None) -> dict[str, Any]:
    """The listener, its load balancer and the rule (None: the default actions) the input names."""
    listeners = _describe(elbv2.describe_listeners, "Listeners", f"DescribeListeners {listener_arn}", ListenerArns=[listener_arn])
    if not listeners:
        raise UnknownReference("listenerArn", f"listener {listener_arn!r} does not exist")
    listener = listeners[0]
    (balancer,) = _describe(
        elbv2.describe_load_balancers, "LoadBalancers", "DescribeLoadBalancers", LoadBalancerArns=[listener["LoadBalancerArn"]]
    ) or [{}]
    if balancer.get("Type") != "application":
        raise InvalidRolloutInput(
            "listenerArn", f"belongs to a {balancer.get('Type', 'missing')} load balancer, not an Application Load Balancer"
        )
    rule = None
    if rule_arn is not None:
        rules = _describe(elbv2.describe_rules, "Rules", f"DescribeRules {rule_arn}", RuleArns=[rule_arn])
        if not rules or rules[0]["RuleArn"] != rule_arn:
            raise UnknownReference("ruleArn", f"rule {rule_arn!r} does not exist")
        if not rule_arn.startswith(listener_arn.replace(":listener/", ":listener-rule/")):
            raise InvalidRolloutInput("ruleArn", f"is not a rule of listener {listener_arn!r}")
        rule = None if rules[0].get("IsDefault") else rules[0]
    actions = rule["Actions"] if rule else listener["DefaultActions"]
    forward_action(actions, "ruleArn" if rule else "listenerArn")
    return {"listener": listener, "balancer": balancer, "rule": rule, "actions": actions}


def resolve(fields: dict[str, Any], stable: str, canary: str, elbv2: Any = None, deleted_stable: bool = False) -> dict[str, Any]:
    """The route reference, and stable and canary as the target group names the weights use (read-only).
    `deleted_stable` (the input's finalize.deleteStableTargetGroup): a stable that no longer exists, off the action
    with the canary carrying all the traffic, is a finished shift's, deleted by its finalize."""
    elbv2 = elbv2 or client("elbv2")
    route = resolve_route(elbv2, fields["listenerArn"], fields.get("ruleArn"))
    arns = [t["TargetGroupArn"] for t in forwarded(forward_action(route["actions"], "ruleArn"))]
    on_action = {g["TargetGroupName"]: g for g in _target_groups(elbv2, arns) or []}
    weights = {t["TargetGroupArn"]: t["Weight"] for t in forwarded(forward_action(route["actions"], "ruleArn"))}
    names: dict[str, str] = {}
    off_action: dict[str, dict[str, Any]] = {}
    for field, given in (("canary", canary), ("stable", stable)):
        match = [n for n, g in on_action.items() if given in (n, g["TargetGroupArn"])]
        if match:
            names[field] = match[0]
            continue
        found = _describe(
            elbv2.describe_target_groups,
            "TargetGroups",
            "DescribeTargetGroups",
            **({"TargetGroupArns": [given]} if given.startswith("arn:") else {"Names": [given]}),
        )
        canary_arn = on_action[names["canary"]]["TargetGroupArn"] if "canary" in names else None
        # a stable already taken off the action (or deleted, when the input asks finalize to delete it) by this tool's
        # finalize, with the canary carrying all the traffic, is where a shift ends (shifting.weights.is_retired)
        retired = field == "stable" and canary_arn is not None and weights.get(canary_arn, 0) > 0
        retired = retired and all(w == 0 for a, w in weights.items() if a != canary_arn)
        if not found and retired and deleted_stable:
            names[field] = given
            continue
        if not found:
            raise UnknownReference(field, f"target group {given!r} does not exist")
        if not retired:
            where = f"rule {route['rule']['Priority']}" if route["rule"] else "the listener's default actions"
            raise InvalidRolloutInput(
                field, f"target group {given!r} is not forwarded to by {where}; add it to the action (weight 0) first"
            )
        names[field] = found[0]["TargetGroupName"]
        off_action[names[field]] = found[0]
    balancer = route["balancer"]
    for field in [f for f in ("stable", "canary") if names[f] in on_action]:
        group = on_action[names[field]]
        if group.get("TargetType") == "lambda":  # a Lambda target group has no VPC and no protocol
            continue
        if group["VpcId"] != balancer["VpcId"]:
            raise InvalidRolloutInput(
                field,
                f"target group {group['TargetGroupName']!r} is in {group['VpcId']}, the load balancer in {balancer['VpcId']}",
            )
        if group.get("Protocol") not in ("HTTP", "HTTPS"):
            raise InvalidRolloutInput(
                field,
                f"target group {group['TargetGroupName']!r} speaks {group.get('Protocol')}; an ALB forwards to HTTP or HTTPS",
            )
    listener, rule = route["listener"], route["rule"]
    return {
        "reference": {
            "backend": "alb",
            "listenerArn": listener["ListenerArn"],
            "ruleArn": rule["RuleArn"] if rule else None,
            "label": f"{balancer['LoadBalancerName']}:{listener['Port']}/{('rule ' + rule['Priority']) if rule else 'default'}",
            "targets": {name: group["TargetGroupArn"] for name, group in (on_action | off_action).items()},
            "loadBalancer": balancer["LoadBalancerArn"].split(":loadbalancer/", 1)[-1],
        },
        "stable": names["stable"],
        "canary": names["canary"],
        "arns": {name: group["TargetGroupArn"] for name, group in (on_action | off_action).items()},
    }


# --- the canary's own metrics -------------------------------------------------------------------------


def dimension_value(resolved: dict[str, Any], target: str, cloudwatch: Any) -> str:
    """The TargetGroup dimension of `target`'s metrics in AWS/ApplicationELB (the final part of its ARN)."""
    return str(resolved["arns"][target].split(":", 5)[-1])


def latency_threshold(milliseconds: int | float) -> float:
    """healthGate.maxLatencyMs in TargetResponseTime's unit (seconds)."""
    return milliseconds / 1000


def target_metrics(resolved: dict[str, Any], target: str, latency_statistic: str, cloudwatch: Any) -> dict[str, Any]:
    """`target`'s error rate (5xx / requests) and latency per minute: the thresholds judge the canary's, the
    statistical judge compares the canary's with stable's. AWS/ApplicationELB (load-balancer-cloudwatch-metrics.html):
    HTTPCode_Target_5XX_Count and TargetResponseTime (seconds) only when non-zero, RequestCount always; dimensions
    TargetGroup and LoadBalancer, the final part of each ARN."""
    dimensions = [
        {"Name": "TargetGroup", "Value": dimension_value(resolved, target, cloudwatch)},
        {"Name": "LoadBalancer", "Value": resolved["reference"]["loadBalancer"]},
    ]

    def stat(name: str, statistic: str) -> dict[str, Any]:
        metric = {"Namespace": "AWS/ApplicationELB", "MetricName": name, "Dimensions": dimensions}
        return {"Metric": metric, "Period": 60, "Stat": statistic}

    return {
        "errorRate": {"metricStat": stat("HTTPCode_Target_5XX_Count", "Sum"), "divideBy": stat("RequestCount", "Sum")},
        "latency": {"metricStat": stat("TargetResponseTime", latency_statistic)},
    }
