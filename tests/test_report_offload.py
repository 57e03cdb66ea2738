"""A big workbook's `data` and list cells written by a forked child: the same bytes as in one process, and failures
surface."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest

import antt_batch.worker as worker
from antt_batch.report import offload, packing
from antt_batch.report.book import STREAM_ABOVE_ROWS, add_sheet, write_workbook
from antt_batch.report.sheets import Column, DataSheet, ListSheet, offload_cells
from antt_batch.report.styles import write_text

HEADER = ["unit_code", "unit_name", "unit_type", "as_of", "score_pct", "KDC-1.1", "KDC-1.2"]
ROWS = [[f"XOM{i:03d}", f"Xóm {i} – Phú Đình", "KDC", date(2025, 3, 31), 87.5 + i % 3, "DAT", None if i % 4 else "KHONG_DAT"]
        for i in range(400)]


def _children() -> set[str]:
    return {pid for task in os.listdir("/proc/self/task")
            for pid in open(f"/proc/self/task/{task}/children").read().split()}


LIST_COLUMNS = [Column("Mã đơn vị", 12), Column("Ngày", 11, "date"), Column("Kết quả", 12, "result"),
                Column("Lý do", 20, span=2)]
LIST_ROWS = [[f"XOM{i:03d}", date(2025, 3, 1 + i % 28), "KHONG_DAT" if i % 3 else "DAT",
              "Không nộp báo cáo đúng hạn, thiếu số liệu vụ việc" * (1 + i % 2)] for i in range(300)]


def _book(path: Path, rows, fail_in_build: bool = False):
    def build(wb, st):
        data = DataSheet(st, HEADER, rows, "caption")
        failed = ListSheet(st, "Tiêu chí không đạt", "TIÊU CHÍ KHÔNG ĐẠT", "Xã Phú Đình", LIST_COLUMNS, LIST_ROWS,
                           "caption")
        empty = ListSheet(st, "Nhật ký", "NHẬT KÝ", "Xã Phú Đình", LIST_COLUMNS, [], "caption", "Xem báo cáo tháng.",
                          table_when_empty=False)
        child = offload_cells(wb, st, [data, failed, empty])
        sheet = wb.add_worksheet("Tổng hợp")
        write_text(sheet, 0, 0, "Báo cáo", st.get(bold=True, font_size=14))
        if fail_in_build:
            raise ValueError("a bug while building")
        failed.place(wb, child)
        empty.place(wb, child)
        data.place(wb, child)
    return write_workbook(path, build, created=datetime(2025, 4, 10, 8, 0), title="t", rows=STREAM_ABOVE_ROWS + 1)


@pytest.fixture
def packed(monkeypatch):
    """Names of the zip members put together from rows a child deflated (`packing`)."""
    names = []
    real = packing.PackingZip._write_pieces

    def spy(zf, filename, arcname, rows):
        names.append(arcname)
        return real(zf, filename, arcname, rows)
    monkeypatch.setattr(packing.PackingZip, "_write_pieces", spy)
    return names


@pytest.fixture
def forks(monkeypatch):
    """The children `offload.start` forked in this test (asserting a test really used the offloaded path). The
    tests fork even if another test left an idle library thread behind (openpyxl imports numpy, whose OpenBLAS
    starts one): `single_threaded` is what production checks, not what these tests are about."""
    monkeypatch.setattr(worker, "single_threaded", lambda: True)
    started = []
    real = offload.start

    def spy(*args):
        child = real(*args)
        started.append(child)
        return child
    monkeypatch.setattr(offload, "start", spy)
    return started


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="forking is used on Linux only")
def test_same_bytes_as_in_one_process(tmp_path, monkeypatch, forks, packed):
    """The child's sheets go into the zip as it deflated them: each member still inflates (CRC checked) to the
    bytes xlsxwriter writes in one process."""
    _book(tmp_path / "forked.xlsx", ROWS)
    assert forks and forks[0] is not None
    assert packed == [f"xl/worksheets/sheet{n}.xml" for n in (2, 3, 4)]
    assert not list(tmp_path.glob("**/*.z"))
    import xlsxwriter.workbook
    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile            # xlsxwriter's own again once closed
    monkeypatch.setattr(worker, "single_threaded", lambda: False)       # the same workbook, written in one process
    _book(tmp_path / "here.xlsx", ROWS)
    assert forks[1] is None
    with zipfile.ZipFile(tmp_path / "forked.xlsx") as a, zipfile.ZipFile(tmp_path / "here.xlsx") as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
        failed, empty, data = (a.read(f"xl/worksheets/sheet{n}.xml").decode() for n in (2, 3, 4))
    assert 'ref="A1:G401"' in data and "Xóm 399 – Phú Đình" in data and "45747" in data   # rows, extent, dates
    assert 'ref="A1:E304"' in failed and '<mergeCell ref="D304:E304"/>' in failed and 'customHeight="1"' in failed
    assert '<mergeCells count="3"><mergeCell ref="A1:D1"/>' in empty and "Xem báo cáo tháng." in empty
    assert not list(tmp_path.glob(".*tmp*"))


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="forking is used on Linux only")
def test_a_failing_child_fails_the_workbook(tmp_path, forks):
    before = _children()
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"last month")
    with pytest.raises(RuntimeError, match="TypeError"):               # NaN: write_number refuses it
        _book(target, [*ROWS, ["XOM999", "x", "KDC", None, float("nan"), None, None]])
    assert forks and forks[0] is not None
    assert target.read_bytes() == b"last month" and _children() == before


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="forking is used on Linux only")
def test_a_failure_here_stops_the_child(tmp_path, forks):
    before = _children()
    with pytest.raises(ValueError, match="a bug while building"):
        _book(tmp_path / "out.xlsx", ROWS * 50, fail_in_build=True)
    assert forks and forks[0] is not None
    assert not (tmp_path / "out.xlsx").exists() and _children() == before


def test_a_second_workbook_is_written_like_the_first(tmp_path, monkeypatch):
    """xlsxwriter writes into the default-format options it is given: each workbook must get its own."""
    monkeypatch.setattr(worker, "single_threaded", lambda: False)
    _book(tmp_path / "first.xlsx", ROWS[:5])
    _book(tmp_path / "second.xlsx", ROWS[:5])
    with zipfile.ZipFile(tmp_path / "first.xlsx") as a, zipfile.ZipFile(tmp_path / "second.xlsx") as b:
        assert [a.read(n) for n in a.namelist()] == [b.read(n) for n in b.namelist()]
        assert '<font><sz val="11"/><color theme="1"/><name val="Times New Roman"/><family val="2"/></font>' in (
            a.read("xl/styles.xml").decode())       # the default font: no theme scheme, as xlsxwriter means it


def test_no_fork_no_harm(tmp_path, monkeypatch, forks):
    """Where a process cannot be forked (limits, a sandbox) the cells are written here, the workbook the same."""
    def refuse():
        raise OSError(11, "Resource temporarily unavailable")
    monkeypatch.setattr(os, "fork", refuse)
    _book(tmp_path / "here.xlsx", ROWS[:50])
    assert forks == [None]
    with zipfile.ZipFile(tmp_path / "here.xlsx") as book:
        assert 'ref="A1:G51"' in book.read("xl/worksheets/sheet4.xml").decode()


class _NewFormat:
    """A sheet whose cells use a format made only when they are written: in the child it would be unknown here."""

    name = "x"

    def __init__(self, st):
        self.st = st

    def cells(self, ws) -> None:
        write_text(ws, 0, 0, "x", self.st.get(font_size=20))


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="forking is used on Linux only")
def test_a_format_first_used_in_the_child_fails_loudly(tmp_path, forks):
    def build(wb, st):
        sheet = _NewFormat(st)
        child = offload_cells(wb, st, [sheet])
        offload.adopt(child, add_sheet(wb, sheet.name), lambda ws, result: None)
    with pytest.raises(RuntimeError, match="first used in the child"):
        write_workbook(tmp_path / "out.xlsx", build, created=datetime(2025, 4, 10), title="t",
                       rows=STREAM_ABOVE_ROWS + 1)
    assert forks and forks[0] is not None and not (tmp_path / "out.xlsx").exists()


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="forking is used on Linux only")
def test_commune_workbook_scored_while_its_first_sheets_are_written(catalog, tmp_path, monkeypatch, forks):
    """`write_report` with a `scorer`: `Tiến độ nộp` and `Nhật ký` go to a child forked before the score exists,
    the rest to a second one; the workbook is byte for byte the one written in one process from the scored input."""
    from dataclasses import replace

    import antt_batch.report.book as book
    from antt_batch.report import write_report
    from test_report import make_input
    monkeypatch.setattr(book, "STREAM_ABOVE_ROWS", 1)
    scored = make_input(catalog)
    calls = []

    def scorer():
        calls.append(len(forks))                    # the early child is already writing
        return scored.score
    settled = []
    settle = offload.settle

    def checked_settle(child):
        settle(child)                               # it has exited, not yet reaped: a zombie until `join`
        if child is not None:
            settled.append(open(f"/proc/{child.pid}/stat").read().rsplit(")", 1)[1].split()[0])
    monkeypatch.setattr(offload, "settle", checked_settle)
    write_report(replace(scored, score=None, units=[scored.score.commune.unit, *(r.unit for r in scored.score.units)]),
                 catalog, tmp_path / "forked.xlsx", scorer=scorer)
    assert calls == [1] and len(forks) == 2 and None not in forks and settled == ["Z"]
    monkeypatch.setattr(worker, "single_threaded", lambda: False)
    write_report(scored, catalog, tmp_path / "here.xlsx")
    assert forks[2:] == [None, None]
    with zipfile.ZipFile(tmp_path / "forked.xlsx") as a, zipfile.ZipFile(tmp_path / "here.xlsx") as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
        progress = a.read("xl/worksheets/sheet7.xml").decode()
    assert "Công ty May Phú Đình" in progress and "<rowBreaks" in progress and "<autoFilter" in progress


@pytest.mark.soffice
@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="forking is used on Linux only")
def test_libreoffice_reads_the_rows_deflated_in_pieces(tmp_path, forks, packed):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not on PATH")
    _book(tmp_path / "forked.xlsx", ROWS)
    assert "xl/worksheets/sheet4.xml" in packed
    env = {**os.environ, "HOME": str(tmp_path)}   # a private LibreOffice profile, so parallel runs never clash
    every_sheet = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    subprocess.run([soffice, "--headless", "--convert-to", every_sheet, "--outdir", str(tmp_path / "csv"),
                    str(tmp_path / "forked.xlsx")], check=True, capture_output=True, timeout=240, env=env)
    data = (tmp_path / "csv" / "forked-data.csv").read_text(encoding="utf-8").splitlines()
    assert len(data) == 401 and data[-1].startswith("XOM399,Xóm 399 – Phú Đình,KDC,")
