"""From history to the records the scoring core and the report writer take (spec §5–§7)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from antt_batch.errors import Location, Problem, problem
from antt_batch.model import ProgressCell, ScoringInput
from antt_batch.score.periods import month_end, next_month
from antt_batch.text import VN_TZ


def scoring_input(ws, history, up_to_period: str, stored: dict | None = None) -> ScoringInput:
    """What scoring reads; `stored`: see `History.snapshots`."""
    return ScoringInput(commune=ws.commune, units=list(ws.units), snapshots=history.snapshots(up_to_period, stored),
                        incidents=history.incidents(up_to_period), recognition=ws.recognition,
                        options=dict(ws.options))


def report_months(period: str) -> list[str]:
    """Columns of `Tiến độ nộp`: from the November that opens the evaluation year to `period` (or its year's end)."""
    if len(period) == 4:
        first, last = f"{int(period) - 1}-11", f"{period}-11"
    else:
        year = int(period[:4]) if period[5:] != "11" and period[5:] != "12" else int(period[:4]) + 1
        first, last = f"{year - 1}-11", period
    months, m = [], first
    while m <= last:
        months.append(m)
        m = next_month(m)
    return months


def deadline(month: str, deadline_day: int) -> date:
    return month_end(month) + timedelta(days=deadline_day)


def progress(ws, history, months: list[str], today: date) -> list[ProgressCell]:
    """Unit x month: received (first accepted file), on time / late / missing / not yet due, re-submissions."""
    firsts: dict[tuple[str, str], tuple[datetime | None, str]] = {}
    counts: dict[tuple[str, str], int] = {}
    for unit, month, received, sender, _ in history.submissions(months[-1]):
        key = (unit, month)
        firsts.setdefault(key, (received, sender))
        counts[key] = counts.get(key, 0) + 1
    cells = []
    for unit in ws.all_units():
        for month in months:
            if not unit.active_on(month_end(month)) or unit.in_scope is False:   # never reports: not "missing"
                continue
            due = deadline(month, ws.deadline_day)
            received, sender = firsts.get((unit.code, month), (None, ""))
            if received is not None:
                status = "DUNG_HAN" if received.astimezone(VN_TZ).date() <= due else "TRE_HAN"
            else:
                status = "THIEU" if due < today else "CHUA_DEN_HAN"
            cells.append(ProgressCell(unit.code, month, status, received, sender,
                                      max(counts.get((unit.code, month), 0) - 1, 0)))
    return cells


def trend(incidents, months: list[str]) -> list[tuple[str, int, int | None]]:
    """Distinct incidents per month of the year against the same month a year earlier (None: no history)."""
    def key(inc):
        return inc.ma_vu_viec or (inc.unit_code, inc.loai, inc.ngay, inc.mo_ta)

    per_month: dict[str, set] = {}
    for inc in incidents:
        per_month.setdefault(f"{inc.ngay.year:04d}-{inc.ngay.month:02d}", set()).add(key(inc))
    have_previous = bool(per_month) and min(per_month) <= f"{int(months[0][:4]) - 1}-{months[0][5:]}"
    rows = []
    for month in months:
        previous = f"{int(month[:4]) - 1}-{month[5:]}"
        rows.append((f"{month[5:]}/{month[:4]}", len(per_month.get(month, ())),
                     len(per_month.get(previous, ())) if have_previous else None))
    return rows


def incomplete_year(ws, catalog, cells: list[ProgressCell], year: int) -> list[Problem]:
    """`incomplete-year`: months of a unit's own evaluation year Y with no accepted file (spec §6, `report --year`)."""
    missing: dict[str, list[str]] = {}
    for cell in cells:
        unit = ws.find(cell.unit_code)
        if cell.received is None and unit.in_scope is not False and \
                catalog.unit_types[unit.type].year_of(month_end(cell.month)) == year:
            missing.setdefault(unit.code, []).append(f"{cell.month[5:]}/{cell.month[:4]}")
    return [problem("incomplete-year", Location(field=code), value=f"{code} – {ws.find(code).name}",
                    detail=", ".join(months)) for code, months in missing.items()]
