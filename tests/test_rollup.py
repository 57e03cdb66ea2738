"""`rollup` over real commune workbooks written by `write_report`: shape, re-parenting, hashes, every error code."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from antt_batch.report import write_report
from antt_batch.report.data import combined_sha256, data_sha256
from antt_batch.rollup import rollup
from antt_batch.catalog import load_catalog
from test_report import SHEETS, make_input

NOW = datetime(2025, 7, 10, 9, 0)


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


def commune(catalog, folder: Path, code: str, **kw) -> Path:
    path = folder / f"BaoCao_ANTT_{code}_{kw.get('period', '2025-06')}.xlsx"
    return write_report(make_input(catalog, code=code, name=f"xã {code}", **kw), catalog, path).path


def sheet(path: Path, name: str) -> list[list]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()
    return [[None if v == "" else v for v in row] for row in rows]


def manifest(path: Path) -> dict:
    return {row[0]: row[1] for row in sheet(path, "manifest")[1:]}


@pytest.fixture
def communes(catalog, tmp_path) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    return [commune(catalog, folder, code) for code in ("X3", "X1", "X2")]


def test_rollup_of_three_communes_round_trips(catalog, communes, tmp_path):
    out = tmp_path / "T1.xlsx"
    result = rollup([communes[0].parent], "T1", "tỉnh Một", out, catalog, generated_at=NOW)
    assert result.path == out and not result.locked and result.problems == []
    assert len(result.accepted) == 3 and result.rejected == []
    assert CalamineWorkbook.from_path(str(out)).sheet_names == SHEETS
    data = sheet(out, "data")
    header, rows = data[0], data[1:]
    assert rows[0][:6] == ["T1", "tỉnh Một", "CAP_TREN", None, 2025, date(2025, 6, 30)]
    assert all(v is None for v in rows[0][6:])
    children = [sheet(p, "data") for p in sorted(communes)]
    expected = []
    for child in children:
        top, *beneath = child[1:]
        expected += [[*top[:3], "T1", *top[4:]], *beneath]
    assert rows[1:] == expected                              # X1, X2, X3: top rows re-parented, the rest unchanged
    assert len(rows) == result.rows == 1 + 3 * 6
    values = manifest(out)
    assert values["data_sha256"] == data_sha256(header, rows)
    assert values["commune_code"] == "T1" and values["commune_name"] == "tỉnh Một" and values["period"] == "2025-06"
    assert values["input_sha256"] == combined_sha256(manifest(p)["data_sha256"] for p in sorted(communes))
    assert values["generated_at"] == NOW and values["catalog_version"] == catalog.version


def test_rollup_of_rollups(catalog, communes, tmp_path):
    first = rollup(communes[1:], "T1", "tỉnh Một", tmp_path / "T1.xlsx", catalog).path
    second = rollup(communes[:1], "T2", "tỉnh Hai", tmp_path / "T2.xlsx", catalog).path
    nation = rollup([first, second], "VN", "Toàn quốc", tmp_path / "VN.xlsx", catalog)
    assert nation.problems == []
    rows = sheet(nation.path, "data")[1:]
    assert [(r[0], r[2], r[3]) for r in rows if r[2] in ("CAP_TREN", "XA")] == [
        ("VN", "CAP_TREN", None), ("T1", "CAP_TREN", "VN"), ("X1", "XA", "T1"), ("X2", "XA", "T1"),
        ("T2", "CAP_TREN", "VN"), ("X3", "XA", "T2")]
    assert len(rows) == 1 + 2 + 3 * 6
    summary = [v for row in sheet(nation.path, "Tổng hợp") for v in row if v is not None]
    assert "tỉnh Một" in summary and "2/2 xã đạt" not in summary and "0/2 xã đạt" in summary
    assert manifest(nation.path)["data_sha256"] == data_sha256(sheet(nation.path, "data")[0], rows)


def test_tampered_input_is_left_out(catalog, communes, tmp_path):
    workbook = openpyxl.load_workbook(communes[0])
    workbook["data"]["I3"] = "DAT"                          # a xóm's verdict edited by hand
    workbook.save(communes[0])
    result = rollup(communes, "T1", "tỉnh Một", tmp_path / "T1.xlsx", catalog)
    assert [p.code for p in result.problems] == ["rollup-tampered"]
    assert result.problems[0].location.file == communes[0].name and result.rejected == [communes[0]]
    errors = sheet(result.path, "Lỗi dữ liệu")
    assert errors[4][:3] == ["rollup-tampered", "Lỗi", communes[0].name]
    assert "X3" not in {r[0] for r in sheet(result.path, "data")[1:]}


def test_duplicate_commune_is_left_out(catalog, communes, tmp_path):
    copy = communes[0].with_name("copy_of_X3.xlsx")
    shutil.copy(communes[0], copy)
    result = rollup([*communes, copy], "T1", "tỉnh Một", tmp_path / "T1.xlsx", catalog)
    assert [(p.code, p.location.file) for p in result.problems] == [("rollup-duplicate", copy.name)]
    assert "«X3»" in result.problems[0].message and "«T1»" in result.problems[0].message
    assert len(result.accepted) == 3


def test_catalog_mismatch_is_left_out(catalog, communes, tmp_path):
    old = communes[0].parent / "BaoCao_ANTT_X9_2025-06.xlsx"
    write_report(replace(make_input(catalog, code="X9"), catalog_version="2024.9"), catalog, old)
    result = rollup([*communes, old], "T1", "tỉnh Một", tmp_path / "T1.xlsx", catalog)
    assert [(p.code, p.location.file) for p in result.problems] == [("rollup-catalog-mismatch", old.name)]
    assert "2024.9" in result.problems[0].message


def test_period_mismatch_is_left_out(catalog, communes, tmp_path):
    may = commune(catalog, tmp_path, "X9", period="2025-05")
    result = rollup([*communes, may], "T1", "tỉnh Một", tmp_path / "T1.xlsx", catalog)
    assert [(p.code, p.location.file) for p in result.problems] == [("rollup-period-mismatch", may.name)]
    assert manifest(result.path)["period"] == "2025-06"


def test_files_that_are_not_reports(catalog, communes, tmp_path):
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip")
    other = tmp_path / "other.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "=1+1"
    workbook.save(other)
    result = rollup([*communes, fake, other], "T1", "tỉnh Một", tmp_path / "T1.xlsx", catalog)
    assert sorted((p.code, p.location.file) for p in result.problems) == [
        ("not-a-workbook", "fake.xlsx"), ("unknown-template", "other.xlsx")]
    ledger = sheet(result.path, "Nhật ký")
    assert sorted(r[4] for r in ledger[4:]) == ["Chấp nhận"] * 3 + ["Từ chối"] * 2


def test_nothing_usable_writes_nothing(catalog, tmp_path):
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"")
    result = rollup([fake], "T1", "tỉnh Một", tmp_path / "T1.xlsx", catalog)
    assert result.path is None and [p.code for p in result.problems] == ["not-a-workbook"]
    assert not (tmp_path / "T1.xlsx").exists()


def test_output_in_input_folder_is_not_read_back(catalog, communes):
    folder = communes[0].parent
    out = folder / "BaoCao_ANTT_T1_2025-06.xlsx"
    assert rollup([folder], "T1", "tỉnh Một", out, catalog).problems == []
    again = rollup([folder], "T1", "tỉnh Một", out, catalog)
    assert again.problems == [] and len(again.accepted) == 3


def test_default_output_path(catalog, communes, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = rollup(communes, "T1", "tỉnh Một", None, catalog)
    assert result.path == Path("output/2025-06/BaoCao_ANTT_T1_2025-06.xlsx") and result.path.exists()


def test_locked_output_is_written_beside_it(catalog, communes, tmp_path):
    target = tmp_path / "T1.xlsx"
    target.write_bytes(b"open in Excel")
    if subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i (an immutable file stands in for a file locked by Excel) is not available here")
    try:
        result = rollup(communes, "T1", "tỉnh Một", target, catalog)
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)
    assert result.locked and result.path != target and result.path.exists()
    assert [p.code for p in result.problems] == ["output-locked"] and result.path.name in result.problems[0].message


def test_huge_rollup_matrices_list_only_units_that_did_not_pass(catalog, communes, tmp_path, monkeypatch):
    """Above MATRIX_MAX_ROWS units of a type, the matrix keeps CHUA_DAT / THIEU_DU_LIEU rows; `data` keeps all."""
    import antt_batch.rollup as rollup_module
    monkeypatch.setattr(rollup_module, "MATRIX_MAX_ROWS", 2)
    out = rollup([communes[0].parent], "T1", "tỉnh Một", tmp_path / "T1.xlsx", catalog).path
    data = sheet(out, "data")
    kdc = [r for r in data[1:] if r[2] == "KDC"]
    failing = {r[0] for r in kdc if r[8] in ("CHUA_DAT", "THIEU_DU_LIEU")}
    assert len(kdc) > 2 and 0 < len(failing) < len(kdc)
    shown = {row[0] for row in sheet(out, "KDC") if row and row[0] in {r[0] for r in kdc}}
    assert shown == failing
    assert any("chỉ liệt kê" in str(cell) for row in sheet(out, "KDC")[:3] for cell in row if cell)
