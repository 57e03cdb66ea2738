"""Every national leaf of the catalog, DAT and KHONG_DAT, from real template files through the real intake.

Nothing here builds a ScoringInput by hand. Each file is the unit's own personalised template
(`templates.write_template`) filled with openpyxl through its defined names, like a clerk in Excel
(`conftest.fill`), dropped in a month's inbox; `api.ingest` takes the inboxes month by month and
`api.write_report(year=2025)` scores the final evaluation and writes the consolidated workbook.

A *clean year* for a unit is its February file (every status field passing, Quý I dates) and its November file
(the year-end results, which may arrive in the month after the period ends — spec §5); the commune sends its
February file. In the clean workspace every leaf of every type is DAT. A *case* is a clean year plus one
mutation — field values in some month's file, incident rows in a month's register (February's, dated 12/02,
unless the case says otherwise), a corrected re-submission, a unit that sends nothing — and names the one leaf it
must move to the expected code. Every other leaf of the scored unit must stay DAT, except `also` (other leaves the
same fact legally fails) and `side` (other codes it legally implies, e.g. N/A). KHONG_DAT cases also check the
citation in the reason and the evidence: file name, sheet and cell (status field) or row (register).

KDC, CQDN and CSGD cases are units of one shared workspace (one unit per case: a unit's results depend only on
its own files; to keep the file fast, a case that does not touch a year-end result has them in its February
file). XA cases need a commune each, so each builds a small workspace (the commune, two xóm, an enterprise and a
school, all clean except what the case changes): XA-2 imports are fed by rows in a xóm's, the enterprise's or the
school's register, XA-3.2 by the commune's own register, XA-4 by the units' registrations, their verdicts or the
recorded `[recognition.2025]` decision.

A case that shows a scoring or validation bug keeps asserting the legal behaviour and carries `xfail=<reason>`.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pytest
from conftest import fill

from antt_batch import api
from antt_batch.catalog import load_catalog
from antt_batch.model import CHUA_DAT, DAT, KHONG_AP_DUNG, KHONG_DAT, THIEU_DU_LIEU
from antt_batch.score.periods import next_month
from antt_batch.templates import template_filename, write_template
from antt_batch.workspace import load_workspace

CATALOG = load_catalog()
LEAVES = CATALOG.national_leaf_ids()
Y = 2025
FEB, MAR, APR, JUN, SEP, NOV = (f"{Y}-{m:02d}" for m in (2, 3, 4, 6, 9, 11))
TODAY = date(Y, 12, 20)
CO, KHONG = "Có", "Không"
COMMUNE = "PHUDINH"

# Every status field passing (February file) and the year-end results (November file), per unit type; values are
# typed the ways clerks type them (spec §4): dropdown text "CODE - Nhãn", a bare code or the label alone, Có, có, x
# or NFD, numbers and dates typed as text, real dates.
CLEAN = {
    "KDC": {"ngay_nghi_quyet_chi_bo": datetime(Y, 1, 20), "ngay_dang_ky_phan_dau": datetime(Y, 2, 10),
            "so_ho_cu_tru": 120, "so_ho_dang_ky": "120", "trien_khai_day_du": "x", "quan_ly_doi_tuong_hieu_qua": CO},
    "XA": {"ngay_nghi_quyet_dang_uy": datetime(Y, 1, 23), "ngay_ke_hoach_ubnd": f"05/02/{Y}",
           "ngay_dang_ky_phan_dau": datetime(Y, 2, 5), "so_mo_hinh_hieu_qua": 2, "trien_khai_day_du": CO,
           "quan_ly_doi_tuong_hieu_qua": CO, "cong_an_nam_chac_tinh_hinh": unicodedata.normalize("NFD", CO)},
    "CQDN": {"loai_hinh": "DOANH_NGHIEP - Doanh nghiệp", "linh_vuc": "CONG_NGHIEP_XAY_DUNG", "so_lao_dong_bhxh": 250,
             "doanh_thu_ty": 120, "tong_nguon_von_ty": 80, "duoi_mot_nam": KHONG, "co_to_chuc_dang": CO,
             "du_dieu_kien_thi_dua": CO, "ngay_nghi_quyet": datetime(Y, 1, 15), "ngay_ke_hoach": datetime(Y, 1, 20),
             "ngay_dang_ky_phan_dau": f"01/02/{Y}", "noi_quy_bao_ve": CO, "noi_quy_bi_mat": "x",
             "noi_quy_chinh_tri_noi_bo": CO, "noi_quy_an_toan_lao_dong": CO, "noi_quy_pccn": CO,
             "noi_quy_moi_truong": "có ", "so_nguoi": " 250 ", "so_nguoi_quan_triet": 250, "so_mo_hinh_hieu_qua": 1,
             "trien_khai_day_du": CO, "so_dau_moi": 10},
    "CSGD": {"cap_hoc": "Trung học cơ sở", "co_to_chuc_dang": CO, "du_dieu_kien_thi_dua": CO,
             "ngay_nghi_quyet": datetime(Y, 1, 10), "ngay_ke_hoach": 45669,      # an Excel serial: 12/01/2025
             "ngay_dang_ky_phan_dau": datetime(Y, 1, 14), "noi_quy_bao_ve": CO, "noi_quy_chinh_tri_noi_bo": CO,
             "noi_quy_quan_ly_nguoi_hoc": CO, "noi_quy_pccn": CO, "so_nguoi": 600, "so_nguoi_quan_triet": 600,
             "so_mo_hinh_hieu_qua": 1, "trien_khai_day_du": CO, "phoi_hop_cha_me_hoc_sinh": CO, "so_dau_moi": 5},
}
YEAR_END = {
    "KDC": {"xep_loai_luc_luong": "HOAN_THANH - Hoàn thành nhiệm vụ"},
    "CQDN": {"xep_loai_luc_luong_bao_ve": "HOAN_THANH_TOT", "so_dau_moi_dat": 8},
    "CSGD": {"xep_loai_luc_luong_bao_ve": "TAP_THE_LAO_DONG_TIEN_TIEN", "so_dau_moi_dat": 4},
}

# The small commune of the XA cases and of the clean year: every unit recognised by the commune.
POPULATION = {"XOM01": ("Xóm Đình", "KDC"), "XOM02": ("Xóm Chùa", "KDC"),
              "DN-MAY": ("Công ty May Phú Đình", "CQDN"), "TRUONG-THCS": ("Trường THCS Phú Đình", "CSGD")}
CLEAN_UNIT = {"KDC": "XOM01", "XA": COMMUNE, "CQDN": "DN-MAY", "CSGD": "TRUONG-THCS"}
# Previous year's counts (history has no 2024): xóm 1/0/1, the commune 2/0/2 — one tệ nạn is already an increase.
UNIT_BASELINE = {"toi_pham": 1, "te_nan_xa_hoi": 0, "vi_pham_phap_luat": 1}
COMMUNE_BASELINE = {"toi_pham": 2, "te_nan_xa_hoi": 0, "vi_pham_phap_luat": 2}

DEC = datetime(Y - 1, 12, 31)    # the last day before Quý I: a December document never passes (digest §12.3)
APR_DAY = datetime(Y, 4, 1)      # the first day after it: a late document never cures


def row(loai: str, muc_do: str | None = None, *, bkk: str | None = None, rescue=(None, None, None),
        ma: str | None = None, mo_ta: str | None = None, on: datetime | str = datetime(Y, 2, 12)) -> tuple:
    """One `Vụ việc` row in register column order (ngay, loai, muc_do, bat_kha_khang, the three rescue flags,
    ma_vu_viec, mo_ta)."""
    return (on, loai, muc_do, bkk, *rescue, ma, mo_ta)


def dropdown(category: str) -> str:
    """The category as the register's dropdown shows it: "CODE - Nhãn"."""
    return CATALOG.codelists["LOAI_VU_VIEC"].display(category)


def label_nfd(category: str) -> str:
    """The category's label alone, typed with decomposed (NFD) diacritics."""
    return unicodedata.normalize("NFD", CATALOG.categories[category].label)


# --- evidence pointers: where a KHONG_DAT must point --------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """The input cell of `field` in the unit's file of `period` (sheet `Báo cáo`). Unit "@" = the case's unit."""
    unit: str
    period: str
    field: str


@dataclass(frozen=True)
class Row:
    """Row `n` (1-based) of the `Vụ việc` register of the unit's file of `period` (`fixed`: its correction)."""
    unit: str
    n: int = 1
    period: str = FEB
    fixed: bool = False


@dataclass(frozen=True)
class Sheet:
    """A value that is missing: the latest report of the year that left it blank (file and sheet, no cell)."""
    unit: str
    period: str


@dataclass(frozen=True)
class Source:
    file: str


# --- the table ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    leaf: str
    label: str
    edits: dict                     # unit code ("@" = the case's unit) -> period -> {field: value} (None = blank)
    rows: dict                      # unit code -> period -> incident rows of that month's file
    fixes: dict                     # unit code -> period -> rows of a corrected file sent with the next month
    expect: str = KHONG_DAT
    also: frozenset = frozenset()   # other leaves of the scored unit the same fact fails
    side: dict = field(default_factory=dict)     # other leaves the fact moves to another code (e.g. N/A)
    warnings: tuple = ()            # codes of the scoring warnings expected on the scored unit
    evidence: tuple | None = None   # pointers; None: the case's first row, else its latest non-blank edited cell
    reason_has: tuple = ()
    xfail: str = ""
    silent: tuple = ()              # XA cases: units that send nothing in the year
    recognition: tuple | None = None   # XA cases: unit codes of a recorded [recognition.2025] decision
    registry: dict = field(default_factory=dict)   # XA cases: unit code -> extra antt.toml line

    @property
    def id(self) -> str:
        return f"{self.leaf}[{self.label}]" if self.label else self.leaf

    @property
    def unit_type(self) -> str:
        return CATALOG.criteria[self.leaf].unit_type

    @property
    def code(self) -> str:
        """The unit scored: the commune, or the case's own unit in the shared workspace."""
        if self.unit_type == "XA":
            return COMMUNE
        return "T-" + re.sub(r"[^A-Za-z0-9]+", "-", self.id).strip("-").upper()


def _by_month(rows) -> dict:
    """A list of rows goes in February's file; a dict says which month's file holds which rows."""
    return dict(rows) if isinstance(rows, dict) else ({FEB: tuple(rows)} if rows else {})


def U(leaf: str, label: str = "", edits: dict | None = None, rows=(), fixes: dict | None = None, **kw) -> Case:
    """A KDC, CQDN or CSGD case: the mutation applies to the case's own unit."""
    return Case(leaf, label, {"@": edits or {}}, {"@": _by_month(rows)}, {"@": fixes} if fixes else {},
                also=frozenset(kw.pop("also", ())), **kw)


def X(leaf: str, label: str = "", edits: dict | None = None, rows: dict | None = None, **kw) -> Case:
    """An XA case: edits and rows are keyed by the commune's or a unit's code."""
    return Case(leaf, label, edits or {}, {code: _by_month(r) for code, r in (rows or {}).items()}, {},
                also=frozenset(kw.pop("also", ())), **kw)


UNIT_CASES = [
    # ---- KDC (Điều 4) -------------------------------------------------------------------------------------------
    U("KDC-1.1", "31-12", {FEB: {"ngay_nghi_quyet_chi_bo": DEC}}),
    U("KDC-1.1", "khong-chi-bo", {FEB: {"ngay_nghi_quyet_chi_bo": None}}, evidence=(Sheet("@", FEB),)),
    U("KDC-1.1", "31-03", {FEB: {"ngay_nghi_quyet_chi_bo": None}, MAR: {"ngay_nghi_quyet_chi_bo": datetime(Y, 3, 31)}},
      expect=DAT),
    U("KDC-1.2", "01-04", {FEB: {"ngay_dang_ky_phan_dau": None}, APR: {"ngay_dang_ky_phan_dau": APR_DAY}}),
    U("KDC-1.2", "nam-truoc", {f"{Y - 1}-02": {"ngay_dang_ky_phan_dau": datetime(Y - 1, 2, 10)},
                               FEB: {"ngay_dang_ky_phan_dau": None}}, evidence=(Sheet("@", FEB),)),
    U("KDC-1.3", "119-120", {FEB: {"so_ho_dang_ky": 119}}),
    U("KDC-1.3", "ho-moi-den", {JUN: {"so_ho_cu_tru": 125}}),
    U("KDC-1.3", "da-bo-sung", {FEB: {"so_ho_dang_ky": 119}, JUN: {"so_ho_dang_ky": 120}}, expect=DAT),
    U("KDC-2", "", {JUN: {"trien_khai_day_du": KHONG}}),
    U("KDC-2", "thang-11-la-nam-sau", {NOV: {"trien_khai_day_du": KHONG}}, expect=DAT),    # 30/11 is in KDC 2026
    U("KDC-3.a", "", rows=[row("CHONG_DANG")]),
    U("KDC-3.a", "bkk-khong-mien", rows=[row("CHONG_DANG", bkk=CO, mo_ta="Đối tượng từ nơi khác đến")]),
    U("KDC-3.a", "10-11-2024", rows={f"{Y - 1}-11": [row("CHONG_DANG", on=datetime(Y - 1, 11, 10))]},
      evidence=(Row("@", period=f"{Y - 1}-11"),)),
    U("KDC-3.a", "10-11-2025", rows={NOV: [row("CHONG_DANG", on=datetime(Y, 11, 10))]}, expect=DAT),
    U("KDC-3.b", "", rows=[row("PHA_HOAI", on=f"12/02/{Y}")]),
    U("KDC-3.c", "", rows=[row(label_nfd("TON_GIAO_TRAI_PHEP"))]),
    U("KDC-3.d", "", rows=[row("LOI_DUNG_TON_GIAO")]),
    U("KDC-3.dd", "", rows=[row("LY_KHAI")]),
    U("KDC-3.e", "", rows=[row("MAU_THUAN_KEO_DAI")]),
    U("KDC-3.e", "bo-sung-khi-sua", {JUN: {"ghi_chu": "Không có vụ việc"}},
      fixes={JUN: [row("MAU_THUAN_KEO_DAI", on=datetime(Y, 6, 12))]}, evidence=(Row("@", period=JUN, fixed=True),)),
    U("KDC-3.e", "rut-khi-sua", rows=[row("MAU_THUAN_KEO_DAI")], fixes={FEB: []}, expect=DAT),
    U("KDC-3.g", "", rows=[row("KICH_DONG_KHIEU_KIEN")]),
    U("KDC-4.a", "te-nan", rows=[row("TE_NAN_XA_HOI")]),
    U("KDC-4.a", "bang-nam-truoc", rows=[row("VI_PHAM_PHAP_LUAT")], expect=DAT),
    U("KDC-4.a", "lich-su-2024",         # a whole 2024 in history (one tệ nạn) beats antt.toml's 0
      {m: {} for m in [f"{Y - 2}-11", f"{Y - 2}-12", *(f"{Y - 1}-{i:02d}" for i in range(1, 11))]},
      rows={f"{Y - 1}-05": [row("TE_NAN_XA_HOI", on=datetime(Y - 1, 5, 10))], FEB: [row("TE_NAN_XA_HOI")]},
      expect=DAT, reason_has=("theo lịch sử",)),
    U("KDC-4.b", "", rows=[row("TOI_PHAM", "NGHIEM_TRONG", ma="VV-01", mo_ta="Cướp tài sản")]),
    U("KDC-4.b", "2-of-3", rows=[row("TOI_PHAM", "RAT_NGHIEM_TRONG", rescue=(CO, CO, None))]),
    U("KDC-4.b", "nang-muc-do", rows={JUN: [row("TOI_PHAM", "IT_NGHIEM_TRONG", ma="VV-05", on=datetime(Y, 6, 12))],
                                      SEP: [row("TOI_PHAM", "NGHIEM_TRONG", ma="VV-05", on=datetime(Y, 6, 12))]},
      evidence=(Row("@", period=JUN), Row("@", period=SEP))),
    U("KDC-4.b", "ma-vu-viec-nam-truoc",     # a new crime of 12/06/2025 reusing the number of a 2024 case
      rows={f"{Y - 1}-06": [row("TOI_PHAM", "NGHIEM_TRONG", ma="VV-01", on=datetime(Y - 1, 6, 3))],
            JUN: [row("TOI_PHAM", "NGHIEM_TRONG", ma="VV-01", on=datetime(Y, 6, 12))]},
      evidence=(Row("@", period=JUN),)),
    U("KDC-4.b", "rescued", rows=[row("TOI_PHAM", "NGHIEM_TRONG", rescue=("x", "có", CO))], expect=DAT),
    U("KDC-4.b", "bkk", rows=[row("TOI_PHAM", "NGHIEM_TRONG", bkk=CO, mo_ta="Lũ quét cuốn trôi")], expect=DAT),
    U("KDC-4.b", "it-nghiem-trong", rows=[row("TOI_PHAM", "IT_NGHIEM_TRONG")], expect=DAT),
    U("KDC-4.c.1", "", rows=[row("TU_DIEM_PHUC_TAP")]),
    U("KDC-4.c.2", "", rows=[row("NGUOI_MAC_TNXH_MOI")]),
    U("KDC-4.c.3", "", {FEB: {"quan_ly_doi_tuong_hieu_qua": KHONG}}),
    U("KDC-4.d.1", "", rows=[row(dropdown("CHAY_NO"), "Nghiêm trọng")]),
    U("KDC-4.d.1", "rescue-khong-mien", rows=[row("CHAY_NO", "NGHIEM_TRONG", rescue=(CO, CO, CO))]),
    U("KDC-4.d.1", "khong-nghiem-trong", rows=[row("CHAY_NO", "KHONG_NGHIEM_TRONG")], expect=DAT),
    U("KDC-4.d.1", "bkk", rows=[row("CHAY_NO", "NGHIEM_TRONG - Nghiêm trọng", bkk="x", mo_ta="Sét đánh")],
      expect=DAT),
    U("KDC-4.d.1", "dot-nha", rows=[row("TOI_PHAM", "NGHIEM_TRONG", ma="VV-07"),
                                    row("CHAY_NO", "NGHIEM_TRONG", ma="VV-07")], also={"KDC-4.b"},
      evidence=(Row("@", 2),)),
    U("KDC-4.d.2", "", rows=[row("TAI_NAN_LD_CHET_NGUOI")]),
    U("KDC-4.d.2", "bkk", rows=[row("TAI_NAN_LD_CHET_NGUOI", bkk=CO, mo_ta="Động đất")], expect=DAT),
    U("KDC-4.d.3", "", rows=[row("SU_CO", "NGHIEM_TRONG")]),
    U("KDC-5.1", "", {NOV: {"xep_loai_luc_luong": "KHONG_HOAN_THANH"}}),
    U("KDC-5.1", "thang-10", {NOV: {"xep_loai_luc_luong": None}, f"{Y}-10": {"xep_loai_luc_luong": "HOAN_THANH_TOT"}},
      expect=DAT),
    U("KDC-5.1", "thang-12-qua-muon", {NOV: {"xep_loai_luc_luong": None},
                                       f"{Y}-12": {"xep_loai_luc_luong": "HOAN_THANH"}}, expect=THIEU_DU_LIEU),
    U("KDC-5.2", "khien-trach", rows=[row("KY_LUAT_LUC_LUONG", "KHIEN_TRACH")]),
    # ---- CQDN (Điều 6) ------------------------------------------------------------------------------------------
    U("CQDN-1.1", "31-12", {FEB: {"ngay_nghi_quyet": DEC}}),
    U("CQDN-1.1", "khong-to-chuc-dang", {FEB: {"co_to_chuc_dang": KHONG, "ngay_nghi_quyet": None}},
      expect=KHONG_AP_DUNG),
    U("CQDN-1.2", "01-04", {FEB: {"ngay_ke_hoach": None}, APR: {"ngay_ke_hoach": APR_DAY}}),
    U("CQDN-1.3", "chua-dang-ky", {FEB: {"ngay_dang_ky_phan_dau": None}}, evidence=(Sheet("@", FEB),)),
    U("CQDN-1.4", "", {FEB: {"noi_quy_moi_truong": KHONG}}),
    U("CQDN-1.5", "", {FEB: {"so_nguoi_quan_triet": 249}}),
    U("CQDN-1.6", "", {FEB: {"so_mo_hinh_hieu_qua": 0}}),
    U("CQDN-2", "", {JUN: {"trien_khai_day_du": KHONG}}),
    U("CQDN-2", "thang-11-la-nam-sau", {NOV: {"trien_khai_day_du": KHONG}}, expect=DAT),   # 30/11 is in CQDN 2026
    U("CQDN-3.a", "", rows=[row("TON_GIAO_TRAI_PHEP")]),
    U("CQDN-3.b", "", rows=[row("LOI_DUNG_TON_GIAO")]),
    U("CQDN-3.c", "", rows=[row("KICH_DONG_KHIEU_KIEN")]),
    U("CQDN-3.d", "", rows=[row("DINH_CONG")]),
    U("CQDN-3.dd", "", rows=[row("TOI_PHAM", "RAT_NGHIEM_TRONG")]),
    U("CQDN-3.dd", "rescued", rows=[row("TOI_PHAM", "NGHIEM_TRONG", rescue=(CO, CO, CO))], expect=DAT),
    U("CQDN-3.dd", "bkk", rows=[row("TOI_PHAM", "NGHIEM_TRONG", bkk=CO, mo_ta="Bão số 3")], expect=DAT),
    U("CQDN-3.e", "", rows=[row("LO_BI_MAT")]),
    U("CQDN-3.e", "10-11-2024", rows={f"{Y - 1}-11": [row("LO_BI_MAT", on=datetime(Y - 1, 11, 10))]}, expect=DAT),
    U("CQDN-3.e", "15-11-2025", rows={NOV: [row("LO_BI_MAT", on=datetime(Y, 11, 15))]},
      evidence=(Row("@", period=NOV),)),
    U("CQDN-3.e", "16-11-2025", rows={NOV: [row("LO_BI_MAT", on=datetime(Y, 11, 16))]}, expect=DAT),
    U("CQDN-3.g.1", "", rows=[row("CHAY_NO", "NGHIEM_TRONG")]),
    U("CQDN-3.g.2", "", rows=[row("TAI_NAN_LD_CHET_NGUOI")]),
    U("CQDN-3.g.3", "", rows=[row("SU_CO", "NGHIEM_TRONG")]),
    U("CQDN-3.g.4", "", rows=[row("VI_PHAM_MOI_TRUONG_VSTP", "NGHIEM_TRONG")]),
    U("CQDN-3.g.4", "bkk", rows=[row("VI_PHAM_MOI_TRUONG_VSTP", "NGHIEM_TRONG", bkk=CO, mo_ta="Vỡ đê")],
      expect=DAT),
    U("CQDN-3.h", "phat-antt", rows=[row("NLD_VI_PHAM_ANTT")]),
    U("CQDN-3.h", "bkk-khong-mien", rows=[row("NLD_VI_PHAM_ANTT", bkk=CO, mo_ta="Ngoài giờ làm việc")]),
    U("CQDN-3.h", "te-nan-canh-cao", rows=[row("NLD_TE_NAN_XA_HOI", "CANH_CAO")]),
    U("CQDN-3.h", "te-nan-khien-trach", rows=[row("NLD_TE_NAN_XA_HOI", "KHIEN_TRACH")], expect=DAT),
    U("CQDN-4.1", "", {NOV: {"xep_loai_luc_luong_bao_ve": "HOAN_THANH"}}),
    U("CQDN-4.1", "khong-co-luc-luong", {NOV: {"xep_loai_luc_luong_bao_ve": "KHONG_CO_LUC_LUONG"}},
      expect=KHONG_AP_DUNG, side={"CQDN-4.2": KHONG_AP_DUNG}, warnings=("na-review",)),
    U("CQDN-4.1", "khong-du-dieu-kien", {FEB: {"du_dieu_kien_thi_dua": KHONG}}, expect=KHONG_AP_DUNG,
      side={"CQDN-5.1": KHONG_AP_DUNG}),
    U("CQDN-4.1", "ket-qua-nam-truoc", {f"{Y - 1}-12": {"xep_loai_luc_luong_bao_ve": "HOAN_THANH_TOT"},
                                        NOV: {"xep_loai_luc_luong_bao_ve": None}}, expect=THIEU_DU_LIEU),
    U("CQDN-4.1", "thang-12", {NOV: {"xep_loai_luc_luong_bao_ve": None},
                               f"{Y}-12": {"xep_loai_luc_luong_bao_ve": "HOAN_THANH_XUAT_SAC"}}, expect=DAT),
    U("CQDN-4.2", "canh-cao", rows=[row(dropdown("KY_LUAT_LUC_LUONG"), "Cảnh cáo")], also={"CQDN-5.2"}),
    U("CQDN-4.2", "khien-trach", rows=[row("KY_LUAT_LUC_LUONG", "KHIEN_TRACH")], expect=DAT),
    U("CQDN-5.1", "6-10", {NOV: {"so_dau_moi_dat": 6}}),
    U("CQDN-5.1", "7-10", {NOV: {"so_dau_moi_dat": 7}}, expect=DAT),
    U("CQDN-5.1", "khong-dau-moi", {FEB: {"so_dau_moi": 0}, NOV: {"so_dau_moi_dat": None}}, expect=KHONG_AP_DUNG),
    U("CQDN-5.2", "", rows=[row("KY_LUAT_CA_NHAN", "NANG_HON")]),
    # ---- CSGD (Điều 7) ------------------------------------------------------------------------------------------
    U("CSGD-1.1", "", {FEB: {"ngay_nghi_quyet": DEC}}),
    U("CSGD-1.2", "", {FEB: {"ngay_ke_hoach": None}, APR: {"ngay_ke_hoach": APR_DAY}}),
    U("CSGD-1.3", "", {FEB: {"ngay_dang_ky_phan_dau": DEC}}),
    U("CSGD-1.4", "", {FEB: {"noi_quy_quan_ly_nguoi_hoc": KHONG}}),
    U("CSGD-1.5", "", {FEB: {"so_nguoi_quan_triet": 599}}),
    U("CSGD-1.6", "", {FEB: {"so_mo_hinh_hieu_qua": 0}}),
    U("CSGD-2.1", "", {JUN: {"trien_khai_day_du": KHONG}}),
    U("CSGD-2.2", "", {FEB: {"phoi_hop_cha_me_hoc_sinh": KHONG}}),
    U("CSGD-2.2", "gdtx", {FEB: {"cap_hoc": "GDTX", "phoi_hop_cha_me_hoc_sinh": None}}, expect=KHONG_AP_DUNG),
    U("CSGD-3:CQDN-3.a", "", rows=[row("TON_GIAO_TRAI_PHEP")]),
    U("CSGD-3:CQDN-3.b", "", rows=[row("LOI_DUNG_TON_GIAO")]),
    U("CSGD-3:CQDN-3.c", "", rows=[row("KICH_DONG_KHIEU_KIEN")]),
    U("CSGD-3:CQDN-3.dd", "toi-pham", rows=[row("TOI_PHAM", "NGHIEM_TRONG")]),
    U("CSGD-3:CQDN-3.dd", "nguoi-hoc", rows=[row("NGUOI_HOC_DAY_PHAM_TOI", "DAC_BIET_NGHIEM_TRONG")],
      also={"CSGD-4.2"}),
    U("CSGD-3:CQDN-3.dd", "rescued", rows=[row("TOI_PHAM", "NGHIEM_TRONG", rescue=(CO, CO, CO))], expect=DAT),
    U("CSGD-3:CQDN-3.dd", "nguoi-hoc-rescued",     # the rescue clears 3.dd, never CSGD-4.2 (no exception there)
      rows=[row("NGUOI_HOC_DAY_PHAM_TOI", "NGHIEM_TRONG", rescue=(CO, CO, CO))], expect=DAT, also={"CSGD-4.2"}),
    U("CSGD-3:CQDN-3.dd", "it-nghiem-trong", rows=[row("TOI_PHAM", "IT_NGHIEM_TRONG")], expect=DAT),
    U("CSGD-3:CQDN-3.e", "", rows=[row("LO_BI_MAT")]),
    U("CSGD-3:CQDN-3.g.1", "", rows=[row("CHAY_NO", "NGHIEM_TRONG")]),
    U("CSGD-3:CQDN-3.g.1", "bkk", rows=[row("CHAY_NO", "NGHIEM_TRONG", bkk=CO, mo_ta="Sét đánh")], expect=DAT),
    U("CSGD-3:CQDN-3.g.2", "", rows=[row("TAI_NAN_LD_CHET_NGUOI")]),
    U("CSGD-3:CQDN-3.g.3", "", rows=[row("SU_CO", "NGHIEM_TRONG")]),
    U("CSGD-3:CQDN-3.g.4", "", rows=[row("VI_PHAM_MOI_TRUONG_VSTP", "NGHIEM_TRONG")]),
    U("CSGD-4.1", "", rows=[row(dropdown("BAO_LUC_HOC_DUONG"))]),
    U("CSGD-4.1", "bkk-khong-mien", rows=[row("BAO_LUC_HOC_DUONG", bkk=CO, mo_ta="Ngoài trường")]),
    U("CSGD-4.2", "pham-toi", rows=[row("NGUOI_HOC_DAY_PHAM_TOI", "IT_NGHIEM_TRONG")]),
    U("CSGD-4.2", "te-nan-canh-cao", rows=[row("NGUOI_HOC_DAY_TE_NAN", "CANH_CAO")]),
    U("CSGD-4.2", "te-nan-khien-trach", rows=[row("NGUOI_HOC_DAY_TE_NAN", "KHIEN_TRACH")], expect=DAT),
    U("CSGD-5.1", "", {NOV: {"xep_loai_luc_luong_bao_ve": "HOAN_THANH"}}),
    U("CSGD-5.1", "khong-co-luc-luong", {NOV: {"xep_loai_luc_luong_bao_ve": "KHONG_CO_LUC_LUONG"}},
      expect=KHONG_AP_DUNG, side={"CSGD-5.2": KHONG_AP_DUNG}),
    U("CSGD-5.2", "", rows=[row("KY_LUAT_LUC_LUONG", "CANH_CAO")], also={"CSGD-6.2"}),
    U("CSGD-6.1", "", {NOV: {"so_dau_moi_dat": 3}}),
    U("CSGD-6.2", "", rows=[row("KY_LUAT_CA_NHAN", "CANH_CAO")]),
]

XA_CASES = [
    X("XA-1.1", "31-12", {COMMUNE: {FEB: {"ngay_nghi_quyet_dang_uy": DEC}}}),
    X("XA-1.2", "01-04", {COMMUNE: {FEB: {"ngay_ke_hoach_ubnd": None}, APR: {"ngay_ke_hoach_ubnd": APR_DAY}}}),
    X("XA-1.3", "chua-dang-ky", {COMMUNE: {FEB: {"ngay_dang_ky_phan_dau": None}}}, evidence=(Sheet(COMMUNE, FEB),)),
    X("XA-1.4", "", {COMMUNE: {FEB: {"so_mo_hinh_hieu_qua": 0}}}),
    X("XA-2:KDC-2", "", {COMMUNE: {JUN: {"trien_khai_day_du": KHONG}}}),
    X("XA-2:KDC-3.a", "xom", rows={"XOM01": [row("CHONG_DANG")]}),
    X("XA-2:KDC-3.a", "10-11-2025", rows={"XOM01": {NOV: [row("CHONG_DANG", on=datetime(Y, 11, 10))]}},
      evidence=(Row("XOM01", period=NOV),)),
    X("XA-2:KDC-3.b", "xom", rows={"XOM02": [row("PHA_HOAI")]}),
    X("XA-2:KDC-3.c", "doanh-nghiep", rows={"DN-MAY": [row("TON_GIAO_TRAI_PHEP")]}),
    X("XA-2:KDC-3.d", "truong", rows={"TRUONG-THCS": [row("LOI_DUNG_TON_GIAO")]}),
    X("XA-2:KDC-3.dd", "xom", rows={"XOM01": [row("LY_KHAI")]}),
    X("XA-2:KDC-3.e", "xom", rows={"XOM02": [row("MAU_THUAN_KEO_DAI")]}),
    X("XA-2:KDC-3.g", "doanh-nghiep", rows={"DN-MAY": [row("KICH_DONG_KHIEU_KIEN")]}),
    X("XA-2:KDC-4.a", "te-nan-xom", rows={"XOM01": [row("TE_NAN_XA_HOI")]}),
    X("XA-2:KDC-4.a", "dinh-cong-doanh-nghiep",
      rows={"DN-MAY": [row("DINH_CONG", ma=f"DC-{i}", on=datetime(Y, 2, 10 + i)) for i in range(3)]}),
    X("XA-2:KDC-4.a", "trung-ma-vu-viec",      # 3 rows, 2 distinct crimes: not above the commune's 2 of 2024
      rows={"XOM01": [row("TOI_PHAM", "IT_NGHIEM_TRONG", ma="VV-1")],
            "XOM02": [row("TOI_PHAM", "IT_NGHIEM_TRONG", ma="VV-2")],
            "TRUONG-THCS": [row("NGUOI_HOC_DAY_PHAM_TOI", "IT_NGHIEM_TRONG", ma="VV-2")]}, expect=DAT),
    X("XA-2:KDC-4.b", "nguoi-hoc-pham-toi", rows={"TRUONG-THCS": [row("NGUOI_HOC_DAY_PHAM_TOI", "NGHIEM_TRONG")]}),
    X("XA-2:KDC-4.b", "2-of-3-xom", rows={"XOM02": [row("TOI_PHAM", "RAT_NGHIEM_TRONG", rescue=(CO, None, CO))]}),
    X("XA-2:KDC-4.b", "mot-bao-cao-khong-cuu",   # one case, two reports: the rescue holds only if both say so
      rows={"XOM01": [row("TOI_PHAM", "NGHIEM_TRONG", rescue=(CO, CO, CO), ma="VV-9")],
            "DN-MAY": [row("TOI_PHAM", "NGHIEM_TRONG", ma="VV-9")]},
      evidence=(Row("XOM01"), Row("DN-MAY"))),
    X("XA-2:KDC-4.b", "rescued", rows={"XOM01": [row("TOI_PHAM", "NGHIEM_TRONG", rescue=(CO, CO, CO))]},
      expect=DAT),
    X("XA-2:KDC-4.c.1", "xom", rows={"XOM01": [row("TU_DIEM_PHUC_TAP")]}),
    X("XA-2:KDC-4.c.2", "xom", rows={"XOM02": [row("NGUOI_MAC_TNXH_MOI")]}),
    X("XA-2:KDC-4.c.3", "", {COMMUNE: {FEB: {"quan_ly_doi_tuong_hieu_qua": KHONG}}}),
    X("XA-2:KDC-4.d.1", "doanh-nghiep", rows={"DN-MAY": [row(dropdown("CHAY_NO"), "NGHIEM_TRONG - Nghiêm trọng")]}),
    X("XA-2:KDC-4.d.1", "bkk", rows={"DN-MAY": [row("CHAY_NO", "NGHIEM_TRONG", bkk=CO, mo_ta="Sét đánh")]},
      expect=DAT),
    X("XA-2:KDC-4.d.2", "doanh-nghiep", rows={"DN-MAY": [row("TAI_NAN_LD_CHET_NGUOI")]}),
    X("XA-2:KDC-4.d.3", "xom", rows={"XOM01": [row("SU_CO", "NGHIEM_TRONG")]}),
    X("XA-2:KDC-4.d.3", "duong-lien-xa", rows={COMMUNE: [row("SU_CO", "NGHIEM_TRONG", mo_ta="Sập cầu")]}),
    X("XA-3.1", "", {COMMUNE: {FEB: {"cong_an_nam_chac_tinh_hinh": KHONG}}}),
    X("XA-3.2", "cong-an-xa", rows={COMMUNE: [row("KY_LUAT_LUC_LUONG", "KHIEN_TRACH")]}),
    X("XA-3.2", "chi-so-cua-xom", rows={"XOM01": [row("KY_LUAT_LUC_LUONG", "NANG_HON")]}, expect=DAT),
    X("XA-4.1", "dang-ky-01-04",
      {"XOM02": {FEB: {"ngay_dang_ky_phan_dau": None}, APR: {"ngay_dang_ky_phan_dau": APR_DAY}}}),
    X("XA-4.1", "khong-gui-bao-cao", silent=("XOM02",), evidence=(), reason_has=("XOM02",)),
    X("XA-4.1", "tinh-cong-nhan", {"DN-MAY": {FEB: {"ngay_dang_ky_phan_dau": None}}},
      registry={"DN-MAY": 'recognised_by = "tinh"'}, expect=DAT),
    X("XA-4.1", "tieu-hoc-ngoai-pham-vi",
      {"TRUONG-THCS": {FEB: {"cap_hoc": "TIEU_HOC - Tiểu học", "ngay_dang_ky_phan_dau": None}}}, expect=DAT),
    X("XA-4.2", "tu-danh-gia-2-4", {"XOM02": {JUN: {"trien_khai_day_du": KHONG}},
                                    "DN-MAY": {JUN: {"trien_khai_day_du": KHONG}}},
      evidence=(Cell("XOM02", JUN, "trien_khai_day_du"), Cell("DN-MAY", JUN, "trien_khai_day_du"))),
    X("XA-4.2", "quyet-dinh-2-4", recognition=("XOM01", "XOM02"), evidence=(Source(f"antt.toml [recognition.{Y}]"),),
      reason_has=("125/QĐ-UBND", "2/4")),
    X("XA-4.2", "quyet-dinh-3-4", recognition=("XOM01", "XOM02", "DN-MAY"), expect=DAT),
]

ALL_CASES = UNIT_CASES + XA_CASES


def params(cases):
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else [])
            for c in cases]


# --- building workspaces from real files --------------------------------------------------------------------------

@dataclass(frozen=True)
class File:
    code: str
    period: str          # the file's own month (antt_period)
    values: dict
    rows: tuple
    inbox: str           # the run whose inbox receives it
    name: str


def toml(units: dict[str, tuple[str, str]], recognition=None, registry=None) -> str:
    """antt.toml of a test workspace: the commune (with its 2024 baselines) and `units` {code: (name, type)}."""
    def counts(header: str, values: dict) -> list[str]:
        return [header, *(f"{k} = {v}" for k, v in values.items())]

    lines = ["[commune]", f'code = "{COMMUNE}"', 'name = "xã Phú Đình"',
             'forward_to = "Ban Chỉ đạo 138 tỉnh"', "deadline_day = 5",
             *counts(f"[commune.baselines.{Y - 1}]", COMMUNE_BASELINE)]
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


def year_files(code: str, unit_type: str, edits: dict | None = None, rows: dict | None = None,
               fixes: dict | None = None, year_end: str = NOV) -> list[File]:
    """A unit's clean year with a case's edits, register rows and corrected re-submissions; the year-end results
    come in the `year_end` month's file."""
    content: dict[str, list] = {FEB: [dict(CLEAN[unit_type]), ()]}
    if unit_type in YEAR_END:
        content.setdefault(year_end, [{}, ()])[0].update(YEAR_END[unit_type])
    for period, values in (edits or {}).items():
        content.setdefault(period, [{}, ()])[0].update(values)
    for period, month_rows in (rows or {}).items():
        content.setdefault(period, [{}, ()])[1] = tuple(month_rows)
    files = [File(code, p, v, r, p, template_filename(code, p)) for p, (v, r) in sorted(content.items())]
    for period, month_rows in (fixes or {}).items():       # a corrected copy of the month's file, sent later
        files.append(File(code, period, content[period][0], tuple(month_rows), next_month(period),
                          template_filename(code, period).replace(".xlsx", "_sua.xlsx")))
    return files


def _make(job: tuple) -> bytes:
    """One real file: the unit's personalised template, filled through its defined names (may run in a child)."""
    root, number, code, name, unit_type, period, values, rows = job
    blank = write_template(root / "blank" / str(number) / template_filename(code, period), CATALOG, unit_type, code,
                           name, period)
    target = root / "filled" / str(number) / template_filename(code, period)
    base = {"nguoi_bao_cao": "Nguyễn Văn An", "ngay_bao_cao": datetime(int(period[:4]), int(period[5:]), 28)}
    return fill(blank, target, {**base, **values}, rows).read_bytes()


class Factory:
    """Real filled templates, each written once and reused as bytes wherever the same unit sends the same file."""

    def __init__(self, root: Path):
        self.root, self.cache = root, {}

    @staticmethod
    def key(code, name, unit_type, period, values, rows) -> tuple:
        return code, name, unit_type, period, repr(sorted(values.items())), repr(rows)

    def prepare(self, jobs: list[tuple]) -> None:
        """Write many files at once on every CPU: in forked children while this process has a single thread, else
        through a fresh fork server (importing openpyxl starts a native thread, after which forking is unsafe)."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        todo = {self.key(*job): job for job in jobs if self.key(*job) not in self.cache}
        work = [(self.root, len(self.cache) + i, *job) for i, job in enumerate(todo.values())]
        if len(work) > 20 and (os.cpu_count() or 1) > 1:
            methods = multiprocessing.get_all_start_methods()
            single = os.path.isdir("/proc/self/task") and len(os.listdir("/proc/self/task")) == 1
            method = "fork" if single and "fork" in methods else "forkserver" if "forkserver" in methods else "spawn"
            with ProcessPoolExecutor(os.cpu_count(), mp_context=multiprocessing.get_context(method)) as pool:
                made = list(pool.map(_make, work, chunksize=8))
        else:
            made = [_make(job) for job in work]
        self.cache.update(zip(todo, made))

    def file(self, code: str, name: str, unit_type: str, period: str, values: dict, rows: tuple) -> bytes:
        job = (code, name, unit_type, period, values, rows)
        if self.key(*job) not in self.cache:
            self.prepare([job])
        return self.cache[self.key(*job)]


def build(root: Path, factory: Factory, config: str, files: list[File]):
    """Write antt.toml, put every file in its run's inbox, ingest the runs in order, write the annual report.

    Every file must be accepted with no error: the cases are about scoring, so a rejection is a bug of its own.
    """
    root.mkdir(parents=True)
    (root / "antt.toml").write_text(config, encoding="utf-8")
    ws = load_workspace(root)
    units = {f.code: ws.find(f.code) for f in files}
    factory.prepare([(f.code, units[f.code].name, units[f.code].type, f.period, f.values, f.rows) for f in files])
    for f in files:
        unit = ws.find(f.code)
        path = ws.inbox(f.inbox) / f.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(factory.file(unit.code, unit.name, unit.type, f.period, f.values, f.rows))
        after = next_month(f.inbox)                      # received on the 2nd of the month after the run's month
        received = datetime(int(after[:4]), int(after[5:]), 2, 9).timestamp()
        os.utime(path, (received, received))
    for run in sorted({f.inbox for f in files}):
        result = api.ingest(ws, run, [ws.inbox(run)])
        bad = [(o.display, o.decision, [(p.code, p.location.field, p.location.row) for p in o.problems])
               for o in result.outcomes if o.decision != "accepted" or any(p.is_error for p in o.problems)]
        assert not bad, bad
    return ws, report(ws, year=Y)


def report(ws, **when) -> dict:
    """Score through `api.write_report` (which writes the workbook too): unit code -> UnitResult."""
    outcome = api.write_report(ws, today=TODAY, **when)
    assert outcome.path.is_file()
    return {u.unit.code: u for u in [*outcome.score.units, outcome.score.commune]}


def commune_files(case: Case | None = None) -> list[File]:
    """The commune and its four units: their clean years with an XA case's changes."""
    files = []
    for code, (_, unit_type) in [(COMMUNE, ("", "XA")), *POPULATION.items()]:
        if case is None or code not in case.silent:
            files += year_files(code, unit_type, case and case.edits.get(code), case and case.rows.get(code))
    return files


def shared_units() -> tuple[dict, list[File]]:
    """The shared workspace: one unit per KDC, CQDN or CSGD case, with its clean year and the case's mutation.

    To halve the files written, a unit whose case does not touch a year-end result reports those results in its
    February file (a month of its year: spec §5 counts them too); the year-end cases keep the November file.
    """
    units, files = {}, []
    for case in UNIT_CASES:
        assert case.code not in units, f"two cases map to unit code {case.code}"
        units[case.code] = (f"Đơn vị thử {case.id}", case.unit_type)
        edits = case.edits.get("@", {})
        year_end = NOV if any(f in YEAR_END.get(case.unit_type, {}) for v in edits.values() for f in v) else FEB
        files += year_files(case.code, case.unit_type, edits, case.rows.get("@"), case.fixes.get("@"), year_end)
    return units, files


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    """Every file of this module, written up front in parallel (the bulk of its run time)."""
    made = Factory(tmp_path_factory.mktemp("files"))
    units, files = shared_units()
    units = {**units, **POPULATION, COMMUNE: ("xã Phú Đình", "XA")}
    jobs = [f for case in [None, *XA_CASES] for f in commune_files(case)] + files
    made.prepare([(f.code, units[f.code][0], units[f.code][1], f.period, f.values, f.rows) for f in jobs])
    return made


@pytest.fixture(scope="module")
def names(factory):
    """unit type -> defined name -> (sheet, first cell), read from real templates with openpyxl."""
    import openpyxl
    out = {}
    for unit_type in CATALOG.unit_types:
        path = factory.root / "layout" / f"{unit_type}.xlsx"
        write_template(path, CATALOG, unit_type, "X", "X", FEB)
        wb = openpyxl.load_workbook(path)
        out[unit_type] = {}
        for name in wb.defined_names:
            sheet, ref = next(iter(wb.defined_names[name].destinations))
            out[unit_type][name] = (sheet, ref.replace("$", "").split(":")[0])
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory, factory):
    """The clean year: the commune and its four units, every file passing."""
    return build(tmp_path_factory.mktemp("clean") / "ws", factory, toml(POPULATION), commune_files())[1]


@pytest.fixture(scope="module")
def shared(tmp_path_factory, factory):
    """One workspace holding one unit per KDC, CQDN or CSGD case: its clean year plus the case's mutation."""
    units, files = shared_units()
    return build(tmp_path_factory.mktemp("shared") / "ws", factory, toml(units), files)[1]


# --- checks -------------------------------------------------------------------------------------------------------

def default_evidence(case: Case) -> tuple:
    """The case's first register row (the scored unit's own first), else its latest non-blank edited cell."""
    own = "@" if case.unit_type != "XA" else COMMUNE
    with_rows = [code for code, months in case.rows.items() if any(months.values())]
    if with_rows:
        code = own if own in with_rows else with_rows[0]
        return (Row(code, 1, min(p for p, r in case.rows[code].items() if r)),)
    for code, periods in case.edits.items():
        for period, values in sorted(periods.items(), reverse=True):
            for fid, value in values.items():
                if value is not None:
                    return (Cell(code, period, fid),)
    return ()


def points_at(ev, pointer, case: Case, names) -> bool:
    if isinstance(pointer, Source):
        return ev.file == pointer.file
    code = case.code if pointer.unit == "@" else pointer.unit
    unit_type = "XA" if code == COMMUNE else POPULATION.get(code, ("", case.unit_type))[1]
    layout = names[unit_type]
    file = template_filename(code, pointer.period)
    if isinstance(pointer, Row) and pointer.fixed:
        file = file.replace(".xlsx", "_sua.xlsx")
    if (ev.file, ev.month) != (file, pointer.period):
        return False
    if isinstance(pointer, Cell):
        return (ev.sheet, ev.cell) == layout[pointer.field]
    if isinstance(pointer, Row):
        sheet, header = layout["vu_viec"]
        line = int(re.sub(r"\D", "", header)) + pointer.n
        return ev.sheet == sheet and ev.row == line and ev.cell == f"{header.rstrip('0123456789')}{line}"
    return ev.sheet == layout["nguoi_bao_cao"][0] and ev.cell == ""      # Sheet: the latest report, no cell


def check(case: Case, unit, names) -> None:
    results = unit.results
    got = results[case.leaf]
    assert got.code == case.expect, f"{case.id}: {got.code} — {got.reason}"
    failed = ({case.leaf} if case.expect == KHONG_DAT else set()) | case.also
    assert set(unit.failed_criteria) == failed, {c: results[c].reason for c in unit.failed_criteria}
    expected = {cid: case.side.get(cid, DAT) for cid in results if cid not in failed | {case.leaf}}
    assert {cid: r.code for cid, r in results.items() if cid in expected} == expected
    assert [p.code for p in unit.warnings] == list(case.warnings)
    for text in case.reason_has:
        assert text in got.reason, got.reason
    if case.expect != KHONG_DAT:
        return
    assert unit.verdict_code == CHUA_DAT
    for cid in failed:
        assert CATALOG.criteria[cid].citation in results[cid].reason, results[cid].reason
    pointers = default_evidence(case) if case.evidence is None else case.evidence
    assert pointers or case.reason_has, f"{case.id}: nothing to look for"
    for pointer in pointers:
        assert any(points_at(ev, pointer, case, names) for ev in got.evidence), (pointer, got.evidence)


# --- the tests ----------------------------------------------------------------------------------------------------

def test_every_leaf_has_a_dat_and_a_khong_dat_case():
    """Issue 5: every national leaf has a KHONG_DAT case in the table, and a DAT case: the clean year, checked leaf by
    leaf in `test_clean_year_is_dat` (parametrised over the catalog, so a new leaf gets its DAT test for free and
    fails this test until the table holds a KHONG_DAT case for it)."""
    leaves = set(LEAVES)
    assert {c.leaf for c in ALL_CASES} <= leaves
    assert sorted(leaves - {c.leaf for c in ALL_CASES if c.expect == KHONG_DAT}) == []
    assert len({c.id for c in ALL_CASES}) == len(ALL_CASES)
    assert {CATALOG.criteria[leaf].unit_type for leaf in leaves} == set(CLEAN_UNIT)
    assert all(c.unit_type != "XA" for c in UNIT_CASES) and all(c.unit_type == "XA" for c in XA_CASES)
    by_type = {t: sum(CATALOG.criteria[leaf].unit_type == t for leaf in leaves) for t in CATALOG.unit_types}
    assert by_type == {"KDC": 21, "XA": 24, "CQDN": 22, "CSGD": 23}     # spec §3: XA 8 + 16, CSGD 14 + 9 imports


@pytest.mark.parametrize("leaf", LEAVES)
def test_clean_year_is_dat(clean, leaf):
    result = clean[CLEAN_UNIT[CATALOG.criteria[leaf].unit_type]].results[leaf]
    assert result.code == DAT, result.reason


def test_clean_year_verdicts(clean):
    """Every unit of the clean year is Đạt at 100%, and so is the commune, whose XA-4.2 rests on the units' own
    verdicts (no recorded decision): projected, so the commune's row is provisional (spec §6, §7)."""
    assert {code: (u.verdict_code, u.score_pct, u.warnings) for code, u in clean.items()} == {
        code: (DAT, 100.0, []) for code in [*POPULATION, COMMUNE]}
    assert clean[COMMUNE].results["XA-4.2"].projected and clean[COMMUNE].provisional
    assert "4/4" in clean[COMMUNE].results["XA-4.1"].reason


@pytest.mark.parametrize("case", params(UNIT_CASES))
def test_unit_case(shared, names, case):
    check(case, shared[case.code], names)


@pytest.mark.parametrize("case", params(XA_CASES))
def test_commune_case(tmp_path, factory, names, case):
    _, units = build(tmp_path / "ws", factory, toml(POPULATION, case.recognition, case.registry),
                     commune_files(case))
    check(case, units[COMMUNE], names)


def test_quy_i_deadline_in_monthly_runs(tmp_path, factory):
    """Decisions §12.3, §12.24 through monthly runs: a plan of UBND xã dated 01/04 and a xóm registering on 01/04
    are "chưa đến hạn" in the March run and fail from the April run on; the final evaluation agrees."""
    late = {COMMUNE: {FEB: {"ngay_ke_hoach_ubnd": None}, APR: {"ngay_ke_hoach_ubnd": APR_DAY}},
            "XOM02": {FEB: {"ngay_dang_ky_phan_dau": None}, APR: {"ngay_dang_ky_phan_dau": APR_DAY}}}
    ws, final = build(tmp_path / "ws", factory, toml(POPULATION), commune_files(X("XA-1.2", "", late)))
    march, april = report(ws, period=MAR)[COMMUNE].results, report(ws, period=APR)[COMMUNE].results
    assert [(r["XA-1.2"].code, r["XA-4.1"].code) for r in (march, april, final[COMMUNE].results)] == [
        ("CHUA_DEN_HAN", "CHUA_DEN_HAN"), (KHONG_DAT, KHONG_DAT), (KHONG_DAT, KHONG_DAT)]
    assert f"31/03/{Y}" in march["XA-1.2"].reason and "XOM02" in april["XA-4.1"].reason
    # Mid-year (spec §6): nothing failed yet is DANG_DAT, year-end results are not due, XA-4.2 is a projection.
    june = report(ws, period=JUN)
    assert (june["XOM01"].verdict_code, june["XOM01"].results["KDC-5.1"].code) == ("DANG_DAT", "CHUA_DEN_HAN")
    assert (june["DN-MAY"].verdict_code, june["DN-MAY"].results["CQDN-5.1"].code) == ("DANG_DAT", "CHUA_DEN_HAN")
    xa_4_2 = june[COMMUNE].results["XA-4.2"]
    assert (xa_4_2.code, xa_4_2.projected) == ("CHUA_DEN_HAN", True) and "3/4" in xa_4_2.reason   # XOM02 failed


def test_cqdn_3h_reading_b(tmp_path, factory):
    """Decision §12.9: with `[options] cqdn_3h_reading = "B"` in antt.toml an ANTT fine fails CQDN-3.h only with
    discipline from cảnh cáo (reading A, the default, fails on any fine: see the table)."""
    units = {"DN-KHIEN-TRACH": ("Công ty Khiển Trách", "CQDN"), "DN-CANH-CAO": ("Công ty Cảnh Cáo", "CQDN")}
    files = [*year_files("DN-KHIEN-TRACH", "CQDN", rows={FEB: [row("NLD_VI_PHAM_ANTT", "KHIEN_TRACH")]}),
             *year_files("DN-CANH-CAO", "CQDN", rows={FEB: [row("NLD_VI_PHAM_ANTT", "CANH_CAO")]})]
    _, results = build(tmp_path / "ws", factory, toml(units) + '\n[options]\ncqdn_3h_reading = "B"\n', files)
    assert results["DN-KHIEN-TRACH"].failed_criteria == []
    assert results["DN-CANH-CAO"].failed_criteria == ["CQDN-3.h"]
