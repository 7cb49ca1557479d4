"""References to the --given world's responses in given calls and execution inputs: `{{given:name.path}}`.

The syntax is CloudFormation's dynamic reference (`{{resolve:ssm:name}}`) with our own `given:` namespace, so it
cannot be taken for a placeholder the product itself fills in later (`${target}` in a judge's metric template) or
for anything else an input passes through as it is (a shell's `${HOME}` in a container command, a template's
`${AWS::Region}`). This module loads no emulator: the precheck reads the syntax before any world is built."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterator
from typing import Any

REFERENCE = re.compile(r"\{\{given:([^{}]+)\}\}")
PREFIX = "{{given:"


class GivenError(ValueError):
    """A --given file, or a `{{given:...}}` reference to its responses, that cannot be applied: one line saying which
    entry and why (the CLI reports it as the user's mistake)."""


def has_references(value: Any) -> bool:
    """Whether any string in a decoded JSON value (or a JSON text) holds a `{{given:...}}` reference."""
    return any(True for _ in reference_locations(value))


def reference_locations(value: Any, location: tuple[int | str, ...] = ()) -> Iterator[tuple[int | str, ...]]:
    """Where, in a decoded JSON value, the strings holding references are: ('subnets', 0), ..."""
    if isinstance(value, str):
        if REFERENCE.search(value):
            yield location
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from reference_locations(item, (*location, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from reference_locations(item, (*location, index))


def resolve_refs(value: Any, saved: dict[str, Any], now: Callable[[], dt.datetime] | None = None) -> Any:
    """Replace "{{given:name.path[0].key}}" in strings with values from earlier --given responses;
    "{{given:name.path|after:TEXT}}" is the part of the value after the first TEXT (an ARN's resource part);
    "{{given:now-90}}" is the time 90 seconds before the call, by `now` (the wall clock if None: the offline account
    passes the clock its health gate reads). GivenError names a reference that leads nowhere."""

    def lookup(expr: str) -> Any:
        ago = re.fullmatch(r"now-(\d+)", expr)
        if ago:  # a moment before the call, e.g. a datapoint that CloudWatch has already taken in
            return (now() if now else dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=int(ago.group(1)))
        path, _, after = expr.partition("|after:")
        if after:
            whole = str(lookup(path))
            if after not in whole:
                raise GivenError(f"{PREFIX}{expr}}}}}: {whole!r} has no {after!r}")
            return whole.split(after, 1)[1]
        name, _, rest = path.partition(".")
        if name not in saved:
            near = difflib.get_close_matches(name, list(saved), n=1)
            hint = f"; did you mean {near[0]}?" if near else f" (saveAs so far: {', '.join(sorted(saved)) or 'none'})"
            raise GivenError(f"{PREFIX}{expr}}}}}: no earlier given call was saved as {name!r}{hint}")
        current, walked = saved[name], name
        for part in re.findall(r"[^.\[\]]+|\[\d+\]", rest):
            try:
                current = current[int(part[1:-1])] if part.startswith("[") else current[part]
            except (KeyError, IndexError, TypeError):
                keys = f" (it has {', '.join(sorted(current))})" if isinstance(current, dict) else ""
                raise GivenError(f"{PREFIX}{expr}}}}}: {walked} has no {part}{keys}") from None
            walked += part if part.startswith("[") else f".{part}"
        return current

    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value)
        if whole:  # the value itself, of its own type (a list of subnets, a datetime)
            return lookup(whole.group(1))
        return REFERENCE.sub(lambda m: str(lookup(m.group(1))), value)
    if isinstance(value, dict):
        return {k: resolve_refs(v, saved, now) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, saved, now) for v in value]
    return value
