"""A worksheet that writes its common cells' XML faster, byte for byte as xlsxwriter would.

Why: writing a cell's XML is the innermost loop of the report (a 10,000-unit workbook has ~940,000 cells), and
xlsxwriter builds each one through a generic attribute list, an escaping pass per attribute and, for streamed
sheets, three regular expressions per string. Our cells always carry a format and mostly repeat the same short
texts ("Đ", "KĐ", result codes), so this subclass writes string, number, date and blank cells with one f-string
each and escapes each distinct streamed text once. Everything else (rich strings, formulas, booleans) goes to
xlsxwriter's own code. Whole rows of cells can also be stored in one call (`write_row_cells`, used through
`styles.write_row`), skipping the per-cell argument, bounds and dimension checks of xlsxwriter's write methods.

It relies on xlsxwriter internals (the cell tuples, `_write_cell`, the table and dimensions), so it is used only when
they are there (`WORKSHEET_CLASS` is None otherwise: `put_cell` writes through the public methods), and
`tests/test_report_fastsheet.py` compares its output with xlsxwriter's own, member by member, for every kind of
cell, in memory and streamed.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime

from antt_batch.report.packing import MARKER


def put_cell(ws, row: int, col: int, value, fmt=None) -> None:
    """One typed cell through xlsxwriter's own methods: text always as a string (never a formula or a number),
    None as a formatted blank. `write_row_cells` stores the same cells faster."""
    if value is None:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, str):
        ws.write_string(row, col, value, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, (date, datetime)):
        ws.write_datetime(row, col, value, fmt)
    else:
        raise TypeError(f"no cell type for {type(value).__name__}")


try:
    from xlsxwriter.utility import _preserve_whitespace, xl_col_to_name
    from xlsxwriter.worksheet import (CellBlankTuple, CellDatetimeTuple, CellNumberTuple, CellStringTuple,
                                      Worksheet)
except ImportError:                 # another xlsxwriter layout: its own writer is used, unchanged
    WORKSHEET_CLASS = None
else:
    _COLUMNS: dict[int, str] = {}
    _INLINE: dict[str, str] = {}    # streamed text -> the XML after the cell's style (escaped once)
    _INLINE_MAX = 50_000            # distinct texts kept; unit names never repeat, codes always do
    _SHORT_TEXT = 16_383            # characters that can never exceed Excel's 32,767 UTF-16 units
    # what xlsxwriter's `_escape_control_characters` changes: control characters, "_xHHHH_", U+FFFE/U+FFFF
    _SPECIAL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")

    def _column(col: int) -> str:
        name = _COLUMNS.get(col)
        if name is None:
            name = _COLUMNS[col] = xl_col_to_name(col)
        return name

    class FastWorksheet(Worksheet):
        """xlsxwriter's Worksheet with a faster `_write_cell` for string, number, date and blank cells."""

        def _initialize(self, init_data) -> None:
            """A streamed sheet's rows go to a write-only file: xlsxwriter's is read/write, and a text file open for
            reading resets its decoder on every write, one Python call per cell (~0.2 s at 10,000 units)."""
            super()._initialize(init_data)
            if self.constant_memory:
                self.row_data_fh.close()
                self.row_data_fh = self.fh = open(self.row_data_filename, "w", encoding="utf-8")   # noqa: SIM115

        def _opt_reopen(self) -> None:
            """Before the rows are read back (closing the workbook): xlsxwriter reopens only a closed file."""
            if not self.row_data_fh_closed:
                self.row_data_fh.close()
                self.row_data_fh_closed = True
            super()._opt_reopen()

        deflated_rows = None    # an offloaded sheet's rows as its child deflated them (`offload.join`)
        packing = None          # while closing: where to name this sheet's XML file (`packing.PackingZip`)

        def _write_optimized_sheet_data(self) -> None:
            """Rows the child deflated (see `packing`): a marker in their place, if they are still the rows
            xlsxwriter would copy here (nothing was added since)."""
            rows = self.deflated_rows
            if self.packing is not None and rows is not None and self.dim_rowmin is not None:
                self.row_data_fh.flush()
                if os.path.getsize(rows.raw) == rows.size:
                    self.row_data_fh.close()
                    self._xml_start_tag("sheetData")
                    self.fh.write(MARKER)
                    self._xml_end_tag("sheetData")
                    self.packing[self.fh.name] = rows
                    return
            super()._write_optimized_sheet_data()

        def _write_cell(self, row: int, col: int, cell) -> None:
            kind = type(cell)
            if kind is CellStringTuple:
                if not self.constant_memory:           # shared string: `string` is its index
                    self.fh.write(f'<c r="{_column(col)}{row + 1}"{self._style(row, col, cell.format)} t="s">'
                                  f'<v>{cell.string}</v></c>')
                    return
                tail = _INLINE.get(cell.string) or self._inline_tail(cell.string)
                if tail is None:
                    super()._write_cell(row, col, cell)
                else:
                    self.fh.write(f'<c r="{_column(col)}{row + 1}"{self._style(row, col, cell.format)}{tail}')
            elif kind is CellNumberTuple or kind is CellDatetimeTuple:
                self.fh.write(f'<c r="{_column(col)}{row + 1}"{self._style(row, col, cell.format)}>'
                              f'<v>{cell.number:.16G}</v></c>')
            elif kind is CellBlankTuple:
                self.fh.write(f'<c r="{_column(col)}{row + 1}"{self._style(row, col, cell.format)}/>')
            else:
                super()._write_cell(row, col, cell)

        def write_row_cells(self, row: int, cells: list) -> None:
            """Cells `(col, value, format)` of one row, columns increasing, stored as `put_cell` would store each
            (str, int/float, date/datetime, or None for a formatted blank), with the bounds, dimension and streaming
            checks done once for the row: the report's big sheets hold millions of cells. Anything needing more than
            storing (a text to cut, NaN, a boolean, another type) goes through `put_cell`."""
            first, last = cells[0][0], cells[-1][0]
            streamed = self.constant_memory
            if (row < 0 or first < 0 or row >= self.xls_rowmax or last >= self.xls_colmax
                    or streamed and row < self.previous_row):
                for col, value, fmt in cells:           # out of reach, some or all: xlsxwriter decides each
                    put_cell(self, row, col, value, fmt)
                return
            if self.dim_rowmin is None or row < self.dim_rowmin:
                self.dim_rowmin = row
            if self.dim_rowmax is None or row > self.dim_rowmax:
                self.dim_rowmax = row
            if self.dim_colmin is None or first < self.dim_colmin:
                self.dim_colmin = first
            if self.dim_colmax is None or last > self.dim_colmax:
                self.dim_colmax = last
            if streamed and row > self.previous_row:
                self._write_single_row(row)
            table, shared = self.table[row], None if streamed else self.str_table._get_shared_string_index
            for col, value, fmt in cells:
                kind = type(value)
                if kind is str and len(value) <= _SHORT_TEXT:
                    table[col] = CellStringTuple(value if streamed else shared(value), fmt)
                elif (kind is int or kind is float) and value - value == 0:     # not NaN, not infinite
                    table[col] = CellNumberTuple(value, fmt)
                elif value is None:
                    table[col] = CellBlankTuple(fmt)
                elif kind is date or kind is datetime:
                    table[col] = CellDatetimeTuple(self._convert_date_time(value),
                                                   self.default_date_format if fmt is None else fmt)
                else:
                    put_cell(self, row, col, value, fmt)

        def _style(self, row: int, col: int, fmt) -> str:
            """The cell's ` s="…"` attribute: its format, else its row's, else its column's (xlsxwriter's order)."""
            if fmt is None:
                info = self.row_info.get(row)
                if info is not None and info.row_format:
                    fmt = info.row_format
                else:
                    info = self.col_info.get(col)
                    fmt = None if info is None else info.column_format
                    if fmt is None:
                        return ""
            return f' s="{fmt._get_xf_index()}"'

        def _inline_tail(self, string: str) -> str | None:
            """The inline-string XML of `string` as xlsxwriter writes it; None for a rich string."""
            text = self._escape_control_characters(string) if _SPECIAL.search(string) else string
            if text.startswith("<r>") and text.endswith("</r>"):
                return None
            space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
            if len(_INLINE) >= _INLINE_MAX:
                _INLINE.clear()
            tail = _INLINE[string] = f' t="inlineStr"><is><t{space}>{self._escape_data(text)}</t></is></c>'
            return tail

    WORKSHEET_CLASS = FastWorksheet
