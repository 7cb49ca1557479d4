"""Route 53 in the emulated account: a CNAME cannot share its name with another record.

moto 5.2.5 accepts a CNAME beside an A record of the same name. Route 53 refuses the whole change batch
(InvalidChangeBatch): "If you create a CNAME record, ... you can't create a CNAME record with the same name as another
record" (Route 53 Developer Guide, "Choosing between alias and non-alias records" / "Supported DNS record types",
CNAME). Batches are atomic, so a refused batch changes nothing.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

from moto.route53.exceptions import Route53ClientError
from moto.route53.models import Route53Backend


class CnameConflict(Route53ClientError):
    def __init__(self, name: str, zone: str) -> None:
        super().__init__(
            "InvalidChangeBatch",
            f"[RRSet of type CNAME with DNS name {name} is not permitted as it conflicts with other records with the"
            f" same DNS name in zone {zone}]",
        )


def cname_conflicts(records: list[tuple[str, str]]) -> list[str]:
    """The names, of (name, type) pairs, that hold a CNAME and a record of another type."""
    types: dict[str, set[str]] = defaultdict(set)
    for name, kind in records:
        types[name.rstrip(".").lower()].add(kind)
    return sorted(name for name, kinds in types.items() if "CNAME" in kinds and len(kinds) > 1)


def _refusing_cname_conflicts(original: Any) -> Any:
    def change_resource_record_sets(self: Route53Backend, zoneid: str, change_list: list[dict[str, Any]]) -> None:
        zone = self.get_hosted_zone(zoneid)
        before, journal = list(zone.rrsets), copy.copy(list(zone.rr_changes))
        original(self, zoneid, change_list)
        conflicts = cname_conflicts([(str(r.name), str(r.type)) for r in zone.rrsets])
        if conflicts:
            zone.rrsets = before
            zone.rr_changes[:] = journal
            raise CnameConflict(f"{conflicts[0]}.", zone.name)

    return change_resource_record_sets


def install() -> None:
    Route53Backend.change_resource_record_sets = _refusing_cname_conflicts(  # type: ignore[method-assign]
        Route53Backend.change_resource_record_sets
    )
