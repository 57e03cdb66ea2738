"""The command line over real workspaces: help texts, exit codes, the monthly run and its outputs."""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest
from click.testing import CliRunner

from antt_batch.cli import cli

COMMANDS = ["init", "templates", "ingest", "validate", "run", "report", "close-year", "rollup", "feedback", "backup"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_main_help_lists_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "An toàn về an ninh, trật tự" in result.output
    for command in COMMANDS:
        assert command in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_vietnamese_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and len(result.output.splitlines()) > 3


def test_missing_config_exits_2_with_a_vietnamese_message(tmp_path):
    result = invoke("-w", tmp_path, "templates", "--period", "2025-03")
    assert result.exit_code == 2
    assert "antt-batch init" in result.output


def test_bad_period_is_a_usage_error(workspace):
    result = invoke("-w", workspace.root, "run", "--period", "2025-13")
    assert result.exit_code == 2 and "YYYY-MM" in result.output


def test_init_then_templates(tmp_path):
    assert invoke("init", tmp_path / "moi").exit_code == 0
    assert (tmp_path / "moi" / "antt.toml").exists()
    result = invoke("-w", tmp_path / "moi", "templates", "--period", "2025-03", "--out", tmp_path / "t")
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["CAN-DIEN-MA-XA_2025-03.xlsx", "XOM01_2025-03.xlsx"]


def test_run_writes_the_workbook_and_next_month_kit(workspace, make_file):
    make_file("XOM01", "2025-03", {"ngay_dang_ky_phan_dau": datetime(2025, 2, 1)}, mtime=datetime(2025, 4, 2))
    (workspace.inbox("2025-03") / "hong.xlsx").write_bytes(b"")
    result = invoke("-w", workspace.root, "run", "--period", "2025-03", "--today", "2025-04-10")
    assert result.exit_code == 0, result.output
    assert "hong.xlsx" in result.output and "1 chấp nhận, 1 từ chối" in result.output
    path = workspace.root / "output" / "2025-03" / "BaoCao_ANTT_PHUDINH_2025-03.xlsx"
    wb = openpyxl.load_workbook(path, read_only=True)
    assert "data" in wb.sheetnames and "manifest" in wb.sheetnames
    errors = [row for row in wb["Lỗi dữ liệu"].iter_rows(values_only=True) if "not-a-workbook" in row]
    assert errors and errors[0][2] == "hong.xlsx"
    assert (workspace.root / "templates" / "2025-04" / "XOM01_2025-04.xlsx").exists()
    drafts = sorted(p.name for p in (path.parent / "thu-nhap").iterdir())
    assert "gui-cap-tren_2025-03.eml" in drafts and "nhac-nop_XOM02_2025-03.eml" in drafts
    again = invoke("-w", workspace.root, "run", "--period", "2025-03", "--today", "2025-04-10", "--no-templates")
    assert again.exit_code == 0 and "2 đã xử lý trước đây" in again.output


def test_validate_prints_decisions_without_writing(workspace, make_file):
    make_file("XOM01", "2025-03", {"so_ho_cu_tru": "nhiều"})
    result = invoke("-w", workspace.root, "validate", "--period", "2025-03")
    assert result.exit_code == 0
    assert "TỪ CHỐI" in result.output and "type-error" in result.output
    assert not workspace.db_path.exists()


def test_unexpected_failure_is_logged_and_exits_1(workspace, make_file):
    make_file("XOM01", "2025-03")
    invoke("-w", workspace.root, "ingest", "--period", "2025-03", workspace.inbox("2025-03"))
    workspace.db_path.write_bytes(b"this is not a database")  # a corrupted history file
    for suffix in ("-wal", "-shm"):
        workspace.db_path.with_name(workspace.db_path.name + suffix).unlink(missing_ok=True)
    result = CliRunner().invoke(cli, ["-w", str(workspace.root), "report", "--period", "2025-03"])
    assert result.exit_code == 1
    assert "Lỗi không mong muốn" in result.output and "Traceback" not in result.output
    assert "Traceback" in (workspace.root / "logs" / "antt-batch.log").read_text(encoding="utf-8")


def test_backup_holds_database_and_store(workspace, make_file, tmp_path):
    import zipfile
    make_file("XOM01", "2025-03")
    invoke("-w", workspace.root, "ingest", "--period", "2025-03", workspace.inbox("2025-03"))
    result = invoke("-w", workspace.root, "backup", "--out", tmp_path / "b.zip")
    assert result.exit_code == 0
    names = zipfile.ZipFile(tmp_path / "b.zip").namelist()
    assert "antt.sqlite" in names and "antt.toml" in names and any(n.startswith("store/") for n in names)


def test_kill_during_report_write_keeps_last_workbook(workspace, make_file):
    """SIGKILL at several moments of `report`: the target is always a complete workbook, never a half file."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import zipfile
    make_file("XOM01", "2025-03")
    assert invoke("-w", workspace.root, "run", "--period", "2025-03", "--today", "2025-04-10",
                  "--no-templates").exit_code == 0
    target = workspace.root / "output" / "2025-03" / "BaoCao_ANTT_PHUDINH_2025-03.xlsx"
    for delay in (0.3, 0.6, 0.9):
        child = subprocess.Popen([sys.executable, "-m", "antt_batch", "-w", str(workspace.root), "report",
                                  "--period", "2025-03", "--today", "2025-04-10"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        for temp in target.parent.glob(".*.tmp.xlsx"):   # as if the killed run had been long ago
            os.utime(temp, (time.time() - 7200, time.time() - 7200))
        with zipfile.ZipFile(target) as zf:
            assert zf.testzip() is None and "xl/workbook.xml" in zf.namelist()
        assert openpyxl.load_workbook(target, read_only=True).sheetnames[-1] == "manifest"
    assert invoke("-w", workspace.root, "report", "--period", "2025-03", "--today", "2025-04-10").exit_code == 0
    leftovers = [p.name for p in target.parent.iterdir() if p.name != target.name and p.suffix == ".xlsx"]
    assert leftovers == []   # the next successful write sweeps temp files a killed run left behind


def test_entry_point_exits_quickly_with_everything_written(workspace, make_file):
    """The real entry point (a fresh process) skips the interpreter's teardown: its output, workbook and database
    must still be complete, and its exit codes the CLI's."""
    import sqlite3
    import subprocess
    import sys
    make_file("XOM01", "2025-03")
    command = [sys.executable, "-m", "antt_batch", "-w", str(workspace.root), "run", "--period", "2025-03",
               "--today", "2025-04-10", "--no-templates"]
    done = subprocess.run(command, capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("Báo cáo: ")      # the summary is all there
    target = workspace.root / "output" / "2025-03" / "BaoCao_ANTT_PHUDINH_2025-03.xlsx"
    assert openpyxl.load_workbook(target, read_only=True).sheetnames[-1] == "manifest"
    assert not list(workspace.root.glob("antt.sqlite-*"))        # the database was closed (WAL checkpointed)
    with sqlite3.connect(workspace.root / "antt.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    bad = subprocess.run(command[:7] + ["2025-13"], capture_output=True, text=True, encoding="utf-8")
    assert bad.returncode == 2 and "kỳ phải có dạng YYYY-MM" in bad.stderr
