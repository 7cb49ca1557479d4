"""The VPC Lattice backend: a listener rule's (or the listener's default) forward action, target groups weighted 0-999.

Weights are keyed by target group name. The reference the plan passes around holds the IDs (service, listener,
rule or None for the default action) and, per target group name, the identifier the action uses for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mesh_rollout.aws import aws_errors, client, unless_missing
from mesh_rollout.errors import InvalidRolloutInput, UnknownReference
from mesh_rollout.traffic import RouteState, Weights, WeightScale

# ForwardAction: 1-10 target groups, each weight 0-999 (vpc-lattice API, WeightedTargetGroupList, TargetGroupWeight)
SCALE = WeightScale(max_weight=999, max_total=None, max_targets=10, relative=True)
HTTP_LISTENERS = ("HTTP", "HTTPS")


def _id(identifier: str) -> str:
    return identifier.rsplit("/", 1)[-1]


def default_weight(action: dict[str, Any]) -> int:
    """A weight the API left out: 100 for a lone target group, else 1 (the model documents both; only proportions
    route traffic, and a lone group gets everything either way)."""
    return 100 if len(action.get("forward", {}).get("targetGroups", [])) == 1 else 1


def forward_targets(action: dict[str, Any], where: str) -> list[dict[str, Any]]:
    if "forward" not in action:
        kind = next(iter(action), "none")
        raise InvalidRolloutInput(where, f"its action is {kind}, not forward: there are no weighted target groups to shift")
    return list(action["forward"]["targetGroups"])


@dataclass
class LatticeRoute:
    reference: dict[str, Any]
    lattice: Any = None
    scale: WeightScale = SCALE

    def __post_init__(self) -> None:
        self.lattice = self.lattice or client("vpc-lattice")
        self.label = str(self.reference["label"])
        self.keys = {"serviceIdentifier": self.reference["service"], "listenerIdentifier": self.reference["listener"]}
        self.names = {_id(identifier): name for name, identifier in self.reference["targets"].items()}

    def _state(self, action: dict[str, Any]) -> RouteState:
        where = "ruleIdentifier" if self.reference.get("rule") else "listenerIdentifier"
        weights: Weights = {}
        for target in forward_targets(action, where):
            name = self.names.get(_id(target["targetGroupIdentifier"]), target["targetGroupIdentifier"])
            weights[name] = int(target.get("weight", default_weight(action)))
        return RouteState(weights, {"action": action})

    def read(self) -> RouteState:
        with aws_errors(f"Get{'Rule' if self.reference.get('rule') else 'Listener'} {self.label}"):
            if self.reference.get("rule"):
                return self._state(self.lattice.get_rule(**self.keys, ruleIdentifier=self.reference["rule"])["action"])
            return self._state(self.lattice.get_listener(**self.keys)["defaultAction"])

    def write(self, weights: Weights, based_on: RouteState | None = None) -> RouteState:
        current = (based_on or self.read()).snapshot["action"]
        used = {
            self.names.get(_id(t["targetGroupIdentifier"]), t["targetGroupIdentifier"]): t
            for t in current["forward"]["targetGroups"]
        }
        targets = [
            {**used.get(name, {"targetGroupIdentifier": self.reference["targets"].get(name, name)}), "weight": weight}
            for name, weight in weights.items()
        ]
        action = {**current, "forward": {**current["forward"], "targetGroups": targets}}
        with aws_errors(f"Update{'Rule' if self.reference.get('rule') else 'Listener'} {self.label}"):
            if self.reference.get("rule"):
                return self._state(
                    self.lattice.update_rule(**self.keys, ruleIdentifier=self.reference["rule"], action=action)["action"]
                )
            return self._state(self.lattice.update_listener(**self.keys, defaultAction=action)["defaultAction"])

    def target_exists(self, target: str) -> bool:
        group = self.reference["targets"].get(target)
        if group is None:  # a name the plan did not resolve (a stable deleted by a finished shift's finalize)
            return _find_target_group(self.lattice, target) is not None
        return unless_missing(self.lattice.get_target_group, f"GetTargetGroup {target}", targetGroupIdentifier=group) is not None

    def other_uses(self, target: str) -> list[str]:
        group_id = _id(self.reference["targets"].get(target, target))
        uses = []
        service = self.reference["service"]
        with aws_errors(f"GetTargetGroup {target}"):
            group = self.lattice.get_target_group(targetGroupIdentifier=group_id)
        uses += [f"service {arn.rsplit('/', 1)[-1]}" for arn in group.get("serviceArns", []) if not arn.endswith(f"/{service}")]
        with aws_errors("ListListeners / ListRules / GetRule"):
            for listener in (
                i for p in self.lattice.get_paginator("list_listeners").paginate(serviceIdentifier=service) for i in p["items"]
            ):
                keys = {"serviceIdentifier": service, "listenerIdentifier": listener["id"]}
                actions = {f"listener {listener['name']} default action": self.lattice.get_listener(**keys)["defaultAction"]}
                for rule in (i for p in self.lattice.get_paginator("list_rules").paginate(**keys) for i in p["items"]):
                    if not rule.get("isDefault"):
                        actions[f"rule {rule['name']}"] = self.lattice.get_rule(**keys, ruleIdentifier=rule["id"])["action"]
                for where, action in actions.items():
                    mine = (listener["id"] == self.reference["listener"]) and (
                        where == f"rule {self._rule_name()}" if self.reference.get("rule") else where.endswith("default action")
                    )
                    targets = (action or {}).get("forward", {}).get("targetGroups", [])
                    if not mine and any(_id(t["targetGroupIdentifier"]) == group_id and t.get("weight", 1) > 0 for t in targets):
                        uses.append(where)
        return uses

    def _rule_name(self) -> str:
        return str(self.reference["label"]).rsplit("/", 1)[-1]

    def delete_target(self, target: str) -> bool:
        group = self.reference["targets"].get(target, target)
        return (
            unless_missing(self.lattice.delete_target_group, f"DeleteTargetGroup {target}", targetGroupIdentifier=group)
            is not None
        )

    def check_exists(self) -> None:
        resolve_route(self.lattice, self.reference["service"], self.reference["listener"], self.reference.get("rule"))


def from_reference(reference: dict[str, Any]) -> LatticeRoute:
    return LatticeRoute(reference)


# --- resolving the input's names, IDs and ARNs ------------------------------------------------------


def _find(lattice: Any, field: str, what: str, identifier: str, listing: str, **keys: str) -> dict[str, Any]:
    """A service, listener or rule by ID or ARN (Get*), else by name (List*); UnknownReference naming `field`."""
    get = getattr(lattice, f"get_{what}")
    prefix = {"service": "svc-", "listener": "listener-", "rule": "rule-"}[what]
    found = None
    parent = keys.get("listenerIdentifier") if what == "rule" else keys.get("serviceIdentifier") if what == "listener" else None
    if identifier.startswith("arn:") and parent and f"/{parent}/" not in identifier:
        owner = "listener" if what == "rule" else "service"
        raise InvalidRolloutInput(field, f"{identifier!r} is not a {what} of the {owner} {parent!r} the input names")
    if identifier.startswith(("arn:", prefix)):
        found = unless_missing(get, f"Get {what} {identifier}", **keys, **{f"{what}Identifier": identifier})
    else:
        with aws_errors(f"List {what}s"):
            items = [i for page in lattice.get_paginator(listing).paginate(**keys) for i in page["items"]]
        match = next((i for i in items if i["name"] == identifier), None)
        if match is not None:
            found = unless_missing(get, f"Get {what} {identifier}", **keys, **{f"{what}Identifier": match["id"]})
    if found is None:
        raise UnknownReference(field, f"VPC Lattice {what} {identifier!r} does not exist")
    return found


def resolve_route(lattice: Any, service: str, listener: str, rule: str | None) -> dict[str, Any]:
    """The service, listener and rule (None: the default action) the input names, with the action they forward."""
    found_service = _find(lattice, "serviceIdentifier", "service", service, "list_services")
    keys = {"serviceIdentifier": found_service["id"]}
    found_listener = _find(lattice, "listenerIdentifier", "listener", listener, "list_listeners", **keys)
    keys["listenerIdentifier"] = found_listener["id"]
    found_rule = None
    if rule is not None:
        found_rule = _find(lattice, "ruleIdentifier", "rule", rule, "list_rules", **keys)
        if found_rule.get("isDefault"):
            found_rule = None  # the default rule's action is the listener's default action
    action = found_rule["action"] if found_rule else found_listener["defaultAction"]
    forward_targets(action, "ruleIdentifier" if found_rule else "listenerIdentifier")
    return {"service": found_service, "listener": found_listener, "rule": found_rule, "action": action}


def _target_group(lattice: Any, identifier: str) -> dict[str, Any] | None:
    return unless_missing(lattice.get_target_group, f"GetTargetGroup {identifier}", targetGroupIdentifier=identifier)


def _find_target_group(lattice: Any, given: str) -> dict[str, Any] | None:
    """A target group by ID or ARN, else by name; None if there is none."""
    if given.startswith(("tg-", "arn:")):
        return _target_group(lattice, given)
    with aws_errors("ListTargetGroups"):
        pages = lattice.get_paginator("list_target_groups").paginate()
        match = next((g for page in pages for g in page["items"] if g["name"] == given), None)
    return _target_group(lattice, match["id"]) if match else None


def resolve(
    fields: dict[str, Any], stable: str, canary: str, lattice: Any = None, deleted_stable: bool = False
) -> dict[str, Any]:
    """The route reference, and stable and canary as the target group names the weights use (read-only).
    `deleted_stable` (the input's finalize.deleteStableTargetGroup): a stable that no longer exists, off the action
    with the canary carrying all the traffic, is a finished shift's, deleted by its finalize."""
    lattice = lattice or client("vpc-lattice")
    route = resolve_route(lattice, fields["serviceIdentifier"], fields["listenerIdentifier"], fields.get("ruleIdentifier"))
    on_action = {}
    for target in route["action"]["forward"]["targetGroups"]:
        group = _target_group(lattice, target["targetGroupIdentifier"])
        if group is not None:
            on_action[group["name"]] = {**group, "used": target["targetGroupIdentifier"]}
    weights = {
        _id(t["targetGroupIdentifier"]): int(t.get("weight", default_weight(route["action"])))
        for t in route["action"]["forward"]["targetGroups"]
    }
    names: dict[str, str] = {}
    off_action: dict[str, dict[str, Any]] = {}
    for field, given in (("canary", canary), ("stable", stable)):
        match = [n for n, g in on_action.items() if given in (n, g["id"], g["arn"])]
        if match:
            names[field] = match[0]
            continue
        group = _find_target_group(lattice, given)
        canary_id = on_action[names["canary"]]["id"] if "canary" in names else None
        # a stable already taken off the action (or deleted, when the input asks finalize to delete it) by this tool's
        # finalize, with the canary carrying all the traffic, is where a shift ends (shifting.weights.is_retired)
        retired = field == "stable" and canary_id is not None and weights.get(canary_id, 0) > 0
        retired = retired and all(w == 0 for i, w in weights.items() if i != canary_id)
        if group is None and retired and deleted_stable:
            names[field] = given
            continue
        if group is None:
            raise UnknownReference(field, f"VPC Lattice target group {given!r} does not exist")
        if not retired:
            raise InvalidRolloutInput(
                field, f"target group {given!r} is not forwarded to by {_where(route)}; add it to the action (weight 0) first"
            )
        names[field] = group["name"]
        off_action[group["name"]] = {**group, "used": group["id"]}
    if names["stable"] in on_action:
        check_compatible(route, on_action[names["stable"]], on_action[names["canary"]])
    service, listener, rule = route["service"], route["listener"], route["rule"]
    return {
        "reference": {
            "backend": "lattice",
            "service": service["id"],
            "listener": listener["id"],
            "rule": rule["id"] if rule else None,
            "label": f"{service['name']}/{listener['name']}/{rule['name'] if rule else 'default'}",
            "targets": {name: group["used"] for name, group in (on_action | off_action).items()},
        },
        "stable": names["stable"],
        "canary": names["canary"],
        "arns": {name: group["arn"] for name, group in (on_action | off_action).items()},
        "ids": {name: group["id"] for name, group in (on_action | off_action).items()},
    }


def _where(route: dict[str, Any]) -> str:
    rule = route["rule"]
    return f"rule {rule['name']!r}" if rule else f"listener {route['listener']['name']!r}'s default action"


def check_compatible(route: dict[str, Any], stable: dict[str, Any], canary: dict[str, Any]) -> None:
    """The canary must be reachable as stable is: same VPC, a protocol the listener can forward to. `route` as
    `resolve` reads it (its listener's protocol), `stable` and `canary` as GetTargetGroup answers (name, type,
    config); raises InvalidRolloutInput at `canary` naming what differs. A Lambda target group is not checked."""
    if "LAMBDA" in (canary.get("type"), stable.get("type")):  # a Lambda target group has no VPC and no protocol
        return
    config, stable_config = canary.get("config", {}), stable.get("config", {})
    if config.get("vpcIdentifier") != stable_config.get("vpcIdentifier"):
        raise InvalidRolloutInput(
            "canary",
            f"target group {canary['name']!r} is in {config.get('vpcIdentifier')}, stable {stable['name']!r} in"
            f" {stable_config.get('vpcIdentifier')}: a shift moves traffic between target groups of one VPC",
        )
    protocol, listener = config.get("protocol"), route["listener"]["protocol"]
    if (listener in HTTP_LISTENERS) != (protocol in HTTP_LISTENERS):
        raise InvalidRolloutInput(
            "canary", f"target group {canary['name']!r} speaks {protocol}; the {listener} listener cannot forward to it"
        )


# --- the canary's own metrics -------------------------------------------------------------------------


def _dimension_value(cloudwatch: Any, group_id: str, group_arn: str) -> str:
    """The TargetGroup dimension of the canary's metrics as CloudWatch lists it (its ID or its ARN: the Lattice
    documentation does not say which); its ID while it has no metrics yet."""
    with aws_errors("ListMetrics AWS/VpcLattice"):
        pages = cloudwatch.get_paginator("list_metrics").paginate(
            Namespace="AWS/VpcLattice", MetricName="TotalRequestCount", Dimensions=[{"Name": "TargetGroup"}]
        )
        for metric in (m for page in pages for m in page["Metrics"]):
            for dimension in metric["Dimensions"]:
                if dimension["Name"] == "TargetGroup" and dimension["Value"] in (group_id, group_arn):
                    return str(dimension["Value"])
    return group_id


def dimension_value(resolved: dict[str, Any], target: str, cloudwatch: Any) -> str:
    """The TargetGroup dimension of `target`'s metrics in AWS/VpcLattice."""
    return _dimension_value(cloudwatch, resolved["ids"][target], resolved["arns"][target])


def latency_threshold(milliseconds: int | float) -> int | float:
    """healthGate.maxLatencyMs in RequestTime's unit (milliseconds)."""
    return milliseconds


def target_metrics(resolved: dict[str, Any], target: str, latency_statistic: str, cloudwatch: Any) -> dict[str, Any]:
    """`target`'s error rate (5xx / requests) and latency per minute: the thresholds judge the canary's, the
    statistical judge compares the canary's with stable's. AWS/VpcLattice (monitoring-cloudwatch.html):
    HTTPCode_5XX_Count, TotalRequestCount, RequestTime in ms, dimension TargetGroup, from the first request on."""
    dimensions = [{"Name": "TargetGroup", "Value": dimension_value(resolved, target, cloudwatch)}]

    def stat(name: str, statistic: str) -> dict[str, Any]:
        return {
            "Metric": {"Namespace": "AWS/VpcLattice", "MetricName": name, "Dimensions": dimensions},
            "Period": 60,
            "Stat": statistic,
        }

    return {
        "errorRate": {"metricStat": stat("HTTPCode_5XX_Count", "Sum"), "divideBy": stat("TotalRequestCount", "Sum")},
        "latency": {"metricStat": stat("RequestTime", latency_statistic)},
    }
