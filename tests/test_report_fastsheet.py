"""The report's faster worksheet writes exactly the bytes xlsxwriter's own worksheet writes, for every kind of cell."""

from __future__ import annotations

import zipfile
from datetime import date, datetime

import pytest
import xlsxwriter

from antt_batch.report.fastsheet import WORKSHEET_CLASS
from antt_batch.report.styles import cell_text, write_row

TEXTS = ["Đ", "KĐ", "DAT", "Xóm Đình – Phú Đình", "a & b < c > d \"q\"", "  leading", "trailing  ", "",
         "ctrl\x01char", "_x0000_ literal", "non\ufffechar", "line\nbreak", "=HYPERLINK(\"x\")", "Đ"]


def _book(path, worksheet_class, streamed: bool) -> None:
    # xlsxwriter's in_memory option switches constant_memory off, so a streamed book uses scratch files
    options = {"constant_memory": True, "tmpdir": str(path.parent)} if streamed else {"in_memory": True}
    wb = xlsxwriter.Workbook(str(path), {**options, "default_date_format": "dd/mm/yyyy"})
    wb.set_properties({"created": datetime(2025, 4, 10, 8, 0)})
    cell = wb.add_format({"border": 1, "font_name": "Times New Roman"})
    bold = wb.add_format({"bold": True})
    for name in ("one", "two"):
        ws = wb.add_worksheet(name, worksheet_class=worksheet_class)
        ws.set_column(3, 3, 12, bold)                      # a column format, taken by unformatted cells
        ws.set_row(1, 20, cell)                            # a row format
        row = 0
        for text in TEXTS:
            ws.write_string(row, 0, text, cell)
            ws.write_string(row, 1, text)                  # no format
            ws.write_string(row, 3, text)                  # column format applies
            row += 1
        for number in (0, 1, -2, 0.1, 79.16666666666667, 1e20, 123456789012, 3.0):
            ws.write_number(row, 0, number, cell)
            ws.write_number(row, 1, number)
            row += 1
        ws.write_datetime(row, 0, date(2025, 3, 31), cell)
        ws.write_datetime(row, 1, datetime(2025, 4, 10, 8, 15), cell)
        ws.write_blank(row, 2, None, cell)
        ws.write_blank(row, 4, None)                       # ignored without a format, in both writers
        row += 1
        ws.write_boolean(row, 0, True, cell)
        ws.write_formula(row, 1, "=A1", cell, "Đ")
        ws.write_rich_string(row, 2, "Kết quả: ", bold, "Đạt", cell)
        ws.merge_range(row + 1, 0, row + 1, 3, "Ngoài phạm vi", cell)
        row += 3                                           # whole rows at once (`write_row`), after a cell of the row
        ws.write_number(row, 1, 7)
        write_row(ws, row, [(0, cell_text("Xo\u0301m"), None), (2, "DAT", cell), (3, 2.5, None), (4, None, cell),
                            (5, "x" * 20_000, None), (6, "y" * 40_000, cell), (7, True, cell), (8, 10**15, cell)])
        write_row(ws, row + 1, [(0, date(2025, 3, 31), cell), (1, datetime(2025, 4, 10, 8, 15), None),
                                (3, "KĐ", None), (7, -0.5, cell)])
        write_row(ws, row - 2, [(4, "late", None)])        # an earlier row: stored, or ignored once streamed
        write_row(ws, row + 2, [(0, "kept", None), (16_384, "beyond XFD", None)])   # only the cell out of reach goes
    wb.close()


@pytest.mark.parametrize("streamed", [False, True], ids=["shared-strings", "streamed"])
def test_same_bytes_as_xlsxwriter(tmp_path, streamed):
    assert WORKSHEET_CLASS is not None, "the installed xlsxwriter no longer has the internals the fast path uses"
    plain, fast = tmp_path / "plain.xlsx", tmp_path / "fast.xlsx"
    _book(plain, None, streamed)
    _book(fast, WORKSHEET_CLASS, streamed)
    with zipfile.ZipFile(plain) as a, zipfile.ZipFile(fast) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
        sheet = a.read("xl/worksheets/sheet1.xml").decode()
        texts = sheet if streamed else a.read("xl/sharedStrings.xml").decode()
    assert 'r="A1"' in sheet and "45747" in sheet          # the comparison saw real cells (31/03/2025)
    assert ('t="inlineStr"' in sheet) is streamed          # each mode really is the one it says
    assert ">Xóm<" in texts and "y" * 32_767 + "<" in texts   # NFC, and cut like write_string cuts
    assert ("late" in texts) is not streamed                 # a row already streamed out is not written again
    assert "kept" in texts and "beyond XFD" not in texts


def test_report_sheets_use_it(tmp_path):
    from antt_batch.report.book import add_sheet
    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    wb.stream = False
    assert type(add_sheet(wb, "data")) is WORKSHEET_CLASS
    wb.close()


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_row_path_refuses_what_write_number_refuses(tmp_path, value):
    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"), {"in_memory": True})
    ws = wb.add_worksheet("data", worksheet_class=WORKSHEET_CLASS)
    with pytest.raises(TypeError):
        write_row(ws, 0, [(0, "ok", None), (1, value, None)])
    wb.close()
