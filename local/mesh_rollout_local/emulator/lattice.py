"""VPC Lattice in the emulated account: listener rules and default actions that can be read and changed.

moto 5.2.5 stores a listener's `defaultAction` and CreateRule's `action` and nothing more: it has no GetRule,
ListRules, UpdateRule or UpdateListener, checks nothing a rule says, and builds rule ARNs with a doubled
`listener-`. Here, following botocore's vpc-lattice model and the Lattice documentation:
- GetRule, ListRules (the listener's default rule included, `isDefault: true`, as AWS lists it), UpdateRule
  (not on the default rule: "use UpdateListener", a ValidationException) and UpdateListener (`defaultAction`).
- CreateRule, UpdateRule, CreateListener and UpdateListener bodies are checked against the model (a forward
  action takes 1-10 target groups with weights 0-999, priority 1-2000 ...; botocore checks only minimums) and
  every target group they forward to must exist (ResourceNotFoundException, 404 as in the model; moto: 400).
- UpdateTargetGroup (the health check) and DeleteTargetGroup (not while a listener or rule forwards to the
  group: ConflictException).
- A service's `dnsEntry` is its own name under `vpc-lattice-svcs.<region>.on.aws`, not its custom domain name.
- Identifiers are an ID or an ARN, as the API accepts them, in the path and in the body.
- ListServices and ListServiceNetworks page with `nextToken` and `maxResults`, the query parameters the API
  sends; moto reads `NextToken` and `MaxResults`, so past its 50 items a paginator got the first page again.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import unquote

from moto.vpclattice import exceptions as lattice_exceptions
from moto.vpclattice import urls as lattice_urls
from moto.vpclattice.models import VPCLatticeBackend, VPCLatticeListener, VPCLatticeRule
from moto.vpclattice.responses import VPCLatticeResponse

from mesh_rollout_local.emulator.common import (
    ConflictException,
    ResourceNotFoundException,
    ValidationException,
    checked_against_model,
)

RULES = "{0}/services/(?P<serviceIdentifier>[^/]+)/listeners/(?P<listenerIdentifier>[^/]+)/rules"


def resource_id(identifier: str) -> str:
    """'arn:aws:vpc-lattice:...:service/svc-1/listener/listener-2' -> 'listener-2'; an ID stays as it is."""
    return identifier.rsplit("/", 1)[-1]


def now_iso() -> str:
    """The current UTC time, ISO 8601 (createdAt / lastUpdatedAt)."""
    return dt.datetime.now(dt.UTC).isoformat()


def _path_identifiers(response: VPCLatticeResponse) -> list[str]:
    """The path's identifiers, each unquoted on its own (an ARN's own slashes arrive percent-encoded)."""
    return [resource_id(unquote(part)) for part in response.path.split("/") if part]


def _check_targets(backend: VPCLatticeBackend, action: dict[str, Any] | None) -> None:
    for target in ((action or {}).get("forward") or {}).get("targetGroups", []):
        if resource_id(target["targetGroupIdentifier"]) not in backend.target_groups:
            raise ResourceNotFoundException(f"Target group {target['targetGroupIdentifier']} not found")


def _listener(backend: VPCLatticeBackend, service: str, listener: str) -> VPCLatticeListener:
    found: VPCLatticeListener = backend.get_listener(
        service_identifier=resource_id(service), listener_identifier=resource_id(listener)
    )
    return found


def default_rule(listener: VPCLatticeListener) -> dict[str, Any]:
    """The listener's default rule as GetRule/ListRules show it (its action is the listener's defaultAction)."""
    rule_id = f"rule-{listener.id.removeprefix('listener-')}"
    return {
        "arn": f"{listener.arn}/rule/{rule_id}",
        "id": rule_id,
        "name": "default",
        "isDefault": True,
        "action": listener.default_action,
        "createdAt": listener.createdAt,
        "lastUpdatedAt": listener.last_updated_at,
    }


def _rule_data(rule: VPCLatticeRule) -> dict[str, Any]:
    return {
        "arn": rule.arn,
        "id": rule.id,
        "name": rule.name,
        "isDefault": False,
        "priority": rule.priority,
        "match": rule.match,
        "action": rule.action,
        "createdAt": getattr(rule, "created_at", now_iso()),
        "lastUpdatedAt": getattr(rule, "last_updated_at", now_iso()),
    }


def _rules_of(backend: VPCLatticeBackend, listener: VPCLatticeListener) -> list[VPCLatticeRule]:
    return [r for r in backend.rules.values() if resource_id(r.listener_identifier) == listener.id]


def _find_rule(backend: VPCLatticeBackend, listener: VPCLatticeListener, rule_identifier: str) -> VPCLatticeRule | None:
    """The rule, or None for the listener's default rule; ResourceNotFoundException if neither."""
    wanted = resource_id(rule_identifier)
    if wanted == default_rule(listener)["id"]:
        return None
    for rule in _rules_of(backend, listener):
        if rule.id == wanted:
            return rule
    raise ResourceNotFoundException(f"Rule {rule_identifier} not found in listener {listener.id}")


# --- the operations moto lacks, as methods of its response class ------------------------------------


def get_rule(self: VPCLatticeResponse) -> str:
    service, listener_id, rule_id = (_path_identifiers(self)[i] for i in (1, 3, 5))
    listener = _listener(self.backend, service, listener_id)
    rule = _find_rule(self.backend, listener, rule_id)
    return json.dumps(default_rule(listener) if rule is None else _rule_data(rule))


def list_rules(self: VPCLatticeResponse) -> str:
    service, listener_id = (_path_identifiers(self)[i] for i in (1, 3))
    listener = _listener(self.backend, service, listener_id)
    summary = ("arn", "id", "name", "isDefault", "priority", "createdAt", "lastUpdatedAt")
    rules = [default_rule(listener), *(_rule_data(r) for r in _rules_of(self.backend, listener))]
    return json.dumps({"items": [{k: r[k] for k in summary if k in r} for r in rules]})


def update_rule(self: VPCLatticeResponse) -> str:
    service, listener_id, rule_id = (_path_identifiers(self)[i] for i in (1, 3, 5))
    listener = _listener(self.backend, service, listener_id)
    rule = _find_rule(self.backend, listener, rule_id)
    if rule is None:
        raise ValidationException(
            "You can't modify a default listener rule. To modify a default listener rule, use UpdateListener."
        )
    body = json.loads(self.body or "{}")
    _check_targets(self.backend, body.get("action"))
    _check_priority(self.backend, listener, body.get("priority"), rule.id)
    for key in ("action", "match", "priority"):
        if key in body:
            setattr(rule, key, body[key])
    rule.last_updated_at = now_iso()  # type: ignore[attr-defined]
    data = _rule_data(rule)
    return json.dumps({k: data[k] for k in ("arn", "id", "name", "isDefault", "match", "priority", "action")})


def update_listener(self: VPCLatticeResponse) -> str:
    service, listener_id = (_path_identifiers(self)[i] for i in (1, 3))
    listener = _listener(self.backend, service, listener_id)
    body = json.loads(self.body or "{}")
    _check_targets(self.backend, body["defaultAction"])
    listener.default_action = body["defaultAction"]
    listener.last_updated_at = now_iso()
    data = listener.to_dict()
    return json.dumps({k: data[k] for k in ("arn", "id", "name", "protocol", "port", "serviceArn", "serviceId", "defaultAction")})


def _paged(listing: str) -> Any:
    """A List* response method that reads the page the request asks for (moto's reads parameters never sent)."""

    def method(self: VPCLatticeResponse) -> str:
        limit = self._get_param("maxResults")
        items, token = getattr(self.backend, listing)(
            max_results=int(limit) if limit else None, next_token=self._get_param("nextToken")
        )
        return json.dumps({"items": [item.to_dict() for item in items], "nextToken": token})

    return method


def delete_target_group(self: VPCLatticeResponse) -> str:
    """DeleteTargetGroup: refused (ConflictException) while a listener's default action or a rule forwards to it."""
    group_id = _path_identifiers(self)[-1]
    group = self.backend.target_groups.get(group_id)
    if group is None:
        raise ResourceNotFoundException(f"Target group {group_id} not found")
    actions = [listener.default_action for listener in self.backend.listeners.values()]
    actions += [rule.action for rule in self.backend.rules.values()]
    for action in actions:
        if any(
            resource_id(t["targetGroupIdentifier"]) == group_id
            for t in ((action or {}).get("forward") or {}).get("targetGroups", [])
        ):
            raise ConflictException(f"Target group {group_id} is in use by a listener or rule")
    del self.backend.target_groups[group_id]
    return json.dumps({"id": group.id, "arn": group.arn, "status": "DELETE_IN_PROGRESS"})


def update_target_group(self: VPCLatticeResponse) -> str:
    """UpdateTargetGroup: only the health check can change (the model's only updatable member)."""
    group_id = _path_identifiers(self)[-1]
    group = self.backend.target_groups.get(group_id)
    if group is None:
        raise ResourceNotFoundException(f"Target group {group_id} not found")
    group.config = {**group.config, "healthCheck": json.loads(self.body or "{}")["healthCheck"]}
    group.last_updated_at = now_iso()
    data = group.to_dict()
    return json.dumps({k: data[k] for k in ("arn", "id", "name", "type", "config", "status") if k in data})


def _check_priority(backend: VPCLatticeBackend, listener: VPCLatticeListener, priority: int | None, own: str | None) -> None:
    if priority is not None and any(r.priority == priority and r.id != own for r in _rules_of(backend, listener)):
        raise ValidationException(f"Priority {priority} is already used by another rule of listener {listener.id}")


def _create_rule_checked(original: Any) -> Any:
    def create_rule(self: VPCLatticeBackend, **kwargs: Any) -> VPCLatticeRule:
        listener = _listener(self, kwargs["service_identifier"], kwargs["listener_identifier"])
        _check_targets(self, kwargs.get("action"))
        _check_priority(self, listener, kwargs.get("priority"), None)
        rule: VPCLatticeRule = original(
            self, **{**kwargs, "service_identifier": listener.service_identifier, "listener_identifier": listener.id}
        )
        rule.arn = f"{listener.arn}/rule/{rule.id}"  # moto writes "listener/listener-listener-..."
        rule.created_at = rule.last_updated_at = now_iso()  # type: ignore[attr-defined]
        return rule

    return create_rule


def _create_listener_checked(original: Any) -> Any:
    def create_listener(self: VPCLatticeBackend, **kwargs: Any) -> VPCLatticeListener:
        _check_targets(self, kwargs.get("default_action"))
        listener: VPCLatticeListener = original(
            self, **{**kwargs, "service_identifier": resource_id(kwargs["service_identifier"])}
        )
        return listener

    return create_listener


def _create_service_named_by_lattice(original: Any) -> Any:
    def create_service(self: VPCLatticeBackend, **kwargs: Any) -> Any:
        service = original(self, **kwargs)
        # AWS gives every service its own name under vpc-lattice-svcs (GetService dnsEntry), whatever the custom
        # domain name; moto reuses the custom domain name, so a CNAME to it would point at itself
        suffix = service.id.removeprefix("svc-").replace("-", "")[:17]
        service.dns_entry.domain_name = f"{service.name}-{suffix}.7d67968.vpc-lattice-svcs.{self.region_name}.on.aws"
        return service

    return create_service


def install() -> None:
    lattice_urls.url_paths[RULES + "$"] = VPCLatticeResponse.dispatch
    lattice_urls.url_paths[RULES + "/(?P<ruleIdentifier>[^/]+)$"] = VPCLatticeResponse.dispatch
    for name, method in (("get_rule", get_rule), ("list_rules", list_rules), ("update_rule", update_rule)):
        setattr(VPCLatticeResponse, name, method)
    VPCLatticeResponse.update_listener = update_listener  # type: ignore[attr-defined]
    VPCLatticeResponse.delete_target_group = delete_target_group  # type: ignore[attr-defined]
    VPCLatticeResponse.update_target_group = update_target_group  # type: ignore[attr-defined]
    for listing in ("list_services", "list_service_networks"):
        setattr(VPCLatticeResponse, listing, _paged(listing))
    for operation in ("CreateRule", "UpdateRule", "CreateListener", "UpdateListener", "CreateTargetGroup", "UpdateTargetGroup"):
        name = "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
        setattr(
            VPCLatticeResponse,
            name,
            checked_against_model("vpc-lattice", operation, getattr(VPCLatticeResponse, name), ValidationException),
        )
    VPCLatticeBackend.create_rule = _create_rule_checked(VPCLatticeBackend.create_rule)  # type: ignore[method-assign]
    VPCLatticeBackend.create_listener = _create_listener_checked(VPCLatticeBackend.create_listener)  # type: ignore[method-assign]
    VPCLatticeBackend.create_service = _create_service_named_by_lattice(VPCLatticeBackend.create_service)  # type: ignore[method-assign]
    lattice_exceptions.ResourceNotFoundException.code = 404  # the model's status; moto answers 400
