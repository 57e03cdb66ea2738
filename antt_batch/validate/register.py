"""The `Vụ việc` register: every typed row becomes an `Incident` or a located `incident-row-error` (spec §4, §5)."""

from __future__ import annotations

from datetime import date

from antt_batch import layout as L
from antt_batch.errors import Location, problem
from antt_batch.model import Evidence, Incident
from antt_batch.score.incidents import report_key
from antt_batch.score.periods import month_end
from antt_batch.text import clean, fold, vn_date
from antt_batch.validate import values as V

COLUMN_LETTERS = "ABCDEFGHI"
FLAG_COLUMNS = ("bat_kha_khang", "kip_thoi_phat_hien", "giam_thieu_hau_qua", "bao_cao_ngay")
LABELS = {fid: head for fid, head, _ in L.REGISTER_COLUMNS}


def _evaluation_start_floor(period: str) -> date:
    """The earliest date still worth a year: the start of the previous evaluation year of any unit type."""
    return date(int(period[:4]) - 2, 11, 1)


def check_register(raw, report, catalog) -> None:
    allowed = {c.code: c for c in catalog.categories_for(report.unit_type)}
    levels = catalog.codelists["MUC_DO"]
    seen: dict[tuple, int] = {}
    last_day = month_end(report.period)
    first_col = _first_column(raw)
    for reg_row in raw.register:
        cells = dict(zip((fid for fid, _, _ in L.REGISTER_COLUMNS), reg_row.values))
        if all(V.is_blank(v) for v in cells.values()):
            continue

        def loc(fid: str) -> Location:
            col = COLUMN_LETTERS[first_col + [f for f, _, _ in L.REGISTER_COLUMNS].index(fid)]
            return Location(report.display, raw.register_sheet, f"{col}{reg_row.row}", fid, reg_row.row)

        def error(fid: str, detail: str, code: str = "incident-row-error", **extra) -> None:
            report.problems.append(problem(code, loc(fid), label=LABELS[fid], detail=detail, **extra))

        if reg_row.outside:
            report.problems.append(problem("incident-outside-register", loc("ngay")))
        before = len(report.problems)
        ngay = _parse(cells["ngay"], "date", error, "ngay", required=True)
        loai_text = clean(str(cells["loai"])) if not V.is_blank(cells["loai"]) else ""
        category = allowed.get(_category_code(loai_text, catalog))
        if not loai_text:
            error("loai", "chưa chọn loại vụ việc")
        elif category is None:
            report.problems.append(problem("enum-error", loc("loai"), label=LABELS["loai"], value=loai_text,
                                           expected="; ".join(f"{c.code} - {c.label}" for c in allowed.values())))
        muc_do = None
        if not V.is_blank(cells["muc_do"]):
            muc_do = levels.parse(str(cells["muc_do"]))
            valid = catalog.codelists[category.levels] if category and category.levels else None
            if muc_do is None or (category and (valid is None or valid.parse(muc_do) is None)):
                choices = ", ".join(i.label for i in valid.items) if valid else "để trống"
                error("muc_do", f"mức độ «{clean(str(cells['muc_do']))}» không phù hợp; chọn: {choices}")
                muc_do = None
        elif category and category.level_required:
            error("muc_do", "chưa chọn mức độ")
        flags = {fid: _parse(cells[fid], "bool", error, fid) for fid in FLAG_COLUMNS}
        ma = clean(str(V.parse("text", cells["ma_vu_viec"]))) if not V.is_blank(cells["ma_vu_viec"]) else None
        mo_ta = clean(str(cells["mo_ta"])) if not V.is_blank(cells["mo_ta"]) else None
        if flags["bat_kha_khang"] and not mo_ta:
            error("mo_ta", "bất khả kháng phải ghi rõ lý do ở cột Mô tả")
        if isinstance(ngay, date):
            if ngay > last_day:
                error("ngay", f"sau tháng báo cáo {report.period[5:]}/{report.period[:4]}", code="date-out-of-period",
                      value=vn_date(ngay))
            elif ngay < _evaluation_start_floor(report.period):
                error("ngay", "trước năm đánh giá trước; vụ việc được lưu nhưng không được tính",
                      code="date-out-of-period", value=vn_date(ngay), severity="warning")
        if any(p.is_error for p in report.problems[before:]) or category is None or ngay is None:
            continue
        incident = Incident(
            unit_code=report.unit_code, ngay=ngay, loai=category.code, muc_do=muc_do, ma_vu_viec=ma, mo_ta=mo_ta,
            evidence=Evidence(report.display, raw.register_sheet, loc("ngay").cell, report.period, reg_row.row),
            **flags)
        key = report_key(incident)
        if key in seen:   # kept: scoring merges repeats into one case at the highest level
            report.problems.append(problem("duplicate-row", loc("ngay"), detail=f"dòng {seen[key]}"))
        seen.setdefault(key, reg_row.row)
        report.incidents.append(incident)


def _first_column(raw) -> int:
    ref = raw.names.get(L.REGISTER_NAME)
    return COLUMN_LETTERS.index(ref.cell[0]) if ref and ref.cell[:1] in COLUMN_LETTERS else 0


def _category_code(text: str, catalog) -> str | None:
    """Accept the code, 'CODE - Nhãn' from the dropdown, or the label alone (accent-insensitive)."""
    head = text.split(" - ", 1)[0].strip().upper()
    if head in catalog.categories:
        return head
    key = fold(text.split(" - ", 1)[-1])
    return next((c.code for c in catalog.categories.values() if fold(c.label) == key), None)


def _parse(value, kind: str, error, fid: str, required: bool = False):
    if V.is_blank(value):
        if required:
            error(fid, "chưa ghi")
        return None
    try:
        return V.parse(kind, value)
    except (ValueError, LookupError, OverflowError):
        error(fid, f"giá trị «{clean(str(value))}» không đúng, cần {V.EXPECTED_VI[kind]}")
        return None
