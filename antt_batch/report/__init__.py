"""The consolidated output workbook of one commune and period (spec §7): `write_report`.

The writer only formats a `ReportInput`; history and configuration are read before it, and the score is computed
before it or handed to it as a `scorer` run while its first sheets are written. Sheets, in order:
Tổng hợp, KDC, CQDN, CSGD, Xã, Tiêu chí không đạt, Tiến độ nộp, Vụ việc, Lỗi dữ liệu, Nhật ký, data, manifest.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from antt_batch.model import KHONG_DAT, NGOAI_PHAM_VI, ReportInput
from antt_batch.report import offload
from antt_batch.report.book import WriteResult, write_workbook
from antt_batch.report.data import META_COLUMNS, data_header, data_rows, data_sha256
from antt_batch.report.sheets import (Column, DataSheet, ListSheet, ProgressSheet, manifest_sheet, matrix_sheet,
                                      month_label, offload_cells, summary_sheet)
from antt_batch.report.summary import all_problems, commune_summary, period_label, report_caption

__all__ = ["WriteResult", "write_report"]

MATRICES = (("KDC", "KDC", "KẾT QUẢ TỪNG TIÊU CHÍ — KHU DÂN CƯ"),
            ("CQDN", "CQDN", "KẾT QUẢ TỪNG TIÊU CHÍ — CƠ QUAN, DOANH NGHIỆP"),
            ("CSGD", "CSGD", "KẾT QUẢ TỪNG TIÊU CHÍ — CƠ SỞ GIÁO DỤC"),
            ("XA", "Xã", "KẾT QUẢ TỪNG TIÊU CHÍ — XÃ"))
# One row per piece of evidence: continuation rows repeat the unit and criterion codes (for filtering) only.
FAILED_COLUMNS = [Column("Mã đơn vị", 15), Column("Tên đơn vị", 20), Column("Trực thuộc", 11),
                  Column("Mã tiêu chí", 19), Column("Nội dung tiêu chí", 40), Column("Căn cứ", 24),
                  Column("Lý do", 34), Column("Tệp", 26), Column("Trang tính", 10), Column("Ô", 6, "center"),
                  Column("Tháng", 9, "center"), Column("Dòng", 6, "center")]
PROBLEM_COLUMNS = [Column("Mã lỗi", 20), Column("Mức độ", 10, "severity"), Column("Tệp", 28),
                   Column("Trang tính", 11), Column("Ô", 7, "center"), Column("Trường", 24),
                   Column("Dòng", 7, "int"), Column("Nội dung", 50), Column("Cách sửa", 42)]
LEDGER_COLUMNS = [Column("Tệp", 34), Column("SHA-256", 16), Column("Người gửi", 26),
                  Column("Thời điểm nhận", 16, "datetime"), Column("Quyết định", 13, "decision"),
                  Column("Đơn vị", 14), Column("Kỳ báo cáo", 10, "center"), Column("Số lỗi", 7, "int"),
                  Column("Số cảnh báo", 9, "int"), Column("Trường thay đổi", 50)]
SHA_SHOWN = 12
ANNUAL_LEDGER_NOTE = "Xem nhật ký trong các báo cáo tháng."


def write_report(inp: ReportInput, catalog, path: Path, scorer=None) -> WriteResult:
    """Write the commune's workbook atomically to `path` (or beside it when locked; see `WriteResult`).

    `inp.score` may be None when `scorer()` returns it: it is called once the workbook is open and the sheets that
    need no score (`Tiến độ nộp`, `Nhật ký`) are being written, by a child process in a big workbook, so scoring
    and writing them overlap (10,000 units: ~1.5 s of writing beside ~1.4 s of scoring)."""
    caption = report_caption(inp)
    units = inp.units or [r.unit for r in (inp.score.commune, *inp.score.units)]
    unit_types = {u.code: u.type for u in units}
    unit_types.update({e.file: unit_types.get(e.unit_code, "") for e in inp.ledger if e.unit_code})
    annual = len(inp.period) == 4

    def build(workbook, st):
        nonlocal inp
        progress = ProgressSheet(st, [(u.code, u.name) for u in units], inp.months, inp.progress, caption,
                                 out_of_scope=[u.code for u in units if u.in_scope is False],
                                 detail_months=None if annual else [inp.period])   # earlier months: own workbooks
        ledger = ListSheet(st, "Nhật ký", "NHẬT KÝ TIẾP NHẬN TỆP", caption, LEDGER_COLUMNS,
                           ledger_rows(inp.ledger, catalog, unit_types), caption,
                           ANNUAL_LEDGER_NOTE if annual else "Không có nội dung.", table_when_empty=not annual)
        early = offload_cells(workbook, st, [progress, ledger])
        if scorer is not None:
            inp = replace(inp, score=scorer())
        header = data_header(catalog, inp.extra_criteria)
        rows = data_rows(inp.score, inp.commune_code, catalog, inp.extra_criteria)
        notes = {r.unit.code: unit_note(r) for r in (inp.score.commune, *inp.score.units)}
        columns, incidents = incident_table(inp, catalog)
        failed, cases, errors, data = (
            ListSheet(st, "Tiêu chí không đạt", "TIÊU CHÍ KHÔNG ĐẠT", caption, FAILED_COLUMNS,
                      failed_rows(inp, catalog), caption),
            ListSheet(st, "Vụ việc", "VỤ VIỆC TRONG NĂM ĐÁNH GIÁ", caption, columns, incidents, caption),
            ListSheet(st, "Lỗi dữ liệu", "LỖI DỮ LIỆU", caption, PROBLEM_COLUMNS,
                      problem_rows(all_problems(inp), catalog, unit_types), caption),
            DataSheet(st, header, rows, caption))
        digest = data_sha256(header, rows)
        offload.settle(early)                           # the early child is done by now, or nearly (memory)
        child = offload_cells(workbook, st, [data, cases, errors])   # `failed` here: the child has the most
        summary_sheet(workbook, st, commune_summary(inp, catalog))
        for unit_type, name, title in MATRICES:
            matrix_sheet(workbook, st, name, unit_type, header, rows, catalog, title, caption, with_parent=False,
                         notes=notes)
        failed.place(workbook)
        progress.place(workbook, early)
        for sheet, writer in ((cases, child), (errors, child), (ledger, early), (data, child)):
            sheet.place(workbook, writer)
        manifest_sheet(workbook, st, {
            "tool_version": inp.tool_version, "catalog_version": inp.catalog_version,
            "commune_code": inp.commune_code, "commune_name": inp.commune_name, "period": inp.period,
            "as_of": inp.as_of, "today": inp.today, "generated_at": inp.generated_at,
            "input_sha256": inp.input_sha256,
            "extra_criteria": ", ".join(header[len(META_COLUMNS) + len(catalog.national_leaf_ids()):]),
            "data_sha256": digest}, caption)

    title = f"Báo cáo ANTT {inp.commune_name} {period_label(inp.period).lower()}"
    return write_workbook(path, build, created=inp.generated_at, title=title, rows=len(units))


def unit_note(result) -> str:
    """`Ghi chú` of a unit's matrix row: why it is out of scope or its scope is unknown, else what keeps it from
    passing (failed criteria, missing data, criteria not yet due)."""
    if result.in_scope is not True or result.verdict_code == NGOAI_PHAM_VI:
        reason = result.scope_reason or result.unit.scope_reason      # scoring's reason, else the registry's
        return reason or ("Ngoài phạm vi" if result.verdict_code == NGOAI_PHAM_VI else "")
    by_code: dict[str, list[str]] = {}
    for cid, outcome in result.results.items():
        by_code.setdefault(outcome.code, []).append(cid)
    parts = [f"{label}: {', '.join(by_code[code])}" for code, label in
             (("KHONG_DAT", "Không đạt"), ("THIEU_DU_LIEU", "Thiếu dữ liệu"), ("CHUA_DEN_HAN", "Chưa đến hạn"))
             if by_code.get(code)]
    return "; ".join(parts)


def without_citation(reason: str | None, citation: str) -> str | None:
    """A reason without its trailing " — <citation>" when that is the criterion's own citation (shown beside it)."""
    if reason and citation and reason.endswith(f" — {citation}"):
        return reason[:-len(f" — {citation}")].rstrip() or None
    return reason or None


def failed_rows(inp: ReportInput, catalog):
    """One row per piece of evidence of each KHONG_DAT leaf; the first carries the wording, citation and reason,
    the next ones only the unit and criterion codes, so file, sheet, cell, month and row line up across."""
    for parent, result in [("", inp.score.commune)] + [(inp.commune_code, u) for u in inp.score.units]:
        for cid, outcome in result.results.items():
            if outcome.code != KHONG_DAT:
                continue
            criterion = catalog.criteria.get(cid)
            citation = getattr(criterion, "citation", "")
            first = [result.unit.code, result.unit.name, parent or None, cid, getattr(criterion, "text", ""),
                     citation, without_citation(outcome.reason, citation)]
            for index, e in enumerate(outcome.evidence or (None,)):
                lead = first if index == 0 else [result.unit.code, None, parent or None, cid, None, None, None]
                yield lead + ([None] * 5 if e is None else
                              [e.file, e.sheet or None, e.cell or None, month_label(e.month) or None, e.row])


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else "Có" if value else "Không"


def code_label(catalog, code: str | None) -> str | None:
    """The Vietnamese label of an incident category or level code (the code itself when unknown)."""
    if not code:
        return None
    category = getattr(catalog, "categories", {}).get(code)
    if category is not None:
        return category.label
    for codelist in getattr(catalog, "codelists", {}).values():
        for item in getattr(codelist, "items", ()):
            if getattr(item, "code", None) == code:
                return item.label
    return code


def incident_table(inp: ReportInput, catalog):
    """Columns and rows of `Vụ việc`; `mo_ta` is left out entirely when descriptions are redacted."""
    columns = [Column("Mã đơn vị", 15), Column("Tên đơn vị", 20), Column("Ngày", 11, "date"),
               Column("Loại vụ việc", 28), Column("Mức độ", 14), Column("Bất khả kháng", 9, "center"),
               Column("Kịp thời phát hiện", 9, "center"), Column("Giảm thiểu hậu quả", 9, "center"),
               Column("Báo cáo ngay", 9, "center"), Column("Mã vụ việc", 14)]
    columns += [] if inp.redact_descriptions else [Column("Mô tả", 36)]
    columns += [Column("Tiêu chí bị ảnh hưởng", 22), Column("Tệp", 26), Column("Dòng", 6, "int")]
    names = {r.unit.code: r.unit.name for r in (inp.score.commune, *inp.score.units)}
    rows = []
    for i in sorted(inp.incidents, key=lambda i: (i.ngay, i.unit_code, i.evidence.file, i.evidence.row or 0)):
        row = [i.unit_code, names.get(i.unit_code, ""), i.ngay, code_label(catalog, i.loai),
               code_label(catalog, i.muc_do), _yes_no(i.bat_kha_khang), _yes_no(i.kip_thoi_phat_hien),
               _yes_no(i.giam_thieu_hau_qua), _yes_no(i.bao_cao_ngay), i.ma_vu_viec]
        row += [] if inp.redact_descriptions else [i.mo_ta]
        row += [", ".join(inp.score.incident_hits.get(i, ())) or None, i.evidence.file, i.evidence.row]
        rows.append(row)
    return columns, rows


def field_label(catalog, field_id: str | None, unit_type: str = "") -> str | None:
    """The Vietnamese label of a catalog or register field (worded for the unit type when known), else the ID."""
    if not field_id or catalog is None:
        return field_id or None
    field = getattr(catalog, "fields", {}).get(field_id)
    if field is not None:
        return field.label_for(unit_type) if unit_type else field.label
    from antt_batch.layout import REGISTER_COLUMNS
    return next((head for fid, head, _ in REGISTER_COLUMNS if fid == field_id), field_id)


_FILE_UNIT = re.compile(r"^(?P<code>.+)_\d{4}-\d{2}(?:\.[A-Za-z]+)?$")


def _file_type(file: str, unit_types: dict[str, str]) -> str:
    """The unit type of a received file: from the ledger, else from its `<UNIT>_<YYYY-MM>.xlsx` name."""
    if file in unit_types:
        return unit_types[file]
    match = _FILE_UNIT.match(file.rsplit("›", 1)[-1].strip())
    return unit_types.get(match.group("code"), "") if match else ""


def problem_rows(problems, catalog=None, unit_types: dict[str, str] | None = None):
    types = unit_types or {}
    for p in problems:
        loc = p.location
        label = field_label(catalog, loc.field, _file_type(loc.file, types))
        yield [p.code, p.severity, loc.file, loc.sheet, loc.cell, label, loc.row, p.message, p.hint]


def ledger_rows(entries, catalog=None, unit_types: dict[str, str] | None = None):
    """Ledger rows; the hash shortened to its first 12 hex digits (enough to tell files apart by eye). A changed
    field's label is looked up once per unit type (a new month changes every field of every file)."""
    types = unit_types or {}
    labels: dict[tuple[str, str], str] = {}
    for e in entries:
        short = f"{e.sha256[:SHA_SHOWN]}…" if len(e.sha256 or "") > SHA_SHOWN else e.sha256
        unit_type = types.get(e.unit_code, "")
        names = []
        for f in (e.changed_fields or "").split(", "):
            if f:
                if (f, unit_type) not in labels:
                    labels[f, unit_type] = field_label(catalog, f, unit_type) or f
                names.append(labels[f, unit_type])
        changed = "; ".join(names)
        yield [e.file, short, e.sender, e.received, e.decision, e.unit_code, month_label(e.period) or None,
               e.errors, e.warnings, changed or None]
