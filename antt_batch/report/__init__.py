"""The consolidated output workbook of one commune and period (spec §7): `write_report`.

The writer only formats a `ReportInput`; scoring, history and configuration happen before it. Sheets, in order:
Tổng hợp, KDC, CQDN, CSGD, Xã, Tiêu chí không đạt, Tiến độ nộp, Vụ việc, Lỗi dữ liệu, Nhật ký, data, manifest.
"""

from __future__ import annotations

from pathlib import Path

from antt_batch.model import KHONG_DAT, ReportInput
from antt_batch.report.book import WriteResult, write_workbook
from antt_batch.report.data import META_COLUMNS, data_header, data_rows, data_sha256
from antt_batch.report.sheets import (Column, data_sheet, list_sheet, manifest_sheet, matrix_sheet, month_label,
                                      progress_sheet, summary_sheet)
from antt_batch.report.summary import commune_summary, period_label

__all__ = ["WriteResult", "write_report"]

MATRICES = (("KDC", "KDC", "KẾT QUẢ TỪNG TIÊU CHÍ — KHU DÂN CƯ"),
            ("CQDN", "CQDN", "KẾT QUẢ TỪNG TIÊU CHÍ — CƠ QUAN, DOANH NGHIỆP"),
            ("CSGD", "CSGD", "KẾT QUẢ TỪNG TIÊU CHÍ — CƠ SỞ GIÁO DỤC"),
            ("XA", "Xã", "KẾT QUẢ TỪNG TIÊU CHÍ — XÃ"))
FAILED_COLUMNS = [Column("Mã đơn vị", 12), Column("Tên đơn vị", 22), Column("Trực thuộc", 11),
                  Column("Mã tiêu chí", 13), Column("Nội dung tiêu chí", 45), Column("Căn cứ", 24),
                  Column("Lý do", 34), Column("Tệp", 22), Column("Trang tính", 11), Column("Ô", 7, "center"),
                  Column("Tháng", 9, "center"), Column("Dòng", 7, "center")]
PROBLEM_COLUMNS = [Column("Mã lỗi", 18), Column("Mức độ", 10, "severity"), Column("Tệp", 28),
                   Column("Trang tính", 12), Column("Ô", 8, "center"), Column("Trường", 18),
                   Column("Dòng", 7, "int"), Column("Nội dung", 50), Column("Cách sửa", 45)]
LEDGER_COLUMNS = [Column("Tệp", 30), Column("SHA-256", 20), Column("Người gửi", 24),
                  Column("Thời điểm nhận", 16, "datetime"), Column("Quyết định", 13, "decision"),
                  Column("Đơn vị", 12), Column("Kỳ báo cáo", 10, "center"), Column("Số lỗi", 8, "int"),
                  Column("Số cảnh báo", 9, "int"), Column("Trường thay đổi", 30)]


def write_report(inp: ReportInput, catalog, path: Path) -> WriteResult:
    """Write the commune's workbook atomically to `path` (or beside it when locked; see `WriteResult`)."""
    header = data_header(catalog, inp.extra_criteria)
    rows = data_rows(inp.score, inp.commune_code, catalog, inp.extra_criteria)
    manifest = {"tool_version": inp.tool_version, "catalog_version": inp.catalog_version,
                "commune_code": inp.commune_code, "commune_name": inp.commune_name, "period": inp.period,
                "as_of": inp.as_of, "today": inp.today, "generated_at": inp.generated_at,
                "input_sha256": inp.input_sha256,
                "extra_criteria": ", ".join(header[len(META_COLUMNS) + len(catalog.national_leaf_ids()):]),
                "data_sha256": data_sha256(header, rows)}
    summary = commune_summary(inp, catalog)
    caption = summary.caption
    results = [inp.score.commune, *inp.score.units]
    units = [(r.unit.code, r.unit.name) for r in results]

    def build(workbook, st):
        summary_sheet(workbook, st, summary)
        for unit_type, name, title in MATRICES:
            matrix_sheet(workbook, st, name, unit_type, header, rows, catalog, title, caption, with_parent=False)
        list_sheet(workbook, st, "Tiêu chí không đạt", "TIÊU CHÍ KHÔNG ĐẠT", caption, FAILED_COLUMNS,
                   failed_rows(inp, catalog), caption)
        progress_sheet(workbook, st, units, inp.months, inp.progress, caption)
        columns, incidents = incident_table(inp, catalog)
        list_sheet(workbook, st, "Vụ việc", "VỤ VIỆC TRONG NĂM ĐÁNH GIÁ", caption, columns, incidents, caption)
        list_sheet(workbook, st, "Lỗi dữ liệu", "LỖI DỮ LIỆU", caption, PROBLEM_COLUMNS,
                   problem_rows(all_problems(inp)), caption)
        list_sheet(workbook, st, "Nhật ký", "NHẬT KÝ TIẾP NHẬN TỆP", caption, LEDGER_COLUMNS,
                   ledger_rows(inp.ledger), caption)
        data_sheet(workbook, st, header, rows)
        manifest_sheet(workbook, st, manifest)

    title = f"Báo cáo ANTT {inp.commune_name} {period_label(inp.period).lower()}"
    return write_workbook(path, build, created=inp.generated_at, title=title)


def all_problems(inp: ReportInput) -> list:
    """The period's file problems, then the scoring warnings not already among them."""
    scoring = [w for r in (inp.score.commune, *inp.score.units) for w in r.warnings]
    return list(dict.fromkeys([*inp.problems, *scoring]))


def failed_rows(inp: ReportInput, catalog):
    """One row per KHONG_DAT leaf; several pieces of evidence share the row, one line each."""
    for parent, result in [("", inp.score.commune)] + [(inp.commune_code, u) for u in inp.score.units]:
        for cid, outcome in result.results.items():
            if outcome.code != KHONG_DAT:
                continue
            criterion = catalog.criteria.get(cid)
            ev = outcome.evidence
            yield [result.unit.code, result.unit.name, parent or None, cid, getattr(criterion, "text", ""),
                   getattr(criterion, "citation", ""), outcome.reason or None, _lines(e.file for e in ev),
                   _lines(e.sheet for e in ev), _lines(e.cell for e in ev), _lines(month_label(e.month) for e in ev),
                   _lines(e.row for e in ev)]


def _lines(values) -> str | None:
    """Several evidence values in one cell, one per line (blank when there is none)."""
    return "\n".join("" if v is None else str(v) for v in values) or None


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
    columns = [Column("Mã đơn vị", 12), Column("Tên đơn vị", 20), Column("Ngày", 11, "date"),
               Column("Loại vụ việc", 30), Column("Mức độ", 14), Column("Bất khả kháng", 9, "center"),
               Column("Kịp thời phát hiện", 9, "center"), Column("Giảm thiểu hậu quả", 9, "center"),
               Column("Báo cáo ngay", 9, "center"), Column("Mã vụ việc", 12)]
    columns += [] if inp.redact_descriptions else [Column("Mô tả", 36)]
    columns += [Column("Tiêu chí bị ảnh hưởng", 22), Column("Tệp", 22), Column("Dòng", 7, "int")]
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


def problem_rows(problems):
    for p in problems:
        loc = p.location
        yield [p.code, p.severity, loc.file, loc.sheet, loc.cell, loc.field, loc.row, p.message, p.hint]


def ledger_rows(entries):
    for e in entries:
        yield [e.file, e.sha256, e.sender, e.received, e.decision, e.unit_code, month_label(e.period) or None,
               e.errors, e.warnings, e.changed_fields]
