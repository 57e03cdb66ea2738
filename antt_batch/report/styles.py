"""Formats and cell writers shared by every sheet of the output workbook (spec §7).

One place decides the look (Times New Roman, dd/mm/yyyy, one colour per result code) and one place decides how a
value becomes a cell: user text is always written with `write_string`, because xlsxwriter's generic `write()` turns
text beginning with "=" into a formula (spec §8) and a unit name like "=HYPERLINK(…)" must stay text.
"""

from __future__ import annotations

import functools
import unicodedata
from datetime import date, datetime

from antt_batch.model import (CHUA_DAT, CHUA_DEN_HAN, DANG_DAT, DAT, KHONG_AP_DUNG, KHONG_DAT, NGOAI_PHAM_VI,
                              THIEU_DU_LIEU)
from antt_batch.report.fastsheet import put_cell
from antt_batch.text import nfc

FONT = "Times New Roman"
FONT_SIZE = 11
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
# Vietnamese locale tag (LCID 0x042A): LibreOffice then shows the decimal comma of sentences ("79,2") whatever the
# machine's locale; Excel keeps the system separator (a comma on a Vietnamese Windows). Cells stay numbers.
PCT_FORMAT = "[$-42A]0.0"


def workbook_options() -> dict:
    """xlsxwriter options of a report: new dicts each time, because xlsxwriter writes into the default format
    properties it is given (a shared dict made every later workbook's default font differ from the first's).
    remove_timezone: received times are aware datetimes in UTC+7; Excel shows them as that local wall time."""
    return {"default_format_properties": {"font_name": FONT, "font_size": FONT_SIZE},
            "default_date_format": DATE_FORMAT, "remove_timezone": True}


# Cell fills per code: green passes, red fails, amber waits, grey lacks data, pale grey does not apply.
_GREEN, _RED, _AMBER, _GREY, _PALE, _BLUE = "#C6EFCE", "#FFC7CE", "#FFEB9C", "#D9D9D9", "#F2F2F2", "#DDEBF7"
RESULT_FILL = {DAT: _GREEN, KHONG_DAT: _RED, CHUA_DEN_HAN: _AMBER, THIEU_DU_LIEU: _GREY, KHONG_AP_DUNG: _PALE}
VERDICT_FILL = {DAT: _GREEN, CHUA_DAT: _RED, DANG_DAT: _BLUE, THIEU_DU_LIEU: _GREY, NGOAI_PHAM_VI: _PALE}
PROGRESS_FILL = {"DUNG_HAN": _GREEN, "TRE_HAN": _AMBER, "THIEU": _RED, "CHUA_DEN_HAN": _PALE}
SEVERITY_FILL = {"error": _RED, "warning": _AMBER}
# Stronger tones for chart series, same meaning as the fills.
VERDICT_CHART = {DAT: "#2E7D32", DANG_DAT: "#5B9BD5", CHUA_DAT: "#C62828", THIEU_DU_LIEU: "#8C8C8C",
                 NGOAI_PHAM_VI: "#D0D0D0"}
PROGRESS_CHART = {"DUNG_HAN": "#2E7D32", "TRE_HAN": "#F4B183", "THIEU": "#C62828", "CHUA_DEN_HAN": "#D0D0D0"}


class Styles:
    """Every format of one workbook, created once (xlsxwriter formats are per workbook and costly to multiply)."""

    def __init__(self, workbook):
        self._workbook = workbook
        self._cache: dict[tuple, object] = {}
        cell = {"border": 1, "valign": "top", "text_wrap": True}
        self.plain = self.get()
        self.bold = self.get(bold=True)
        self.italic = self.get(italic=True)
        self.wrap = self.get(text_wrap=True, valign="top")
        self.cell = self.get(**cell)
        self.center = self.get(**cell, align="center")
        self.date = self.get(**cell, align="center", num_format=DATE_FORMAT)
        self.datetime = self.get(**cell, align="center", num_format=DATETIME_FORMAT)
        self.int = self.get(**cell, num_format="0")
        self.pct = self.get(**cell, num_format=PCT_FORMAT)
        self.header = self.get(**(cell | {"valign": "vcenter"}), bold=True, align="center", bg_color="#D9E1F2")
        self.title = self.get(bold=True, font_size=14, align="center", valign="vcenter", text_wrap=True)
        self.subtitle = self.get(italic=True, align="center", text_wrap=True)
        self.section = self.get(bold=True, font_size=12)
        self.national = self.get(bold=True, font_size=12, align="center")
        self.motto = self.get(bold=True, font_size=12, align="center", underline=True)
        self.agency = self.get(bold=True, align="center", text_wrap=True)
        self.result = {code: self.get(**cell, align="center", bg_color=fill) for code, fill in RESULT_FILL.items()}
        self.verdict = {code: self.get(**cell, bold=True, align="center", bg_color=fill)
                        for code, fill in VERDICT_FILL.items()}
        self.progress = {code: self.get(**cell, align="center", bg_color=fill) for code, fill in PROGRESS_FILL.items()}
        self.severity = {code: self.get(**cell, align="center", bg_color=fill) for code, fill in SEVERITY_FILL.items()}

    def made(self) -> list:
        """Every format made so far, in the order made."""
        return list(self._cache.values())

    def get(self, **props):
        """A format with these properties (Times New Roman always), shared between callers asking the same."""
        props.setdefault("font_name", FONT)
        props.setdefault("font_size", FONT_SIZE)
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self._workbook.add_format(props)
        return self._cache[key]


LINE_PT = 14               # height of one more line of wrapped 11 pt text (LibreOffice ~12.6, Excel ~14.5)
DEFAULT_ROW_PT = 15
# Widths of Times New Roman 11 characters in units of column width, fitted to where LibreOffice wraps real report
# texts (a column of width w holds ~1.04 w of these; 1.02 w is used, to stay on the safe side). Capitals are wide,
# so code-heavy cells ("KDC-4.c.1, KDC-4.c.2") wrap sooner than prose of the same length.
_CHAR_UNITS = {"upper": 1.45, "digit": 1.05, "lower": 0.95, "punct": 0.6, "space": 0.65}
_WIDEST = max(_CHAR_UNITS.values())


@functools.lru_cache(maxsize=None)
def _char_units(ch: str) -> float:
    if ch == " ":
        return _CHAR_UNITS["space"]
    base = unicodedata.normalize("NFD", ch)[0]
    kind = "upper" if base.isupper() else "digit" if base.isdigit() else "lower" if base.isalpha() else "punct"
    return _CHAR_UNITS[kind]


def text_units(text: str, bold: bool = False) -> float:
    """Printed width of a text in units of column width."""
    return sum(map(_char_units, text)) * (1.07 if bold else 1.0)


def line_count(value, width: float, bold: bool = False) -> int:
    """Printed lines of a wrapped cell, so rows can be given their height: LibreOffice does not grow them itself.

    Wraps word by word like the spreadsheet does (a word that does not fit moves to the next line, a word longer
    than a line is broken), so short columns holding long words are not underestimated.
    """
    if value is None or isinstance(value, (bool, int, float, date)):
        return 1
    return _text_lines(str(value), width, bold)


@functools.lru_cache(maxsize=65536)      # a roll-up repeats the same names, verdicts and codes on many rows
def _text_lines(text: str, width: float, bold: bool) -> int:
    room = max(1.0, width * 1.02 - 0.3)
    if "\n" not in text and len(text) * _WIDEST * (1.07 if bold else 1.0) <= room:   # fits even if all wide
        return 1
    if "\n" not in text and text_units(text, bold) <= room:
        return 1
    space = text_units(" ", bold)
    lines = 0
    for paragraph in text.split("\n"):
        count, used = 1, 0.0
        for word in paragraph.split(" "):
            size = text_units(word, bold)
            if used and used + space + size <= room:
                used += space + size
                continue
            if used:
                count += 1
            used = size
            while used > room:
                count += 1
                used -= room
        lines += count
    return max(lines, 1)


def column_px(width: float) -> int:
    """Pixels of a column of this character width (Excel's rule, which xlsxwriter and LibreOffice follow)."""
    return int(width * 7 + 5) if width >= 1 else int(width * 12 + 0.5)


def page_height(widths, landscape: bool) -> float:
    """Sheet points that fit on one printed A4 page when the sheet is scaled to one page wide (`print_setup`).

    Kept 5% short of the computed room so that a slightly different scale (Excel vs LibreOffice fonts) never
    brings a page break of its own before ours.
    """
    paper_w, paper_h = (842, 595) if landscape else (595, 842)
    room_w = paper_w - (0.5 + 0.4) * 72
    room_h = paper_h - (0.7 + 0.6) * 72
    sheet_w = sum(column_px(w) for w in widths) * 0.75
    scale = min(1.0, room_w / sheet_w) if sheet_w else 1.0
    return room_h / scale * 0.95


def write_text(ws, row: int, col: int, value, fmt=None) -> None:
    """User text as a string cell, NFC, never a formula, number or URL, whatever it starts with."""
    ws.write_string(row, col, cell_text(value), fmt)


def write_cell(ws, row: int, col: int, value, st: Styles, fmt=None) -> None:
    """A typed cell: None blank (kept only when formatted), bool, number, date (dd/mm/yyyy) or text."""
    entry = cell_entry(col, value, st, fmt)
    if entry is not None:
        put_cell(ws, row, *entry)


def cell_entry(col: int, value, st: Styles, fmt=None) -> tuple | None:
    """`(col, value, format)` as `write_cell` writes it: text as an NFC str, a date given the date format unless it
    has its own, a blank only when formatted (else None: nothing to write)."""
    if value is None or value == "":
        return None if fmt is None else (col, None, fmt)
    if isinstance(value, (bool, int, float)):
        return col, value, fmt
    if isinstance(value, datetime):
        return col, value, fmt if fmt not in (None, st.cell) else st.datetime
    if isinstance(value, date):
        return col, value, fmt if fmt not in (None, st.cell) else st.date
    return col, cell_text(value), fmt


def cell_text(value) -> str:
    """User text for a cell, NFC."""
    return nfc(str(value))


def write_row(ws, row: int, cells: list[tuple]) -> None:
    """Entries of one row (`cell_entry`'s, columns increasing) in one call where the worksheet has a fast path
    (`FastWorksheet.write_row_cells`), else cell by cell."""
    if not cells:
        return
    fast = getattr(ws, "write_row_cells", None)
    if fast is not None:
        fast(row, cells)
    else:
        for entry in cells:
            put_cell(ws, row, *entry)


def _header_text(text: str) -> str:
    """Header/footer text with '&' escaped (xlsxwriter reads '&' as a control code)."""
    return text.replace("&", "&&")[:80]


def print_setup(ws, *, landscape: bool, repeat: tuple[int, int] | None, caption: str) -> None:
    """A4, fit to one page wide, title rows repeated, caption (when any) and sheet name on top, 'Trang x/y' below."""
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.4, top=0.7, bottom=0.6)
    if repeat is not None:
        ws.repeat_rows(*repeat)
    font = f'&"{FONT},Italic"&9'
    ws.set_header((f"&L{font}{_header_text(caption)}" if caption else "") + f"&R{font}&A")
    ws.set_footer(f'&C&"{FONT},Regular"&9Trang &P/&N')
