"""The containers' dependsOn graph: who waits for Envoy, and no cycle (pure functions)."""

from __future__ import annotations

from typing import Any


def depends_on_graph(containers: list[dict[str, Any]]) -> dict[str, list[str]]:
    """{container: the containers it waits for}, in the task definition's order."""
    return {c["name"]: [d["containerName"] for d in c.get("dependsOn", [])] for c in containers}


def waits_for(graph: dict[str, list[str]], start: str) -> set[str]:
    """Every container `start` waits for, directly or through others."""
    seen: set[str] = set()
    pending = list(graph.get(start, []))
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(graph.get(name, []))
    return seen


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One dependency cycle as a path that ends where it starts (['app', 'worker', 'app']), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for child in graph.get(node, []):
            found = visit(child, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    return next((cycle for cycle in (visit(root, []) for root in graph) if cycle), None)


def _drop_dependencies(container: dict[str, Any], names: set[str]) -> None:
    kept = [d for d in container.get("dependsOn", []) if d.get("containerName") not in names]
    if kept:
        container["dependsOn"] = kept
    else:
        container.pop("dependsOn", None)


def wire_envoy(containers: list[dict[str, Any]], envoy: str, apps: set[str]) -> None:
    """Make the application containers (only) wait for Envoy HEALTHY, dropping what would then close a cycle."""
    by_name = {c["name"]: c for c in containers}
    for name in apps:
        container = by_name[name]
        kept = [d for d in container.get("dependsOn", []) if d.get("containerName") != envoy]
        container["dependsOn"] = [*kept, {"containerName": envoy, "condition": "HEALTHY"}]

    # A sidecar Envoy waits for (a hand-made Envoy waiting for its X-Ray daemon) must not wait for Envoy:
    # Envoy's wait is the hand-made setup, and earlier versions of this rewrite made every container but
    # `xray-daemon` wait for Envoy.
    envoy_waits_for = waits_for(depends_on_graph(containers), envoy)
    for container in containers:
        if container["name"] in envoy_waits_for - apps:
            _drop_dependencies(container, {envoy})

    # The application containers' wait is the guide's; Envoy cannot also wait for them.
    graph = depends_on_graph(containers)
    _drop_dependencies(by_name[envoy], {name for name in graph[envoy] if envoy in waits_for(graph, name)})
