"""The machine-readable `data` and `manifest` contract of the output workbook (spec §7 items 8-9).

The level above re-reads these two sheets (`antt-batch rollup`) and re-hashes `data` to detect edits, so the row
layout and the canonical text behind `data_sha256` are defined here once and used by both the writer and the
roll-up. Canonical form: each row padded to the header's width, cells joined by TAB, every line (header first)
terminated by "\\n", encoded UTF-8; blank cell -> empty, booleans TRUE/FALSE, dates ISO YYYY-MM-DD, integral
numbers as integers (so 2025 and 2025.0 agree: readers return either), other numbers as Python's shortest
`repr`, text NFC.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from antt_batch.model import KHONG_DAT, NGOAI_PHAM_VI, VERDICT_VI, ScoreResult, UnitResult
from antt_batch.text import nfc

META_COLUMNS = ("unit_code", "unit_name", "unit_type", "parent_code", "evaluation_year", "as_of", "in_scope",
                "registered", "verdict_code", "verdict", "score_pct", "provisional", "failed_criteria")
MANIFEST_KEYS = ("tool_version", "catalog_version", "commune_code", "commune_name", "period", "as_of", "today",
                 "generated_at", "input_sha256", "extra_criteria", "data_sha256")
UPPER_LEVEL = "CAP_TREN"   # unit_type of a roll-up's own row


def data_header(catalog, extra_criteria=()) -> list[str]:
    """META columns, every national leaf ID of every unit type in catalog order, then the provincial extras
    (those named in `extra_criteria`, then any other extra leaf the catalog carries, so none is dropped)."""
    national = list(catalog.national_leaf_ids())
    extras = [*extra_criteria, *catalog.extra_leaf_ids()]
    return [*META_COLUMNS, *national, *dict.fromkeys(cid for cid in extras if cid not in national)]


def round_half_up(value: float | None) -> float | None:
    """One decimal, half away from zero (66.65 -> 66.7), unlike Python's banker's round()."""
    if value is None:
        return None
    return float(Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def unit_row(result: UnitResult, parent_code: str, criteria: list[str]) -> list:
    """One `data` row: META values, then the result code under each criterion column (blank when out of scope)."""
    out_of_scope = result.verdict_code == NGOAI_PHAM_VI
    codes = [None if out_of_scope or cid not in result.results else result.results[cid].code for cid in criteria]
    failed = "" if out_of_scope else ", ".join(cid for cid, code in zip(criteria, codes) if code == KHONG_DAT)
    unit = result.unit
    return [unit.code, unit.name, unit.type, parent_code or None, int(result.evaluation_year), result.as_of,
            result.in_scope, bool(result.registered), result.verdict_code,
            VERDICT_VI.get(result.verdict_code, result.verdict_code),
            None if out_of_scope else round_half_up(result.score_pct), bool(result.provisional), failed or None,
            *codes]


def data_rows(score: ScoreResult, commune_code: str, catalog, extra_criteria=()) -> list[list]:
    """The commune's row first (the 'top row' the roll-up re-parents), then every unit in registry order."""
    criteria = data_header(catalog, extra_criteria)[len(META_COLUMNS):]
    return [unit_row(score.commune, "", criteria),
            *(unit_row(result, commune_code, criteria) for result in score.units)]


def upper_level_row(header: list[str], code: str, name: str, evaluation_year: int | None, as_of: date | None):
    """A roll-up's own row (`unit_type` CAP_TREN): identity, year and as-of date; every other cell blank."""
    row = [None] * len(header)
    row[:6] = [code, name, UPPER_LEVEL, None, evaluation_year, as_of]
    return row


def canonical(value) -> str:
    """One cell of the hashed text (see the module docstring)."""
    if value is None:
        return ""
    if type(value) is str:   # the common case at national scale: codes and names
        return nfc(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return nfc(str(value))


def data_sha256(header: list[str], rows) -> str:
    """SHA-256 of the `data` sheet's canonical text, header included."""
    digest = hashlib.sha256()
    width = len(header)
    digest.update(("\t".join(canonical(v) for v in header) + "\n").encode("utf-8"))
    for row in rows:
        cells = list(row[:width]) + [None] * (width - len(row))
        digest.update(("\t".join(canonical(v) for v in cells) + "\n").encode("utf-8"))
    return digest.hexdigest()


def combined_sha256(hashes) -> str:
    """A roll-up's `input_sha256`: SHA-256 of its inputs' `data_sha256` values, one per line, in row order."""
    return hashlib.sha256("".join(f"{h}\n" for h in hashes).encode("ascii")).hexdigest()
