"""Render each statemachine/*.asl.json as an SVG picture in docs/ (standard library only, deterministic).

    python tools/render_state_machines.py          # rewrite docs/*.svg
    python tools/render_state_machines.py --check  # exit 1 if a picture is out of date

Top-level states are boxes in layers (longest path from StartAt, back edges ignored); a Map or Parallel
lists its inner states. Edges: Next/Default/Choices solid, Catch red and dashed, loops (back edges) grey.
tests/offline/test_docs.py keeps the pictures in sync with the ASL.
"""

from __future__ import annotations

import json
import sys
from html import escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BOX_W, BOX_H, LINE_H, GAP_X, GAP_Y, MARGIN = 230, 40, 14, 30, 46, 20
COLOURS = {
    "Task": "#dbeafe",
    "Choice": "#fef3c7",
    "Wait": "#e0e7ff",
    "Pass": "#f3f4f6",
    "Map": "#dcfce7",
    "Parallel": "#dcfce7",
    "Fail": "#fee2e2",
    "Succeed": "#d1fae5",
}


def transitions(state: dict[str, Any]) -> list[tuple[str, str]]:
    """(target, kind) of every transition out of a state."""
    found = [(state["Next"], "next")] if "Next" in state else []
    found += [(c["Next"], "next") for c in state.get("Choices", [])]
    found += [(state["Default"], "next")] if "Default" in state else []
    found += [(c["Next"], "catch") for c in state.get("Catch", [])]
    return found


def layers(definition: dict[str, Any]) -> dict[str, int]:
    """Layer of each state: longest forward path from StartAt (DFS order decides what is a back edge)."""
    states = definition["States"]
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for target, _ in transitions(states[name]):
            visit(target)
        order.append(name)

    visit(definition["StartAt"])
    for name in states:  # unreachable states still get drawn
        visit(name)
    rank = {name: i for i, name in enumerate(reversed(order))}
    level = dict.fromkeys(states, 0)
    for name in reversed(order):
        for target, _ in transitions(states[name]):
            if rank[target] > rank[name]:
                level[target] = max(level[target], level[name] + 1)
    return level


def inner_names(state: dict[str, Any]) -> list[str]:
    if "ItemProcessor" in state:
        return list(state["ItemProcessor"]["States"])
    return [name for branch in state.get("Branches", []) for name in branch["States"]]


def render(definition: dict[str, Any], title: str) -> str:
    states = definition["States"]
    level = layers(definition)
    rows: dict[int, list[str]] = {}
    for name in states:
        rows.setdefault(level[name], []).append(name)
    height_of = {n: BOX_H + LINE_H * len(inner_names(s)) for n, s in states.items()}
    width = MARGIN * 2 + max(len(r) for r in rows.values()) * (BOX_W + GAP_X)
    boxes: dict[str, tuple[float, float, float]] = {}
    y = MARGIN + 30
    for index in sorted(rows):
        row = rows[index]
        row_width = len(row) * (BOX_W + GAP_X) - GAP_X
        x = (width - row_width) / 2
        for name in row:
            boxes[name] = (x, y, height_of[name])
            x += BOX_W + GAP_X
        y += max(height_of[n] for n in row) + GAP_Y
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{y:.0f}" font-family="sans-serif" font-size="12">',
        '<defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#374151"/></marker></defs>',
        f'<rect width="100%" height="100%" fill="white"/><text x="{MARGIN}" y="{MARGIN + 8}" font-size="15" '
        f'font-weight="bold">{escape(title)}</text>',
    ]
    for name, state in states.items():
        x, top, _ = boxes[name]
        for target, kind in transitions(state):
            tx, ty, _ = boxes[target]
            x1, y1 = x + BOX_W / 2, top + height_of[name]
            x2, y2 = tx + BOX_W / 2, ty
            if ty <= top:  # a loop back: around the right-hand side
                x1, y1, x2, y2 = x + BOX_W, top + height_of[name] / 2, tx + BOX_W, ty + height_of[target] / 2
                bend = max(x1, x2) + 40
                path = f"M{x1:.0f},{y1:.0f} C{bend:.0f},{y1:.0f} {bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
                style = 'stroke="#9ca3af"'
            else:
                path = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{y1 + 25:.0f} {x2:.0f},{y2 - 25:.0f} {x2:.0f},{y2:.0f}"
                style = 'stroke="#dc2626" stroke-dasharray="4 3"' if kind == "catch" else 'stroke="#374151"'
            out.append(f'<path d="{path}" fill="none" {style} marker-end="url(#a)"/>')
    for name, state in states.items():
        x, top, h = boxes[name]
        kind = state["Type"]
        fill = COLOURS.get(kind, "#fff")
        out.append(f'<rect x="{x:.0f}" y="{top:.0f}" width="{BOX_W}" height="{h}" rx="6" fill="{fill}" stroke="#374151"/>')
        out.append(
            f'<text x="{x + BOX_W / 2:.0f}" y="{top + 17:.0f}" text-anchor="middle" font-weight="bold">{escape(name)}</text>'
        )
        out.append(f'<text x="{x + BOX_W / 2:.0f}" y="{top + 31:.0f}" text-anchor="middle" fill="#4b5563">{kind}</text>')
        for i, inner in enumerate(inner_names(state)):
            line_y = top + BOX_H + 8 + i * LINE_H
            out.append(f'<text x="{x + 12:.0f}" y="{line_y:.0f}" fill="#374151" font-size="11">· {escape(inner)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def pictures() -> dict[Path, str]:
    """docs/<name>.svg for every statemachine/<name>.asl.json."""
    found = {}
    for asl in sorted((ROOT / "statemachine").glob("*.asl.json")):
        name = asl.name.removesuffix(".asl.json")
        found[ROOT / "docs" / f"{name}.svg"] = render(json.loads(asl.read_text()), asl.name)
    return found


def main(argv: list[str]) -> int:
    stale = [path for path, svg in pictures().items() if not path.exists() or path.read_text() != svg]
    if "--check" in argv:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run python tools/render_state_machines.py", file=sys.stderr)
        return 1 if stale else 0
    for path, svg in pictures().items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
