"""Excel templates generated from the catalog (spec §4): one workbook per unit and month.

Every input cell is a workbook-level defined name equal to its field ID, so readers never depend on cell
positions; identity names tell the reader which unit, type, period and template version a file is.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

from antt_batch import layout as L
from antt_batch.text import vn_date

FONT = "Times New Roman"
GUIDE_WIDTHS = (34, 90)                 # Hướng dẫn: label | meaning (instructions span both)
REPORT_WIDTHS = (48, 34, 40)            # Báo cáo: label | value | how to fill in
# Vụ việc: the dropdown values are "CODE - Nhãn", so category and level need room; headers wrap
REGISTER_WIDTHS = (14, 48, 30, 12, 12, 12, 14, 14, 50)
REGISTER_WRAPPED = ("loai", "muc_do", "mo_ta")
TYPE_HINT = {"int": "Số nguyên, không âm", "decimal": "Số (tỷ đồng), ví dụ 12,5", "date": "Ngày dd/mm/yyyy",
             "bool": "Chọn Có hoặc Không", "code": "Chọn trong danh sách", "text": "Ghi chữ"}


def template_filename(unit_code: str, period: str) -> str:
    return f"{unit_code}_{period}.xlsx"


def _formats(wb) -> dict:
    base = {"font_name": FONT, "font_size": 11, "valign": "vcenter"}

    def fmt(**extra):
        return wb.add_format({**base, **extra})

    return {
        "title": fmt(bold=True, font_size=14, align="center"),
        "title_wrap": fmt(bold=True, font_size=14, align="center", text_wrap=True),
        "sub": fmt(italic=True, align="center"),
        "label": fmt(text_wrap=True, border=1),
        "label_top": fmt(text_wrap=True, border=1, valign="top"),
        "head": fmt(bold=True, border=1, bg_color="#D9E1F2", text_wrap=True, align="center"),
        "lock": fmt(border=1, bg_color="#F2F2F2"),
        "input": fmt(border=1, locked=False, bg_color="#FFF2CC"),
        "input_date": fmt(border=1, locked=False, bg_color="#FFF2CC", num_format="dd/mm/yyyy"),
        "date": fmt(locked=False, num_format="dd/mm/yyyy"),
        "free": fmt(locked=False),
        "free_wrap": fmt(locked=False, text_wrap=True, valign="top"),
        "text": fmt(text_wrap=True),
        "list_item": fmt(),
        "bold": fmt(bold=True),
    }


def _height(texts_widths, bold: bool = False) -> float | None:
    """Row height (points) for wrapped texts in columns of these widths; None when one line fits.

    LibreOffice does not grow a row to its wrapped text on opening, so every wrapped row is given its height
    (same estimate as the report's)."""
    from antt_batch.report.styles import DEFAULT_ROW_PT, LINE_PT, line_count
    lines = max((line_count(text, width, bold) for text, width in texts_widths), default=1)
    return None if lines <= 1 else max(DEFAULT_ROW_PT, LINE_PT * lines + 3)


def _set_height(ws, row: int, texts_widths, bold: bool = False) -> None:
    height = _height(texts_widths, bold)
    if height is not None:
        ws.set_row(row, height)


def _name_ref(sheet: str, col: int, row: int) -> str:
    from xlsxwriter.utility import xl_rowcol_to_cell
    return f"='{sheet}'!{xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)}"


def _write_value(ws, row: int, col: int, field, value: Any, fmts: dict, catalog) -> None:
    """Write a pre-filled value in the type the reader expects back."""
    fmt = fmts["input_date"] if field.type == "date" else fmts["input"]
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif field.type == "date":
        ws.write_datetime(row, col, datetime.combine(value, datetime.min.time()) if isinstance(value, date)
                          and not isinstance(value, datetime) else value, fmt)
    elif field.type == "bool":
        ws.write_string(row, col, "Có" if value else "Không", fmt)
    elif field.type == "code":
        ws.write_string(row, col, catalog.codelists[field.codelist].display(value), fmt)
    elif field.type in ("int", "decimal"):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _list_validation(ws, row: int, col: int, source: str, last_row: int | None = None) -> None:
    ws.data_validation(row, col, last_row if last_row is not None else row, col, {
        "validate": "list", "source": source, "error_type": "warning",
        "error_title": "Giá trị không có trong danh sách", "error_message": "Chọn một giá trị trong danh sách."})


def _guide_sheet(wb, ws, fmts, catalog, unit_type: str, unit_name: str, period: str, send_to: str,
                 deadline: str) -> dict[str, str]:
    """Instructions, the meaning of every field and category, and the code lists the dropdowns point at.

    The code lists stay in their own columns to the right (their cells are part of what earlier templates and
    the committed examples hold), each as wide as its longest value so none runs over the next; the printout
    covers the explanations only (columns A:B), which already give every category's meaning."""
    for col, width in enumerate(GUIDE_WIDTHS):
        ws.set_column(col, col, width)
    full = sum(GUIDE_WIDTHS) + 0.7
    ws.write_string(0, 0, f"HƯỚNG DẪN ĐIỀN BÁO CÁO THÁNG – {catalog.unit_types[unit_type].label.upper()}",
                    fmts["bold"])
    lines = [
        f"Đơn vị: {unit_name or '(ghi mã đơn vị ở trang «Báo cáo»)'}" + (f" – kỳ báo cáo {period[5:]}/{period[:4]}"
                                                                         if period else ""),
        "1. Trang «Báo cáo»: chỉ điền vào các ô màu vàng; ô nào không thay đổi so với tháng trước thì giữ nguyên.",
        "2. Trang «Vụ việc»: mỗi vụ việc xảy ra (hoặc mới phát hiện) trong tháng ghi một dòng; ngày ghi dd/mm/yyyy.",
        "3. Cùng một vụ được ghi ở nhiều dòng (ví dụ đốt nhà: một dòng tội phạm, một dòng cháy nổ) thì ghi cùng mã vụ việc.",
        "4. Nếu là bất khả kháng, chọn «Có» và ghi rõ lý do ở cột «Mô tả».",
        f"5. Lưu tệp (giữ nguyên tên và định dạng .xlsx) và gửi thư cho {send_to or 'Công an xã'}"
        + (f" chậm nhất ngày {deadline}." if deadline else "."),
        f"Căn cứ: {catalog.legal_title}.",
    ]
    for i, line in enumerate(lines, start=1):
        ws.merge_range(i, 0, i, 1, "", fmts["text"])
        ws.write_string(i, 0, line, fmts["text"])
        _set_height(ws, i, [(line, full)])
    row = len(lines) + 2
    tables = (("Nội dung cần báo cáo", [(f.label_for(unit_type), f.help) for f in catalog.fields_for(unit_type)]),
              ("Loại vụ việc", [(c.label, c.help) for c in catalog.categories_for(unit_type)]))
    for heading, entries in tables:
        ws.write_string(row, 0, heading, fmts["head"])
        ws.write_string(row, 1, "Ý nghĩa", fmts["head"])
        for label, meaning in entries:
            row += 1
            ws.write_string(row, 0, label, fmts["label_top"])
            ws.write_string(row, 1, meaning, fmts["label_top"])
            _set_height(ws, row, [(label, GUIDE_WIDTHS[0]), (meaning, GUIDE_WIDTHS[1])])
        row += 2
    ws.print_area(0, 0, row - 2, 1)
    return _code_lists(ws, fmts, catalog, unit_type, start_col=3)


def _code_lists(ws, fmts, catalog, unit_type: str, start_col: int) -> dict[str, str]:
    """Write each dropdown's choices as a column on the guide sheet, wide enough for its longest value (one line
    each); return list id -> absolute range."""
    from antt_batch.report.styles import text_units
    from xlsxwriter.utility import xl_range_abs
    lists = {cid: [catalog.codelists[cid].display(i.code) for i in catalog.codelists[cid].items]
             for cid in sorted({f.codelist for f in catalog.fields_for(unit_type) if f.type == "code"})}
    lists["LOAI_VU_VIEC"] = [f"{c.code} - {c.label}" for c in catalog.categories_for(unit_type)]
    lists["MUC_DO"] = [catalog.codelists["MUC_DO"].display(i.code) for i in catalog.codelists["MUC_DO"].items]
    ranges = {}
    ws.write_string(0, start_col, "Danh mục mã (dùng cho danh sách chọn)", fmts["bold"])
    for i, (cid, items) in enumerate(lists.items()):
        col = start_col + i
        head = catalog.codelists[cid].label if cid in catalog.codelists else "Loại vụ việc"
        ws.set_column(col, col, max(16, text_units(head, bold=True), *(text_units(item) for item in items)) + 2)
        ws.write_string(1, col, head, fmts["head"])
        for r, item in enumerate(items, start=2):
            ws.write_string(r, col, item, fmts["list_item"])
        ranges[cid] = f"='{L.SHEET_GUIDE}'!{xl_range_abs(2, col, 1 + len(items), col)}"
    return ranges


def _report_sheet(wb, ws, fmts, catalog, unit_type, identity: dict, prefill: dict, lists: dict) -> None:
    for col, width in enumerate(REPORT_WIDTHS):
        ws.set_column(col, col, width)
    period = identity["antt_period"]
    title = f"BÁO CÁO THÁNG {period[5:]}/{period[:4]}" if period else "BÁO CÁO THÁNG"
    heading = f"{title} – XÂY DỰNG PHONG TRÀO “AN TOÀN VỀ AN NINH, TRẬT TỰ”"
    ws.merge_range(0, 0, 0, 2, heading, fmts["title_wrap"])
    _set_height(ws, 0, [(heading, sum(REPORT_WIDTHS) / 1.3)], bold=True)     # 14 pt: ~1.3x an 11 pt text
    ws.merge_range(1, 0, 1, 2, catalog.unit_types[unit_type].label, fmts["sub"])
    row = 2
    blank_template = not identity["antt_unit_code"]
    for name, label in L.IDENTITY:
        row += 1
        ws.write_string(row, 0, label, fmts["label"])
        _set_height(ws, row, [(label, REPORT_WIDTHS[0])])
        value = identity[name]
        editable = blank_template and name in ("antt_unit_code", "antt_unit_name", "antt_period")
        ws.write_string(row, 1, str(value), fmts["input" if editable else "lock"])
        wb.define_name(name, _name_ref(L.SHEET_REPORT, 1, row))
    row += 2
    for col, head in enumerate(("Nội dung", "Giá trị", "Cách ghi")):
        ws.write_string(row, col, head, fmts["head"])
    for field in catalog.fields_for(unit_type):
        row += 1
        label = field.label_for(unit_type) + (" (*)" if field.required else "")
        ws.write_string(row, 0, label, fmts["label"])
        _set_height(ws, row, [(label, REPORT_WIDTHS[0]), (TYPE_HINT[field.type], REPORT_WIDTHS[2])])
        _write_value(ws, row, 1, field, prefill.get(field.id), fmts, catalog)
        ws.write_string(row, 2, TYPE_HINT[field.type], fmts["label"])
        wb.define_name(field.id, _name_ref(L.SHEET_REPORT, 1, row))
        if field.type == "bool":
            _list_validation(ws, row, 1, ["Có", "Không"])
        elif field.type == "code":
            _list_validation(ws, row, 1, lists[field.codelist])
        elif field.type == "date":
            ws.data_validation(row, 1, row, 1, {"validate": "date", "criteria": ">=", "value": date(2000, 1, 1),
                                                "error_type": "warning", "input_title": "Ngày",
                                                "input_message": "Nhập ngày dạng dd/mm/yyyy"})
        elif field.type in ("int", "decimal"):
            ws.data_validation(row, 1, row, 1, {"validate": "integer" if field.type == "int" else "decimal",
                                                "criteria": ">=", "value": field.min or 0, "error_type": "warning",
                                                "error_message": "Nhập số không âm."})
    ws.merge_range(row + 2, 0, row + 2, 2, "", fmts["text"])
    ws.write_string(row + 2, 0, "(*) bắt buộc điền mỗi tháng. Ô màu vàng là ô nhập liệu.", fmts["text"])
    _print_setup(ws, landscape=False)
    ws.protect("", {"format_columns": True, "format_rows": True})


def _register_sheet(wb, ws, fmts, unit_type: str, lists: dict) -> None:
    first = L.REGISTER_HEADER_ROW - 1          # 0-based header row
    last = first + L.REGISTER_ROWS
    ws.merge_range(0, 0, 0, len(L.REGISTER_COLUMNS) - 1, "SỔ VỤ VIỆC TRONG THÁNG", fmts["title"])
    ws.merge_range(1, 0, 1, len(L.REGISTER_COLUMNS) - 1,
                   "Mỗi vụ việc một dòng. Chọn loại, mức độ và Có/Không trong danh sách; ngày ghi dd/mm/yyyy.",
                   fmts["sub"])
    def column_format(fid: str, kind: str):
        return fmts["date"] if kind == "date" else fmts["free_wrap"] if fid in REGISTER_WRAPPED else fmts["free"]

    for col, (fid, head, kind) in enumerate(L.REGISTER_COLUMNS):
        ws.set_column(col, col, REGISTER_WIDTHS[col], column_format(fid, kind))
    ws.set_row(first, _height([(head, REGISTER_WIDTHS[col]) for col, (_, head, _) in enumerate(L.REGISTER_COLUMNS)],
                              bold=True) or 30)
    ws.add_table(first, 0, last, len(L.REGISTER_COLUMNS) - 1, {
        "name": L.REGISTER_TABLE, "style": "Table Style Light 9", "autofilter": False,
        "columns": [{"header": head, "header_format": fmts["head"], "format": column_format(fid, kind)}
                    for fid, head, kind in L.REGISTER_COLUMNS]})
    from xlsxwriter.utility import xl_range_abs
    wb.define_name(L.REGISTER_NAME, f"='{L.SHEET_REGISTER}'!{xl_range_abs(first, 0, last, len(L.REGISTER_COLUMNS) - 1)}")
    for col, (fid, _, kind) in enumerate(L.REGISTER_COLUMNS):
        if kind == "category":
            _list_validation(ws, first + 1, col, lists["LOAI_VU_VIEC"], last)
        elif kind == "level":
            _list_validation(ws, first + 1, col, lists["MUC_DO"], last)
        elif kind == "bool":
            _list_validation(ws, first + 1, col, ["Có", "Không"], last)
        elif kind == "date":
            ws.data_validation(first + 1, col, last, col, {"validate": "date", "criteria": ">=",
                                                           "value": date(2000, 1, 1), "error_type": "warning",
                                                           "input_message": "Ngày dạng dd/mm/yyyy"})
    ws.freeze_panes(first + 1, 0)
    _print_setup(ws, landscape=True)
    ws.repeat_rows(first)
    ws.protect("", {"insert_rows": True, "delete_rows": True, "format_columns": True, "sort": True})


def _print_setup(ws, landscape: bool) -> None:
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_footer("&L&\"Times New Roman\"Trang &P/&N")


def write_template(path: Path, catalog, unit_type: str, unit_code: str = "", unit_name: str = "", period: str = "",
                   prefill: dict | None = None, send_to: str = "", deadline: str = "") -> Path:
    """Write one template atomically (temp file + rename) and return its path.

    A blank per-type template (no unit code) leaves identity cells for the unit to fill.
    """
    import xlsxwriter
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    wb = xlsxwriter.Workbook(str(tmp), {"default_format_properties": {"font_name": FONT, "font_size": 11},
                                        "in_memory": True})   # small files: no scratch files, ~1.7x faster
    wb.set_properties({"title": "Báo cáo ANTT", "author": "antt-batch", "created": datetime(2021, 12, 28)})
    fmts = _formats(wb)
    guide = wb.add_worksheet(L.SHEET_GUIDE)
    report = wb.add_worksheet(L.SHEET_REPORT)
    register = wb.add_worksheet(L.SHEET_REGISTER)
    identity = {"antt_template_id": L.TEMPLATE_ID_PREFIX + unit_type,
                "antt_template_version": str(catalog.template_version), "antt_catalog_version": catalog.version,
                "antt_unit_type": unit_type, "antt_unit_code": unit_code, "antt_unit_name": unit_name,
                "antt_period": period}
    lists = _guide_sheet(wb, guide, fmts, catalog, unit_type, unit_name, period, send_to, deadline)
    _print_setup(guide, landscape=True)
    _report_sheet(wb, report, fmts, catalog, unit_type, identity, prefill or {}, lists)
    _register_sheet(wb, register, fmts, unit_type, lists)
    report.activate()
    wb.close()
    os.replace(tmp, path)
    return path


def deadline_text(period: str, deadline_day: int) -> str:
    """dd/mm/yyyy of the day a month's file is due: `deadline_day` of the next month."""
    year, month = int(period[:4]), int(period[5:])
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return vn_date(date(year, month, deadline_day))
