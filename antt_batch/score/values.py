"""A unit's status field values for one evaluation year (spec §5 "Status fields").

A snapshot describes the unit at its month's last day and belongs to the year containing that day; a blank field
means "unchanged", so a field's value is the latest non-blank one among the year's snapshots. Two refinements:
year-end results (field.year_end) are issued after the period ends, so for year Y they may also come from the
month the period ends in and the month after it — and such a value counts for Y only, never for Y+1 (digest §12.8);
and khoản-1 dates are simply never looked up outside their own year, so they cannot be carried over.
Registry subtype data (cap_hoc, loai_hinh, …) stands in for a field no snapshot of the year gives (spec §2).
"""

from __future__ import annotations

from ..model import Evidence, FieldValue, Snapshot, Unit
from .periods import Window

REGISTRY_FILE = "antt.toml"


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Values:
    """Field ID -> FieldValue for one unit and one year; `has_snapshot` says whether the unit reported at all."""

    latest: Evidence | None

    def __init__(self, catalog, unit: Unit, snapshots: list[Snapshot], win: Window):
        ordered = sorted(snapshots, key=lambda s: (s.period, s.received))
        own_months, year_end_months = win.snapshot_months
        year = [s for s in ordered if s.period in own_months]
        year_end = [s for s in ordered if s.period in year_end_months]
        self.has_snapshot = bool(year)
        # Where a missing value should have been: the year's latest report (file and sheet, no cell to point at).
        shown = next(iter(year[-1].fields.values()), None) if year else None
        self.latest = Evidence(shown.evidence.file, shown.evidence.sheet, "", year[-1].period) if shown else None
        self._values: dict[str, FieldValue] = {}
        for field_id, value in unit.subtype.items():
            if not _blank(value):
                self._values[field_id] = FieldValue(value, Evidence(REGISTRY_FILE))
        year_end_ids = catalog.year_end_ids
        for source, year_end_field in ((year, False), (year_end, True)):
            for snap in source:
                for field_id, fv in snap.fields.items():
                    if (field_id in year_end_ids) is year_end_field and not _blank(fv.value):
                        self._values[field_id] = fv

    def get(self, field_id: str) -> FieldValue | None:
        return self._values.get(field_id)

    def value(self, field_id: str):
        fv = self._values.get(field_id)
        return None if fv is None else fv.value
