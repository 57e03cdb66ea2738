"""Every national leaf of the catalog, DAT and KHONG_DAT, from real template files through the real intake.

Nothing here builds a ScoringInput by hand. Each case writes the unit's own personalised template
(`templates.write_template`), fills it with openpyxl through its defined names like a clerk in Excel
(`conftest.fill`), drops it in the month's inbox, runs `api.ingest` month by month and scores with
`api.write_report(year=2025)`, which also writes the consolidated workbook.

A *clean year* for a unit is its February file (every status field passing, Quý I dates) and its November file
(the year-end results, which may arrive in the month after the period ends — spec §5); the commune sends its
February file. In the clean workspace every leaf of every type is DAT. A *case* is the clean year plus one
mutation — a field value in some month's file, or incident rows in a June file — and names the one leaf it must
move (plus `also`, the other leaves the same fact legally fails). KHONG_DAT cases also check the citation in the
reason and the evidence: file name, sheet and cell (status field) or row (register).

Cases of the KDC, CQDN and CSGD leaves are units of one shared workspace (one unit per case: a unit's results
depend only on its own files). Cases of the XA leaves need a commune each, so each builds its own small workspace
(the commune, two xóm, an enterprise and a school, all clean except what the case changes); their XA-2 imports are
fed by rows in a xóm's, the enterprise's or the school's register, XA-3.2 by the commune's own register, XA-4 by
the units' registrations, their verdicts or the recorded `[recognition.2025]` decision.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pytest

from antt_batch import api
from antt_batch.catalog import load_catalog
from antt_batch.model import CHUA_DAT, DAT, KHONG_AP_DUNG, KHONG_DAT
from antt_batch.templates import template_filename, write_template
from antt_batch.workspace import load_workspace
from conftest import fill

CATALOG = load_catalog()
LEAVES = CATALOG.national_leaf_ids()
Y = 2025
FEB, APR, JUN, NOV = f"{Y}-02", f"{Y}-04", f"{Y}-06", f"{Y}-11"
TODAY = date(Y, 12, 20)
CO, KHONG = "Có", "Không"
COMMUNE = "PHUDINH"

# Every status field passing (February file) and the year-end results (November file), per unit type.
CLEAN = {
    "KDC": {"ngay_nghi_quyet_chi_bo": datetime(Y, 1, 20), "ngay_dang_ky_phan_dau": datetime(Y, 2, 10),
            "so_ho_cu_tru": 120, "so_ho_dang_ky": 120, "trien_khai_day_du": CO, "quan_ly_doi_tuong_hieu_qua": CO},
    "XA": {"ngay_nghi_quyet_dang_uy": datetime(Y, 1, 23), "ngay_ke_hoach_ubnd": datetime(Y, 2, 5),
           "ngay_dang_ky_phan_dau": datetime(Y, 2, 5), "so_mo_hinh_hieu_qua": 2, "trien_khai_day_du": CO,
           "quan_ly_doi_tuong_hieu_qua": CO, "cong_an_nam_chac_tinh_hinh": CO},
    "CQDN": {"loai_hinh": "DOANH_NGHIEP - Doanh nghiệp", "linh_vuc": "CONG_NGHIEP_XAY_DUNG", "so_lao_dong_bhxh": 250,
             "doanh_thu_ty": 120, "tong_nguon_von_ty": 80, "duoi_mot_nam": KHONG, "co_to_chuc_dang": CO,
             "du_dieu_kien_thi_dua": CO, "ngay_nghi_quyet": datetime(Y, 1, 15), "ngay_ke_hoach": datetime(Y, 1, 20),
             "ngay_dang_ky_phan_dau": datetime(Y, 2, 1), "noi_quy_bao_ve": CO, "noi_quy_bi_mat": CO,
             "noi_quy_chinh_tri_noi_bo": CO, "noi_quy_an_toan_lao_dong": CO, "noi_quy_pccn": CO,
             "noi_quy_moi_truong": CO, "so_nguoi": 250, "so_nguoi_quan_triet": 250, "so_mo_hinh_hieu_qua": 1,
             "trien_khai_day_du": CO, "so_dau_moi": 10},
    "CSGD": {"cap_hoc": "THCS - Trung học cơ sở", "co_to_chuc_dang": CO, "du_dieu_kien_thi_dua": CO,
             "ngay_nghi_quyet": datetime(Y, 1, 10), "ngay_ke_hoach": datetime(Y, 1, 12),
             "ngay_dang_ky_phan_dau": datetime(Y, 1, 14), "noi_quy_bao_ve": CO, "noi_quy_chinh_tri_noi_bo": CO,
             "noi_quy_quan_ly_nguoi_hoc": CO, "noi_quy_pccn": CO, "so_nguoi": 600, "so_nguoi_quan_triet": 600,
             "so_mo_hinh_hieu_qua": 1, "trien_khai_day_du": CO, "phoi_hop_cha_me_hoc_sinh": CO, "so_dau_moi": 5},
}
YEAR_END = {
    "KDC": {"xep_loai_luc_luong": "HOAN_THANH - Hoàn thành nhiệm vụ"},
    "CQDN": {"xep_loai_luc_luong_bao_ve": "HOAN_THANH_TOT", "so_dau_moi_dat": 8},
    "CSGD": {"xep_loai_luc_luong_bao_ve": "TAP_THE_LAO_DONG_TIEN_TIEN", "so_dau_moi_dat": 4},
}

# The small commune of the XA cases (and of the clean year): every unit recognised by the commune.
POPULATION = {"XOM01": ("Xóm Đình", "KDC"), "XOM02": ("Xóm Chùa", "KDC"), "DN-MAY": ("Công ty May Phú Đình", "CQDN"),
              "TRUONG-THCS": ("Trường THCS Phú Đình", "CSGD")}
# Previous year's counts (no 2024 history): units 1/0/1, the commune 2/0/2 — one tệ nạn is already an increase.
UNIT_BASELINE = {"toi_pham": 1, "te_nan_xa_hoi": 0, "vi_pham_phap_luat": 1}
COMMUNE_BASELINE = {"toi_pham": 2, "te_nan_xa_hoi": 0, "vi_pham_phap_luat": 2}


def row(loai: str, muc_do: str | None = None, *, bkk: str | None = None, rescue=(None, None, None),
        ma: str | None = None, mo_ta: str | None = None, day: int = 12) -> tuple:
    """One `Vụ việc` row in register column order, dated in June."""
    return (datetime(Y, 6, day), loai, muc_do, bkk, *rescue, ma, mo_ta)


# --- evidence pointers: where a KHONG_DAT must point --------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """The input cell of `field` in the unit's file of `period` (sheet `Báo cáo`)."""
    unit: str
    period: str
    field: str


@dataclass(frozen=True)
class Row:
    """Row `n` (1-based) of the `Vụ việc` register of the unit's June file."""
    unit: str
    n: int = 1
    period: str = JUN


@dataclass(frozen=True)
class Sheet:
    """A value that is missing: the latest report of the year that left it blank (file and sheet, no cell)."""
    unit: str
    period: str


@dataclass(frozen=True)
class Source:
    file: str


@dataclass(frozen=True)
class Case:
    leaf: str
    label: str
    edits: dict                          # unit code ("@" = the case's own unit) -> period -> {field: value}
    rows: dict                           # unit code -> incident rows of its June file
    expect: str = KHONG_DAT
    also: frozenset = frozenset()        # other leaves of the scored unit the same fact fails
    evidence: tuple = ()                 # pointers; default: the first mutated row or cell of the scored unit
    xfail: str = ""
    recognition: tuple | None = None     # XA cases: unit codes of a recorded [recognition.2025] decision
    registry: dict = field(default_factory=dict)   # XA cases: unit code -> extra antt.toml lines

    @property
    def id(self) -> str:
        return f"{self.leaf}[{self.label}]" if self.label else self.leaf

    @property
    def unit_type(self) -> str:
        return CATALOG.criteria[self.leaf].unit_type

    @property
    def code(self) -> str:
        """The unit scored for this case: the commune, or a unit of its own in the shared workspace."""
        if self.unit_type == "XA":
            return COMMUNE
        return "T-" + re.sub(r"[^A-Za-z0-9]+", "-", self.id).strip("-").upper()


def unit_case(leaf: str, label: str = "", edits: dict | None = None, rows=(), **kw) -> Case:
    return Case(leaf, label, {"@": edits or {}}, {"@": tuple(rows)} if rows else {}, also=frozenset(kw.pop("also", ())),
                **kw)


def xa_case(leaf: str, label: str = "", edits: dict | None = None, rows: dict | None = None, **kw) -> Case:
    return Case(leaf, label, edits or {}, {k: tuple(v) for k, v in (rows or {}).items()},
                also=frozenset(kw.pop("also", ())), **kw)


U, X = unit_case, xa_case
DEC = datetime(Y - 1, 12, 20)    # a December date: outside Quý I, it never passes (digest §12.3)
APR_DAY = datetime(Y, 4, 3)      # an April date: a late document never cures

UNIT_CASES = [
    # ---- KDC (Điều 4)
    U("KDC-1.1", "thang-12", {FEB: {"ngay_nghi_quyet_chi_bo": DEC}}),
    U("KDC-1.1", "khong-chi-bo", {FEB: {"ngay_nghi_quyet_chi_bo": None}}, evidence=(Sheet("@", FEB),)),
    U("KDC-1.2", "thang-4", {FEB: {"ngay_dang_ky_phan_dau": None}, APR: {"ngay_dang_ky_phan_dau": APR_DAY}}),
    U("KDC-1.3", "119-120", {FEB: {"so_ho_dang_ky": 119}}),
    U("KDC-1.3", "cured", {FEB: {"so_ho_dang_ky": 119}, JUN: {"so_ho_dang_ky": 120}}, expect=DAT),
    U("KDC-2", "", {JUN: {"trien_khai_day_du": KHONG}}),
    U("KDC-3.a", rows=[row("CHONG_DANG")]),
    U("KDC-3.b", rows=[row("PHA_HOAI")]),
    U("KDC-3.c", rows=[row("TON_GIAO_TRAI_PHEP")]),
    U("KDC-3.d", rows=[row("LOI_DUNG_TON_GIAO")]),
    U("KDC-3.dd", rows=[row("LY_KHAI")]),
    U("KDC-3.e", rows=[row("MAU_THUAN_KEO_DAI")]),
    U("KDC-3.g", rows=[row("KICH_DONG_KHIEU_KIEN")]),
    U("KDC-4.a", "te-nan", rows=[row("TE_NAN_XA_HOI")]),
    U("KDC-4.a", "bang-nam-truoc", rows=[row("VI_PHAM_PHAP_LUAT")], expect=DAT),
    U("KDC-4.b", "", rows=[row("TOI_PHAM", "NGHIEM_TRONG", ma="VV-01", mo_ta="Cướp tài sản")]),
    U("KDC-4.b", "2-of-3", rows=[row("TOI_PHAM", "RAT_NGHIEM_TRONG", rescue=(CO, CO, None))]),
    U("KDC-4.b", "rescued", rows=[row("TOI_PHAM", "NGHIEM_TRONG", rescue=(CO, CO, CO))], expect=DAT),
    U("KDC-4.b", "it-nghiem-trong", rows=[row("TOI_PHAM", "IT_NGHIEM_TRONG")], expect=DAT),
    U("KDC-4.c.1", rows=[row("TU_DIEM_PHUC_TAP")]),
    U("KDC-4.c.2", rows=[row("NGUOI_MAC_TNXH_MOI")]),
    U("KDC-4.c.3", "", {FEB: {"quan_ly_doi_tuong_hieu_qua": KHONG}}),
    U("KDC-4.d.1", "", rows=[row("CHAY_NO", "NGHIEM_TRONG")]),
    U("KDC-4.d.1", "khong-nghiem-trong", rows=[row("CHAY_NO", "KHONG_NGHIEM_TRONG")], expect=DAT),
    U("KDC-4.d.1", "bkk", rows=[row("CHAY_NO", "NGHIEM_TRONG", bkk=CO, mo_ta="Sét đánh")], expect=DAT),
    U("KDC-4.d.2", rows=[row("TAI_NAN_LD_CHET_NGUOI")]),
    U("KDC-4.d.3", rows=[row("SU_CO", "NGHIEM_TRONG")]),
    U("KDC-5.1", "", {NOV: {"xep_loai_luc_luong": "KHONG_HOAN_THANH"}}),
    U("KDC-5.2", "khien-trach", rows=[row("KY_LUAT_LUC_LUONG", "KHIEN_TRACH")]),
    # ---- CQDN (Điều 6)
    U("CQDN-1.1", "thang-12", {FEB: {"ngay_nghi_quyet": DEC}}),
    U("CQDN-1.1", "khong-to-chuc-dang", {FEB: {"co_to_chuc_dang": KHONG, "ngay_nghi_quyet": None}},
      expect=KHONG_AP_DUNG),
    U("CQDN-1.2", "", {FEB: {"ngay_ke_hoach": None}, APR: {"ngay_ke_hoach": APR_DAY}}),
    U("CQDN-1.3", "chua-dang-ky", {FEB: {"ngay_dang_ky_phan_dau": None}}, evidence=(Sheet("@", FEB),)),
    U("CQDN-1.4", "", {FEB: {"noi_quy_moi_truong": KHONG}}),
    U("CQDN-1.5", "", {FEB: {"so_nguoi_quan_triet": 249}}),
    U("CQDN-1.6", "", {FEB: {"so_mo_hinh_hieu_qua": 0}}),
    U("CQDN-2", "", {JUN: {"trien_khai_day_du": KHONG}}),
    U("CQDN-3.a", rows=[row("TON_GIAO_TRAI_PHEP")]),
    U("CQDN-3.b", rows=[row("LOI_DUNG_TON_GIAO")]),
    U("CQDN-3.c", rows=[row("KICH_DONG_KHIEU_KIEN")]),
    U("CQDN-3.d", rows=[row("DINH_CONG")]),
    U("CQDN-3.dd", rows=[row("TOI_PHAM", "RAT_NGHIEM_TRONG")]),
    U("CQDN-3.e", rows=[row("LO_BI_MAT")]),
    U("CQDN-3.g.1", rows=[row("CHAY_NO", "NGHIEM_TRONG")]),
    U("CQDN-3.g.2", rows=[row("TAI_NAN_LD_CHET_NGUOI")]),
    U("CQDN-3.g.3", rows=[row("SU_CO", "NGHIEM_TRONG")]),
    U("CQDN-3.g.4", rows=[row("VI_PHAM_MOI_TRUONG_VSTP", "NGHIEM_TRONG")]),
    U("CQDN-3.h", "phat-antt", rows=[row("NLD_VI_PHAM_ANTT")]),
    U("CQDN-3.h", "te-nan-canh-cao", rows=[row("NLD_TE_NAN_XA_HOI", "CANH_CAO")]),
    U("CQDN-3.h", "te-nan-khien-trach", rows=[row("NLD_TE_NAN_XA_HOI", "KHIEN_TRACH")], expect=DAT),
    U("CQDN-4.1", "", {NOV: {"xep_loai_luc_luong_bao_ve": "HOAN_THANH"}}),
    U("CQDN-4.2", "canh-cao", rows=[row("KY_LUAT_LUC_LUONG", "CANH_CAO")], also={"CQDN-5.2"}),
    U("CQDN-4.2", "khien-trach", rows=[row("KY_LUAT_LUC_LUONG", "KHIEN_TRACH")], expect=DAT),
    U("CQDN-5.1", "6-10", {NOV: {"so_dau_moi_dat": 6}}),
    U("CQDN-5.1", "7-10", {NOV: {"so_dau_moi_dat": 7}}, expect=DAT),
    U("CQDN-5.2", "", rows=[row("KY_LUAT_CA_NHAN", "NANG_HON")]),
    # ---- CSGD (Điều 7)
    U("CSGD-1.1", "", {FEB: {"ngay_nghi_quyet": DEC}}),
    U("CSGD-1.2", "", {FEB: {"ngay_ke_hoach": None}, APR: {"ngay_ke_hoach": APR_DAY}}),
    U("CSGD-1.3", "", {FEB: {"ngay_dang_ky_phan_dau": DEC}}),
    U("CSGD-1.4", "", {FEB: {"noi_quy_quan_ly_nguoi_hoc": KHONG}}),
    U("CSGD-1.5", "", {FEB: {"so_nguoi_quan_triet": 599}}),
    U("CSGD-1.6", "", {FEB: {"so_mo_hinh_hieu_qua": 0}}),
    U("CSGD-2.1", "", {JUN: {"trien_khai_day_du": KHONG}}),
    U("CSGD-2.2", "", {FEB: {"phoi_hop_cha_me_hoc_sinh": KHONG}}),
    U("CSGD-3:CQDN-3.a", rows=[row("TON_GIAO_TRAI_PHEP")]),
    U("CSGD-3:CQDN-3.b", rows=[row("LOI_DUNG_TON_GIAO")]),
    U("CSGD-3:CQDN-3.c", rows=[row("KICH_DONG_KHIEU_KIEN")]),
    U("CSGD-3:CQDN-3.dd", "toi-pham", rows=[row("TOI_PHAM", "NGHIEM_TRONG")]),
    U("CSGD-3:CQDN-3.dd", "nguoi-hoc", rows=[row("NGUOI_HOC_DAY_PHAM_TOI", "DAC_BIET_NGHIEM_TRONG")],
      also={"CSGD-4.2"}),
    U("CSGD-3:CQDN-3.e", rows=[row("LO_BI_MAT")]),
    U("CSGD-3:CQDN-3.g.1", rows=[row("CHAY_NO", "NGHIEM_TRONG")]),
    U("CSGD-3:CQDN-3.g.2", rows=[row("TAI_NAN_LD_CHET_NGUOI")]),
    U("CSGD-3:CQDN-3.g.3", rows=[row("SU_CO", "NGHIEM_TRONG")]),
    U("CSGD-3:CQDN-3.g.4", rows=[row("VI_PHAM_MOI_TRUONG_VSTP", "NGHIEM_TRONG")]),
    U("CSGD-4.1", rows=[row("BAO_LUC_HOC_DUONG")]),
    U("CSGD-4.2", "pham-toi", rows=[row("NGUOI_HOC_DAY_PHAM_TOI", "IT_NGHIEM_TRONG")]),
    U("CSGD-4.2", "te-nan-canh-cao", rows=[row("NGUOI_HOC_DAY_TE_NAN", "CANH_CAO")]),
    U("CSGD-4.2", "te-nan-khien-trach", rows=[row("NGUOI_HOC_DAY_TE_NAN", "KHIEN_TRACH")], expect=DAT),
    U("CSGD-5.1", "", {NOV: {"xep_loai_luc_luong_bao_ve": "HOAN_THANH"}}),
    U("CSGD-5.2", "", rows=[row("KY_LUAT_LUC_LUONG", "CANH_CAO")], also={"CSGD-6.2"}),
    U("CSGD-6.1", "", {NOV: {"so_dau_moi_dat": 3}}),
    U("CSGD-6.2", "", rows=[row("KY_LUAT_CA_NHAN", "CANH_CAO")]),
]

XA_CASES = [
    X("XA-1.1", "", {COMMUNE: {FEB: {"ngay_nghi_quyet_dang_uy": DEC}}}),
    X("XA-1.2", "thang-4", {COMMUNE: {FEB: {"ngay_ke_hoach_ubnd": None}, APR: {"ngay_ke_hoach_ubnd": APR_DAY}}}),
    X("XA-1.3", "chua-dang-ky", {COMMUNE: {FEB: {"ngay_dang_ky_phan_dau": None}}}, evidence=(Sheet(COMMUNE, FEB),)),
    X("XA-1.4", "", {COMMUNE: {FEB: {"so_mo_hinh_hieu_qua": 0}}}),
    X("XA-2:KDC-2", "", {COMMUNE: {JUN: {"trien_khai_day_du": KHONG}}}),
    X("XA-2:KDC-3.a", "xom", rows={"XOM01": [row("CHONG_DANG")]}),
    X("XA-2:KDC-3.b", "xom", rows={"XOM02": [row("PHA_HOAI")]}),
    X("XA-2:KDC-3.c", "doanh-nghiep", rows={"DN-MAY": [row("TON_GIAO_TRAI_PHEP")]}),
    X("XA-2:KDC-3.d", "truong", rows={"TRUONG-THCS": [row("LOI_DUNG_TON_GIAO")]}),
    X("XA-2:KDC-3.dd", "xom", rows={"XOM01": [row("LY_KHAI")]}),
    X("XA-2:KDC-3.e", "xom", rows={"XOM02": [row("MAU_THUAN_KEO_DAI")]}),
    X("XA-2:KDC-3.g", "doanh-nghiep", rows={"DN-MAY": [row("KICH_DONG_KHIEU_KIEN")]}),
    X("XA-2:KDC-4.a", "te-nan-xom", rows={"XOM01": [row("TE_NAN_XA_HOI")]}),
    X("XA-2:KDC-4.a", "dinh-cong-doanh-nghiep",
      rows={"DN-MAY": [row("DINH_CONG", ma=f"DC-{i}", day=10 + i) for i in range(3)]}),
    X("XA-2:KDC-4.b", "nguoi-hoc-pham-toi", rows={"TRUONG-THCS": [row("NGUOI_HOC_DAY_PHAM_TOI", "NGHIEM_TRONG")]}),
    X("XA-2:KDC-4.b", "2-of-3-xom", rows={"XOM02": [row("TOI_PHAM", "RAT_NGHIEM_TRONG", rescue=(CO, None, CO))]}),
    X("XA-2:KDC-4.b", "rescued", rows={"XOM01": [row("TOI_PHAM", "NGHIEM_TRONG", rescue=(CO, CO, CO))]},
      expect=DAT),
    X("XA-2:KDC-4.c.1", "xom", rows={"XOM01": [row("TU_DIEM_PHUC_TAP")]}),
    X("XA-2:KDC-4.c.2", "xom", rows={"XOM02": [row("NGUOI_MAC_TNXH_MOI")]}),
    X("XA-2:KDC-4.c.3", "", {COMMUNE: {FEB: {"quan_ly_doi_tuong_hieu_qua": KHONG}}}),
    X("XA-2:KDC-4.d.1", "doanh-nghiep", rows={"DN-MAY": [row("CHAY_NO", "NGHIEM_TRONG")]}),
    X("XA-2:KDC-4.d.1", "bkk", rows={"DN-MAY": [row("CHAY_NO", "NGHIEM_TRONG", bkk=CO, mo_ta="Sét đánh")]},
      expect=DAT),
    X("XA-2:KDC-4.d.2", "doanh-nghiep", rows={"DN-MAY": [row("TAI_NAN_LD_CHET_NGUOI")]}),
    X("XA-2:KDC-4.d.3", "xom", rows={"XOM01": [row("SU_CO", "NGHIEM_TRONG")]}),
    X("XA-3.1", "", {COMMUNE: {FEB: {"cong_an_nam_chac_tinh_hinh": KHONG}}}),
    X("XA-3.2", "cong-an-xa", rows={COMMUNE: [row("KY_LUAT_LUC_LUONG", "KHIEN_TRACH")]}),
    X("XA-3.2", "xom-only", rows={"XOM01": [row("KY_LUAT_LUC_LUONG", "NANG_HON")]}, expect=DAT),
    X("XA-4.1", "dang-ky-thang-4",
      {"XOM02": {FEB: {"ngay_dang_ky_phan_dau": None}, APR: {"ngay_dang_ky_phan_dau": APR_DAY}}},
      evidence=(Cell("XOM02", APR, "ngay_dang_ky_phan_dau"),)),
    X("XA-4.1", "tinh-cong-nhan", {"DN-MAY": {FEB: {"ngay_dang_ky_phan_dau": None}}},
      registry={"DN-MAY": 'recognised_by = "tinh"'}, expect=DAT),
    X("XA-4.2", "tu-danh-gia-2-4", {"XOM02": {JUN: {"trien_khai_day_du": KHONG}},
                                    "DN-MAY": {JUN: {"trien_khai_day_du": KHONG}}},
      evidence=(Cell("XOM02", JUN, "trien_khai_day_du"), Cell("DN-MAY", JUN, "trien_khai_day_du"))),
    X("XA-4.2", "quyet-dinh-2-4", recognition=("XOM01", "XOM02"),
      evidence=(Source(f"antt.toml [recognition.{Y}]"),)),
    X("XA-4.2", "quyet-dinh-3-4", recognition=("XOM01", "XOM02", "DN-MAY"), expect=DAT),
]

ALL_CASES = UNIT_CASES + XA_CASES


def params(cases):
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else [])
            for c in cases]


# --- building workspaces from real files --------------------------------------------------------------------------

def toml(units: dict[str, tuple[str, str]], recognition=None, registry=None) -> str:
    """antt.toml of a test workspace: the commune (with its 2024 baselines) and `units` {code: (name, type)}."""
    def counts(header: str, values: dict) -> list[str]:
        return [header, *(f"{k} = {v}" for k, v in values.items())]

    lines = ["[commune]", f'code = "{COMMUNE}"', 'name = "xã Phú Đình"', 'forward_to = "Ban Chỉ đạo 138 tỉnh"',
             "deadline_day = 5", *counts(f"[commune.baselines.{Y - 1}]", COMMUNE_BASELINE)]
    for code, (name, unit_type) in units.items():
        lines += ["", "[[units]]", f'code = "{code}"', f'name = "{name}"', f'type = "{unit_type}"']
        if registry and code in registry:
            lines.append(registry[code])
        if unit_type == "KDC":
            lines += counts(f"[units.baselines.{Y - 1}]", UNIT_BASELINE)
    if recognition is not None:
        codes = ", ".join(f'"{c}"' for c in recognition)
        lines += ["", f"[recognition.{Y}]", 'decision = "125/QĐ-UBND"', f"date = {Y}-11-25", f"units = [{codes}]"]
    return "\n".join(lines) + "\n"


def year_files(unit_type: str, edits: dict | None = None, rows=()) -> dict[str, tuple[dict, tuple]]:
    """period -> (values, incident rows): the clean year of a unit type with a case's edits and June rows."""
    files = {FEB: (dict(CLEAN[unit_type]), ())}
    if unit_type in YEAR_END:
        files[NOV] = (dict(YEAR_END[unit_type]), ())
    for period, values in (edits or {}).items():
        files.setdefault(period, ({}, ()))[0].update(values)
    if rows:
        files[JUN] = (files.get(JUN, ({}, ()))[0], tuple(rows))
    return files


class Factory:
    """Real filled templates, each written once and reused as bytes wherever the same unit sends the same file."""

    def __init__(self, root: Path):
        self.root, self.cache, self.count = root, {}, 0

    def file(self, code: str, name: str, unit_type: str, period: str, values: dict, rows: tuple) -> bytes:
        key = (code, name, unit_type, period, repr(sorted(values.items())), repr(rows))
        if key not in self.cache:
            blank = self.root / "blank" / template_filename(code, period)
            if not blank.exists():
                write_template(blank, CATALOG, unit_type, code, name, period)
            self.count += 1
            target = self.root / "filled" / str(self.count) / template_filename(code, period)
            base = {"nguoi_bao_cao": "Nguyễn Văn An", "ngay_bao_cao": datetime(int(period[:4]), int(period[5:]), 28)}
            self.cache[key] = fill(blank, target, {**base, **values}, rows).read_bytes()
        return self.cache[key]


def build(root: Path, factory: Factory, config: str, files: dict) -> object:
    """Write antt.toml, put every file in its month's inbox, ingest month by month, write the annual report.

    `files` = {(code, period): (values, rows)}. Every file must be accepted with no error: a case is about
    scoring, so a validation error here is a bug of its own.
    """
    root.mkdir(parents=True)
    (root / "antt.toml").write_text(config, encoding="utf-8")
    ws = load_workspace(root)
    for (code, period), (values, rows) in files.items():
        unit = ws.find(code)
        path = ws.inbox(period) / template_filename(code, period)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(factory.file(unit.code, unit.name, unit.type, period, values, rows))
        received = datetime(int(period[:4]) + int(period[5:]) // 12, int(period[5:]) % 12 + 1, 2, 9).timestamp()
        os.utime(path, (received, received))
    for period in sorted({p for _, p in files}):
        result = api.ingest(ws, period, [ws.inbox(period)])
        bad = [(o.display, o.decision, [(p.code, p.location.field, p.location.row) for p in o.problems])
               for o in result.outcomes if o.decision != "accepted" or any(p.is_error for p in o.problems)]
        assert not bad, bad
    outcome = api.write_report(ws, year=Y, today=TODAY)
    assert outcome.path.is_file()
    return outcome.score


def units_by_code(score) -> dict:
    return {u.unit.code: u for u in [*score.units, score.commune]}


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    return Factory(tmp_path_factory.mktemp("files"))


@pytest.fixture(scope="module")
def cells(factory):
    """Where each field's input cell and the register's header row are, read from the real templates."""
    import openpyxl
    out = {}
    for unit_type in CATALOG.unit_types:
        path = factory.root / "layout" / f"{unit_type}.xlsx"
        write_template(path, CATALOG, unit_type, "X", "X", FEB)
        wb = openpyxl.load_workbook(path)
        names = {}
        for name in wb.defined_names:
            sheet, ref = next(iter(wb.defined_names[name].destinations))
            names[name] = (sheet, ref.replace("$", "").split(":")[0])
        out[unit_type] = names
    return out


def commune_files(edits: dict | None = None, rows: dict | None = None) -> dict:
    edits, rows = edits or {}, rows or {}
    files = {}
    for code, (_, unit_type) in [(COMMUNE, ("", "XA")), *POPULATION.items()]:
        for period, content in year_files(unit_type, edits.get(code), rows.get(code, ())).items():
            files[(code, period)] = content
    return files


@pytest.fixture(scope="module")
def clean(tmp_path_factory, factory):
    """The clean year: the commune and its four units, every file passing."""
    return units_by_code(build(tmp_path_factory.mktemp("clean") / "ws", factory, toml(POPULATION), commune_files()))


@pytest.fixture(scope="module")
def shared(tmp_path_factory, factory):
    """One workspace holding one unit per KDC, CQDN or CSGD case: its clean year plus the case's mutation."""
    units, files = {}, {}
    for case in UNIT_CASES:
        assert case.code not in units, f"two cases map to unit code {case.code}"
        units[case.code] = (f"Đơn vị thử {case.id}", case.unit_type)
        for period, content in year_files(case.unit_type, case.edits.get("@"), case.rows.get("@", ())).items():
            files[(case.code, period)] = content
    return units_by_code(build(tmp_path_factory.mktemp("shared") / "ws", factory, toml(units), files))


# --- checks -------------------------------------------------------------------------------------------------------

def unit_type_of(code: str, case: Case) -> str:
    if code == COMMUNE:
        return "XA"
    return POPULATION[code][1] if code in POPULATION else case.unit_type


def default_evidence(case: Case) -> tuple:
    """The first mutated register row, else the first mutated (non-blank) cell, of the scored unit."""
    own = "@" if case.unit_type != "XA" else COMMUNE
    if case.rows:
        code = own if own in case.rows else next(iter(case.rows))
        return (Row(code),)
    for code, periods in case.edits.items():
        for period, values in sorted(periods.items(), reverse=True):
            for fid, value in values.items():
                if value is not None:
                    return (Cell(code, period, fid),)
    return ()


def matches(ev, pointer, case: Case, cells) -> bool:
    if isinstance(pointer, Source):
        return ev.file == pointer.file
    code = case.code if pointer.unit == "@" else pointer.unit
    names = cells[unit_type_of(code, case)]
    if ev.file != template_filename(code, pointer.period) or ev.month != pointer.period:
        return False
    if isinstance(pointer, Cell):
        return (ev.sheet, ev.cell) == names[pointer.field]
    if isinstance(pointer, Row):
        sheet, first = names["vu_viec"]
        line = int(re.sub(r"\D", "", first)) + pointer.n
        return ev.sheet == sheet and ev.row == line and ev.cell.endswith(str(line))
    return ev.sheet == names["nguoi_bao_cao"][0] and ev.cell == ""      # Sheet: the latest report, no cell


def check(case: Case, unit, cells) -> None:
    results = unit.results
    got = results[case.leaf]
    assert got.code == case.expect, f"{case.id}: {got.code} — {got.reason}"
    expected_failed = ({case.leaf} if case.expect == KHONG_DAT else set()) | case.also
    assert set(unit.failed_criteria) == expected_failed, {c: results[c].reason for c in unit.failed_criteria}
    others = {cid: r.code for cid, r in results.items()
              if cid not in expected_failed | {case.leaf} and r.code != DAT}
    assert not others, others
    if case.expect != KHONG_DAT:
        return
    assert unit.verdict_code == CHUA_DAT
    for cid in expected_failed:
        assert CATALOG.criteria[cid].citation in results[cid].reason, results[cid].reason
    pointers = case.evidence or default_evidence(case)
    assert pointers, f"{case.id}: no evidence to look for"
    for pointer in pointers:
        assert any(matches(ev, pointer, case, cells) for ev in got.evidence), (pointer, got.evidence)


# --- the tests ----------------------------------------------------------------------------------------------------

def test_every_leaf_has_a_dat_and_a_khong_dat_case():
    """Issue 5: every national leaf has a KHONG_DAT case in the table and a DAT case (the clean year, below)."""
    leaves = set(LEAVES)
    assert {c.leaf for c in ALL_CASES} <= leaves
    assert sorted(leaves - {c.leaf for c in ALL_CASES if c.expect == KHONG_DAT}) == []
    assert len({c.id for c in ALL_CASES}) == len(ALL_CASES)
    assert set(CLEAN_LEAVES) == leaves
    by_type = {t: [c for c in LEAVES if CATALOG.criteria[c].unit_type == t] for t in CATALOG.unit_types}
    assert {t: len(v) for t, v in by_type.items()} == {"KDC": 21, "XA": 24, "CQDN": 22, "CSGD": 23}


CLEAN_UNIT = {"KDC": "XOM01", "XA": COMMUNE, "CQDN": "DN-MAY", "CSGD": "TRUONG-THCS"}
CLEAN_LEAVES = list(LEAVES)


@pytest.mark.parametrize("leaf", CLEAN_LEAVES)
def test_clean_year_is_dat(clean, leaf):
    result = clean[CLEAN_UNIT[CATALOG.criteria[leaf].unit_type]].results[leaf]
    assert result.code == DAT, result.reason


def test_clean_year_verdicts(clean):
    """Every unit of the clean year is Đạt with 100%, and so is the commune (XA-4.2 on the units' own verdicts)."""
    assert {code: (u.verdict_code, u.score_pct) for code, u in clean.items()} == {
        code: (DAT, 100.0) for code in [*POPULATION, COMMUNE]}
    assert clean["XOM02"].results["KDC-1.2"].code == DAT


@pytest.mark.parametrize("case", params(UNIT_CASES))
def test_unit_case(shared, cells, case):
    check(case, shared[case.code], cells)


@pytest.mark.parametrize("case", params(XA_CASES))
def test_commune_case(tmp_path, factory, cells, case):
    config = toml(POPULATION, case.recognition, case.registry)
    score = build(tmp_path / "ws", factory, config, commune_files(case.edits, case.rows))
    check(case, units_by_code(score)[COMMUNE], cells)
