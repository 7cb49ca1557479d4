"""The given world export-given assembles, and the Exporter that reads a route into it with {{given:...}} references."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from mesh_rollout_local.export.metrics import MetricsMixin
from mesh_rollout_local.export.reads import ExportError, ServicesMixin
from mesh_rollout_local.export.routes import RouteMixin
from mesh_rollout_local.rollouts import functions_importable


class World:
    """Given calls in order, and the live identifiers each saved response stands for."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.refs: dict[str, str] = {}  # live identifier (ID, ARN, dimension value) -> the text that stands for it
        self.saved: set[str] = set()

    def name(self, kind: str, label: str) -> str:
        """A saveAs name, readable and unique: albTargetGroupServiceB, latticeServiceCheckout ..."""
        words = re.findall(r"[A-Za-z0-9]+", label)
        base = kind + "".join(w[:1].upper() + w[1:] for w in words)
        found, number = base, 1
        while found in self.saved:
            number += 1
            found = f"{base}{number}"
        self.saved.add(found)
        return found

    def add(self, service: str, operation: str, params: dict[str, Any], save_as: str | None = None) -> None:
        call: dict[str, Any] = {"service": service, "operation": operation, "params": params}
        if save_as:
            call["saveAs"] = save_as
        self.calls.append(call)

    def refer(self, live: str | None, reference: str) -> None:
        if live:
            self.refs[live] = reference

    def rewrite(self, value: Any) -> Any:
        """Every live identifier in the strings of `value` replaced by its reference (the longest first; an
        identifier inside a longer word is not one)."""
        if not self.refs:
            return value
        pattern = re.compile(
            "|".join(rf"(?<![A-Za-z0-9-]){re.escape(k)}(?![A-Za-z0-9-])" for k in sorted(self.refs, key=len, reverse=True))
        )

        def walk(item: Any) -> Any:
            if isinstance(item, str):
                return pattern.sub(lambda m: self.refs[m.group(0)], item)
            if isinstance(item, dict):
                return {k: walk(v) for k, v in item.items()}
            if isinstance(item, list):
                return [walk(v) for v in item]
            return item

        return walk(value)


class Exporter(ServicesMixin, RouteMixin, MetricsMixin):
    """Reads the route of one weight-shift input and writes it as a world (see the package's docstring)."""

    def __init__(self, clients: Callable[[str], Any], minutes: int, now: dt.datetime) -> None:
        self.client = clients
        self.minutes = minutes
        self.now = now
        self.world = World()
        self.roles: dict[str, str] = {}  # role ARN -> name
        self.vpcs: set[str] = set()
        self.subnets: set[str] = set()
        self.security_groups: set[str] = set()
        self.clusters: set[str] = set()
        self.services: dict[tuple[str, str], dict[str, Any]] = {}
        self.task_definitions: dict[str, dict[str, Any]] = {}

    # --- what the input names, read as the plan reads it ------------------------------------------------

    def export(self, raw: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        with functions_importable():
            from mesh_rollout.errors import MeshRolloutError

            try:
                return self._export(raw)
            except MeshRolloutError as exc:  # the input's mistake, or AWS's answer, as the plan names them
                raise ExportError(f"{type(exc).__name__}: {exc}") from None

    def _export(self, raw: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        from mesh_rollout.aws.ecs import AmbiguousService, service_of_target_group
        from mesh_rollout.shifting.inputs import ROUTE_FIELDS, parse_spec
        from mesh_rollout.shifting.plan import compare_gate, threshold_presets
        from mesh_rollout.traffic import backend_module

        spec = parse_spec(raw)
        backend = spec.route_backend
        if backend == "appmesh":
            raise ExportError("an App Mesh route is not exported (export a VPC Lattice or ALB route)")
        traffic = self.client("elbv2" if backend == "alb" else "vpc-lattice")
        fields = {f: getattr(spec, f) for f in ROUTE_FIELDS[backend]}
        # the route, stable and canary as the plan resolves them (traffic/alb.py, traffic/lattice.py)
        resolved = backend_module(backend).resolve(fields, spec.stable, spec.canary, traffic)
        # the metrics the gate and the judge read: the input's own, the presets' (shifting/plan.py), both sides'
        cloudwatch = self.client("cloudwatch")
        stats = [m["metricStat"] for m in spec.healthGate.model_dump(mode="json")["metrics"]]
        stats += [m.get("divideBy") for m in spec.healthGate.model_dump(mode="json")["metrics"]]
        for preset in threshold_presets(spec, resolved, cloudwatch):
            stats += [preset["metricStat"], preset.get("divideBy")]
        for metric in (compare_gate(spec, resolved, cloudwatch) or {}).get("metrics", []):
            for side in ("canary", "stable"):
                stats += [metric[side].get("metricStat"), metric[side].get("divideBy")]
        # the ECS services the input names, and those registered in the route's target groups (as the plan finds them)
        named = [spec.canaryEcsService, spec.finalize.stableEcsService, *spec.healthGate.ecsServices]
        wanted = {(ref.cluster, ref.service) for ref in named if ref is not None}
        ecs = self.client("ecs")
        for arn in resolved["arns"].values():
            try:
                found = service_of_target_group(ecs, arn)
            except AmbiguousService as several:
                raise ExportError(f"ECS services {several} all register in target group {arn}") from None
            if found is not None:
                wanted.add((found["cluster"], found["service"]))
        self._read_services(sorted(wanted))
        route = self._read_alb(resolved) if backend == "alb" else self._read_lattice(resolved)
        self._write_roles()
        self._write_network()
        self._write_ecs_base()
        route["write"]()
        self._write_services()
        self._write_alarms(list(spec.healthGate.alarmNames))
        self._write_metrics([stat for stat in stats if stat])
        world = self.world
        return [{**c, "params": world.rewrite(c["params"])} for c in world.calls], world.rewrite(raw)
