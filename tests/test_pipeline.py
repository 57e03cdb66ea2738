"""Intake -> validation -> history through real template files, real SQLite and the real worker process."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest

from antt_batch import api
from antt_batch.history import History


def digest_tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def ledger(ws) -> list[tuple]:
    with History(ws.db_path) as h:
        return h.conn.execute("SELECT display, decision, unit_code, period FROM ledger ORDER BY id").fetchall()


def flat(result) -> list[tuple]:
    return [(p.code, p.location.sheet, p.location.cell, p.location.field)
            for o in result.outcomes for p in o.problems]


def test_good_file_is_accepted_and_inputs_untouched(workspace, make_file, tmp_path):
    make_file("XOM01", "2025-03", {"so_ho_cu_tru": 120, "so_ho_dang_ky": 120, "trien_khai_day_du": "Có"})
    before = digest_tree(workspace.inbox("2025-03"))
    outside_before = sorted(p for p in tmp_path.rglob("*") if workspace.root not in p.parents)
    result = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    assert [(o.display, o.decision) for o in result.outcomes] == [("XOM01_2025-03.xlsx", "accepted")]
    assert digest_tree(workspace.inbox("2025-03")) == before
    assert sorted(p for p in tmp_path.rglob("*") if workspace.root not in p.parents) == outside_before
    with History(workspace.db_path) as h:
        (snap,) = h.snapshots("2025-03")["XOM01"]
    assert snap.fields["so_ho_cu_tru"].value == 120 and snap.fields["trien_khai_day_du"].value is True
    assert snap.fields["so_ho_cu_tru"].evidence.sheet == "Báo cáo"
    stored = list((workspace.root / "store").rglob("*.xlsx"))
    assert len(stored) == 1 and stored[0].read_bytes() == (workspace.inbox("2025-03") / "XOM01_2025-03.xlsx").read_bytes()


def test_a_first_version_database_keeps_its_values_when_migrated(workspace, make_file, monkeypatch):
    """Schema 2 rebuilds `field_values` clustered by its key: an existing database keeps every value."""
    from antt_batch.history import schema
    make_file("XOM01", "2025-03", {"so_ho_cu_tru": 120, "trien_khai_day_du": "Có"})
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
    api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    with History(workspace.db_path) as h:
        assert h.schema_version == 1
        before = h.snapshots("2025-03")
    monkeypatch.undo()
    with History(workspace.db_path) as h:
        assert h.schema_version == len(schema.MIGRATIONS) == 2 and h.snapshots("2025-03") == before
        (sql,) = h.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'field_values'").fetchone()
    assert sql.rstrip().endswith("WITHOUT ROWID") and before["XOM01"][0].fields["so_ho_cu_tru"].value == 120


def test_values_just_stored_are_handed_to_scoring_as_they_would_be_read_back(workspace, make_file):
    """`ingest(stored=...)` keeps the fields it recorded; `snapshots` takes them instead of reading them back, and
    the snapshots are the same either way (a month's earlier file from the database, the new ones from memory)."""
    make_file("XOM01", "2025-02", {"so_ho_cu_tru": 90})
    api.ingest(workspace, "2025-02", [workspace.inbox("2025-02")])
    make_file("XOM01", "2025-03", {"so_ho_cu_tru": 120, "trien_khai_day_du": "Có",
                                   "ngay_dang_ky_phan_dau": datetime(2025, 3, 2)})
    make_file("XOM02", "2025-03", {"so_ho_cu_tru": 75})
    stored: dict = {}
    api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")], stored=stored)
    assert len(stored) == 2
    with History(workspace.db_path) as h:
        read_back = h.snapshots("2025-03")
        partial = dict(list(stored.items())[:1])           # a newer entry missing: everything is read back
        assert h.snapshots("2025-03", partial) == read_back and len(partial) == 1
        assert h.snapshots("2025-03", stored) == read_back and stored == {}
    assert [s.period for s in read_back["XOM01"]] == ["2025-02", "2025-03"]


def test_rerun_is_idempotent(workspace, make_file):
    make_file("XOM01", "2025-03")
    api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    again = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    assert [o.decision for o in again.outcomes] == ["seen"]
    assert len(ledger(workspace)) == 1


def test_resubmission_supersedes_and_keeps_both(workspace, make_file):
    make_file("XOM01", "2025-03", {"so_ho_cu_tru": 100}, mtime=datetime(2025, 4, 2, 8))
    api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    make_file("XOM01", "2025-03", {"so_ho_cu_tru": 101}, name="XOM01_2025-03_sua.xlsx",
              mtime=datetime(2025, 4, 3, 8))
    result = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    (new,) = [o for o in result.outcomes if o.decision != "seen"]
    assert new.decision == "accepted" and new.changed_fields == ["so_ho_cu_tru"]
    assert [row[1] for row in ledger(workspace)] == ["superseded", "accepted"]
    with History(workspace.db_path) as h:
        assert [s.fields["so_ho_cu_tru"].value for s in h.snapshots("2025-03")["XOM01"]] == [101]


def test_identical_bytes_from_another_source_are_a_duplicate(workspace, make_file):
    path = make_file("XOM01", "2025-03")
    copy = workspace.inbox("2025-03") / "gui-lai" / path.name
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    result = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    assert sorted(o.decision for o in result.outcomes) == ["accepted", "duplicate"]
    assert ("duplicate-submission", "", "", "") in flat(result)


def test_period_rules_later_refused_earlier_accepted_with_warning(workspace, make_file):
    make_file("XOM01", "2025-04", folder=workspace.inbox("2025-03"))
    make_file("XOM02", "2025-02", folder=workspace.inbox("2025-03"))
    result = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    decisions = {o.display: (o.decision, [(p.code, p.severity) for p in o.problems]) for o in result.outcomes}
    assert decisions["XOM01_2025-04.xlsx"] == ("rejected", [("period-mismatch", "error")])
    assert decisions["XOM02_2025-02.xlsx"] == ("accepted", [("period-mismatch", "warning")])


def test_locked_year_is_stored_and_flagged(workspace, make_file):
    api.close_year(workspace, "KDC", 2025)
    make_file("XOM01", "2025-03")
    result = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    (outcome,) = result.outcomes
    assert outcome.decision == "locked" and [p.code for p in outcome.problems] == ["period-locked"]
    api.close_year(workspace, "KDC", 2025, reopen_reason="Bổ sung hồ sơ")
    with History(workspace.db_path) as h:
        assert not h.is_locked("KDC", 2025)


def test_unknown_unit_gets_a_suggestion(workspace, make_file):
    make_file("XOM01", "2025-03", {"antt_unit_code": "xom 01"})
    (outcome,) = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")]).outcomes
    (prob,) = outcome.problems
    assert prob.code == "unit-unknown" and "Bạn có ý định «XOM01 – Xóm Đình»?" in prob.message
    assert prob.location.cell and prob.location.field == "antt_unit_code"


def test_field_errors_are_located(workspace, make_file):
    make_file("XOM01", "2025-03", {"so_ho_cu_tru": "mười", "so_ho_dang_ky": -1, "trien_khai_day_du": "Có lẽ",
                                   "ngay_dang_ky_phan_dau": "05/04/2025", "nguoi_bao_cao": None})
    result = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    (outcome,) = result.outcomes
    assert outcome.decision == "rejected"
    codes = {(p.code, p.location.field) for p in outcome.problems}
    assert codes == {("missing-value", "nguoi_bao_cao"), ("type-error", "so_ho_cu_tru"),
                     ("range-error", "so_ho_dang_ky"), ("type-error", "trien_khai_day_du"),
                     ("date-out-of-period", "ngay_dang_ky_phan_dau")}
    assert all(p.location.sheet == "Báo cáo" and p.location.cell for p in outcome.problems)


def test_what_people_type_is_accepted(workspace, make_file):
    make_file("XOM01", "2025-03", {"so_ho_cu_tru": " 120 ", "so_ho_dang_ky": "120", "trien_khai_day_du": "x",
                                   "quan_ly_doi_tuong_hieu_qua": "có", "ngay_dang_ky_phan_dau": 45700,
                                   "ngay_nghi_quyet_chi_bo": "05/03/2025",
                                   "ghi_chu": unicodedata.normalize("NFD", "Xóm Đình")})
    (outcome,) = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")]).outcomes
    assert outcome.decision == "accepted", outcome.problems
    with History(workspace.db_path) as h:
        fields = h.snapshots("2025-03")["XOM01"][0].fields
    assert fields["so_ho_cu_tru"].value == 120 and fields["quan_ly_doi_tuong_hieu_qua"].value is True
    assert fields["ngay_dang_ky_phan_dau"].value.isoformat() == "2025-02-12"
    assert fields["ngay_nghi_quyet_chi_bo"].value.isoformat() == "2025-03-05"
    assert fields["ghi_chu"].value == "Xóm Đình"


def test_cross_field_constraint(workspace, make_file):
    make_file("XOM01", "2025-03", {"so_ho_cu_tru": 100, "so_ho_dang_ky": 120})
    (outcome,) = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")]).outcomes
    assert [(p.code, p.location.field) for p in outcome.problems] == [("constraint-error", "so_ho_dang_ky")]


def test_incident_rows(workspace, make_file):
    rows = [
        (datetime(2025, 3, 2), "TOI_PHAM - Tội phạm", "NGHIEM_TRONG", "Không", "Có", "Có", "Có", "VV-1", "Trộm"),
        (datetime(2025, 3, 3), "CHAY_NO", "NGHIEM_TRONG", "Có", None, None, None, None, None),   # BKK needs mo_ta
        (datetime(2025, 4, 3), "TE_NAN_XA_HOI", None, None, None, None, None, None, "sau tháng"),
        (datetime(2025, 3, 2), "TOI_PHAM", "NGHIEM_TRONG", "Không", "Có", "Có", "Có", "VV-1", "Trộm"),  # repeated
        (datetime(2025, 3, 9), "DINH_CONG", None, None, None, None, None, None, None),  # not a KDC category
        (datetime(2025, 3, 9), "TOI_PHAM", None, None, None, None, None, None, None),   # level required
    ]
    make_file("XOM01", "2025-03", incidents=rows)
    (outcome,) = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")]).outcomes
    got = [(p.code, p.location.field, p.location.row) for p in outcome.problems]
    assert got == [("incident-row-error", "mo_ta", 6), ("date-out-of-period", "ngay", 7),
                   ("duplicate-row", "ngay", 8), ("enum-error", "loai", 9), ("incident-row-error", "muc_do", 10)]
    assert all(p.location.sheet == "Vụ việc" for p in outcome.problems)


def test_validate_writes_nothing(workspace, make_file):
    make_file("XOM01", "2025-03")
    before = digest_tree(workspace.root)
    result = api.validate(workspace, "2025-03", [workspace.inbox("2025-03")])
    assert [o.decision for o in result.outcomes] == ["accepted"]
    assert digest_tree(workspace.root) == before and not workspace.db_path.exists()


CHILD = """
import sys, time
from pathlib import Path
from antt_batch.history import History
h = History(Path(sys.argv[1]))
with h.transaction():
    for i in range(50):
        h.add_entry(source=f"k{i}", display="x.xlsx", sha256=str(i), stored="", sender=None, received=None,
                    run_period="2025-03", unit_code=None, period=None, decision="rejected", problems=[])
    Path(sys.argv[2]).write_text("inside")
    time.sleep(60)
"""


def test_kill_mid_transaction_leaves_previous_state(workspace, make_file, tmp_path):
    make_file("XOM01", "2025-03")
    api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(workspace.db_path), str(marker)])
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    conn = sqlite3.connect(workspace.db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM ledger").fetchone() == (1,)
    conn.close()
    assert [row[1] for row in ledger(workspace)] == ["accepted"]


def test_older_template_version_is_migrated_with_a_warning(workspace, make_file):
    make_file("XOM01", "2025-03", {"antt_template_version": "0"})
    (outcome,) = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")]).outcomes
    assert outcome.decision == "accepted"
    assert [(p.code, p.severity) for p in outcome.problems] == [("template-version", "warning")]


def test_template_of_another_unit_type(workspace, make_file):
    make_file("XOM01", "2025-03", {"antt_unit_type": "CQDN"})
    (outcome,) = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")]).outcomes
    assert [p.code for p in outcome.problems] == ["unit-type-mismatch"]
    assert "KDC" in outcome.problems[0].message


def test_rows_typed_below_the_register_are_read_and_flagged(workspace, make_file):
    rows = [(None,) * 9] * 205 + [(datetime(2025, 3, 9), "TE_NAN_XA_HOI", None, None, None, None, None, None, "x")]
    make_file("XOM01", "2025-03", incidents=rows)
    (outcome,) = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")]).outcomes
    assert outcome.decision == "accepted"
    assert [(p.code, p.location.row) for p in outcome.problems] == [("incident-outside-register", 210)]
    with History(workspace.db_path) as h:
        assert [i.loai for i in h.incidents("2025-03")] == ["TE_NAN_XA_HOI"]


def test_an_input_path_that_cannot_be_read(workspace, tmp_path):
    from antt_batch.intake import collect
    incomings, problems = collect([tmp_path / "da-xoa.xlsx"])
    assert incomings == [] and [p.code for p in problems] == ["unreadable-file"]


def test_annual_report_warns_about_missing_months(workspace, make_file):
    from datetime import date
    make_file("XOM01", "2025-03")
    api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    outcome = api.write_report(workspace, year=2025, today=date(2025, 12, 10))
    import openpyxl
    rows = list(openpyxl.load_workbook(outcome.path, read_only=True)["Lỗi dữ liệu"].iter_rows(values_only=True))
    incomplete = [r for r in rows if r[0] == "incomplete-year"]
    assert any("XOM01" in r[7] and "02/2025" in r[7] and "03/2025" not in r[7] for r in incomplete)


def test_incident_repeated_in_a_later_month_warns_and_counts_once(workspace, make_file):
    row = (datetime(2025, 2, 10), "TOI_PHAM", "NGHIEM_TRONG", "Không", None, None, None, "VV-7", "Cướp")
    make_file("XOM01", "2025-02", incidents=[row])
    api.ingest(workspace, "2025-02", [workspace.inbox("2025-02")])
    make_file("XOM01", "2025-03", incidents=[row])
    (outcome,) = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")]).outcomes
    assert outcome.decision == "accepted"
    (warning,) = outcome.problems
    assert warning.code == "duplicate-row" and "XOM01_2025-02.xlsx" in warning.message
    from datetime import date
    result = api.write_report(workspace, period="2025-03", today=date(2025, 4, 10)).score
    xom01 = next(u for u in result.units if u.unit.code == "XOM01")
    assert xom01.results["KDC-4.b"].code == "KHONG_DAT" and len(xom01.results["KDC-4.b"].evidence) == 2


def test_a_rejected_file_is_taken_once_its_cause_is_fixed(workspace, make_file):
    """Same bytes, same place: rejected while the unit was unknown, accepted after antt.toml learns the unit."""
    make_file("XOM02", "2025-03")
    config = workspace.config_path
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('code = "XOM02"', 'code = "XOM20"'), encoding="utf-8")
    ws = api.open_workspace(workspace.root)
    (first,) = api.ingest(ws, "2025-03", [ws.inbox("2025-03")]).outcomes
    assert first.decision == "rejected"
    assert [o.decision for o in api.ingest(ws, "2025-03", [ws.inbox("2025-03")]).outcomes] == ["seen"]
    config.write_text(text, encoding="utf-8")
    ws = api.open_workspace(workspace.root)
    (again,) = api.ingest(ws, "2025-03", [ws.inbox("2025-03")]).outcomes
    assert again.decision == "accepted"
    assert [row[1] for row in ledger(ws)] == ["accepted"]


def test_same_name_in_another_month_folder_is_a_new_source(workspace, make_file):
    make_file("XOM01", "2025-03", folder=workspace.inbox("2025-02"))       # sent too early: refused
    assert [o.decision for o in api.ingest(workspace, "2025-02", [workspace.inbox("2025-02")]).outcomes] == [
        "rejected"]
    moved = workspace.inbox("2025-03") / "XOM01_2025-03.xlsx"
    moved.parent.mkdir(parents=True)
    moved.write_bytes((workspace.inbox("2025-02") / "XOM01_2025-03.xlsx").read_bytes())
    (outcome,) = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")]).outcomes
    assert outcome.decision == "accepted"


def test_files_the_workers_could_not_read_are_still_stored(workspace, make_file, monkeypatch):
    """A crash in a reader worker, and a file too big to send to one, cost those files only; their bytes are
    still kept in the store (the ledger points at them) while every other file is taken."""
    from antt_batch import limits
    from antt_batch.worker import CRASH_ENV
    good = make_file("XOM01", "2025-03")
    crashing = make_file("XOM02", "2025-03", name="XOM02_CRASH-ME.xlsx")
    big = workspace.inbox("2025-03") / "XOM03_2025-03.xlsx"
    limit = max(good.stat().st_size, crashing.stat().st_size) + 1000
    big.write_bytes(b"PK\x03\x04" + b"\0" * limit)
    monkeypatch.setenv(CRASH_ENV, "CRASH-ME")
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", limit)   # the config value, not a mock: only the big file is over
    result = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    by_file = {o.display: o for o in result.outcomes}
    assert by_file[good.name].decision == "accepted"
    assert [p.code for p in by_file[crashing.name].problems] == ["reader-crashed"]
    assert [p.code for p in by_file[big.name].problems] == ["too-large"]
    with History(workspace.db_path) as h:
        stored = dict(h.conn.execute("SELECT display, stored FROM ledger"))
    for path in (good, crashing, big):
        assert (workspace.root / stored[path.name]).read_bytes() == path.read_bytes()


def test_many_files_through_a_small_read_backlog(workspace, make_file, monkeypatch):
    """Finding files waits for the workers when too many bytes are in flight; nothing is lost or reordered."""
    from antt_batch import limits
    paths = [make_file(code, "2025-03", mtime=datetime(2025, 4, 2, 8)) for code in ("XOM01", "XOM02", "DN-MAY")]
    paths.append(make_file("XOM01", "2025-03", {"so_ho_cu_tru": 99}, name="XOM01_2025-03_lan2.xlsx",
                           mtime=datetime(2025, 4, 9, 8)))
    monkeypatch.setattr(limits, "READ_BACKLOG_BYTES", 1)   # every submit waits for the file before
    api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    assert sorted(row[:2] for row in ledger(workspace)) == sorted(
        [(p.name, "accepted") for p in paths[1:]] + [(paths[0].name, "superseded")])   # decided in received order
    with History(workspace.db_path) as h:
        assert [s.fields["so_ho_cu_tru"].value for s in h.snapshots("2025-03")["XOM01"]] == [99]


def test_stored_values_round_trip():
    """Every kind of value a field holds comes back from the database exactly (the decoder has fast paths)."""
    from datetime import date

    from antt_batch.history import _decode, _encode
    values = ["Có", "CO_TO_CHUC", "", 'nói "rõ"', "C:\\thư mục", "²", "12", "Đ\nhai dòng", "tab\tx", "del\x7f",
              "dòng\u2028mới", "🙂 Phú Đình", 0, 7, 120, -3, 10**20, 2.5, True, False, None, date(2025, 3, 31)]
    for value in values:
        back = _decode(_encode(value))
        assert back == value and type(back) is type(value), value
        if not isinstance(value, date):                    # the encoder's fast paths write what json.dumps writes
            assert _encode(value) == json.dumps(value, ensure_ascii=False), value
    assert _decode(_encode(datetime(2025, 3, 31, 9, 30))) == date(2025, 3, 31)


def test_a_crash_while_the_backlog_is_full(workspace, make_file, monkeypatch):
    """The worker dies while finding files waits for it: a new worker takes the rest, nothing is lost."""
    from antt_batch import limits
    from antt_batch.worker import CRASH_ENV
    paths = [make_file("XOM01", "2025-03"), make_file("XOM02", "2025-03", name="XOM02_CRASH-ME.xlsx"),
             make_file("DN-MAY", "2025-03")]
    monkeypatch.setenv(CRASH_ENV, "CRASH-ME")
    monkeypatch.setattr(limits, "READ_BACKLOG_BYTES", 1)
    result = api.ingest(workspace, "2025-03", [workspace.inbox("2025-03")])
    by_file = {o.display: o for o in result.outcomes}
    assert [by_file[p.name].decision for p in paths] == ["accepted", "rejected", "accepted"]
    assert [p.code for p in by_file[paths[1].name].problems] == ["reader-crashed"]


def test_the_store_keeps_a_complete_copy_and_mends_a_cut_one(tmp_path):
    """Copies are created in place; one cut short (a crash mid-write) has the wrong size and is replaced."""
    from antt_batch.pipeline import _store, _stored_name
    data = os.urandom(5000)
    sha = hashlib.sha256(data).hexdigest()
    target = tmp_path / _stored_name(sha, "XOM01_2025-03.xlsx")
    _store(tmp_path, sha, "XOM01_2025-03.xlsx", data)
    assert target.read_bytes() == data and target.name == f"{sha}.xlsx"
    inode = target.stat().st_ino
    _store(tmp_path, sha, "other name.XLSX", data)                  # the same bytes again: left as they are
    assert target.stat().st_ino == inode
    target.write_bytes(data[:1200])
    _store(tmp_path, sha, "XOM01_2025-03.xlsx", data)
    assert target.read_bytes() == data
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]     # no temporary file left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heap")
def test_a_big_ingest_gives_the_heap_back(monkeypatch):
    """The files' bytes go through this process and leave the C heap full of holes; after a big ingest they are
    given back to the system (measured as this process's resident size), so the forked workbook writer is smaller."""
    from antt_batch.pipeline import _release_heap

    def resident() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    files, keep = [], []
    for i in range(12_000):                     # like 12,000 files of 14 KB, with small objects kept in between
        files.append(os.urandom(14_000))
        keep.append(bytearray(600))
    files.clear()
    before = resident()
    _release_heap()
    assert before - resident() > 100 * 2**20
