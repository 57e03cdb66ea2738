"""One writer per sheet of the output workbook (spec §7), shared by the commune report and the roll-up.

Writers take plain rows (lists of cells) and never look at files or history. Every sheet except `Tổng hợp` is
streamed: rows go out top to bottom exactly once, which keeps a national roll-up in bounded memory.

Printing is laid out here too, because LibreOffice neither grows rows to fit wrapped text nor keeps a chart or a
heading with what follows it: every wrapped row gets a height from `line_count`, and sheets whose parts must not be
split (the summary's table + chart blocks, a matrix and its criteria key, the submission grid and its detail list)
place their own page breaks from the row heights and `page_height`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime

from antt_batch.errors import SEVERITY_VI
from antt_batch.model import DECISION_VI, KHONG_AP_DUNG, NGOAI_PHAM_VI, PROGRESS_VI, RESULT_VI, VERDICT_VI
from antt_batch.report.book import add_sheet
from antt_batch.report.charts import TOP_OFFSET, add_chart, chart_height
from antt_batch.report.data import META_COLUMNS
from antt_batch.report import offload
from antt_batch.report.styles import (DEFAULT_ROW_PT, LINE_PT, RESULT_FILL, Styles, cell_entry, cell_text, line_count,
                                      page_height, print_setup, text_units, write_cell, write_row, write_text)
from antt_batch.report.summary import Summary

CHART_COL = 8
SUMMARY_FIRST_WIDTH = 34
# A: labels; B..G: table values (C holds "Kết quả" of the xóm table: "Thiếu dữ liệu" must fit); H: gap; I..Q: charts
SUMMARY_WIDTHS = (SUMMARY_FIRST_WIDTH, 10, 14, 10, 10, 10, 10, 2, *([9.5] * 9))
SUMMARY_COLUMNS = len(SUMMARY_WIDTHS)
RESULT_SHORT = {"DAT": "Đ", "KHONG_DAT": "KĐ", "CHUA_DEN_HAN": "CĐH", "THIEU_DU_LIEU": "TDL", "KHONG_AP_DUNG": "—"}
MAX_LINES = 30
CRITERION_WIDTH = 5.5
OUT_OF_SCOPE_TEXT = "Ngoài phạm vi, không đánh giá theo tiêu chí"


@dataclass(frozen=True)
class Column:
    """A list column: title, width, and how a value is shown (`kind`; coded kinds map codes to labels/colours).

    `span` > 1 merges that many sheet columns for the value (their widths are the sheet's; `width` is their sum,
    used to estimate wrapped lines), so a list can sit under a grid without dictating the grid's widths.
    """

    title: str
    width: float
    kind: str = "text"        # text | center | date | datetime | int | pct | result | verdict | progress | severity
    span: int = 1


def merged_text(ws, row: int, first: int, last: int, text: str, fmt, *, framed: bool = True) -> None:
    """Text across merged cells; merge_range() itself would write '=…' as a formula, so the text goes in after.

    merge_range() also writes a blank cell carrying `fmt` under the whole range, which only borders and fills
    need: text without a frame (`framed=False`) is merged without them, since the top-left cell's format is the
    one shown (in the criteria keys this halves a small workbook's cells)."""
    if last > first:
        ws.merge_range(row, first, row, last, "", fmt if framed else None)
    write_text(ws, row, first, text, fmt)


_CODED = {"result": (RESULT_VI, "result"), "verdict": (VERDICT_VI, "verdict"), "progress": (PROGRESS_VI, "progress"),
          "severity": (SEVERITY_VI, "severity"), "decision": (DECISION_VI, None)}
_PLAIN = frozenset({"center", "date", "datetime", "int", "pct"})     # kinds named after their Styles format


def _coded(st: Styles, kind: str):
    """(labels, fills by code) of a coded column kind, else None."""
    entry = _CODED.get(kind)
    return None if entry is None else (entry[0], getattr(st, entry[1]) if entry[1] else {})


def _plain_format(st: Styles, kind: str):
    return getattr(st, kind if kind in _PLAIN else "cell")


def row_lines(columns: list[Column], values) -> int:
    """Printed lines of a list row: its longest wrapped cell, capped."""
    return min(max((line_count(v, c.width) for c, v in zip(columns, values)), default=1), MAX_LINES)


def row_points(lines: int) -> float:
    return DEFAULT_ROW_PT if lines <= 1 else LINE_PT * lines + 3


def place_row(ws, pager, row: int, height: float, write_head) -> int:
    """Start a new page (its header repeated by `write_head`) when the row does not fit; set its height.

    Returns the row the content goes to."""
    if not pager.fits(height):
        pager.new_page(row)
        write_head(row)
        row += 1
    pager.add(height)
    if height != DEFAULT_ROW_PT:
        ws.set_row(row, height)
    return row


def write_cells(ws, st: Styles, row: int, columns: list[Column], values, first_col: int = 0) -> None:
    """The cells of one list row (no height: a streamed row's height must be set before its cells)."""
    col, cells = first_col, []
    for column, value in zip(columns, values):
        coded = _coded(st, column.kind)
        if coded is None:
            fmt = _plain_format(st, column.kind)
            shown = value
        else:
            labels, fills = coded
            shown, fmt = (labels.get(value, value) if value else None), fills.get(value, st.center)
        if column.span > 1:
            ws.merge_range(row, col, row, col + column.span - 1, "", fmt)
        entry = cell_entry(col, shown, st, fmt)
        if entry is not None:
            cells.append(entry)
        col += column.span
    write_row(ws, row, cells)


def write_list_row(ws, st: Styles, row: int, columns: list[Column], values) -> float:
    """One list row, its height set from its longest wrapped cell (before the cells: the sheet is streamed).

    Returns the row's height in points."""
    height = row_points(row_lines(columns, values))
    if height != DEFAULT_ROW_PT:
        ws.set_row(row, height)
    write_cells(ws, st, row, columns, values)
    return height


def header_points(columns: list[Column], minimum: int = 2) -> float:
    """Height of a header row whose bold titles wrap inside their columns."""
    return row_points(max(minimum, *(line_count(c.title, c.width, bold=True) for c in columns))) + 2


def write_header(ws, st: Styles, row: int, columns: list[Column], height: float) -> None:
    ws.set_row(row, height)
    col = 0
    for column in columns:
        if column.span > 1:
            ws.merge_range(row, col, row, col + column.span - 1, "", st.header)
        write_text(ws, row, col, column.title, st.header)
        col += column.span


def title_block(ws, st: Styles, width: int, title: str, subtitle: str) -> None:
    ws.set_row(0, 30)
    merged_text(ws, 0, 0, width - 1, title, st.title)
    merged_text(ws, 1, 0, width - 1, subtitle, st.subtitle)


TITLE_POINTS = 30 + DEFAULT_ROW_PT * 2     # title, subtitle, blank row


class _Streamed:
    """A streamed sheet whose cells the `offload` child may write (see `offload_cells`): made before the first
    sheet, `place`d at its position. `cells(ws)` writes the cells and returns what `finish(ws, result)` needs to set
    the rest (panes, filter, print setup); `widths(ws)` comes first."""

    name: str

    def place(self, wb, child=None) -> None:
        """Add the sheet here; its cells are written now, or adopted from the child (`finish`ed when it is done)."""
        ws = add_sheet(wb, self.name)
        self.widths(ws)
        if child is None:
            self.finish(ws, self.cells(ws))
        else:
            offload.adopt(child, ws, self.finish)


class ListSheet(_Streamed):
    """A titled, filterable, printable list: header on row 4, frozen, repeated on every printed page.

    With no rows, `empty_note` stands under the header, or alone under the title if not `table_when_empty`.
    `cells` returns how many rows it wrote. `rows` may be a generator: it is walked once, where the cells are
    written (in the child, for a big workbook)."""

    def __init__(self, st: Styles, name: str, title: str, subtitle: str, columns: list[Column], rows, caption: str,
                 empty_note: str = "Không có nội dung.", *, table_when_empty: bool = True):
        self.st, self.name, self.title, self.subtitle, self.columns = st, name, title, subtitle, columns
        self.rows, self.caption, self.empty_note = rows, caption, empty_note
        self.table_when_empty = table_when_empty
        self.note_format = st.get(italic=True, align="center")      # made here: the child may only use formats

    def cells(self, ws) -> int:
        st, columns, header = self.st, self.columns, HEADER_ROW
        title_block(ws, st, len(columns), self.title, self.subtitle)
        rows = iter(self.rows)
        first = next(rows, None)
        if first is None and not self.table_when_empty:
            merged_text(ws, header, 0, len(columns) - 1, self.empty_note, self.note_format)
            return 0
        write_header(ws, st, header, columns, header_points(columns))
        count = 0
        for count, values in enumerate(itertools.chain(() if first is None else (first,), rows), start=1):
            write_list_row(ws, st, header + count, columns, values)
        if not count:
            write_text(ws, header + 1, 0, self.empty_note, st.italic)
        return count

    def widths(self, ws) -> None:
        for col, column in enumerate(self.columns):
            ws.set_column(col, col, column.width)

    def finish(self, ws, count: int) -> None:
        landscape = sum(c.width for c in self.columns) > 110
        if not count and not self.table_when_empty:
            print_setup(ws, landscape=landscape, repeat=None, caption=self.caption)
            return
        ws.freeze_panes(HEADER_ROW + 1, 0)
        ws.autofilter(HEADER_ROW, 0, HEADER_ROW + max(count, 1), len(self.columns) - 1)
        print_setup(ws, landscape=landscape, repeat=(HEADER_ROW, HEADER_ROW), caption=self.caption)


HEADER_ROW = 3          # of a list: under the title, the subtitle and a blank row


class Pager:
    """Manual page breaks of a streamed sheet: tracks the height used on the current printed page."""

    def __init__(self, widths, landscape: bool = True):
        self.room = page_height(widths, landscape)
        self.used = 0.0
        self.breaks: list[int] = []

    def fits(self, height: float) -> bool:
        return self.used + height <= self.room

    def add(self, height: float) -> None:
        self.used += height

    def new_page(self, row: int) -> None:
        """`row` starts a new printed page."""
        if row not in self.breaks and row > 0:
            self.breaks.append(row)
        self.used = 0.0


def merged_width(widths) -> float:
    """Width units of merged columns: each column beyond the first adds its cell padding (5 px = 0.7 unit)."""
    widths = list(widths)
    return sum(widths) + 0.7 * max(len(widths) - 1, 0)


def _code_width(codes, minimum: float = 12, bold: bool = False) -> float:
    """A code column wide enough for its longest code on one line (upper-case letters are wide)."""
    return max(minimum, max((text_units(str(c), bold) for c in codes if c), default=0) + 1.5)


def matrix_sheet(wb, st: Styles, name: str, unit_type: str, header: list[str], rows: list[list], catalog,
                 title: str, caption: str, with_parent: bool, notes: dict[str, str] | None = None) -> None:
    """Unit x criterion of one unit type: colour-coded results, legend above, criterion wording and citation below.

    Cells hold short Vietnamese abbreviations (Đ, KĐ, …; legend above, full codes in `data`) so that 20-odd
    criterion columns still print legibly on A4 landscape. Out-of-scope units read "Ngoài phạm vi" across their
    criterion cells; the last column, `Ghi chú`, says why a unit is out of scope, unknown or not passing
    (`notes`: unit code -> text, else what the row itself tells).
    """
    ws = add_sheet(wb, name)
    criteria = [cid for cid in header[len(META_COLUMNS):]
                if getattr(catalog.criteria.get(cid), "unit_type", None) == unit_type]
    position = {cid: header.index(cid) for cid in criteria}
    mine = [row for row in rows if row[2] == unit_type]
    # column A also holds the criteria key's IDs below the matrix ("CSGD-3:CQDN-3.g.1")
    key_ids = [*criteria, *(gid for cid in criteria for gid, _ in _headings(catalog, cid))]
    lead = [Column("Mã đơn vị", _code_width([*(r[0] for r in mine), *key_ids])), Column("Tên đơn vị", 28)]
    lead += [Column("Trực thuộc", _code_width(r[3] for r in mine))] if with_parent else []
    lead += [Column("Kết quả", 13, "verdict"), Column("Tỷ lệ đạt (%)", 9, "pct")]
    note = Column("Ghi chú", 34)
    first_criterion, note_col = len(lead), len(lead) + len(criteria)
    width = note_col + 1
    widths = [c.width for c in lead] + [CRITERION_WIDTH] * len(criteria) + [note.width]
    for col, w in enumerate(widths):
        ws.set_column(col, col, w)
    pager = Pager(widths)
    title_block(ws, st, width, title, caption)
    write_text(ws, 2, 0, "Chú giải:", st.bold)
    for offset, (code, label) in enumerate(RESULT_VI.items(), start=3):
        write_text(ws, offset, 0, RESULT_SHORT[code], st.result[code])
        write_text(ws, offset, 1, label, st.cell)
    top = 3 + len(RESULT_VI) + 1
    pager.add(TITLE_POINTS + DEFAULT_ROW_PT * (len(RESULT_VI) + 1))
    vertical = st.get(border=1, bold=True, align="center", valign="bottom", rotation=90, bg_color="#D9E1F2")
    # rotated IDs such as "CSGD-3:CQDN-3.g.1" need the row's height along their length
    head_pt = max(80, 5.25 * max((text_units(cid, bold=True) for cid in criteria), default=0) + 16)

    def write_head(row: int) -> None:
        ws.set_row(row, head_pt)
        for col, column in enumerate(lead):
            write_text(ws, row, col, column.title, st.header)
        for offset, cid in enumerate(criteria):
            write_text(ws, row, first_criterion + offset, cid, vertical)
        write_text(ws, row, note_col, note.title, st.header)
        pager.add(head_pt)

    write_head(top)
    outside = st.get(border=1, align="center", valign="top", text_wrap=True, bg_color=RESULT_FILL[KHONG_AP_DUNG])
    band_width = merged_width(widths[first_criterion:note_col])
    row = top
    for values in mine:
        lead_values = [values[0], values[1], *([values[3]] if with_parent else []), values[8], values[10]]
        remark = (notes or {}).get(values[0]) or _row_note(values)
        band = ""
        if values[8] == NGOAI_PHAM_VI:      # the reason goes in the wide band across the criteria
            band = OUT_OF_SCOPE_TEXT + (f": {remark}" if remark and remark != "Ngoài phạm vi" else "")
            remark = ""
        height = row_points(max(row_lines(lead, lead_values), line_count(remark, note.width),
                                line_count(band, band_width)))
        row += 1
        row = place_row(ws, pager, row, height, write_head)
        write_cells(ws, st, row, lead, lead_values)
        if band and criteria:
            merged_text(ws, row, first_criterion, note_col - 1, band, outside)
            write_cell(ws, row, note_col, remark or None, st, st.cell)
        else:
            cells = []
            for offset, cid in enumerate(criteria):
                code = values[position[cid]]
                cells.append((first_criterion + offset, cell_text(RESULT_SHORT.get(code, code)),
                              st.result.get(code, st.center)) if code else (first_criterion + offset, None, st.cell))
            write_row(ws, row, [*cells, cell_entry(note_col, remark or None, st, st.cell)])
    if not mine:
        row += 1
        write_text(ws, row, 0, "Không có đơn vị loại này.", st.italic)
        pager.add(DEFAULT_ROW_PT)
    _criteria_key(ws, st, catalog, criteria, row + 2, width, merged_width(widths[1:]), pager)
    ws.freeze_panes(top + 1, 2)
    ws.autofilter(top, 0, top + max(len(mine), 1), width - 1)
    ws.set_h_pagebreaks(pager.breaks)
    print_setup(ws, landscape=True, repeat=None, caption=caption)


def _row_note(values) -> str:
    """What a `data` row itself says about its verdict, for a matrix row without a fuller note."""
    if values[8] == NGOAI_PHAM_VI:
        return "Ngoài phạm vi"
    if values[6] is None and values[8] == "THIEU_DU_LIEU":
        return "Chưa xác định được phạm vi áp dụng"
    return ""


def _criteria_key(ws, st: Styles, catalog, criteria: list[str], row: int, width: int, text_width: float,
                  pager: Pager) -> None:
    """Below the matrix, what each column ID means: wording and citation, under the catalog's group headings
    (e.g. KDC-3's lead-in, which the prohibited cases KDC-3.a… complete), printed with the sheet.

    (Cell comments would hide it from print and bring a Tahoma font into styles.xml, which xlsxwriter hard-codes.)
    """
    lines = []          # (id, text, is_heading)
    shown: set[str] = set()
    for cid in criteria:
        for gid, text in _headings(catalog, cid):
            if gid not in shown:
                shown.add(gid)
                lines.append((gid, text, True))
        criterion = catalog.criteria[cid]
        lines.append((cid, f"{criterion.text} ({criterion.citation})", False))
    heading_fmt = st.get(bold=True, text_wrap=True, valign="top")
    id_fmt = st.get(bold=True, valign="top")
    leaf_id_fmt = st.get(valign="top", indent=1)
    wrap = st.get(text_wrap=True, valign="top")
    heights = [row_points(line_count(text, text_width)) for _, text, _ in lines]
    # the key's title goes with its first lines onto a new page rather than stay alone at a page bottom
    if not pager.fits(DEFAULT_ROW_PT * 2 + sum(heights[:3])):
        pager.new_page(row)
    else:
        pager.add(DEFAULT_ROW_PT)     # the blank row above the title
    pager.add(DEFAULT_ROW_PT)
    write_text(ws, row, 0, "Nội dung tiêu chí", st.section)
    for offset, ((cid, text, heading), height) in enumerate(zip(lines, heights), start=1):
        nxt = heights[offset] if heading and offset < len(heights) else 0
        if not pager.fits(height + nxt):
            pager.new_page(row + offset)
        pager.add(height)
        if height != DEFAULT_ROW_PT:
            ws.set_row(row + offset, height)
        write_text(ws, row + offset, 0, cid, id_fmt if heading else leaf_id_fmt)
        merged_text(ws, row + offset, 1, max(width - 1, 1), text, heading_fmt if heading else wrap, framed=False)


def _headings(catalog, cid: str) -> list[tuple[str, str]]:
    """The group headings above a leaf, outermost first; an imported leaf (XA-2:KDC-3.a) also gets its source's
    groups, prefixed like its own ID (XA-2:KDC-3), so prohibited cases read under their lead-in sentence."""
    def chain(parent: str) -> list[str]:
        out = []
        while parent and parent in catalog.groups and parent not in out:
            out.append(parent)
            parent = catalog.groups[parent].parent
        return out[::-1]

    def text(group) -> str:
        words = group.text or group.title
        return f"{words} ({group.citation})" if group.text and group.citation else words

    criterion = catalog.criteria[cid]
    found = [(gid, text(catalog.groups[gid])) for gid in chain(criterion.parent)]
    source = catalog.criteria.get(criterion.imports) if criterion.imports else None
    if source is not None:
        prefix = cid.split(":", 1)[0] + ":" if ":" in cid else ""
        found += [(prefix + gid, catalog.groups[gid].text or catalog.groups[gid].title)
                  for gid in chain(source.parent)]
    return found


class ProgressSheet(_Streamed):
    """`Tiến độ nộp`: unit x month overview (status and date received, coloured); on a new page, the detail list
    with sender and resends of `detail_months` (default: every month), laid on the grid's own columns (its sender
    spans three) so it never widens a month column. It needs no score: a big workbook's child writes it while the
    score is being computed (`write_report`)."""

    name = "Tiến độ nộp"
    TOP = 3                     # the grid's header row

    def __init__(self, st: Styles, units: list[tuple[str, str]], months: list[str], progress, caption: str,
                 out_of_scope=(), detail_months=None):
        self.st, self.units, self.months, self.progress, self.caption = st, units, months, progress, caption
        self.out_of_scope, self.detail_months = set(out_of_scope), detail_months
        code_width = _code_width(code for code, _ in units)
        self.grid = [Column("Mã đơn vị", code_width), Column("Tên đơn vị", 30)] + [Column(month_label(m), 12)
                                                                                for m in months]
        self.detail = [Column("Mã đơn vị", code_width), Column("Tên đơn vị", 30), Column("Tháng", 12, "center"),
                       Column("Tình trạng", 12, "progress"), Column("Ngày nhận", 12, "date"),
                       Column("Số lần gửi lại", 12, "int"), Column("Người gửi", 36, span=3)]
        columns = max(len(self.grid), sum(c.span for c in self.detail))
        self.column_widths = [c.width for c in self.grid] + [12] * (columns - len(self.grid))

    def widths(self, ws) -> None:
        for col, w in enumerate(self.column_widths):
            ws.set_column(col, col, w)

    def cells(self, ws) -> tuple[list[int], int, int]:
        """Returns the page breaks, the detail list's header row and its row count."""
        st, grid, detail, months, units = self.st, self.grid, self.detail, self.months, self.units
        pager = Pager(self.column_widths)
        title_block(ws, st, len(grid), "TIẾN ĐỘ NỘP BÁO CÁO", self.caption)
        pager.add(TITLE_POINTS)
        head_pt = header_points(grid)

        def write_head(row: int) -> None:
            write_header(ws, st, row, grid, head_pt)
            pager.add(head_pt)

        write_head(self.TOP)
        by_key = {(c.unit_code, c.month): c for c in self.progress}
        code_width = grid[0].width
        row = self.TOP
        for code, name in units:
            row += 1
            mine = [by_key.get((code, m)) for m in months]
            height = row_points(2) if any(c is not None and c.received for c in mine) else DEFAULT_ROW_PT
            height = max(height, row_points(max(line_count(name, 30), line_count(code, code_width))))
            row = place_row(ws, pager, row, height, write_head)
            cells = [(0, cell_text(code), st.cell), (1, cell_text(name), st.cell)]
            if code in self.out_of_scope and not any(mine) and months:
                write_row(ws, row, cells)
                merged_text(ws, row, 2, 1 + len(months), "Ngoài phạm vi — không gửi báo cáo",
                            st.result["KHONG_AP_DUNG"])
                continue
            for col, cell in enumerate(mine, start=2):
                if cell is None:
                    cells.append((col, None, st.cell))
                    continue
                text = PROGRESS_VI.get(cell.status, cell.status)
                text += f"\n{cell.received:%d/%m/%Y}" if cell.received else ""
                cells.append((col, text, st.progress.get(cell.status, st.center)))
            write_row(ws, row, cells)
        # the detail list starts a page of its own; its header (not the grid's) repeats on the pages after
        row += 2
        pager.new_page(row)
        shown = set(months if self.detail_months is None else self.detail_months)
        heading = ("Chi tiết từng báo cáo" if shown >= set(months) else
                   "Chi tiết báo cáo tháng " + ", ".join(month_label(m) for m in sorted(shown)))
        write_text(ws, row, 0, heading, st.section)
        row += 1
        write_header(ws, st, row, detail, header_points(detail))
        names = dict(units)
        order = {code: index for index, (code, _) in enumerate(units)}
        ordered = sorted((c for c in self.progress if c.month in shown),
                         key=lambda c: (order.get(c.unit_code, len(units)), c.month))
        for offset, c in enumerate(ordered, start=1):
            write_list_row(ws, st, row + offset, detail, [c.unit_code, names.get(c.unit_code, ""),
                                                          month_label(c.month), c.status, c.received,
                                                          c.resubmissions, c.sender])
        if not ordered:
            write_text(ws, row + 1, 0, "Không có nội dung.", st.italic)
        return pager.breaks, row, len(ordered)

    def finish(self, ws, result: tuple[list[int], int, int]) -> None:
        breaks, detail_header, count = result
        ws.freeze_panes(self.TOP + 1, 2)
        ws.autofilter(detail_header, 0, detail_header + max(count, 1), sum(c.span for c in self.detail) - 1)
        ws.set_h_pagebreaks(breaks)
        print_setup(ws, landscape=True, repeat=(detail_header, detail_header), caption=self.caption)


def month_label(month: str) -> str:
    """'2025-06' -> '06/2025'."""
    return f"{month[5:7]}/{month[:4]}" if len(month) == 7 else month


class DataSheet(_Streamed):
    """The machine-readable contract: typed cells, nothing formatted but dates, one row per unit.

    Placed after `Nhật ký`. Hidden, so printing the workbook (Excel's "entire workbook", LibreOffice's PDF export)
    leaves it out; the level above reads it whatever its visibility, and Excel's Unhide shows it."""

    name = "data"

    def __init__(self, st: Styles, header: list[str], rows, caption: str = ""):
        self.header, self.rows, self.caption = header, rows, caption
        self.bold, self.date_format = st.get(bold=True), st.get(num_format="dd/mm/yyyy")

    def widths(self, ws) -> None:
        ws.set_column(0, 0, 14)
        ws.set_column(1, 1, 28)
        ws.set_column(2, len(self.header) - 1, 12)

    def cells(self, ws) -> None:
        bold, date_format = self.bold, self.date_format
        for col, title in enumerate(self.header):
            ws.write_string(0, col, title, bold)
        for r, row in enumerate(self.rows, start=1):
            write_row(ws, r, [(c, value, None) if isinstance(value, (int, float)) else
                              (c, value, date_format) if isinstance(value, date) else (c, cell_text(value), None)
                              for c, value in enumerate(row) if value is not None and value != ""])

    def finish(self, ws, _=None) -> None:
        ws.freeze_panes(1, 1)
        ws.autofilter(0, 0, max(len(self.rows), 1), len(self.header) - 1)
        print_setup(ws, landscape=True, repeat=(0, 0), caption=self.caption)
        ws.hide()


def offload_cells(wb, st: Styles, sheets):
    """Begin writing the cells of `sheets` (`DataSheet`, `ListSheet`) in a child process (`offload.start`);
    None where they are to be written in place. Call it before the first sheet is added."""
    return offload.start(wb, sheets, st.made())


def manifest_sheet(wb, st: Styles, manifest: dict, caption: str = "") -> None:
    """Key/value rows of the contract; dates as real date cells, everything else as text. Hidden like `data`."""
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
    print_setup(ws, landscape=False, repeat=None, caption=caption)
    ws.hide()


class _Layout:
    """Row heights of the in-memory `Tổng hợp`, so page breaks and charts are placed by height, not row count."""

    def __init__(self, ws):
        self.ws = ws
        self.heights: dict[int, float] = {}

    def set(self, row: int, points: float) -> None:
        self.ws.set_row(row, points)
        self.heights[row] = points

    def points(self, first: int, last: int) -> float:
        """Height of rows first..last-1."""
        return sum(self.heights.get(r, DEFAULT_ROW_PT) for r in range(first, last))


def summary_sheet(wb, st: Styles, s: Summary) -> None:
    """`Tổng hợp`: official header, verdict, KPIs; from a new page the helper tables each beside its native chart
    (a table and its chart never split across pages), then signatures."""
    ws = add_sheet(wb, "Tổng hợp", streamed=False)
    for col, w in enumerate(SUMMARY_WIDTHS):
        ws.set_column(col, col, w)
    layout = _Layout(ws)
    room = page_height(SUMMARY_WIDTHS, landscape=True)
    left, right = (0, 4), (CHART_COL, SUMMARY_COLUMNS - 1)
    full = (0, SUMMARY_COLUMNS - 1)
    full_width = merged_width(SUMMARY_WIDTHS)
    merged_text(ws, 0, *left, s.agency, st.agency)
    merged_text(ws, 0, *right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", st.national)
    merged_text(ws, 1, *left, s.unit_name, st.agency)
    merged_text(ws, 1, *right, "Độc lập - Tự do - Hạnh phúc", st.motto)
    merged_text(ws, 2, *right, s.place_date, st.subtitle)
    layout.set(4, 36)
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
            lines = line_count(note, full_width)
            if lines > 1:
                layout.set(row, row_points(lines))
            merged_text(ws, row, *full, note, st.wrap)
            row += 1
        row += 1
    write_text(ws, row, 0, f"{next(numerals)}. CÁC CHỈ SỐ CHÍNH", st.section)
    for offset, (label, value) in enumerate(s.kpis, start=1):
        lines = line_count(label, SUMMARY_FIRST_WIDTH)
        if lines > 1:
            layout.set(row + offset, row_points(lines))
        write_text(ws, row + offset, 0, label, st.cell)
        write_cell(ws, row + offset, 1, value, st, st.pct if isinstance(value, float) else st.int)
    row += len(s.kpis) + 2
    # III starts a page: the tables and charts are laid out page by page from here
    breaks, used = [row], DEFAULT_ROW_PT
    write_text(ws, row, 0, f"{next(numerals)}. SỐ LIỆU VÀ BIỂU ĐỒ", st.section)
    row += 1
    for number, table in enumerate(s.tables, start=1):
        end = _summary_table(wb, ws, st, layout, number, table, row)
        height = layout.points(row, end)
        if used + height > room and used > DEFAULT_ROW_PT:
            breaks.append(row)
            used = 0.0
        used += height
        row = end
    if used + layout.points(row, row + 7) > room:
        breaks.append(row)
    layout.set(row + 1, 20)
    for (first, last), text in zip((left, right), s.signers):
        merged_text(ws, row + 1, first, last, text, st.agency)
        merged_text(ws, row + 2, first, last, "(Ký, ghi rõ họ tên)", st.subtitle)
    ws.set_h_pagebreaks(breaks)
    ws.print_area(0, 0, row + 7, SUMMARY_COLUMNS - 1)
    print_setup(ws, landscape=True, repeat=None, caption=s.caption)


def _summary_table(wb, ws, st: Styles, layout: _Layout, number: int, table, row: int) -> int:
    """One helper table at column A with its chart at column I, both starting on the block's title row; returns
    the first free row after the block, which is at least as tall as the chart."""
    write_text(ws, row, 0, f"{number}. {table.title}", st.bold)
    header = row + 1
    columns = [Column(t, w) for t, w in zip(table.header, SUMMARY_WIDTHS)]
    layout.set(header, header_points(columns))
    for col, title in enumerate(table.header):
        write_text(ws, header, col, title, st.header)
    for offset, values in enumerate(table.rows, start=1):
        lines = min(max(line_count(v, w) for v, w in zip(values, SUMMARY_WIDTHS)), MAX_LINES)
        if lines > 1:
            layout.set(header + offset, row_points(lines))
        for col, value in enumerate(values):
            fmt = st.cell if col == 0 or value is None else st.pct if isinstance(value, float) else \
                st.int if isinstance(value, int) else st.center
            write_cell(ws, header + offset, col, value, st, fmt)
    end = header + len(table.rows) + 1
    if table.note:
        merged_text(ws, end, 0, 6, table.note, st.get(italic=True, text_wrap=True, valign="top"))
        layout.set(end, row_points(line_count(table.note, merged_width(SUMMARY_WIDTHS[:7]))))
        end += 1
    if not table.rows:
        write_text(ws, end, 0, "Chưa có số liệu.", st.italic)
        end += 1
    elif table.chart is not None:
        add_chart(wb, ws, table.chart, header, 0, len(table.rows), (row, CHART_COL))
        chart_pt = (chart_height(len(table.rows), table.chart.kind) + TOP_OFFSET) * 0.75
        while layout.points(row, end) < chart_pt:
            end += 1
    return end + 1
