"""The per-file reader and its crash-isolating worker, on real workbooks built here (no mocks)."""

from __future__ import annotations

import io
import shutil
import subprocess
import threading
import zipfile
from datetime import date, datetime

import pytest
import xlsxwriter

from antt_batch import limits, worker
from antt_batch.reader import NameRef, parse_reference, read_workbook
from antt_batch.worker import CRASH_ENV, HANG_ENV, read_many

COLUMNS = ["ngay", "loai", "muc_do", "bat_kha_khang", "kip_thoi_phat_hien", "giam_thieu_hau_qua", "bao_cao_ngay",
           "ma_vu_viec", "mo_ta"]


def template(incidents: dict[int, list] | None = None, register: bool = True, unit: str = "XOM01") -> bytes:
    """A template-like workbook: `Hướng dẫn`, `Báo cáo` (identity and fields as workbook-level names) and
    `Vụ việc` (table VuViec under the name vu_viec = A1:I201). `incidents` maps 1-based Excel rows to values."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf)
    day = book.add_format({"num_format": "dd/mm/yyyy", "locked": False})
    book.add_worksheet("Hướng dẫn").write_string("A1", "Điền vào các ô màu vàng.")
    sheet = book.add_worksheet("Báo cáo")
    cells = [("antt_template_id", "ANTT-KDC"), ("antt_unit_code", unit), ("antt_period", "2025-03"),
             ("so_ho_cu_tru", 120), ("so_ho_dang_ky", "118"), ("ngay_bao_cao", datetime(2025, 3, 31)),
             ("ngay_nghi_quyet_chi_bo", "05/03/2025"), ("ghi_chu", None), ("trien_khai_day_du", "có ")]
    for row, (name, value) in enumerate(cells, start=4):
        sheet.write_string(row - 1, 0, name)
        if isinstance(value, datetime):
            sheet.write_datetime(row - 1, 1, value, day)
        elif isinstance(value, str):
            sheet.write_string(row - 1, 1, value)
        elif value is not None:
            sheet.write_number(row - 1, 1, value)
        book.define_name(name, f"='Báo cáo'!$B${row}")
    book.define_name("'Báo cáo'!chi_trang_nay", "='Báo cáo'!$B$4")     # sheet-level: not a field
    book.define_name("hang_so", '="abc"')                                # a constant: not a cell
    register_sheet = book.add_worksheet("Vụ việc")
    register_sheet.add_table(0, 0, 200, 8, {"name": "VuViec", "columns": [{"header": c} for c in COLUMNS]})
    for row, values in (incidents or {}).items():
        for col, value in enumerate(values):
            if isinstance(value, datetime):
                register_sheet.write_datetime(row - 1, col, value, day)
            elif isinstance(value, str):
                register_sheet.write_string(row - 1, col, value)
            elif value is not None:
                register_sheet.write_number(row - 1, col, value)
    if register:
        book.define_name("vu_viec", "='Vụ việc'!$A$1:$I$201")
    book.close()
    return buf.getvalue()


INCIDENTS = {
    2: [datetime(2025, 3, 2), "TOI_PHAM", "NGHIEM_TRONG", "Không", "Có", "Có", "Có", "VV-01", "Trộm cắp"],
    5: ["07/03/2025", "CHAY_NO - Cháy, nổ", "KHONG_NGHIEM_TRONG", None, None, None, None, "VV-01", None],
    6: ["   ", None, None, None, None, None, None, None, " "],                  # only spaces: blank
    203: [45731, "TE_NAN", None, None, None, None, None, None, "gõ dưới vùng"],   # an unformatted date serial
    250: [None, None, None, None, None, None, None, None, "chỉ có mô tả"],
}


def test_reads_names_values_and_register():
    result = read_workbook(template(INCIDENTS), "XOM01_2025-03.xlsx")
    assert result.problems == []
    book = result.workbook
    assert book.sheet_names == ("Hướng dẫn", "Báo cáo", "Vụ việc")
    assert book.names["antt_unit_code"] == NameRef("Báo cáo", "B5", "B5")
    assert book.names["vu_viec"] == NameRef("Vụ việc", "A1:I201", "A1")
    assert "chi_trang_nay" not in book.names and "hang_so" not in book.names
    assert book.values["antt_unit_code"] == "XOM01"
    assert book.values["so_ho_cu_tru"] == 120                               # raw: calamine gives a number
    assert book.values["so_ho_dang_ky"] == "118"                            # typed as text: kept as text
    assert book.values["ngay_bao_cao"] in (date(2025, 3, 31), datetime(2025, 3, 31))
    assert book.values["ngay_nghi_quyet_chi_bo"] == "05/03/2025"
    assert book.values["ghi_chu"] is None and book.values["trien_khai_day_du"] == "có "
    assert "vu_viec" not in book.values                                     # a range has no single value
    assert (book.register_sheet, book.register_header_row, book.register_last_row) == ("Vụ việc", 1, 201)
    assert book.header == tuple(COLUMNS)
    rows = {r.row: r for r in book.register}
    assert sorted(rows) == [2, 5, 203, 250]
    assert rows[2].values[0] in (date(2025, 3, 2), datetime(2025, 3, 2)) and rows[2].values[1:3] == (
        "TOI_PHAM", "NGHIEM_TRONG")
    assert rows[5].values == ("07/03/2025", "CHAY_NO - Cháy, nổ", "KHONG_NGHIEM_TRONG", None, None, None, None,
                              "VV-01", None)
    assert rows[203].values[0] == 45731 and rows[203].values[8] == "gõ dưới vùng"
    assert [r.outside for r in book.register] == [False, False, True, True]
    assert all(len(r.values) == 9 for r in book.register)


def test_without_register_name_the_register_is_empty():
    book = read_workbook(template(INCIDENTS, register=False), "x.xlsx").workbook
    assert book.register_sheet == "" and book.register == [] and book.header == ()
    assert book.values["antt_unit_code"] == "XOM01"


def test_too_many_incident_rows_is_refused_but_keeps_identity():
    rows = {r: [None, "TOI_PHAM"] for r in range(2, limits.MAX_INCIDENT_ROWS + 3)}
    result = read_workbook(template(rows), "x.xlsx")
    assert [p.code for p in result.problems] == ["too-large"]
    assert result.problems[0].location.row == limits.MAX_INCIDENT_ROWS + 2
    assert len(result.workbook.register) == limits.MAX_INCIDENT_ROWS
    assert result.workbook.values["antt_unit_code"] == "XOM01"


def test_libreoffice_style_names_are_read():
    """LibreOffice writes `&apos;Báo cáo&apos;!$B$4`, extra attributes, and sheet-local print areas."""
    base = template(INCIDENTS)
    workbook_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<fileVersion appName="Calc"/><workbookPr backupFile="false" showObjects="all" date1904="false"/>'
        '<sheets><sheet name="Hướng dẫn" sheetId="1" state="visible" r:id="rId1"/>'
        '<sheet name="Báo cáo" sheetId="2" state="visible" r:id="rId2"/>'
        '<sheet name="Vụ việc" sheetId="3" state="visible" r:id="rId3"/></sheets><definedNames>'
        '<definedName function="false" hidden="false" localSheetId="1" name="_xlnm.Print_Area" '
        'vbProcedure="false">&apos;Báo cáo&apos;!$A$1:$C$20</definedName>'
        '<definedName function="false" hidden="false" name="antt_unit_code" vbProcedure="false">'
        '&apos;Báo cáo&apos;!$B$5</definedName>'
        '<definedName function="false" hidden="false" name="antt_period" vbProcedure="false">'
        '&apos;Báo cáo&apos;!$B$6</definedName>'
        '<definedName function="false" hidden="false" name="vu_viec" vbProcedure="false">'
        '&apos;Vụ việc&apos;!$A$1:$I$201</definedName>'
        '<definedName function="false" hidden="false" name="mat_trang" vbProcedure="false">'
        '&apos;Không có&apos;!$A$1</definedName>'
        '<definedName function="false" hidden="false" name="hong" vbProcedure="false">#REF!</definedName>'
        '</definedNames><calcPr iterateCount="100" refMode="A1" iterate="false" iterateDelta="0.001"/></workbook>')
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = workbook_xml.encode() if info.filename == "xl/workbook.xml" else src.read(info)
            dst.writestr(info.filename, data)
    result = read_workbook(out.getvalue(), "XOM01_2025-03.xlsx")
    assert result.problems == []
    book = result.workbook
    assert sorted(book.names) == ["antt_period", "antt_unit_code", "vu_viec"]
    assert book.values == {"antt_unit_code": "XOM01", "antt_period": "2025-03"}
    assert [r.row for r in book.register] == [2, 5, 203, 250]


@pytest.mark.parametrize("formula, expected", [
    ("'Báo cáo'!$B$4", NameRef("Báo cáo", "B4", "B4")),
    ("='Vụ việc'!$A$1:$I$201", NameRef("Vụ việc", "A1:I201", "A1")),
    ("Sheet1!B4", NameRef("Sheet1", "B4", "B4")),
    ("'Xóm 1''s'!$c$7", NameRef("Xóm 1's", "C7", "C7")),
    ("'A!B'!$A$2", NameRef("A!B", "A2", "A2")),
    ("Sheet1!$A:$A", None), ("#REF!", None), ('"abc"', None), ("Sheet1!$A$1,Sheet1!$B$2", None),
    ("'a'!$A$1,'a'!$B$1", None), ("[1]Sheet1!$A$1", None), ("SUM(Sheet1!A1:A2)", None), ("Sheet1!$A$0", None),
])
def test_parse_reference(formula, expected):
    assert parse_reference(formula) == expected


def test_library_error_becomes_a_problem():
    """A file that passes the gate but that calamine cannot parse: a Problem, never an exception."""
    base = template()
    with zipfile.ZipFile(io.BytesIO(base)) as src:
        sheet = src.read("xl/worksheets/sheet2.xml")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                broken = sheet[:len(sheet) // 2]                    # XML cut in the middle
                dst.writestr(info.filename, broken if info.filename == "xl/worksheets/sheet2.xml" else src.read(info))
    result = read_workbook(out.getvalue(), "x.xlsx")
    assert result.workbook is None
    assert [p.code for p in result.problems] == ["reader-crashed"]
    assert "XmlError" in result.problems[0].message


# --- worker ------------------------------------------------------------------------------------------------------
def test_a_crashing_file_costs_only_that_file(monkeypatch):
    monkeypatch.setenv(CRASH_ENV, "CRASH-ME")
    items = [(template(INCIDENTS, unit="XOM01"), "XOM01_2025-03.xlsx"),
             (template(INCIDENTS, unit="XOM02"), "XOM02_CRASH-ME.xlsx"),
             (template(INCIDENTS, unit="XOM03"), "XOM03_2025-03.xlsx")]
    first, crashed, third = read_many(items)
    assert first.problems == [] and first.workbook.values["antt_unit_code"] == "XOM01"
    assert third.problems == [] and third.workbook.values["antt_unit_code"] == "XOM03"
    assert crashed.workbook is None
    assert [p.code for p in crashed.problems] == ["reader-crashed"]
    assert crashed.problems[0].location.file == "XOM02_CRASH-ME.xlsx"
    assert "SIGABRT" in crashed.problems[0].message


class UnitCodeTask:
    """A task run in the workers instead of returning the ReadResult: module level, so it can be pickled."""

    def __call__(self, index: int, data: bytes, display: str):
        if "BUG" in display:
            raise KeyError("a bug in the task")
        return index, read_workbook(data, display).workbook.values["antt_unit_code"]


def test_a_task_runs_in_the_workers_and_crashes_still_cost_one_file(monkeypatch):
    monkeypatch.setenv(CRASH_ENV, "CRASH-ME")
    items = [(template(unit="XOM01"), "a.xlsx"), (template(unit="XOM02"), "b_CRASH-ME.xlsx"),
             (template(unit="XOM03"), "c.xlsx")]
    first, crashed, third = read_many(items, task=UnitCodeTask())
    assert first == (0, "XOM01") and third == (2, "XOM03")
    assert crashed.workbook is None and [p.code for p in crashed.problems] == ["reader-crashed"]


def test_a_failing_task_is_a_bug_not_a_bad_file():
    items = [(template(unit="XOM01"), "a.xlsx"), (template(unit="XOM02"), "b_BUG.xlsx")]
    with pytest.raises(RuntimeError, match="a bug in the task"):
        read_many(items, task=UnitCodeTask())


def test_crash_isolation_with_another_thread_running(monkeypatch):
    """With a second thread alive the workers are not forked from this process (forkserver on Linux)."""
    monkeypatch.setenv(CRASH_ENV, "CRASH-ME")
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, daemon=True)
    helper.start()
    try:
        assert worker._context().get_start_method() != "fork"
        results = read_many([(template(unit="XOM01"), "a.xlsx"), (template(), "b_CRASH-ME.xlsx"),
                             (template(unit="XOM03"), "c.xlsx")])
    finally:
        stop.set()
        helper.join()
    assert [[p.code for p in r.problems] for r in results] == [[], ["reader-crashed"], []]
    assert results[2].workbook.values["antt_unit_code"] == "XOM03"


def test_pool_keeps_order_and_isolates_crashes(monkeypatch):
    monkeypatch.setenv(CRASH_ENV, "CRASH-ME")
    monkeypatch.setattr(limits, "POOL_THRESHOLD", 3)
    units = [f"XOM{i:02d}" for i in range(12)]
    crash = {3, 4, 10}
    items = [(template(unit=u), f"{u}_CRASH-ME.xlsx" if i in crash else f"{u}.xlsx") for i, u in enumerate(units)]
    items.append((b"", "rong.xlsx"))
    items.append((b"\0" * (limits.MAX_FILE_BYTES + 1), "qua-lon.xlsx"))      # refused before any worker
    seen = []
    results = read_many(items, progress=lambda done, total: seen.append((done, total)))
    for i, unit in enumerate(units):
        if i in crash:
            assert [p.code for p in results[i].problems] == ["reader-crashed"]
        else:
            assert results[i].problems == [] and results[i].workbook.values["antt_unit_code"] == unit
    assert [p.code for p in results[-2].problems] == ["not-a-workbook"]
    assert [p.code for p in results[-1].problems] == ["too-large"]
    assert seen[-1] == (len(items), len(items)) and [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.skipif(not worker.PREFETCH_BYTES, reason="files are sent ahead only where the pipe holds them (Linux)")
def test_files_sent_ahead_still_cost_one_file_on_a_crash_or_hang(monkeypatch):
    """A worker is sent its next files while it reads (`PREFETCH`): a crash or a hang still costs only the file
    being read, the files queued behind it go to a fresh worker, and every result keeps its place."""
    monkeypatch.setenv(CRASH_ENV, "CRASH-ME")
    monkeypatch.setenv(HANG_ENV, "HANG-ME")
    monkeypatch.setattr(limits, "READ_TIMEOUT_S", 1.5)
    monkeypatch.setattr(limits, "POOL_THRESHOLD", 3)
    queued_before = []
    send = worker._Worker.send

    def counting_send(self, chunk, items):
        queued_before.append(len(self.pending))
        return send(self, chunk, items)
    monkeypatch.setattr(worker._Worker, "send", counting_send)
    units = [f"XOM{i:02d}" for i in range(40)]
    bad = {7: "CRASH-ME", 21: "HANG-ME", 33: "CRASH-ME"}
    items = [(template(unit=u), f"{u}_{bad[i]}.xlsx" if i in bad else f"{u}.xlsx") for i, u in enumerate(units)]
    results = read_many(items)
    assert any(queued_before)                               # some files went to a worker still reading
    for i, unit in enumerate(units):
        if i in bad:
            assert [p.code for p in results[i].problems] == ["reader-crashed"], unit
            assert bad[i] in results[i].problems[0].location.file
        else:
            assert results[i].problems == [] and results[i].workbook.values["antt_unit_code"] == unit


def sheet_xml(cells: bytes) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml'
            b'/2006/main"><sheetData>' + cells + b"</sheetData></worksheet>")


def with_sheet(xml: bytes, part: str = "xl/worksheets/sheet3.xml") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, xml if info.filename == part else src.read(info))
    return out.getvalue()


def test_a_real_native_crash_costs_only_that_file():
    """Duplicate r attributes (calamine keeps the last) slip past the gate's fast path; calamine then aborts on
    a 1,048,576 x 16,384 area. Only the worker dies."""
    hostile = with_sheet(sheet_xml(b'<row r="1"><c r="A1"><v>1</v></c><c r="B1" r="XFD1048576"><v>2</v></c></row>'))
    first, crashed, third = read_many([(template(unit="XOM01"), "a.xlsx"), (hostile, "b.xlsx"),
                                       (template(unit="XOM03"), "c.xlsx")])
    assert [p.code for p in crashed.problems] == ["reader-crashed"]
    assert first.workbook.values["antt_unit_code"] == "XOM01" and third.workbook.values["antt_unit_code"] == "XOM03"


def test_loaded_area_is_checked_exactly():
    """A1 and Z9999 pass the gate's fast path (< 26 x 10,000 is harmless to load) but exceed 200,000 cells."""
    big = with_sheet(sheet_xml(b'<row r="1"><c r="A1"><v>1</v></c></row><row r="9999"><c r="Z9999"><v>2</v></c></row>'))
    result = read_workbook(big, "x.xlsx")
    assert [p.code for p in result.problems] == ["too-large"]
    assert result.problems[0].location.sheet == "Vụ việc"


def test_read_many_of_nothing():
    assert read_many([]) == []


@pytest.mark.soffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not on PATH")
def test_file_resaved_by_libreoffice(tmp_path):
    source = tmp_path / "in" / "XOM01_2025-03.xlsx"
    source.parent.mkdir()
    source.write_bytes(template(INCIDENTS))
    profile = f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}"   # no clash with another soffice
    subprocess.run(["soffice", profile, "--headless", "--convert-to", "xlsx", "--outdir", str(tmp_path / "out"),
                    str(source)], check=True, capture_output=True, timeout=180)
    result = read_workbook((tmp_path / "out" / source.name).read_bytes(), source.name)
    assert [p for p in result.problems if p.is_error] == []
    assert result.workbook.values["antt_unit_code"] == "XOM01"
    assert [r.row for r in result.workbook.register] == [2, 5, 203, 250]


def test_a_hanging_file_costs_only_that_file(monkeypatch):
    """A file still being read after the timeout is refused; its worker is killed and a new one reads the rest."""
    monkeypatch.setenv(HANG_ENV, "HANG-ME")
    monkeypatch.setattr(limits, "READ_TIMEOUT_S", 1.5)
    items = [(template(unit="XOM01"), "XOM01.xlsx"), (template(unit="XOM02"), "XOM02_HANG-ME.xlsx"),
             (template(unit="XOM03"), "XOM03.xlsx"), (template(unit="XOM04"), "XOM04.xlsx")]
    first, hung, third, fourth = read_many(items)
    assert [p.code for p in hung.problems] == ["reader-crashed"] and hung.workbook is None
    assert hung.problems[0].location.file == "XOM02_HANG-ME.xlsx"
    assert "đọc quá 1,5 giây" in hung.problems[0].message
    for result, unit in ((first, "XOM01"), (third, "XOM03"), (fourth, "XOM04")):
        assert result.problems == [] and result.workbook.values["antt_unit_code"] == unit
