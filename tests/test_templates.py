"""Generated templates: defined names, dropdowns, protection, fonts; committed blanks are fresh; LibreOffice keeps them."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from antt_batch import api, layout as L
from antt_batch.history import History
from antt_batch.templates import write_template

ROOT = Path(__file__).resolve().parent.parent


def names_in(path: Path) -> dict[str, str]:
    """Workbook-level defined names straight from xl/workbook.xml (what every reader relies on)."""
    from defusedxml import ElementTree
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    root = ElementTree.fromstring(zipfile.ZipFile(path).read("xl/workbook.xml"))
    return {n.get("name"): n.text for n in root.iter(f"{ns}definedName") if n.get("localSheetId") is None}


def fingerprint(path: Path) -> tuple:
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(str(path))
    return tuple(sorted(names_in(path).items())), tuple(
        (sheet, tuple(map(tuple, wb.get_sheet_by_name(sheet).to_python()))) for sheet in wb.sheet_names)


@pytest.mark.parametrize("unit_type", ["KDC", "XA", "CQDN", "CSGD"])
def test_every_field_is_a_defined_name(catalog, tmp_path, unit_type):
    path = write_template(tmp_path / "t.xlsx", catalog, unit_type, "U1", "Đơn vị", "2025-03")
    names = names_in(path)
    expected = {f.id for f in catalog.fields_for(unit_type)} | {n for n, _ in L.IDENTITY} | {L.REGISTER_NAME}
    assert set(names) == expected
    assert names[L.REGISTER_NAME] == "'Vụ việc'!$A$4:$I$204"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Hướng dẫn", "Báo cáo", "Vụ việc"]
    assert list(wb["Vụ việc"].tables) == [L.REGISTER_TABLE] and L.REGISTER_TABLE not in names
    report = wb["Báo cáo"]
    assert report.protection.sheet and wb["Vụ việc"].protection.sheet
    for field in catalog.fields_for(unit_type):
        sheet, ref = next(iter(wb.defined_names[field.id].destinations))
        cell = wb[sheet][ref.replace("$", "")]
        assert cell.protection.locked is False
        if field.type == "date":
            assert cell.number_format == "dd/mm/yyyy"
    validated = {str(c) for dv in report.data_validations.dataValidation for c in dv.sqref.ranges}
    dropdowns = [f for f in catalog.fields_for(unit_type) if f.type in ("bool", "code")]
    for field in dropdowns:
        _, ref = next(iter(wb.defined_names[field.id].destinations))
        assert ref.replace("$", "") in validated
    register = wb["Vụ việc"]
    covered = set()
    for dim in register.column_dimensions.values():   # rows below the register stay unlocked (column style)
        if dim.min and dim.min <= 9:
            assert wb._protections[dim._style.protectionId].locked is False
            covered |= set(range(dim.min, min(dim.max, 9) + 1))
    assert covered == set(range(1, 10))
    assert wb.defined_names["antt_unit_code"] and report[
        next(iter(wb.defined_names["antt_unit_code"].destinations))[1].replace("$", "")].value == "U1"


def test_fonts_are_times_new_roman(catalog, tmp_path):
    path = write_template(tmp_path / "t.xlsx", catalog, "KDC", "U1", "Xóm", "2025-03")
    styles = zipfile.ZipFile(path).read("xl/styles.xml").decode()
    fonts = set(re.findall(r'<name val="([^"]+)"', styles))
    assert fonts == {"Times New Roman"}


def test_committed_blank_templates_are_fresh(tmp_path):
    fresh = api.write_blank_templates(tmp_path)
    for path in fresh:
        committed = ROOT / "input_templates" / path.name
        assert committed.exists(), f"{committed} missing: run antt_batch.api.write_blank_templates('input_templates')"
        assert fingerprint(committed) == fingerprint(path), f"{committed.name} is stale; regenerate it"


def test_prefill_carries_latest_values_of_the_same_year(workspace, make_file, monkeypatch):
    make_file("XOM01", "2025-02", {"so_ho_cu_tru": 90, "ngay_dang_ky_phan_dau": datetime(2025, 2, 1)})
    api.ingest(workspace, "2025-02", [workspace.inbox("2025-02")])
    paths = api.make_templates(workspace, "2025-03")
    assert sorted(p.name for p in paths) == ["DN-MAY_2025-03.xlsx", "PHUDINH_2025-03.xlsx", "TRUONG-THCS_2025-03.xlsx",
                                             "XOM01_2025-03.xlsx", "XOM02_2025-03.xlsx"]
    wb = openpyxl.load_workbook(workspace.root / "templates" / "2025-03" / "XOM01_2025-03.xlsx")
    def value(name):
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        return wb[sheet][ref.replace("$", "")].value
    assert value("so_ho_cu_tru") == 90 and value("ngay_dang_ky_phan_dau") == datetime(2025, 2, 1)
    assert value("antt_period") == "2025-03"
    reads = []
    snapshots = History.snapshots

    def counted(history, period):
        reads.append(period)
        return snapshots(history, period)
    monkeypatch.setattr(History, "snapshots", counted)
    nov = api.make_templates(workspace, "2025-11")   # a new KDC evaluation year: nothing carried
    assert reads == ["2025-11"]                      # history read once for every unit, not once per unit
    wb = openpyxl.load_workbook([p for p in nov if p.name.startswith("XOM01")][0])
    assert value("so_ho_cu_tru") is None


@pytest.mark.soffice
def test_libreoffice_resave_keeps_names_and_dropdowns(catalog, tmp_path):
    soffice = shutil.which("soffice")
    if not soffice:
        pytest.skip("LibreOffice (soffice) is not installed: cannot test a real re-save")
    src = write_template(tmp_path / "src" / "XOM01_2025-03.xlsx", catalog, "KDC", "XOM01", "Xóm Đình", "2025-03")
    out = tmp_path / "out"
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    "xlsx", "--outdir", str(out), str(src)], check=True, capture_output=True, timeout=180)
    resaved = out / src.name
    assert set(names_in(resaved)) == set(names_in(src))
    wb = openpyxl.load_workbook(resaved)
    assert len(wb["Báo cáo"].data_validations.dataValidation) >= 1
    assert len(wb["Vụ việc"].data_validations.dataValidation) >= 1
