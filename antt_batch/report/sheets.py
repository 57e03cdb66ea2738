"""One writer per sheet of the output workbook (spec §7), shared by the commune report and the roll-up.

Writers take plain rows (lists of cells) and never look at files or history. Every sheet except `Tổng hợp` is
streamed: rows go out top to bottom exactly once, which keeps a national roll-up in bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from antt_batch.errors import SEVERITY_VI
from antt_batch.model import DECISION_VI, PROGRESS_VI, RESULT_VI, VERDICT_VI
from antt_batch.report.book import add_sheet
from antt_batch.report.charts import add_chart, chart_height
from antt_batch.report.data import META_COLUMNS
from antt_batch.report.styles import RESULT_FILL, Styles, line_count, print_setup, write_cell, write_text
from antt_batch.report.summary import Summary

SUMMARY_COLUMNS = 17          # A..Q: tables in A..G, charts in I..Q
CHART_COL = 8
SUMMARY_FIRST_WIDTH = 34
PAGE_ROWS = 44                # default-height rows on one printed A4 landscape page of `Tổng hợp`
ROW_PX = 20
RESULT_SHORT = {"DAT": "Đ", "KHONG_DAT": "KĐ", "CHUA_DEN_HAN": "CĐH", "THIEU_DU_LIEU": "TDL", "KHONG_AP_DUNG": "—"}
LINE_PT, MAX_LINES = 15, 20


@dataclass(frozen=True)
class Column:
    """A list column: title, width, and how a value is shown (`kind`; coded kinds map codes to labels/colours)."""

    title: str
    width: float
    kind: str = "text"        # text | center | date | datetime | int | pct | result | verdict | progress | severity


def merged_text(ws, row: int, first: int, last: int, text: str, fmt) -> None:
    """Text across merged cells; merge_range() itself would write '=…' as a formula, so the text goes in after."""
    if last > first:
        ws.merge_range(row, first, row, last, "", fmt)
    write_text(ws, row, first, text, fmt)


def _coded(st: Styles, kind: str):
    return {"result": (RESULT_VI, st.result), "verdict": (VERDICT_VI, st.verdict),
            "progress": (PROGRESS_VI, st.progress), "severity": (SEVERITY_VI, st.severity),
            "decision": (DECISION_VI, {})}.get(kind)


def _plain_format(st: Styles, kind: str):
    return {"center": st.center, "date": st.date, "datetime": st.datetime, "int": st.int, "pct": st.pct}.get(
        kind, st.cell)


def write_list_row(ws, st: Styles, row: int, columns: list[Column], values) -> None:
    """One list row, its height set from its longest wrapped cell (before the cells: the sheet is streamed)."""
    lines = max((line_count(v, c.width) for c, v in zip(columns, values)), default=1)
    if lines > 1:
        ws.set_row(row, LINE_PT * min(lines, MAX_LINES))
    for col, (column, value) in enumerate(zip(columns, values)):
        coded = _coded(st, column.kind)
        if coded is None:
            write_cell(ws, row, col, value, st, _plain_format(st, column.kind))
        else:
            labels, fills = coded
            write_cell(ws, row, col, labels.get(value, value) if value else None, st, fills.get(value, st.center))


def title_block(ws, st: Styles, width: int, title: str, subtitle: str) -> None:
    ws.set_row(0, 30)
    merged_text(ws, 0, 0, width - 1, title, st.title)
    merged_text(ws, 1, 0, width - 1, subtitle, st.subtitle)


def list_sheet(wb, st: Styles, name: str, title: str, subtitle: str, columns: list[Column], rows,
               caption: str, empty_note: str = "Không có nội dung.") -> None:
    """A titled, filterable, printable list: header on row 4, frozen, repeated on every printed page."""
    ws = add_sheet(wb, name)
    for col, column in enumerate(columns):
        ws.set_column(col, col, column.width)
    title_block(ws, st, len(columns), title, subtitle)
    header = 3
    ws.set_row(header, 32)
    for col, column in enumerate(columns):
        write_text(ws, header, col, column.title, st.header)
    count = 0
    for count, values in enumerate(rows, start=1):
        write_list_row(ws, st, header + count, columns, values)
    if not count:
        write_text(ws, header + 1, 0, empty_note, st.italic)
    ws.freeze_panes(header + 1, 0)
    ws.autofilter(header, 0, header + max(count, 1), len(columns) - 1)
    print_setup(ws, landscape=sum(c.width for c in columns) > 110, repeat=(header, header), caption=caption)


def matrix_sheet(wb, st: Styles, name: str, unit_type: str, header: list[str], rows: list[list], catalog,
                 title: str, caption: str, with_parent: bool) -> None:
    """Unit x criterion of one unit type: colour-coded results, legend above, criterion wording and citation below.

    Cells hold short Vietnamese abbreviations (Đ, KĐ, …; legend above, full codes in `data`) so that 20-odd
    criterion columns still print legibly on A4 landscape.
    """
    ws = add_sheet(wb, name)
    criteria = [cid for cid in header[len(META_COLUMNS):]
                if getattr(catalog.criteria.get(cid), "unit_type", None) == unit_type]
    position = {cid: header.index(cid) for cid in criteria}
    lead = [Column("Mã đơn vị", 14), Column("Tên đơn vị", 30)]
    lead += [Column("Trực thuộc", 14)] if with_parent else []
    lead += [Column("Kết quả", 13, "verdict"), Column("Tỷ lệ đạt (%)", 9, "pct")]
    width = len(lead) + len(criteria)
    for col, column in enumerate(lead):
        ws.set_column(col, col, column.width)
    ws.set_column(len(lead), max(width - 1, len(lead)), 5.5)
    title_block(ws, st, width, title, caption)
    write_text(ws, 2, 0, "Chú giải:", st.bold)
    for offset, (code, label) in enumerate(RESULT_VI.items()):
        write_text(ws, 2 + offset, 1, f"{RESULT_SHORT[code]} — {label}",
                   st.get(border=1, bg_color=RESULT_FILL[code]))
    top = 2 + len(RESULT_VI) + 1
    ws.set_row(top, 80)
    for col, column in enumerate(lead):
        write_text(ws, top, col, column.title, st.header)
    vertical = st.get(border=1, bold=True, align="center", valign="bottom", rotation=90, bg_color="#D9E1F2")
    for offset, cid in enumerate(criteria):
        col = len(lead) + offset
        write_text(ws, top, col, cid, vertical)
    count = 0
    for row in rows:
        if row[2] != unit_type:
            continue
        count += 1
        lead_values = [row[0], row[1], *([row[3]] if with_parent else []), row[8], row[10]]
        write_list_row(ws, st, top + count, lead, lead_values)
        for offset, cid in enumerate(criteria):
            code = row[position[cid]]
            if code:
                write_text(ws, top + count, len(lead) + offset, RESULT_SHORT.get(code, code),
                           st.result.get(code, st.center))
    if not count:
        write_text(ws, top + 1, 0, "Không có đơn vị loại này.", st.italic)
    _criteria_key(ws, st, catalog, criteria, top + max(count, 1) + 2, width,
                  sum(c.width for c in lead[1:]) + 5.5 * len(criteria))
    ws.freeze_panes(top + 1, 2)
    ws.autofilter(top, 0, top + max(count, 1), width - 1)
    print_setup(ws, landscape=True, repeat=(top, top), caption=caption)


def progress_sheet(wb, st: Styles, units: list[tuple[str, str]], months: list[str], cells, caption: str) -> None:
    """Unit x month overview (status and date received, coloured), then the detail list with sender and resends."""
    ws = add_sheet(wb, "Tiến độ nộp")
    grid = [Column("Mã đơn vị", 14), Column("Tên đơn vị", 30)] + [Column(month_label(m), 12) for m in months]
    detail = [Column("Mã đơn vị", 14), Column("Tên đơn vị", 30), Column("Tháng", 12, "center"),
              Column("Tình trạng", 12, "progress"), Column("Ngày nhận", 12, "date"),
              Column("Số lần gửi lại", 12, "int"), Column("Người gửi", 26)]
    width = max(len(grid), len(detail))
    for col in range(width):
        ws.set_column(col, col, max(c[col].width for c in (grid, detail) if col < len(c)))
    title_block(ws, st, width, "TIẾN ĐỘ NỘP BÁO CÁO", caption)
    top = 3
    ws.set_row(top, 30)
    for col, column in enumerate(grid):
        write_text(ws, top, col, column.title, st.header)
    by_key = {(c.unit_code, c.month): c for c in cells}
    row = top
    for row, (code, name) in enumerate(units, start=top + 1):
        if any(by_key.get((code, m)) and by_key[(code, m)].received for m in months):
            ws.set_row(row, 2 * LINE_PT)
        write_text(ws, row, 0, code, st.cell)
        write_text(ws, row, 1, name, st.cell)
        for col, month in enumerate(months, start=2):
            cell = by_key.get((code, month))
            if cell is None:
                ws.write_blank(row, col, None, st.cell)
                continue
            text = PROGRESS_VI.get(cell.status, cell.status)
            text += f"\n{cell.received:%d/%m/%Y}" if cell.received else ""
            write_text(ws, row, col, text, st.progress.get(cell.status, st.center))
    row += 2
    write_text(ws, row, 0, "Chi tiết từng báo cáo", st.section)
    row += 1
    ws.set_row(row, 30)
    for col, column in enumerate(detail):
        write_text(ws, row, col, column.title, st.header)
    names = dict(units)
    order = {code: index for index, (code, _) in enumerate(units)}
    ordered = sorted(cells, key=lambda c: (order.get(c.unit_code, len(units)), c.month))
    for offset, c in enumerate(ordered, start=1):
        write_list_row(ws, st, row + offset, detail, [c.unit_code, names.get(c.unit_code, ""), month_label(c.month),
                                                      c.status, c.received, c.resubmissions, c.sender])
    ws.freeze_panes(top + 1, 2)
    ws.autofilter(row, 0, row + max(len(ordered), 1), len(detail) - 1)
    print_setup(ws, landscape=True, repeat=(top, top), caption=caption)


def month_label(month: str) -> str:
    """'2025-06' -> '06/2025'."""
    return f"{month[5:7]}/{month[:4]}" if len(month) == 7 else month


def _criteria_key(ws, st: Styles, catalog, criteria: list[str], row: int, width: int, text_width: float) -> None:
    """Below the matrix, what each column ID means: wording and citation, printed with the sheet.

    (Cell comments would hide it from print and bring a Tahoma font into styles.xml, which xlsxwriter hard-codes.)
    """
    write_text(ws, row, 0, "Nội dung tiêu chí", st.section)
    wrap = st.get(text_wrap=True, valign="top")
    for offset, cid in enumerate(criteria, start=1):
        criterion = catalog.criteria[cid]
        text = f"{criterion.text} ({criterion.citation})"
        ws.set_row(row + offset, LINE_PT * min(line_count(text, text_width), MAX_LINES))
        write_text(ws, row + offset, 0, cid, st.get(bold=True, valign="top"))
        merged_text(ws, row + offset, 1, max(width - 1, 1), text, wrap)


def data_sheet(wb, st: Styles, header: list[str], rows) -> None:
    """The machine-readable contract: typed cells, nothing formatted but dates, one row per unit."""
    ws = add_sheet(wb, "data")
    date_format = st.get(num_format="dd/mm/yyyy")
    bold = st.get(bold=True)
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 28)
    ws.set_column(2, len(header) - 1, 12)
    for col, title in enumerate(header):
        ws.write_string(0, col, title, bold)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                write_text(ws, r, c, value)
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value)
            elif isinstance(value, (int, float)):
                ws.write_number(r, c, value)
            elif isinstance(value, (date, datetime)):
                ws.write_datetime(r, c, value, date_format)
            else:
                write_text(ws, r, c, value)
    ws.freeze_panes(1, 1)
    ws.autofilter(0, 0, max(len(rows), 1), len(header) - 1)
    print_setup(ws, landscape=True, repeat=(0, 0), caption="data")


def manifest_sheet(wb, st: Styles, manifest: dict) -> None:
    """Key/value rows of the contract; dates as real date cells, everything else as text."""
    ws = add_sheet(wb, "manifest")
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 70)
    bold = st.get(bold=True)
    ws.write_string(0, 0, "key", bold)
    ws.write_string(0, 1, "value", bold)
    for r, (key, value) in enumerate(manifest.items(), start=1):
        ws.write_string(r, 0, key)
        if isinstance(value, datetime):
            ws.write_datetime(r, 1, value, st.get(num_format="dd/mm/yyyy hh:mm:ss", align="left"))
        elif isinstance(value, date):
            ws.write_datetime(r, 1, value, st.get(num_format="dd/mm/yyyy", align="left"))
        elif value not in (None, ""):
            write_text(ws, r, 1, value)
    print_setup(ws, landscape=False, repeat=None, caption="manifest")


def summary_sheet(wb, st: Styles, s: Summary) -> None:
    """`Tổng hợp`: official header, verdict, KPIs, helper tables each beside its native chart, signatures."""
    ws = add_sheet(wb, "Tổng hợp", streamed=False)
    ws.set_column(0, 0, SUMMARY_FIRST_WIDTH)
    ws.set_column(1, 6, 10)
    ws.set_column(7, 7, 2)
    ws.set_column(CHART_COL, SUMMARY_COLUMNS - 1, 9.5)
    left, right = (0, 4), (CHART_COL, SUMMARY_COLUMNS - 1)
    full = (0, SUMMARY_COLUMNS - 1)
    merged_text(ws, 0, *left, s.agency, st.agency)
    merged_text(ws, 0, *right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", st.national)
    merged_text(ws, 1, *left, s.unit_name, st.agency)
    merged_text(ws, 1, *right, "Độc lập - Tự do - Hạnh phúc", st.motto)
    merged_text(ws, 2, *right, s.place_date, st.subtitle)
    ws.set_row(4, 36)
    merged_text(ws, 4, *full, s.title, st.title)
    merged_text(ws, 5, *full, s.period_line, st.subtitle)
    row = 6
    if s.recipient:
        merged_text(ws, row, *full, f"Kính gửi: {s.recipient}", st.get(bold=True, align="center"))
        row += 1
    row += 1
    numerals = iter(("I", "II", "III"))
    if s.verdict is not None:
        write_text(ws, row, 0, f"{next(numerals)}. KẾT QUẢ ĐÁNH GIÁ", st.section)
        sentence, code = s.verdict
        merged_text(ws, row + 1, 0, 6, sentence, st.verdict.get(code, st.bold))
        row += 2
        for note in s.notes:
            merged_text(ws, row, *full, note, st.wrap)
            row += 1
        row += 1
    write_text(ws, row, 0, f"{next(numerals)}. CÁC CHỈ SỐ CHÍNH", st.section)
    for offset, (label, value) in enumerate(s.kpis, start=1):
        lines = line_count(label, SUMMARY_FIRST_WIDTH)
        if lines > 1:
            ws.set_row(row + offset, LINE_PT * lines)
        write_text(ws, row + offset, 0, label, st.cell)
        write_cell(ws, row + offset, 1, value, st, st.pct if isinstance(value, float) else st.int)
    row += len(s.kpis) + 2
    write_text(ws, row, 0, f"{next(numerals)}. SỐ LIỆU VÀ BIỂU ĐỒ", st.section)
    row += 1
    breaks, page_top = [], 0
    for number, table in enumerate(s.tables, start=1):
        if row + _block_rows(table) - page_top > PAGE_ROWS:
            breaks.append(row)
            page_top = row
        row = _summary_table(wb, ws, st, number, table, row)
    if row + 8 - page_top > PAGE_ROWS:
        breaks.append(row)
    ws.set_row(row + 1, 20)
    for (first, last), text in zip((left, right), s.signers):
        merged_text(ws, row + 1, first, last, text, st.agency)
        merged_text(ws, row + 2, first, last, "(Ký, ghi rõ họ tên)", st.subtitle)
    ws.set_h_pagebreaks(breaks)
    ws.print_area(0, 0, row + 7, SUMMARY_COLUMNS - 1)
    print_setup(ws, landscape=True, repeat=None, caption=s.caption)


def _block_rows(table) -> int:
    """Rows a helper table and its chart take, to keep both on one printed page."""
    chart_rows = chart_height(len(table.rows), table.chart.kind) // ROW_PX if table.chart and table.rows else 0
    return max(len(table.rows) + 4 + (3 if table.note else 0), chart_rows + 2)


def _summary_table(wb, ws, st: Styles, number: int, table, row: int) -> int:
    """One helper table at column A with its chart at column I; returns the first free row after the block."""
    write_text(ws, row, 0, f"{number}. {table.title}", st.bold)
    header = row + 1
    ws.set_row(header, 30)
    for col, title in enumerate(table.header):
        write_text(ws, header, col, title, st.header)
    for offset, values in enumerate(table.rows, start=1):
        lines = line_count(values[0], SUMMARY_FIRST_WIDTH)
        if lines > 1:
            ws.set_row(header + offset, LINE_PT * min(lines, MAX_LINES))
        for col, value in enumerate(values):
            fmt = st.cell if col == 0 or value is None else st.pct if isinstance(value, float) else st.int
            write_cell(ws, header + offset, col, value, st, fmt)
    end = header + len(table.rows) + 1
    if table.note:
        merged_text(ws, end, 0, 6, table.note, st.get(italic=True, text_wrap=True, valign="top"))
        ws.set_row(end, 45)
        end += 1
    if not table.rows:
        write_text(ws, end, 0, "Chưa có số liệu.", st.italic)
        end += 1
    elif table.chart is not None:
        add_chart(wb, ws, table.chart, header, 0, len(table.rows), (row, CHART_COL))
        end = max(end, row + chart_height(len(table.rows), table.chart.kind) // ROW_PX + 1)
    return end + 1
