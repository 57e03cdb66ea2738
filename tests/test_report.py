"""The output workbook (spec §7): real files written by `write_report`, reopened with openpyxl and python-calamine.

Fixtures are built by hand (a small commune: 3 KDC, 1 CQDN, 1 CSGD and the commune) over the real catalog, so
the tests exercise the writer alone; `make_input` is reused by the roll-up tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from antt_batch.catalog import load_catalog
from antt_batch.errors import Location, problem
from antt_batch.model import (CHUA_DEN_HAN, DAT, KHONG_AP_DUNG, KHONG_DAT, THIEU_DU_LIEU, CriterionResult,
                              Evidence, Incident, LedgerEntry, ProgressCell, ReportInput, ScoreResult, Unit,
                              UnitResult)
from antt_batch.report import write_report
from antt_batch.report.data import META_COLUMNS, MANIFEST_KEYS, data_header, data_sha256
from antt_batch.report.sheets import month_label

SHEETS = ["Tổng hợp", "KDC", "CQDN", "CSGD", "Xã", "Tiêu chí không đạt", "Tiến độ nộp", "Vụ việc", "Lỗi dữ liệu",
          "Nhật ký", "data", "manifest"]
INJECTED = '=HYPERLINK("http://evil.example","Xóm 3")'
MONTHS = [f"2025-{m:02d}" for m in range(1, 7)]


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


def leaves(catalog, unit_type: str) -> list[str]:
    return [cid for cid in catalog.national_leaf_ids() if catalog.criteria[cid].unit_type == unit_type]


def unit_result(catalog, unit: Unit, verdict: str, codes: dict[str, str] | None = None, *, default=DAT,
                in_scope: bool | None = True, provisional: bool = True) -> UnitResult:
    """A unit's result: every leaf of its type `default`, except those in `codes`; score from the codes."""
    codes = codes or {}
    period_end = date(2025, 10, 31) if unit.type == "KDC" else date(2025, 11, 15)
    results = {}
    for cid in leaves(catalog, unit.type):
        code = codes.get(cid, default)
        evidence = ()
        if code == KHONG_DAT:
            evidence = (Evidence(f"{unit.code}_2025-04.xlsx", "Báo cáo", "C12", "2025-04"),
                        Evidence("=evil.xlsx", "Vụ việc", "B7", "2025-05", 7))
        results[cid] = CriterionResult(cid, code, f"Lý do {cid}" if code == KHONG_DAT else "", evidence)
    applicable = [r for r in results.values() if r.code != KHONG_AP_DUNG]
    score = None if verdict == "NGOAI_PHAM_VI" else 100 * sum(r.code == DAT for r in applicable) / len(applicable)
    first_leaf = leaves(catalog, unit.type)[1]
    return UnitResult(unit, 2025, date(2025, 6, 30), period_end, in_scope, "", results[first_leaf].code == DAT,
                      verdict, score, provisional, results)


def make_input(catalog, *, code="PHUDINH", name="xã Phú Đình", period="2025-06", kdc=3, as_of=date(2025, 6, 30),
               generated_at=datetime(2025, 7, 5, 8, 15, 0)) -> ReportInput:
    """A small commune: `kdc` xóm (the third named like a formula), one enterprise, one school, the commune."""
    kdc_units = [Unit(f"XOM{i:02d}", INJECTED if i == 3 else f"Xóm {i}", "KDC") for i in range(1, kdc + 1)]
    enterprise = Unit("DN-MAY", "Công ty May Phú Đình", "CQDN", in_scope=False, scope_reason="doanh nghiệp nhỏ")
    school = Unit("TRUONG-THCS", "Trường THCS Phú Đình", "CSGD")
    commune_unit = Unit(code, name, "XA")
    kdc_leaves = leaves(catalog, "KDC")
    units = []
    for i, unit in enumerate(kdc_units):
        if i % 3 == 1:
            units.append(unit_result(catalog, unit, "CHUA_DAT", {kdc_leaves[0]: KHONG_DAT, kdc_leaves[5]: KHONG_DAT}))
        elif i % 3 == 2:
            units.append(unit_result(catalog, unit, "DANG_DAT", {kdc_leaves[-2]: CHUA_DEN_HAN}))
        else:
            units.append(unit_result(catalog, unit, "DANG_DAT"))
    units.append(unit_result(catalog, enterprise, "NGOAI_PHAM_VI", default=KHONG_AP_DUNG, in_scope=False))
    units.append(unit_result(catalog, school, "THIEU_DU_LIEU", {leaves(catalog, "CSGD")[2]: THIEU_DU_LIEU},
                             in_scope=None))
    xa = leaves(catalog, "XA")
    commune = unit_result(catalog, commune_unit, "CHUA_DAT", {xa[0]: KHONG_DAT, "XA-4.2": CHUA_DEN_HAN})
    evidence = Evidence("XOM02_2025-05.xlsx", "Vụ việc", "A8", "2025-05", 8)
    incidents = [
        Incident("XOM02", date(2025, 5, 3), "TOI_PHAM", "NGHIEM_TRONG", False, None, None, None, "VV-01",
                 "=cmd|' /C calc'!A0", evidence),
        Incident("DN-MAY", date(2025, 2, 14), "CHAY_NO", "KHONG_NGHIEM_TRONG", None, True, True, True, None,
                 "Chập điện kho vải", Evidence("=evil.xlsx", "Vụ việc", "A9", "2025-02", 9)),
        Incident(code, date(2025, 1, 20), "VI_PHAM_PHAP_LUAT", None, None, None, None, None, "", "+sum", evidence),
    ]
    all_codes = [code] + [u.unit.code for u in units]
    statuses = ["DUNG_HAN", "TRE_HAN", "THIEU", "DUNG_HAN", "DUNG_HAN", "CHUA_DEN_HAN"]
    progress = [ProgressCell(c, m, statuses[(i + j) % 6],
                             datetime(int(m[:4]), int(m[5:]) % 12 + 1, 3 + j % 5, 9, 30)
                             if statuses[(i + j) % 6] in ("DUNG_HAN", "TRE_HAN") else None,
                             f"{c.lower()}@example.vn", j % 2)
                for i, c in enumerate(all_codes) for j, m in enumerate(MONTHS)]
    problems = [problem("missing-value", Location("+XOM01_2025-06.xlsx", "Báo cáo", "C7", "so_ho_cu_tru"),
                        field="so_ho_cu_tru"),
                problem("duplicate-submission", Location("@mail.eml › XOM02_2025-06.xlsx"))]
    ledger = [LedgerEntry("=XOM01_2025-06.xlsx", "a" * 64, "xom1@example.vn", datetime(2025, 7, 3, 9, 0),
                          "accepted", "XOM01", "2025-06", 0, 1, "so_ho_cu_tru, ghi_chu"),
              LedgerEntry("bad.xlsx", "b" * 64, "x@example.vn", None, "rejected", errors=2)]
    score = ScoreResult(period, False, units, commune, {incidents[0]: ["KDC-4.b", "XA-2:KDC-4.b"]})
    trend = [(f"{m[5:]}/{m[:4]}", i % 3, None if i == 5 else (i + 1) % 4) for i, m in enumerate(MONTHS)]
    return ReportInput(code, name, "Ban Chỉ đạo 138 tỉnh & Sở", period, as_of, as_of, generated_at, "0.1.0",
                       catalog.version, score, progress, MONTHS, incidents, problems, ledger, "c" * 64, trend)


# --- helpers ---------------------------------------------------------------------------------------------------

def write(catalog, tmp_path: Path, name: str = "BaoCao_ANTT_PHUDINH_2025-06.xlsx", **kw) -> Path:
    result = write_report(make_input(catalog, **kw), catalog, tmp_path / name)
    assert not result.locked
    return result.path


def calamine_sheet(path: Path, name: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def manifest_of(path: Path) -> dict:
    return {row[0]: row[1] for row in calamine_sheet(path, "manifest")[1:]}


def zip_text(path: Path, pattern: str) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n).decode("utf-8") for n in archive.namelist() if re.fullmatch(pattern, n)}


def sheet_xml(path: Path, sheet: str) -> str:
    """The worksheet XML of the sheet with this name (xlsxwriter numbers them in tab order)."""
    return zip_text(path, r"xl/worksheets/sheet\d+\.xml")[f"xl/worksheets/sheet{SHEETS.index(sheet) + 1}.xml"]


@pytest.fixture(scope="module")
def report(catalog, tmp_path_factory) -> Path:
    return write(catalog, tmp_path_factory.mktemp("report"))


# --- structure and contract -------------------------------------------------------------------------------------

def test_sheet_names_in_order(report):
    assert openpyxl.load_workbook(report, read_only=True).sheetnames == SHEETS
    assert CalamineWorkbook.from_path(str(report)).sheet_names == SHEETS


def test_data_columns_and_cell_types(catalog, report):
    ws = openpyxl.load_workbook(report)["data"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = rows[0]
    assert header[:len(META_COLUMNS)] == list(META_COLUMNS)
    assert header[len(META_COLUMNS):] == catalog.national_leaf_ids()
    assert [r[0] for r in rows[1:]] == ["PHUDINH", "XOM01", "XOM02", "XOM03", "DN-MAY", "TRUONG-THCS"]
    col = {name: i for i, name in enumerate(header)}
    commune, xom1, xom2, xom3, enterprise, school = rows[1:]
    assert commune[col["unit_type"]] == "XA" and commune[col["parent_code"]] is None
    assert xom1[col["parent_code"]] == "PHUDINH"
    assert xom1[col["evaluation_year"]] == 2025 and ws.cell(3, col["evaluation_year"] + 1).data_type == "n"
    assert xom1[col["as_of"]] == datetime(2025, 6, 30) and ws.cell(3, col["as_of"] + 1).is_date
    assert xom1[col["in_scope"]] is True and xom1[col["provisional"]] is True
    assert school[col["in_scope"]] is None and enterprise[col["in_scope"]] is False
    assert xom1[col["verdict"]] == "Đang đạt" and xom2[col["verdict"]] == "Chưa đạt"
    kdc = leaves(catalog, "KDC")
    assert xom2[col["score_pct"]] == pytest.approx(90.5) and isinstance(xom2[col["score_pct"]], float)
    assert xom2[col["failed_criteria"]] == f"{kdc[0]}, {kdc[5]}"
    assert xom2[col[kdc[0]]] == KHONG_DAT and xom2[col[leaves(catalog, "XA")[0]]] is None
    assert xom3[col["unit_name"]] == INJECTED
    # out of scope: score and every criterion blank
    assert enterprise[col["score_pct"]] is None
    assert all(v is None for v in enterprise[len(META_COLUMNS):])


def test_manifest_keys_and_types(catalog, report):
    ws = openpyxl.load_workbook(report)["manifest"]
    rows = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [r[0] for r in rows] == list(MANIFEST_KEYS)
    values = dict(rows)
    assert values["catalog_version"] == catalog.version and values["period"] == "2025-06"
    assert values["as_of"] == datetime(2025, 6, 30) and values["generated_at"] == datetime(2025, 7, 5, 8, 15)
    assert values["input_sha256"] == "c" * 64 and values["extra_criteria"] is None


def test_data_sha256_recomputed_from_reopened_file(report):
    data = calamine_sheet(report, "data")
    rows = [[None if v == "" else v for v in row] for row in data[1:]]
    assert data_sha256(data[0], rows) == manifest_of(report)["data_sha256"]
    values = [[c.value for c in row] for row in openpyxl.load_workbook(report)["data"].iter_rows()]
    assert data_sha256(values[0], values[1:]) == manifest_of(report)["data_sha256"]


def test_extra_criteria_follow_national_ones(catalog, tmp_path):
    extra = load_catalog(extra_criteria=[{"id": "TINH-1", "unit_type": "KDC", "parent": "", "kind": "attested",
                                          "citation": "Quyết định 1/2024/QĐ-UBND", "text": "Tiêu chí của tỉnh",
                                          "fields": ["trien_khai_day_du"]}])
    inp = make_input(extra)
    inp.score.units[0].results["TINH-1"] = CriterionResult("TINH-1", KHONG_DAT, "Chưa đạt tiêu chí tỉnh")
    path = write_report(inp, extra, tmp_path / "r.xlsx").path
    data = calamine_sheet(path, "data")
    assert data[0][-1] == "TINH-1" and data[2][-1] == "KHONG_DAT"
    assert manifest_of(path)["extra_criteria"] == "TINH-1"
    assert data_header(extra)[-1] == "TINH-1"


# --- sheets ----------------------------------------------------------------------------------------------------

def test_problem_sheet_columns_and_rows(catalog, report):
    rows = calamine_sheet(report, "Lỗi dữ liệu")
    assert rows[3][:9] == ["Mã lỗi", "Mức độ", "Tệp", "Trang tính", "Ô", "Trường", "Dòng", "Nội dung", "Cách sửa"]
    # a catalog field is shown by its Vietnamese label, worded for the file's unit type (XOM01 is a KDC)
    label = catalog.fields["so_ho_cu_tru"].label_for("KDC")
    assert rows[4][:6] == ["missing-value", "Lỗi", "+XOM01_2025-06.xlsx", "Báo cáo", "C7", label]
    assert rows[5][:3] == ["duplicate-submission", "Cảnh báo", "@mail.eml › XOM02_2025-06.xlsx"]


def test_failed_criteria_sheet_has_wording_citation_and_evidence(catalog, report):
    rows = calamine_sheet(report, "Tiêu chí không đạt")
    kdc = leaves(catalog, "KDC")[0]
    first = next(i for i, r in enumerate(rows) if r[0] == "XOM02" and r[3] == kdc)
    row, more = rows[first], rows[first + 1]
    assert row[4] == catalog.criteria[kdc].text and row[5] == catalog.criteria[kdc].citation
    # one piece of evidence per row: file, sheet, cell, month and row line up; the next row repeats only codes
    assert row[6] == f"Lý do {kdc}" and row[7:12] == ["XOM02_2025-04.xlsx", "Báo cáo", "C12", "04/2025", ""]
    assert more[:7] == ["XOM02", "", "PHUDINH", kdc, "", "", ""]
    assert more[7:12] == ["=evil.xlsx", "Vụ việc", "B7", "05/2025", 7]


def test_failed_reason_drops_the_citation_shown_beside_it(catalog, tmp_path):
    inp = make_input(catalog)
    kdc = leaves(catalog, "KDC")[0]
    citation = catalog.criteria[kdc].citation
    unit = inp.score.units[1]
    unit.results[kdc] = replace(unit.results[kdc], reason=f"Chưa có nghị quyết — {citation}")
    path = write_report(inp, catalog, tmp_path / "r.xlsx").path
    row = next(r for r in calamine_sheet(path, "Tiêu chí không đạt") if r[0] == "XOM02" and r[3] == kdc)
    assert row[5] == citation and row[6] == "Chưa có nghị quyết"


def test_progress_incidents_and_ledger(catalog, report, tmp_path):
    progress = calamine_sheet(report, "Tiến độ nộp")
    assert progress[3][:4] == ["Mã đơn vị", "Tên đơn vị", "01/2025", "02/2025"]
    assert progress[4][2] == "Đúng hạn\n03/02/2025" and progress[4][3] == "Trễ hạn\n04/03/2025"
    detail = next(i for i, r in enumerate(progress) if r[0] == "Mã đơn vị" and i > 3)
    assert progress[detail][3:7] == ["Tình trạng", "Ngày nhận", "Số lần gửi lại", "Người gửi"]
    assert progress[detail - 1][0] == "Chi tiết báo cáo tháng 06/2025"   # a month's workbook details that month
    listed = [r for r in progress[detail + 1:] if r[0]]
    assert len(listed) == len(progress[4:detail - 2]) and {r[2] for r in listed} == {"06/2025"}
    assert listed[1][3:6] == ["Đúng hạn", datetime(2025, 7, 3, 9, 30), 1]   # shown dd/mm/yyyy
    # the detail list starts a printed page of its own, and its header (not the grid's) repeats
    assert f'<brk id="{detail - 1}"' in sheet_xml(report, "Tiến độ nộp")
    workbook_xml = zip_text(report, r"xl/workbook\.xml")["xl/workbook.xml"]
    assert f"'Tiến độ nộp'!${detail + 1}:${detail + 1}" in workbook_xml
    incidents = calamine_sheet(report, "Vụ việc")
    assert "Mô tả" in incidents[3]
    crime = next(r for r in incidents if r[0] == "XOM02")
    assert crime[3] == catalog.categories["TOI_PHAM"].label and crime[4] == "Nghiêm trọng"
    assert crime[10] == "=cmd|' /C calc'!A0" and crime[11] == "KDC-4.b, XA-2:KDC-4.b"
    redacted = write_report(replace(make_input(catalog), redact_descriptions=True), catalog, tmp_path / "r.xlsx")
    text = [v for row in calamine_sheet(redacted.path, "Vụ việc") for v in row]
    assert "Mô tả" not in text and "Chập điện kho vải" not in text
    ledger = calamine_sheet(report, "Nhật ký")
    assert ledger[4][:5] == ["=XOM01_2025-06.xlsx", "a" * 12 + "…", "xom1@example.vn", datetime(2025, 7, 3, 9, 0),
                             "Chấp nhận"]
    assert ledger[4][9] == f'{catalog.fields["so_ho_cu_tru"].label_for("KDC")}; {catalog.fields["ghi_chu"].label}'


def test_summary_header_kpis_and_helper_tables(report):
    cells = [v for row in calamine_sheet(report, "Tổng hợp") for v in row if v != ""]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cells and "Độc lập - Tự do - Hạnh phúc" in cells
    assert any(str(c).startswith("BÁO CÁO KẾT QUẢ XÂY DỰNG PHONG TRÀO") and "AN TOÀN VỀ AN NINH, TRẬT TỰ" in c
               for c in cells)
    assert "Tháng 06/2025 (số liệu tính đến ngày 30/06/2025)" in cells
    assert "Kính gửi: Ban Chỉ đạo 138 tỉnh & Sở" in cells
    assert "Kết quả của xã Phú Đình: Chưa đạt — tỷ lệ tiêu chí đạt 91,7%" in cells
    assert {"CÔNG AN XÃ", "TRƯỞNG BAN CHỈ ĐẠO", "(Ký, ghi rõ họ tên)"} <= set(cells)
    assert INJECTED in cells


def test_matrices_colour_codes_legend_and_comments(catalog, report):
    xml = sheet_xml(report, "KDC")
    assert '<pane xSplit="2" ySplit="10"' in xml and "<autoFilter" in xml
    rows = calamine_sheet(report, "KDC")
    assert rows[2][0] == "Chú giải:" and rows[3][:2] == ["Đ", "Đạt"] and rows[7][:2] == ["—", "Không áp dụng"]
    kdc = leaves(catalog, "KDC")
    assert rows[9][:5] == ["Mã đơn vị", "Tên đơn vị", "Kết quả", "Tỷ lệ đạt (%)", "KDC-1.1"]
    assert rows[9][4:] == [*kdc, "Ghi chú"]
    assert rows[11][4] == "KĐ" and rows[11][-1] == f"Không đạt: {kdc[0]}, {kdc[5]}"
    key = next(r for r in rows if r[0] == "KDC-4.b" and r[1])
    assert key[1] == f"{catalog.criteria['KDC-4.b'].text} ({catalog.criteria['KDC-4.b'].citation})"
    # group headings from the catalog, so prohibited cases read under "Không để xảy ra …"
    heading = next(i for i, r in enumerate(rows) if r[0] == "KDC-3")
    assert rows[heading][1].startswith(catalog.groups["KDC-3"].text) and rows[heading + 1][0] == "KDC-3.a"
    xa = calamine_sheet(report, "Xã")
    assert xa[9][4:] == [*leaves(catalog, "XA"), "Ghi chú"]
    assert any(r[0] == "XA-2:KDC-3" and r[1] == catalog.groups["KDC-3"].text for r in xa)


def test_matrix_out_of_scope_rows_and_notes(catalog, report):
    rows = calamine_sheet(report, "CQDN")
    enterprise = next(r for r in rows if r[0] == "DN-MAY")
    assert enterprise[2] == "Ngoài phạm vi" and enterprise[4].startswith("Ngoài phạm vi")
    assert "doanh nghiệp nhỏ" in enterprise[4]      # the unit's scope reason, in the band across its criteria
    assert re.search(r'<mergeCell ref="E11:[A-Z]+11"/>', sheet_xml(report, "CQDN"))
    school = next(r for r in calamine_sheet(report, "CSGD") if r[0] == "TRUONG-THCS")
    assert school[-1] == "Chưa xác định được phạm vi áp dụng"   # unknown scope, no reason recorded


def summary_kpis(path: Path) -> dict:
    rows = calamine_sheet(path, "Tổng hợp")
    start = next(i for i, r in enumerate(rows) if str(r[0]).endswith("CÁC CHỈ SỐ CHÍNH"))
    kpis = {}
    for r in rows[start + 1:]:
        if r[0] == "":
            break
        kpis[r[0]] = r[1]
    return kpis


def test_summary_kpis_agree_with_the_sheets_they_summarise(catalog, tmp_path):
    inp = make_input(catalog)
    again = replace(inp.incidents[0], evidence=Evidence("XOM02_2025-06.xlsx", "Vụ việc", "A5", "2025-06", 5))
    inp.incidents.append(again)                    # the same case (VV-01) reported again: still one case
    inp.score.units[0].warnings.append(problem("scope-unknown", Location(field="XOM01"), value="XOM01",
                                               detail="thiếu số liệu"))
    path = write_report(inp, catalog, tmp_path / "r.xlsx").path
    kpis = summary_kpis(path)
    assert kpis["Số vụ việc trong năm đánh giá"] == 3
    shown = calamine_sheet(path, "Lỗi dữ liệu")[4:]
    assert kpis["Số lỗi dữ liệu"] + kpis["Số cảnh báo"] == len(shown)
    assert kpis["Số cảnh báo"] == sum(1 for r in shown if r[1] == "Cảnh báo") == 2
    # DN-MAY is out of scope in the registry (Unit.in_scope = False): not a reporting unit
    assert kpis["Số đơn vị báo cáo (không kể xã)"] == len(inp.score.units) - 1


def test_annual_summary_wording(catalog, tmp_path):
    inp = make_input(catalog, period="2025", as_of=date(2025, 11, 15))
    commune = inp.score.commune
    commune.period_end = date(2025, 11, 15)
    commune.results["XA-4.2"] = CriterionResult("XA-4.2", KHONG_DAT, "Dự kiến: 1/4 đơn vị đạt", projected=True)
    inp = replace(inp, score=replace(inp.score, final=True), trend=[(m, 1, None) for m, _, _ in inp.trend],
                  ledger=[])
    path = write_report(inp, catalog, tmp_path / "r.xlsx").path
    cells = [v for row in calamine_sheet(path, "Tổng hợp") for v in row if v != ""]
    assert not any("Kết quả tạm tính" in str(c) for c in cells)
    assert ("XA-4.2 tính theo kết quả dự kiến của các đơn vị: chưa có quyết định công nhận "
            "(mục [recognition.2025] trong antt.toml).") in cells
    assert "Đạt + Đang đạt (dự kiến)" not in cells and "Đạt (chính thức)" not in cells
    assert "Đạt (theo kết quả đánh giá)" in cells
    # no history of the previous year: no "Năm trước" column or series, a note instead
    assert "Năm trước" not in cells and "Năm trước: chưa có dữ liệu năm trước." in cells
    charts = zip_text(path, r"xl/charts/chart\d+\.xml")
    line = next(xml for xml in charts.values() if "<c:lineChart>" in xml)
    assert line.count("<c:ser>") == 1
    # table and chart titles use the same words
    for xml in charts.values():
        title = "".join(re.findall(r"<a:t>(.*?)</a:t>", xml.split("</c:title>")[0]))
        assert any(str(c).endswith(f". {title}") for c in cells), title
    # an annual ledger is empty: a pointer to the monthly reports instead of an empty table
    assert calamine_sheet(path, "Nhật ký")[3][0] == "Xem nhật ký trong các báo cáo tháng."


def test_summary_breaks_before_the_charts_section(report):
    rows = calamine_sheet(report, "Tổng hợp")
    section = next(i for i, r in enumerate(rows) if str(r[0]).endswith("SỐ LIỆU VÀ BIỂU ĐỒ"))
    assert f'<brk id="{section}"' in sheet_xml(report, "Tổng hợp")


def test_progress_shows_units_outside_the_programme(catalog, tmp_path):
    inp = make_input(catalog)
    inp = replace(inp, progress=[c for c in inp.progress if c.unit_code != "DN-MAY"])
    path = write_report(inp, catalog, tmp_path / "r.xlsx").path
    row = next(r for r in calamine_sheet(path, "Tiến độ nộp") if r[0] == "DN-MAY")
    assert row[2] == "Ngoài phạm vi — không gửi báo cáo"


def test_line_count_wraps_by_words_and_wide_letters():
    from antt_batch.report.styles import line_count
    assert line_count(None, 10) == line_count(12.5, 3) == 1
    assert line_count("Thiếu dữ liệu", 14) == 1
    assert line_count("Không đạt: KDC-4.a, KDC-4.c.1, KDC-4.c.2", 34) == 2   # capitals are wide
    assert line_count("a\nb", 30) == 2
    assert line_count("x" * 100, 10) >= 10                                    # a long word is broken


def test_charts_point_at_helper_tables(report):
    charts = zip_text(report, r"xl/charts/chart\d+\.xml")
    assert len(charts) == 5
    refs = [ref for xml in charts.values() for ref in re.findall(r"<c:f>(.*?)</c:f>", xml)]
    assert refs and all(ref.startswith("'Tổng hợp'!$") for ref in refs)
    assert any('<c:grouping val="stacked"/>' in xml for xml in charts.values())
    assert any("<c:barDir val=\"bar\"/>" in xml for xml in charts.values())
    assert any("<c:lineChart>" in xml for xml in charts.values())
    # counts get whole-number ticks; the bar chart labels every xóm
    assert sum('<c:majorUnit val="1"/>' in xml for xml in charts.values()) >= 2
    bar = next(xml for xml in charts.values() if '<c:barDir val="bar"/>' in xml)
    assert '<c:tickLblSkip val="1"/>' in bar and '<c:dLblPos val="inEnd"/>' in bar
    summary = calamine_sheet(report, "Tổng hợp")
    values = {(r, c): v for r, row in enumerate(summary) for c, v in enumerate(row)}
    for ref in refs:
        cell = re.match(r"'Tổng hợp'!\$([A-Z]+)\$(\d+)", ref)
        assert values[(int(cell.group(2)) - 1, ord(cell.group(1)) - 65)] != ""


def test_print_setup_on_printable_sheets(report):
    workbook_xml = zip_text(report, r"xl/workbook\.xml")["xl/workbook.xml"]
    for sheet in SHEETS:
        xml = sheet_xml(report, sheet)
        assert 'paperSize="9"' in xml and "<headerFooter" in xml and "&amp;P" in xml, sheet
        assert 'fitToHeight="0"' in xml, sheet
    assert 'orientation="landscape"' in sheet_xml(report, "KDC")
    assert 'orientation="landscape"' in sheet_xml(report, "Tổng hợp")
    assert "<rowBreaks" in sheet_xml(report, "Tổng hợp")
    titles = dict(re.findall(r'<definedName name="_xlnm.Print_Titles" localSheetId="(\d+)">(.*?)</definedName>',
                             workbook_xml))
    assert titles[str(SHEETS.index("Tiêu chí không đạt"))].endswith("!$4:$4")
    assert str(SHEETS.index("KDC")) not in titles    # a matrix re-writes its header at its own page breaks
    # `data` and `manifest` are hidden, so printing the workbook leaves them out; their header names them once
    hidden = re.findall(r'<sheet name="([^"]+)" sheetId="\d+" state="hidden"', workbook_xml)
    assert hidden == ["data", "manifest"]
    assert "manifest" not in sheet_xml(report, "manifest").split("<oddHeader>")[1].split("&amp;R")[0]


def test_every_font_is_times_new_roman(report):
    styles = zip_text(report, r"xl/styles\.xml")["xl/styles.xml"]
    fonts = re.findall(r'<name val="([^"]+)"/>', styles)
    assert fonts and set(fonts) == {"Times New Roman"}
    for xml in zip_text(report, r"xl/charts/chart\d+\.xml").values():
        assert set(re.findall(r'typeface="([^"]+)"', xml)) == {"Times New Roman"}


def test_user_text_is_never_a_formula(report):
    sheets = zip_text(report, r"xl/worksheets/sheet\d+\.xml")
    assert not any("<f>" in xml for xml in sheets.values())
    shared = zip_text(report, r"xl/sharedStrings\.xml")["xl/sharedStrings.xml"]
    inline = "".join(sheets.values())
    for text in ("=HYPERLINK(&quot;http://evil.example&quot;", "=cmd|' /C calc'!A0", "=evil.xlsx", "+sum",
                 "@mail.eml"):
        assert text in shared or text in inline or text.replace("&quot;", '"') in shared + inline, text


# --- determinism and atomic write ------------------------------------------------------------------------------

def all_values(path: Path) -> dict:
    workbook = CalamineWorkbook.from_path(str(path))
    return {name: workbook.get_sheet_by_name(name).to_python() for name in workbook.sheet_names}


def test_same_input_same_cells(catalog, tmp_path):
    first = all_values(write(catalog, tmp_path, "a.xlsx"))
    second = all_values(write(catalog, tmp_path, "b.xlsx", generated_at=datetime(2026, 1, 1, 0, 0, 1)))
    for sheet in (first, second):
        sheet["manifest"] = [r for r in sheet["manifest"] if r[0] != "generated_at"]
    assert first == second
    assert openpyxl.load_workbook(tmp_path / "a.xlsx").properties.created == datetime(2025, 7, 5, 8, 15)


def test_existing_file_is_replaced_completely(catalog, tmp_path):
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"old contents " * 100_000)
    path = write(catalog, tmp_path, "out.xlsx")
    assert path == target and zipfile.is_zipfile(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]


def test_crash_while_writing_keeps_old_file_and_leaves_no_temp(catalog, tmp_path):
    target = tmp_path / "out.xlsx"
    write(catalog, tmp_path, "out.xlsx")
    before = target.read_bytes()
    broken = make_input(catalog)
    broken.ledger.append("not a ledger entry")   # fails in `Nhật ký`, after eight sheets have been written
    with pytest.raises(AttributeError):
        write_report(broken, catalog, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]


def test_locked_target_is_written_beside_it(catalog, tmp_path):
    target = tmp_path / "BaoCao_ANTT_PHUDINH_2025-06.xlsx"
    target.write_bytes(b"in use")
    if subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i (an immutable file stands in for a file locked by Excel) is not available here")
    try:
        result = write_report(make_input(catalog), catalog, target)
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)
    assert result.locked and result.path.parent == tmp_path
    assert re.fullmatch(r"BaoCao_ANTT_PHUDINH_2025-06_\d{8}-\d{6}\.xlsx", result.path.name)
    assert target.read_bytes() == b"in use" and zipfile.is_zipfile(result.path)
    assert len(list(tmp_path.iterdir())) == 2


# --- rendering -------------------------------------------------------------------------------------------------

@pytest.mark.soffice
def test_libreoffice_renders_the_vietnamese_title(report, tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not on PATH: PDF rendering not checked")
    env = {**os.environ, "HOME": str(tmp_path)}   # a private LibreOffice profile, so parallel runs never clash
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(report)],
                   check=True, capture_output=True, timeout=240, env=env)
    pdf = tmp_path / (report.stem + ".pdf")
    assert pdf.stat().st_size > 10_000
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not on PATH: the PDF was produced but its text is not checked")
    text = subprocess.run(["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "BÁO CÁO KẾT QUẢ XÂY DỰNG PHONG TRÀO" in text and "AN TOÀN VỀ AN NINH, TRẬT TỰ" in text


def test_annual_progress_details_every_month(catalog, tmp_path):
    inp = make_input(catalog, period="2025", as_of=date(2025, 11, 15))
    progress = calamine_sheet(write_report(inp, catalog, tmp_path / "r.xlsx").path, "Tiến độ nộp")
    heading = next(i for i, r in enumerate(progress) if r[0].startswith("Chi tiết"))
    assert progress[heading][0] == "Chi tiết từng báo cáo"
    assert {r[2] for r in progress[heading + 2:] if r[0]} == {month_label(m) for m in inp.months}


def test_streamed_workbook_holds_the_same_cells(catalog, tmp_path, monkeypatch):
    """Above STREAM_ABOVE_ROWS unit rows the big sheets are streamed (constant_memory, inline strings): the reader
    must see exactly what the in-memory (shared strings) workbook holds."""
    import antt_batch.report.book as book
    inp = make_input(catalog)
    in_memory = write_report(inp, catalog, tmp_path / "a.xlsx").path
    monkeypatch.setattr(book, "STREAM_ABOVE_ROWS", 1)
    streamed = write_report(inp, catalog, tmp_path / "b.xlsx").path
    assert "inlineStr" in sheet_xml(streamed, "data") and "inlineStr" not in sheet_xml(in_memory, "data")
    for name in SHEETS:
        assert calamine_sheet(streamed, name) == calamine_sheet(in_memory, name), name


def test_score_chart_of_a_very_large_commune_shows_the_lowest(catalog, tmp_path):
    """Above SCORE_CHART_MAX hamlets the chart would be unreadable: it shows the lowest rates and says so."""
    from antt_batch.report.summary import SCORE_CHART_MAX
    inp = make_input(catalog, kdc=SCORE_CHART_MAX + 12)
    cells = [v for row in calamine_sheet(write_report(inp, catalog, tmp_path / "r.xlsx").path, "Tổng hợp")
             for v in row if v != ""]
    title = next(c for c in cells if isinstance(c, str) and "có tỷ lệ tiêu chí đạt thấp nhất" in c)
    assert f"{SCORE_CHART_MAX} khu dân cư có" in title and f"trong {SCORE_CHART_MAX + 12};" in title
    failing = {u.unit.name for u in inp.score.units if u.unit.type == "KDC" and u.verdict_code == "CHUA_DAT"}
    assert failing and failing <= set(cells)          # the lowest rates, every failing hamlet among them
    assert "Tỷ lệ tiêu chí đạt của từng khu dân cư (%)" not in cells
