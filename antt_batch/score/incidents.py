"""Incidents as the scoring core sees them: merged reports, registers, level filters and exceptions (spec §4.3).

Units report the same event more than once — in two months, in two registers (the school and the hamlet), or
under two categories (arson = a crime and a fire). The rules here make each real event count once:

* rows with the same (`ma_vu_viec`, `loai`) are one incident, wherever and whenever reported; identical rows
  without a case number are one incident too (the `duplicate-row` rule of intake);
* a merged incident takes the highest reported level, and an exception (BKK, RESCUE) holds only if every report
  of it says so — one report without the flag is enough to doubt it (digest §12.1, fail-safe);
* counts are of distinct cases: rows sharing a `ma_vu_viec` count once even under different categories, which is
  what the commune-scope XA-2 series require and is equally true inside one unit's register;
* an incident belongs to the evaluation year of its own (earliest reported) date, never of the file's month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..model import Incident, ScoringInput, Unit
from ..text import clean

BKK, RESCUE = "BKK", "RESCUE"


@dataclass(frozen=True)
class Case:
    """One incident after merging all its reports."""

    loai: str
    ngay: date
    muc_do: str | None
    bat_kha_khang: bool
    rescued: bool             # all three rescue flags are Có in every report
    case_key: tuple           # distinct-case identity: the case number, or the row itself when there is none
    rows: tuple[Incident, ...]


def _case_number(row: Incident) -> str | None:
    number = clean(row.ma_vu_viec or "").upper()
    return number or None


def report_key(row: Incident) -> tuple:
    """Rows reporting the same incident (spec §5): same case number and category, or identical content."""
    number = _case_number(row)
    if number:
        return ("ma", number, row.loai)
    return ("row", row.unit_code, row.ngay, row.loai, row.muc_do, row.bat_kha_khang, row.kip_thoi_phat_hien,
            row.giam_thieu_hau_qua, row.bao_cao_ngay, clean(row.mo_ta or ""))


def level_rank(catalog, loai: str, level: str | None) -> int | None:
    """Rank of `level` in the category's ordered level list (first = lowest); None when blank or unlisted."""
    category = catalog.categories[loai]
    if level is None or not category.levels:
        return None
    codes = catalog.codelists[category.levels]
    return codes.rank(level) if level in codes.codes else None


def _merge(catalog, key: tuple, rows: list[Incident]) -> Case:
    levels = [r.muc_do for r in rows if level_rank(catalog, r.loai, r.muc_do) is not None]
    return Case(
        loai=rows[0].loai,
        ngay=min(r.ngay for r in rows),
        muc_do=max(levels, key=lambda lv: level_rank(catalog, rows[0].loai, lv)) if levels else rows[0].muc_do,
        bat_kha_khang=all(r.bat_kha_khang is True for r in rows),
        rescued=all(r.kip_thoi_phat_hien is True and r.giam_thieu_hau_qua is True and r.bao_cao_ngay is True
                    for r in rows),
        case_key=key[:2] if key[0] == "ma" else key,
        rows=tuple(rows),
    )


def merge(catalog, rows, year_of) -> list[Case]:
    """Merge report rows into incidents, keeping the order of first report.

    Rows merge only within one evaluation year (`year_of` of the scored unit type): a case number reused for a new
    incident in a later year is a new incident, attributed by its own date (spec §5).
    """
    groups: dict[tuple, list[Incident]] = {}
    for row in rows:
        groups.setdefault((*report_key(row), year_of(row.ngay)), []).append(row)
    return [_merge(catalog, key, group) for key, group in groups.items()]


def register_rows(data: ScoringInput, unit: Unit, register: str, by_unit: dict[str, list[Incident]]
                  ) -> list[Incident]:
    """The rows a criterion reads (criterion.register); `by_unit` is `rows_by_unit(data)`.

    `own`: the unit's own register — for the commune, the rows it reported itself, which is all XA-3.2 reads
    (`commune_own` says the same explicitly); `territory`: every register on the commune's territory, because
    XA-2 judges the commune on its whole territory, not on its hamlets' verdicts (digest §12.6).
    """
    if register == "territory":
        return list(data.incidents)
    return list(by_unit.get(data.commune.code if register == "commune_own" else unit.code, ()))


def rows_by_unit(data: ScoringInput) -> dict[str, list[Incident]]:
    """Every unit's own register rows, in reporting order (one pass, not one per unit)."""
    out: dict[str, list[Incident]] = {}
    for row in data.incidents:
        out.setdefault(row.unit_code, []).append(row)
    return out


def covered_units(data: ScoringInput, unit: Unit, register: str) -> list[Unit]:
    """Whose monthly files a register is made of — all must be in history for a complete year (spec §6).

    Registry units marked `in_scope = false` never submit, so they cannot be waited for.
    """
    if register == "territory":
        return [data.commune] + [u for u in data.units if u.in_scope is not False]
    return [data.commune if register == "commune_own" else unit]


def min_level(read, options: dict) -> str | None:
    """The read's level threshold under the active reading (e.g. CQDN-3.h reading B, digest §12.9)."""
    option = read.option
    if option is not None and options.get(option.name) == option.equals:
        return option.min_level
    return read.min_level or None


def qualifies(catalog, case: Case, read, options: dict) -> bool:
    """Does the incident fall under this read: its category, at or above the read's minimum level?"""
    if case.loai != read.category:
        return False
    threshold = min_level(read, options)
    if not threshold:
        return True
    rank = level_rank(catalog, case.loai, case.muc_do)
    return rank is not None and rank >= level_rank(catalog, case.loai, threshold)


def cleared_by(case: Case, exceptions) -> str | None:
    """The exception that clears the incident for a criterion listing `exceptions`, if any."""
    if BKK in exceptions and case.bat_kha_khang:
        return BKK
    if RESCUE in exceptions and case.rescued:
        return RESCUE
    return None


def distinct(cases) -> int:
    return len({c.case_key for c in cases})


def in_series(catalog, cases, series: str) -> list[Case]:
    """Incidents of one YoY series (tội phạm, tệ nạn xã hội, vi phạm pháp luật khác) by their category."""
    return [c for c in cases if catalog.categories[c.loai].series == series]
