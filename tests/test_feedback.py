"""`feedback`: return copies of the units' own stored files, marked up, and the month's reminder text."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from antt_batch import api
from antt_batch.feedback import HEADERS, SHEET, write_feedback
from antt_batch.history import History

PERIOD = "2025-03"
TODAY = date(2025, 4, 10)
ON_TIME = datetime(2025, 4, 1, 8)
BAD_INCIDENT = (datetime(2025, 3, 3), "CHAY_NO", "NGHIEM_TRONG", "Có", None, None, None, None, None)  # BKK, no mo_ta


def digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def stored_of(ws, display: str) -> Path:
    with History(ws.db_path) as h:
        (stored,) = h.conn.execute("SELECT stored FROM ledger WHERE display = ?", (display,)).fetchone()
    return ws.root / stored


def reminder(ws) -> str:
    return (ws.output_dir / PERIOD / "tra-lai" / "nhac-nho.txt").read_text(encoding="utf-8-sig")


def problems_of(ws, display: str) -> list[tuple]:
    with History(ws.db_path) as h:
        return h.conn.execute("SELECT p.code, p.sheet, p.cell, p.message FROM problems p JOIN ledger l ON"
                              " l.id = p.ledger_id WHERE l.display = ? ORDER BY p.seq", (display,)).fetchall()


@pytest.fixture
def month(workspace, make_file):
    """XOM01 sends a file with a text in a number cell and a bad incident row, XOM02 a good one, someone a
    renamed non-Excel file; the enterprise, the school and the commune send nothing."""
    make_file("XOM01", PERIOD, {"so_ho_cu_tru": "mười", "so_ho_dang_ky": 100}, incidents=[BAD_INCIDENT],
              mtime=ON_TIME)
    make_file("XOM02", PERIOD, {"so_ho_cu_tru": 80, "so_ho_dang_ky": 80}, mtime=ON_TIME)
    (workspace.inbox(PERIOD) / "bao-cao.xlsx").write_bytes(b"%PDF-1.4 not a workbook")
    result = api.ingest(workspace, PERIOD, [workspace.inbox(PERIOD)])
    assert {o.display: o.decision for o in result.outcomes} == {
        "XOM01_2025-03.xlsx": "rejected", "XOM02_2025-03.xlsx": "accepted", "bao-cao.xlsx": "rejected"}
    return workspace


def test_return_copy_marks_bad_cells_and_lists_problems(month):
    ws = month
    inbox_before, store_before = digests(ws.inbox(PERIOD)), digests(ws.store_dir)
    paths = write_feedback(ws, PERIOD, today=TODAY)
    folder = ws.output_dir / PERIOD / "tra-lai"
    assert sorted(p.name for p in paths) == ["XOM01_2025-03_tra-lai.xlsx", "nhac-nho.txt"]
    assert digests(ws.inbox(PERIOD)) == inbox_before and digests(ws.store_dir) == store_before

    expected = problems_of(ws, "XOM01_2025-03.xlsx")
    assert {(code, sheet) for code, sheet, _, _ in expected} == {("type-error", "Báo cáo"),
                                                                ("incident-row-error", "Vụ việc")}
    wb = openpyxl.load_workbook(folder / "XOM01_2025-03_tra-lai.xlsx")
    assert wb.sheetnames[0] == SHEET and wb.active.title == SHEET
    sheet = wb[SHEET]
    header_row = next(r for r in range(1, 6) if sheet.cell(r, 1).value == HEADERS[0])
    assert tuple(c.value for c in sheet[header_row][:6]) == HEADERS
    listed = [tuple(c.value for c in row[:6]) for row in sheet.iter_rows(min_row=header_row + 1)]
    assert [(lvl, sh, cell, msg) for lvl, sh, cell, _, msg, _ in listed] == [
        ("Lỗi", sheet_, cell, msg) for _, sheet_, cell, msg in expected]
    assert all(c.font.name == "Times New Roman" for row in sheet.iter_rows() for c in row if c.value)

    for _, sheet_name, cell, message in expected:
        target = wb[sheet_name][cell]
        assert target.fill.fgColor.rgb == "FFFF8080"
        assert message in target.comment.text and "Cách sửa:" in target.comment.text

    original = openpyxl.load_workbook(stored_of(ws, "XOM01_2025-03.xlsx"))
    assert set(wb.defined_names) == set(original.defined_names) and "so_ho_cu_tru" in wb.defined_names
    for name in original.sheetnames:
        assert len(wb[name].data_validations.dataValidation) == len(original[name].data_validations.dataValidation)
        assert set(wb[name].tables) == set(original[name].tables)
    assert "VuViec" in wb["Vụ việc"].tables and wb["Báo cáo"].protection.sheet


def test_reminder_names_missing_late_and_unidentified(month):
    write_feedback(month, PERIOD, today=TODAY)
    text = reminder(month)
    assert "05/04/2025" in text and "đã quá hạn" in text
    assert "Công ty May Phú Đình" in text and "Trường THCS Phú Đình" in text and "DN-MAY_2025-03.xlsx" in text
    assert "Xóm Chùa" not in text                              # its good file came in time
    xom01 = next(m for m in text.split("\n\n") if "Gửi: Xóm Đình" in m)
    assert "XOM01_2025-03_tra-lai.xlsx" in xom01 and "chưa thể tiếp nhận" in xom01 and "mười" in xom01
    assert "chưa nhận được" not in xom01                       # it did send: it has to fix, not to send
    unknown = next(m for m in text.split("\n\n") if "bao-cao.xlsx" in m)
    assert "không phải là tệp Excel" in unknown


def test_before_the_deadline_the_reminder_is_not_overdue(month):
    write_feedback(month, PERIOD, today=date(2025, 4, 2))
    assert "đã quá hạn" not in reminder(month) and "05/04/2025" in reminder(month)


def test_warnings_get_a_copy_and_a_fixed_unit_loses_its_stale_copy(workspace, make_file):
    make_file("XOM01", PERIOD, {"so_ho_cu_tru": "mười"}, mtime=datetime(2025, 4, 1, 8))
    row = (datetime(2025, 3, 2), "TOI_PHAM", "NGHIEM_TRONG", "Không", "Có", "Có", "Có", "VV-1", "Trộm")
    make_file("XOM02", PERIOD, {"trien_khai_day_du": "Không"}, incidents=[row, row],  # warning `duplicate-row`
              mtime=datetime(2025, 4, 1, 8))
    api.ingest(workspace, PERIOD, [workspace.inbox(PERIOD)])
    folder = workspace.output_dir / PERIOD / "tra-lai"
    write_feedback(workspace, PERIOD, today=TODAY)
    assert (folder / "XOM01_2025-03_tra-lai.xlsx").exists()
    wb = openpyxl.load_workbook(folder / "XOM02_2025-03_tra-lai.xlsx")
    levels = [r[0].value for r in wb[SHEET].iter_rows(min_row=5)]
    assert "Cảnh báo" in levels and "Lỗi" not in levels
    (failed,) = [[c.value for c in r[:6]] for r in wb[SHEET].iter_rows(min_row=5) if r[0].value == "Chưa đạt"]
    assert failed[1:4] == ["Báo cáo", wb.defined_names["trien_khai_day_du"].attr_text.split("!")[1].replace("$", ""),
                           "KDC-2"] and "Tiêu chí chưa đạt" in failed[4]
    (_, sheet_name, cell, _), = [p for p in problems_of(workspace, "XOM02_2025-03.xlsx") if p[0] == "duplicate-row"]
    assert wb[sheet_name][cell].fill.fgColor.rgb == "FFFFC000"

    make_file("XOM01", PERIOD, {"so_ho_cu_tru": 90, "so_ho_dang_ky": 90}, name="XOM01_2025-03_sua.xlsx",
              mtime=datetime(2025, 4, 2, 8))
    api.ingest(workspace, PERIOD, [workspace.inbox(PERIOD)])
    paths = write_feedback(workspace, PERIOD, today=TODAY)
    assert not (folder / "XOM01_2025-03_tra-lai.xlsx").exists()
    assert folder / "XOM01_2025-03_tra-lai.xlsx" not in paths
    assert "Gửi: Xóm Đình" not in reminder(workspace)


def test_resent_return_copy_is_marked_afresh(month, tmp_path):
    """A unit that sends the return copy back unfixed gets one `Lỗi cần sửa` sheet, not two."""
    first = write_feedback(month, PERIOD, today=TODAY)[0]
    resent = month.inbox(PERIOD) / "gui-lai" / "XOM01_2025-03_tra-lai.xlsx"
    resent.parent.mkdir()
    resent.write_bytes(first.read_bytes())
    api.ingest(month, PERIOD, [month.inbox(PERIOD)])
    wb = openpyxl.load_workbook(write_feedback(month, PERIOD, today=TODAY)[0])
    assert wb.sheetnames.count(SHEET) == 1 and wb.sheetnames[0] == SHEET
    assert "XOM01_2025-03_tra-lai.xlsx" in wb[SHEET]["A1"].value


def test_empty_workspace_writes_only_the_reminder(workspace):
    paths = write_feedback(workspace, PERIOD, today=TODAY)
    assert [p.name for p in paths] == ["nhac-nho.txt"]
    assert "Xóm Đình" in reminder(workspace) and not workspace.db_path.exists()


def eml(path: Path, sender: str, attachment: Path) -> Path:
    from email.message import EmailMessage
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "congan@example.vn", "Báo cáo ANTT tháng 3"
    msg["Date"] = "Tue, 01 Apr 2025 08:00:00 +0700"
    msg.set_content("Gửi Công an xã báo cáo tháng.")
    path.parent.mkdir(parents=True, exist_ok=True)
    msg.add_attachment(attachment.read_bytes(), "application",
                       "vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=attachment.name)
    path.write_bytes(bytes(msg))
    return path


def test_mail_senders_decide_who_hears_what(workspace, make_file, tmp_path):
    """A mistyped unit code from a registered address is told to that unit; a warning only the operator can settle
    (an unregistered sender) sends nothing back."""
    loose = tmp_path / "loose"
    wrong_code = make_file("XOM02", PERIOD, {"antt_unit_code": "XOM99"}, folder=loose)
    eml(workspace.inbox(PERIOD) / "xom2.eml", "Trưởng xóm <xom2@example.vn>", wrong_code)
    good = make_file("XOM01", PERIOD, {"so_ho_cu_tru": 50, "so_ho_dang_ky": 50}, folder=loose / "b")
    eml(workspace.inbox(PERIOD) / "la.eml", "nguoi.la@example.com", good)
    result = api.ingest(workspace, PERIOD, [workspace.inbox(PERIOD)])
    assert sorted((o.decision, [p.code for p in o.problems]) for o in result.outcomes) == [
        ("accepted", ["sender-mismatch"]), ("rejected", ["unit-unknown"])]
    paths = write_feedback(workspace, PERIOD, today=TODAY)
    assert [p.name for p in paths] == ["nhac-nho.txt"]
    messages = reminder(workspace).split("\n\n")
    (xom02,) = [m for m in messages if "Gửi: Xóm Chùa" in m]
    assert "xom2.eml › XOM02_2025-03.xlsx" in xom02 and "XOM99" in xom02 and "chưa nhận được" in xom02
    assert not [m for m in messages if "người gửi tệp" in m or "Gửi: Xóm Đình" in m]
