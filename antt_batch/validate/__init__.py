"""Validate one read workbook against the catalog and the registry (spec §4, §5, §8).

`validate_workbook` never raises: every problem becomes a located `Problem`, and the file is accepted when none of
them is an error. Identity is checked first (which unit, which month, which template); field and register checks
only run for a file that is one of ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from antt_batch import layout as L
from antt_batch.errors import Location, Problem, has_errors, problem
from antt_batch.model import Evidence, FieldValue, Incident
from antt_batch.score.periods import month_end
from antt_batch.text import clean, vn_date
from antt_batch.validate import values as V
from antt_batch.validate.register import check_register

@dataclass
class FileReport:
    """The outcome for one file: identity, normalised values, incidents and every problem found."""

    display: str
    sha256: str = ""
    unit_code: str = ""
    unit_type: str = ""
    period: str = ""
    template_version: int | None = None
    fields: dict[str, FieldValue] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not has_errors(self.problems)


def _valid_period(text: str) -> bool:
    return len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and 1 <= int(text[5:]) <= 12


def _text(raw, name: str) -> str:
    value = raw.values.get(name)
    if value is None:
        return ""
    return V.parse("text", value)


def check_identity(raw, report: FileReport, catalog, workspace, run_period: str) -> bool:
    """Fill the report's identity from the identity names; False when the file cannot be placed at all."""
    loc = Location(file=report.display, sheet=L.SHEET_REPORT)
    template_id = _text(raw, "antt_template_id")
    if not template_id.startswith(L.TEMPLATE_ID_PREFIX) or "vu_viec" not in raw.names:
        detail = "không có ô nhận dạng biểu mẫu" if not template_id else f"mã biểu mẫu «{template_id}»"
        report.problems.append(problem("unknown-template", loc, detail=detail))
        return False
    version_text = _text(raw, "antt_template_version")
    try:
        version = V.parse_int(version_text)
    except ValueError:
        version = -1
    if version > catalog.template_version or version < 0:
        report.problems.append(problem("unknown-template", loc, detail=f"phiên bản biểu mẫu «{version_text}»"))
        return False
    if version < catalog.template_version:
        report.problems.append(problem("template-version", loc, detail=f"{version} → {catalog.template_version}"))
    report.template_version = version
    unit_type = _text(raw, "antt_unit_type")
    code = _text(raw, "antt_unit_code")
    period = _text(raw, "antt_period")
    code_loc = Location(report.display, L.SHEET_REPORT, _cell(raw, "antt_unit_code"), "antt_unit_code")
    unit = workspace.find(code)
    if unit is None:
        guess = workspace.suggest(code) or workspace.suggest(_text(raw, "antt_unit_name"))
        hint = f" Bạn có ý định «{guess.code} – {guess.name}»?" if guess else ""
        report.problems.append(problem("unit-unknown", code_loc, value=code or "(trống)", detail=hint))
        return False
    if unit.type != unit_type:
        report.problems.append(problem("unit-type-mismatch", code_loc, value=code, expected=unit.type,
                                       detail=unit_type or "(trống)"))
        return False
    period_loc = Location(report.display, L.SHEET_REPORT, _cell(raw, "antt_period"), "antt_period")
    if not _valid_period(period):
        report.problems.append(problem("type-error", period_loc, label="Kỳ báo cáo", value=period,
                                       expected="tháng dạng YYYY-MM", example="2025-03"))
        return False
    if period != run_period:
        report.problems.append(problem("period-mismatch", period_loc, value=period, expected=run_period,
                                       severity="error" if period > run_period else "warning"))
    report.unit_code, report.unit_type, report.period = unit.code, unit.type, period
    return not has_errors(report.problems)


def _cell(raw, name: str) -> str:
    ref = raw.names.get(name)
    return ref.cell if ref else ""


def check_fields(raw, report: FileReport, catalog, workspace) -> None:
    migrate = {}
    for version in range(report.template_version or 0, catalog.template_version):
        migrate.update(L.MIGRATIONS.get(version, {}))
    by_new_id = {new: old for old, new in migrate.items()}
    unit_type = report.unit_type
    for fdef in catalog.fields_for(unit_type):
        name = by_new_id.get(fdef.id, fdef.id)
        value = raw.values.get(name)
        if V.is_blank(value) and not fdef.required:
            continue
        ref = raw.names.get(name)
        sheet, cell = (ref.sheet, ref.cell) if ref else (L.SHEET_REPORT, "")
        parsed, code, details = _parse_field(fdef, value, catalog, report.period)
        if code is None:
            report.fields[fdef.id] = FieldValue(parsed, Evidence(report.display, sheet, cell, report.period))
        else:       # the location and label only for a problem: most values have none (10,000 files: 300,000)
            report.problems.append(problem(code, Location(report.display, sheet, cell, fdef.id),
                                           label=fdef.label_for(unit_type), **details))
    _cross_field(report, catalog)


def _parse_field(fdef, value, catalog, period: str) -> tuple[object, str | None, dict]:
    """(parsed value, None, {}) for a good value, else (None, problem code, the message's details)."""
    if V.is_blank(value):
        return None, "missing-value", {}
    codelist = catalog.codelists.get(fdef.codelist) if fdef.codelist else None
    try:
        parsed = V.parse(fdef.type, value, codelist)
    except LookupError:
        return None, "enum-error", {"value": clean(str(value)), "expected": ", ".join(i.label for i in codelist.items)}
    except (ValueError, OverflowError):
        return None, "type-error", {"value": clean(str(value)), "expected": V.EXPECTED_VI[fdef.type],
                                    "example": V.EXAMPLES[fdef.type]}
    if fdef.type in ("int", "decimal") and not _in_bounds(parsed, fdef):
        bounds = f"từ {fdef.min if fdef.min is not None else '…'} đến {fdef.max if fdef.max is not None else '…'}"
        return None, "range-error", {"value": parsed, "expected": bounds}
    if fdef.khoan1 and parsed > month_end(period):              # a document dated after its report month
        return None, "date-out-of-period", {"value": vn_date(parsed),
                                            "detail": f"sau tháng báo cáo {period[5:]}/{period[:4]}"}
    return parsed, None, {}


def _in_bounds(value, fdef) -> bool:
    return (fdef.min is None or value >= fdef.min) and (fdef.max is None or value <= fdef.max)


def _cross_field(report: FileReport, catalog) -> None:
    """Catalog `max_field` rules (spec §4.1): registered ≤ residing, briefed ≤ total, met ≤ sub-units."""
    for small, large in ((f.id, f.max_field) for f in catalog.fields_for(report.unit_type) if f.max_field):
        a, b = report.fields.get(small), report.fields.get(large)
        if a and b and a.value > b.value:
            la, lb = (catalog.fields[f].label_for(report.unit_type) for f in (small, large))
            report.problems.append(problem(
                "constraint-error", Location(report.display, a.evidence.sheet, f"{a.evidence.cell}, {b.evidence.cell}",
                                             small),
                detail=f"«{la}» ({a.value}) không được lớn hơn «{lb}» ({b.value})."))


def validate_workbook(raw, display: str, sha256: str, catalog, workspace, run_period: str) -> FileReport:
    """Check identity, status fields and the incident register of one read workbook."""
    report = FileReport(display=display, sha256=sha256)
    if check_identity(raw, report, catalog, workspace, run_period):
        check_fields(raw, report, catalog, workspace)
        check_register(raw, report, catalog)
    return report
