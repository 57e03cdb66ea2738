#!/usr/bin/env python3
"""Regenerate the bundled example workspace of xã Phú Đình: 13 months of monthly files, 11/2024 → 11/2025.

    python examples/build_example.py                      # rewrite examples/phu-dinh/inbox/ in place
    python examples/build_example.py --out DIR            # write the inbox tree into DIR instead (used by the tests)
    python examples/build_example.py --refresh-fixtures   # also re-make the LibreOffice fixtures (needs soffice)

Deterministic: fixed dates, per-item seeded random numbers (random.Random with string seeds does not depend on
PYTHONHASHSEED), fixed zip timestamps and fixed e-mail boundaries, so re-running it over an unchanged catalog
rewrites the same files. Every unit file is the tool's own personalised template
(`antt_batch.templates.write_template`), filled with openpyxl through its workbook-level defined names, exactly as a
hamlet head or a clerk would fill it in Excel. The unit registry is read from examples/phu-dinh/antt.toml.

Files LibreOffice produced (a re-saved .xlsx and two legacy .xls) are checked-in fixtures under
examples/phu-dinh/fixtures/: this script only copies them, so it never needs LibreOffice; `--refresh-fixtures`
re-makes them with `soffice --headless --convert-to`.

Git does not keep file modification times, and the received time of a loose file is its mtime: after a fresh
clone, run this script once so that the "on time / late" columns of the report come out as README.md says.
The scenarios and the expected verdicts are described in examples/phu-dinh/README.md.
"""

from __future__ import annotations

import argparse
import calendar
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKSPACE = HERE / "phu-dinh"
INBOX = WORKSPACE / "inbox"
FIXTURES = WORKSPACE / "fixtures"
SEED = "phu-dinh-2025"
VN = timezone(timedelta(hours=7))
MONTHS = [f"{y}-{m:02d}" for y, m in [(2024, 11), (2024, 12)] + [(2025, m) for m in range(1, 12)]]
OPERATOR = ("Công an xã Phú Đình", "congan.phudinh@example.vn")
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")

# Files LibreOffice made from this script's own filled workbooks: fixture name -> (unit, month, target format).
LIBREOFFICE_FIXTURES = {
    "TRUONG-THPT_2025-03.xlsx": ("TRUONG-THPT", "2025-03", "xlsx"),   # the school's clerk works in LibreOffice
    "XOM04_2025-01.xls": ("XOM04", "2025-01", "xls"),                 # "Save as Excel 97-2003"
    "DN-CHE_2025-08.xls": ("DN-CHE", "2025-08", "xls"),               # sent as .xls renamed to .xlsx
}


def rng(*key) -> random.Random:
    return random.Random(":".join((SEED, *map(str, key))))


def month_end(period: str) -> date:
    y, m = int(period[:4]), int(period[5:])
    return date(y, m, calendar.monthrange(y, m)[1])


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_month(period: str) -> str:
    y, m = int(period[:4]), int(period[5:])
    return f"{y + m // 12:04d}-{m % 12 + 1:02d}"


def at(y, mo, d, h=8, mi=0, tz=VN) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


# ============================================================================================ who reports

REPORTERS = {
    "PHUDINH": "Đỗ Văn Minh, Phó Trưởng Công an xã",
    "XOM01": "Ma Văn Hùng, Trưởng xóm",
    "XOM02": "Nguyễn Thị Hoa, Trưởng xóm",
    "XOM03": "Hoàng Văn Thắng, Trưởng xóm",
    "XOM04": "Lương Văn Tiến, Trưởng xóm",
    "XOM05": "Đinh Văn Bình, Trưởng xóm",
    "XOM06": "Trần Văn Sơn, Trưởng xóm",
    "XOM07": "Hà Thị Lan, Trưởng xóm",
    "XOM08": "Nông Văn Quyết, Trưởng xóm",
    "XOM09": "Lê Văn Cường, Trưởng xóm",
    "XOM10": "Ma Thị Thu, Trưởng xóm",
    "XOM11": "Phùng Văn Dũng, Trưởng xóm",
    "XOM12": "Lý Văn Tuấn, Trưởng xóm",
    "XOM13": "Hoàng Thị Nga, Trưởng xóm",
    "CQ-UBND": "Nguyễn Thị Thanh Huyền, công chức Văn phòng HĐND và UBND xã",
    "DN-MAYTHEU": "Trần Thị Mai, Trưởng phòng Hành chính - Nhân sự",
    "DN-GACH": "Lê Đức Anh, Phó Giám đốc",
    "DN-LAMSAN": "Vũ Văn Khải, Trưởng phòng Tổ chức - Hành chính",
    "DN-CHE": "Ma Thị Hằng, Kế toán",
    "CQ-BCHQS": "Hoàng Văn Phúc, Chỉ huy trưởng Ban Chỉ huy Quân sự xã",
    "TRUONG-THCS": "Nguyễn Văn Long, Phó Hiệu trưởng",
    "TRUONG-THPT": "Đặng Thị Phương, Phó Hiệu trưởng",
    "TRUONG-TH": "Lương Thị Hiền, Hiệu trưởng",
}

# How a clerk types values (spec §4 "Readers must accept what real users send"); default: what the dropdowns give.
STYLE = {
    "XOM12": "text",        # numbers and dates typed as text ("188", "14/03/2025"), "có"/"không" in lower case
    "DN-LAMSAN": "label",   # the label alone instead of "CODE - Nhãn" ("Doanh nghiệp", "Có")
    "CQ-UBND": "nfd",       # text pasted from a Mac: NFD diacritics and a trailing space
}
# Units that date their report on the day they send it (often in the next month) rather than on the month's end.
DATED_WHEN_SENT = {"XOM10", "XOM12", "DN-MAYTHEU", "TRUONG-THCS"}
# Units that send every month by e-mail (saved by the operator as .eml); the others' attachments are saved as files.
BY_EMAIL = {"XOM11", "CQ-UBND", "DN-MAYTHEU"}


def phone(code: str) -> str:
    r = rng("phone", code)
    return f"09{r.randint(12, 98)} {r.randint(100, 999)} {r.randint(100, 999)}"


# ============================================================================================ status fields

KDC = {   # households, chi bộ resolution, registration, 2024 rating (Nov 2024 file), 2025 rating (file month, code)
    "XOM01": dict(hh=186, nq=date(2025, 1, 16), dk=date(2025, 2, 10), r2024="HOAN_THANH_TOT",
                  r2025=("2025-10", "HOAN_THANH_XUAT_SAC")),
    "XOM02": dict(hh=212, nq=date(2025, 1, 20), dk=date(2025, 2, 14), r2024="HOAN_THANH",
                  r2025=("2025-10", "HOAN_THANH_TOT")),
    "XOM03": dict(hh=158, nq=date(2025, 1, 22), dk=date(2025, 2, 18), r2024="HOAN_THANH_TOT",
                  r2025=("2025-10", "HOAN_THANH_TOT")),
    "XOM04": dict(hh=143, nq=date(2025, 2, 5), dk=date(2025, 3, 3), r2024="HOAN_THANH",
                  r2025=("2025-10", "HOAN_THANH")),
    "XOM05": dict(hh=201, nq=date(2025, 2, 12), dk=date(2025, 4, 8), r2024="HOAN_THANH_TOT",     # April: too late
                  r2025=("2025-10", "HOAN_THANH_TOT")),
    "XOM06": dict(hh=215, short=3, nq=date(2025, 1, 24), dk=date(2025, 2, 26), r2024="HOAN_THANH_TOT",
                  r2025=("2025-10", "HOAN_THANH_TOT")),
    "XOM07": dict(hh=132, nq=date(2025, 1, 27), dk=date(2025, 2, 20), r2024="HOAN_THANH_XUAT_SAC",
                  r2025=("2025-10", "HOAN_THANH")),
    "XOM08": dict(hh=176, nq=date(2025, 2, 7), dk=date(2025, 3, 12), r2024="HOAN_THANH",
                  r2025=("2025-10", "HOAN_THANH")),
    "XOM09": dict(hh=164, nq=date(2025, 1, 15), dk=date(2025, 2, 11), r2024="HOAN_THANH_TOT",
                  r2025=("2025-10", "HOAN_THANH_TOT")),
    "XOM10": dict(hh=97, nq=date(2025, 2, 17), dk=date(2025, 3, 20), r2024="HOAN_THANH",
                  r2025=("2025-10", "HOAN_THANH_TOT"), unchanged_blank_from="2025-05"),
    "XOM11": dict(hh=121, nq=date(2025, 1, 23), dk=date(2025, 2, 21), r2024="HOAN_THANH_TOT",
                  r2025=("2025-10", "HOAN_THANH_TOT")),
    "XOM12": dict(hh=188, nq=date(2025, 2, 10), dk=date(2025, 3, 14), r2024="HOAN_THANH_TOT",
                  r2025=("2025-11", "HOAN_THANH")),                                  # rating arrives in November
    "XOM13": dict(hh=109, nq=date(2025, 1, 29), dk=date(2025, 3, 6), r2024="HOAN_THANH_TOT",
                  r2025=None),                                                       # never sends its 2025 rating
}

CQDN = {
    "CQ-UBND": dict(
        scope=dict(loai_hinh="CO_QUAN", thuoc_llvt=False), party=True, emulation=True,
        nq=date(2025, 1, 17), kh=date(2025, 2, 14), dk=date(2025, 2, 20), rules=True,
        people={"2024-11": 36, "2025-08": 38}, briefed={"2025-02": None}, models=1,
        force_every_month="KHONG_CO_LUC_LUONG", subunits=4, results={"2024-11": (None, 4), "2025-11": (None, 3)}),
    "DN-MAYTHEU": dict(
        scope=dict(loai_hinh="DOANH_NGHIEP", linh_vuc="CONG_NGHIEP_XAY_DUNG", so_lao_dong_bhxh=850,
                   doanh_thu_ty=412.6, tong_nguon_von_ty=186.3, duoi_mot_nam=False),
        party=True, emulation=True, nq=date(2025, 1, 21), kh=date(2025, 2, 10), dk=date(2025, 2, 25), rules=True,
        people={"2024-11": 862, "2025-01": 870, "2025-07": 875}, briefed={"2025-01": 640, "2025-02": 790,
                                                                            "2025-03": None},
        models=2, subunits=12,
        results={"2024-11": ("HOAN_THANH_TOT", 10), "2025-11": ("TAP_THE_LAO_DONG_TIEN_TIEN", 9)}),
    "DN-GACH": dict(
        scope=dict(loai_hinh="DOANH_NGHIEP", linh_vuc="CONG_NGHIEP_XAY_DUNG", so_lao_dong_bhxh=146,
                   doanh_thu_ty=38.5, tong_nguon_von_ty=24.0, duoi_mot_nam=False),
        party=False, emulation=True, nq=None, kh=date(2025, 1, 15), dk=date(2025, 2, 12), rules=True,
        people={"2024-11": 152}, briefed={"2025-02": None}, models=1, subunits=5,
        results={"2024-11": ("HOAN_THANH", 3), "2025-10": ("HOAN_THANH_TOT", 4)}),
    "DN-LAMSAN": dict(   # revenue and capital never given: scope cannot be decided (NĐ 80 needs them at 60 workers)
        scope=dict(loai_hinh="DOANH_NGHIEP", linh_vuc="CONG_NGHIEP_XAY_DUNG", so_lao_dong_bhxh=60,
                   duoi_mot_nam=False),
        party=True, emulation=False, nq=date(2025, 1, 24), kh=date(2025, 2, 18), dk=date(2025, 2, 18), rules=True,
        people={"2024-11": 64}, briefed={"2025-03": None}, models=1, subunits=3, results={}),
    "DN-CHE": dict(      # small enterprise by its own figures (NĐ 80): out of scope
        scope=dict(loai_hinh="DOANH_NGHIEP", linh_vuc="CONG_NGHIEP_XAY_DUNG", so_lao_dong_bhxh=18,
                   doanh_thu_ty=6.2, tong_nguon_von_ty=4.5, duoi_mot_nam=False),
        party=False, emulation=False, nq=None, kh=date(2025, 3, 5), dk=date(2025, 3, 5), rules=True,
        people={"2024-11": 21}, briefed={"2025-03": None}, models=0, subunits=0, results={}),
    "CQ-BCHQS": dict(    # armed forces: out of scope; reports only what the Công an xã asked for
        scope=dict(loai_hinh="CO_QUAN", thuoc_llvt=True), party=True, emulation=None, nq=None, kh=None, dk=None,
        rules=None, people={}, briefed={}, models=None, subunits=None, results={},
        note="Đơn vị thuộc lực lượng vũ trang, không thuộc diện xét công nhận; báo cáo để Công an xã nắm tình hình."),
}

CSGD = {
    "TRUONG-THCS": dict(
        cap_hoc="THCS", party=True, emulation=True, nq=date(2025, 1, 9), kh=date(2025, 1, 20), dk=date(2025, 2, 17),
        rules=True, people={"2024-11": 512, "2025-09": 538}, briefed={"2025-01": None, "2025-09": 500,
                                                                        "2025-10": None},
        models=1, parents=True, subunits=4, results={"2024-11": ("HOAN_THANH_TOT", 4), "2025-11": ("HOAN_THANH_TOT", 3)}),
    "TRUONG-THPT": dict(
        cap_hoc="THPT", party=True, emulation=True, nq=date(2025, 1, 14), kh=date(2025, 2, 3), dk=date(2025, 2, 24),
        rules=True, people={"2024-11": 1046, "2025-09": 1082}, briefed={"2025-02": None}, models=2, parents=True,
        subunits=6, results={"2024-11": ("HOAN_THANH_TOT", 5), "2025-11": ("TAP_THE_LAO_DONG_TIEN_TIEN", 5)}),
    "TRUONG-TH": dict(   # primary school: out of scope by its cấp học
        cap_hoc="TIEU_HOC", party=True, emulation=True, nq=None, kh=date(2025, 2, 12), dk=date(2025, 2, 20),
        rules=True, people={"2024-11": 395, "2025-09": 402}, briefed={"2025-02": None}, models=1, parents=True,
        subunits=3, results={}),
}

XA = dict(nq=date(2025, 1, 23), kh=date(2025, 2, 14), dk=date(2025, 2, 20))   # NQ 41-NQ-ĐU of 23/01/2025


def kdc_year(period: str) -> int:
    """KDC evaluation year of a month (01/11–31/10)."""
    end = month_end(period)
    return end.year + 1 if end.month >= 11 else end.year


def other_year(period: str) -> int:
    """XA/CQDN/CSGD evaluation year of a month (16/11–15/11): the month's last day decides."""
    end = month_end(period)
    return end.year + 1 if (end.month, end.day) > (11, 15) else end.year


def dated(day: date | None, period: str, year_of) -> date | None:
    """A Quý I document shows in the files from its month on, within its own evaluation year only."""
    if day is None or month_of(day) > period or year_of(period) != day.year:
        return None
    return day


def stepped(table: dict, period: str):
    """The value of a {from-month: value} table in `period` (None before its first month)."""
    value = None
    for start in sorted(table):
        if start <= period:
            value = table[start]
    return value


def households(code: str, period: str) -> int:
    """Residing households: the base count with a few moves in and out over the year."""
    r = rng("households", code)
    changes = {m: r.choice((1, 1, -1)) for m in r.sample(MONTHS[2:], 3)}
    return KDC[code]["hh"] + sum(d for m, d in changes.items() if m <= period)


def status(code: str, utype: str, period: str) -> dict:
    """The unit's status fields at the end of `period` (None = left blank), before who/when fields are added."""
    if utype == "KDC":
        p = KDC[code]
        blank_dates = p.get("unchanged_blank_from") and period >= p["unchanged_blank_from"]
        registered = dated(p["dk"], period, kdc_year)
        hh = households(code, period)
        rating = p["r2024"] if period == "2024-11" else (p["r2025"][1] if p["r2025"] and p["r2025"][0] == period
                                                          else None)
        return {
            "ngay_nghi_quyet_chi_bo": None if blank_dates else dated(p["nq"], period, kdc_year),
            "ngay_dang_ky_phan_dau": None if blank_dates else registered,
            "so_ho_cu_tru": hh,
            "so_ho_dang_ky": hh - p.get("short", 0) if registered else None,
            "trien_khai_day_du": True, "quan_ly_doi_tuong_hieu_qua": True, "xep_loai_luc_luong": rating,
        }
    if utype == "XA":
        return {
            "ngay_nghi_quyet_dang_uy": dated(XA["nq"], period, other_year),
            "ngay_ke_hoach_ubnd": dated(XA["kh"], period, other_year),
            "ngay_dang_ky_phan_dau": dated(XA["dk"], period, other_year),
            "so_mo_hinh_hieu_qua": 3 if period >= "2025-06" else 2,
            "trien_khai_day_du": True, "quan_ly_doi_tuong_hieu_qua": True, "cong_an_nam_chac_tinh_hinh": True,
        }
    p = (CQDN if utype == "CQDN" else CSGD)[code]
    people = stepped(p["people"], period)
    briefed = None                       # {from-month: count}; None in the table means "everybody"
    if p["briefed"] and period >= min(p["briefed"]):
        briefed = stepped(p["briefed"], period) or people
    rating, done = p["results"].get(period, (None, None))
    values = {
        "co_to_chuc_dang": p["party"], "du_dieu_kien_thi_dua": p["emulation"],
        "ngay_nghi_quyet": dated(p["nq"], period, other_year), "ngay_ke_hoach": dated(p["kh"], period, other_year),
        "ngay_dang_ky_phan_dau": dated(p["dk"], period, other_year),
        "noi_quy_bao_ve": p["rules"], "noi_quy_chinh_tri_noi_bo": p["rules"], "noi_quy_pccn": p["rules"],
        "so_nguoi": people, "so_nguoi_quan_triet": briefed, "so_mo_hinh_hieu_qua": p["models"],
        "trien_khai_day_du": True,
        "xep_loai_luc_luong_bao_ve": p.get("force_every_month") or rating,
        "so_dau_moi": p["subunits"], "so_dau_moi_dat": done,
    }
    if utype == "CQDN":
        values.update({"noi_quy_bi_mat": p["rules"], "noi_quy_an_toan_lao_dong": p["rules"],
                       "noi_quy_moi_truong": p["rules"], **p["scope"]})
        if "note" in p:
            values["ghi_chu"] = p["note"]
    else:
        values.update({"cap_hoc": p["cap_hoc"], "noi_quy_quan_ly_nguoi_hoc": p["rules"],
                       "phoi_hop_cha_me_hoc_sinh": p["parents"]})
    return values


# ============================================================================================ incidents

@dataclass(frozen=True)
class Row:
    ngay: date
    loai: str
    muc_do: str | None = None
    bkk: bool | None = None
    kip_thoi: bool | None = None
    giam_thieu: bool | None = None
    bao_cao: bool | None = None
    ma: str | None = None
    mo_ta: str | None = None


D = date
# unit -> [(file month, row)]. Case numbers (ma_vu_viec) are the Công an xã's own numbering.
INCIDENTS: dict[str, list[tuple[str, Row]]] = {
    "PHUDINH": [
        ("2025-01", Row(D(2025, 1, 28), "VI_PHAM_PHAP_LUAT", ma="PD-2025-004",
                        mo_ta="Buôn bán pháo nổ trên tuyến đường tỉnh qua địa bàn xã, xử phạt vi phạm hành chính")),
        ("2025-05", Row(D(2025, 5, 23), "CHAY_NO", "NGHIEM_TRONG", bkk=True, ma="PD-2025-011",
                        mo_ta="Sét đánh trong cơn dông gây cháy 02 nhà ở tại Xóm Tân Lập; không có thương vong; "
                              "Cảnh sát PCCC&CNCH xác định nguyên nhân do thiên tai (bất khả kháng)")),
    ],
    "XOM01": [
        ("2025-02", Row(D(2025, 2, 14), "VI_PHAM_PHAP_LUAT", ma="PD-2025-003",
                        mo_ta="Gây rối trật tự tại đám cưới, xử phạt vi phạm hành chính 01 đối tượng")),
        ("2025-04", Row(D(2025, 4, 20), "CHAY_NO", "KHONG_NGHIEM_TRONG", bkk=False, ma="PD-2025-009",
                        mo_ta="Cháy đống rơm sau nhà dân, người dân tự dập tắt, không thiệt hại đáng kể")),
        ("2025-11", Row(D(2025, 11, 8), "VI_PHAM_PHAP_LUAT", ma="PD-2025-031",
                        mo_ta="Tàng trữ pháo nổ (dưới mức truy cứu trách nhiệm hình sự), xử phạt hành chính")),
    ],
    "XOM02": [
        ("2024-12", Row(D(2024, 12, 20), "TE_NAN_XA_HOI", ma="PD-2024-041",
                        mo_ta="Phát hiện 04 đối tượng đánh bạc (đánh bài ăn tiền), xử phạt hành chính")),
        ("2025-06", Row(D(2025, 6, 17), "TOI_PHAM", "NGHIEM_TRONG", kip_thoi=True, giam_thieu=False, bao_cao=True,
                        ma="PD-2025-014", mo_ta="Cướp giật tài sản của người đi đường (Điều 171 BLHS); "
                                                "đối tượng bỏ trốn khỏi địa bàn")),
        ("2025-07", Row(D(2025, 6, 17), "TOI_PHAM", "NGHIEM_TRONG", kip_thoi=True, giam_thieu=False, bao_cao=True,
                        ma="PD-2025-014", mo_ta="Cập nhật: đã khởi tố vụ án, bắt giữ đối tượng cướp giật")),
        ("2025-09", Row(D(2025, 9, 6), "VI_PHAM_PHAP_LUAT", ma="PD-2025-022",
                        mo_ta="Tàng trữ vũ khí thô sơ (dao, kiếm) trái phép, xử phạt hành chính")),
    ],
    "XOM03": [
        ("2025-03", Row(D(2025, 3, 9), "TOI_PHAM", "RAT_NGHIEM_TRONG", bkk=False, kip_thoi=True, giam_thieu=True,
                        bao_cao=True, ma="PD-2025-006",
                        mo_ta="Cố ý gây thương tích (Điều 134 BLHS) do mâu thuẫn cá nhân; Tổ bảo vệ ANTT phát hiện, "
                              "sơ cứu đưa nạn nhân đi viện, khống chế đối tượng và báo ngay Công an xã")),
        ("2025-08", Row(D(2025, 8, 2), "SU_CO", "KHONG_NGHIEM_TRONG", ma="PD-2025-018",
                        mo_ta="Đổ cột điện hạ thế do mưa lớn, điện lực khắc phục trong ngày")),
    ],
    "XOM04": [
        ("2024-11", Row(D(2024, 11, 25), "VI_PHAM_PHAP_LUAT", ma="PD-2024-037",
                        mo_ta="Đánh nhau gây mất trật tự công cộng, xử phạt hành chính 02 đối tượng")),
        ("2025-05", Row(D(2025, 5, 23), "CHAY_NO", "NGHIEM_TRONG", bkk=True, ma="PD-2025-011",
                        mo_ta="Sét đánh trong cơn dông gây cháy 02 nhà ở; không có thương vong; cơ quan Cảnh sát "
                              "PCCC&CNCH xác định nguyên nhân do thiên tai (bất khả kháng)")),
    ],
    "XOM05": [
        ("2025-07", Row(D(2025, 7, 14), "TE_NAN_XA_HOI", ma="PD-2025-016",
                        mo_ta="Đánh bạc dưới hình thức ghi số lô, số đề, xử phạt hành chính")),
    ],
    "XOM06": [
        ("2025-03", Row(D(2025, 3, 12), "VI_PHAM_PHAP_LUAT", ma="PD-2025-007",
                        mo_ta="Xô xát do tranh chấp lối đi, gây mất trật tự, xử phạt hành chính")),
    ],
    "XOM07": [
        ("2025-01", Row(D(2025, 1, 26), "TE_NAN_XA_HOI", ma="PD-2025-002",
                        mo_ta="Tụ tập đánh bạc dịp cận Tết, xử phạt hành chính 03 đối tượng")),
        ("2025-08", Row(D(2025, 8, 12), "KY_LUAT_LUC_LUONG", "KHIEN_TRACH", ma="PD-2025-019",
                        mo_ta="01 thành viên Tổ bảo vệ an ninh, trật tự bỏ vị trí trực, bị kỷ luật khiển trách")),
    ],
    "XOM08": [
        ("2025-01", Row(D(2025, 1, 19), "TE_NAN_XA_HOI", ma="PD-2025-001",
                        mo_ta="Đánh bạc ăn tiền dịp cận Tết, xử phạt hành chính 05 đối tượng")),
        ("2025-05", Row(D(2025, 5, 10), "TE_NAN_XA_HOI", ma="PD-2025-010",
                        mo_ta="Phát hiện 01 thanh niên sử dụng trái phép chất ma túy")),
        ("2025-05", Row(D(2025, 5, 10), "NGUOI_MAC_TNXH_MOI", ma="PD-2025-010",
                        mo_ta="Người sử dụng trái phép chất ma túy mới phát sinh, đã lập hồ sơ quản lý")),
        ("2025-09", Row(D(2025, 9, 21), "TE_NAN_XA_HOI", ma="PD-2025-023",
                        mo_ta="Tổ chức đánh bạc tại quán nước đầu xóm, xử phạt hành chính 06 đối tượng")),
        ("2025-09", Row(D(2025, 9, 21), "TU_DIEM_PHUC_TAP", ma="PD-2025-023",
                        mo_ta="Quán nước đầu xóm trở thành tụ điểm tụ tập cờ bạc, đưa vào diện theo dõi")),
    ],
    "XOM09": [
        ("2024-11", Row(D(2024, 11, 22), "VI_PHAM_PHAP_LUAT", ma="PD-2024-036",
                        mo_ta="Vi phạm quy định về đăng ký, quản lý cư trú, xử phạt hành chính")),
        ("2025-07", Row(D(2025, 6, 25), "TE_NAN_XA_HOI", ma="PD-2025-015",       # a June case, reported in July
                        mo_ta="Phát hiện 01 đối tượng đánh bạc qua mạng (xảy ra tháng 6, báo cáo bổ sung)")),
    ],
    "XOM10": [
        ("2025-04", Row(D(2025, 4, 3), "VI_PHAM_PHAP_LUAT", ma="PD-2025-008",
                        mo_ta="Vận chuyển pháo nổ (dưới mức truy cứu trách nhiệm hình sự), xử phạt hành chính")),
    ],
    "XOM11": [
        ("2025-05", Row(D(2025, 5, 27), "TOI_PHAM", "IT_NGHIEM_TRONG", ma="PD-2025-012",
                        mo_ta="Trộm cắp tài sản (xe máy) trị giá 18 triệu đồng (khoản 1 Điều 173 BLHS)")),
    ],
    "XOM12": [
        ("2024-11", Row(D(2024, 11, 9), "VI_PHAM_PHAP_LUAT", ma="PD-2024-035",
                        mo_ta="Gây rối trật tự công cộng tại sân bóng, xử phạt hành chính")),
        ("2025-07", Row(D(2025, 7, 19), "CHAY_NO", "KHONG_NGHIEM_TRONG", bkk=False, ma="PD-2025-017",
                        mo_ta="Chập điện gây cháy quầy tạp hóa, dập tắt kịp thời, thiệt hại nhỏ")),
    ],
    "XOM13": [
        ("2025-09", Row(D(2025, 9, 2), "VI_PHAM_PHAP_LUAT", ma="PD-2025-021",
                        mo_ta="Gây rối trật tự công cộng dịp lễ Quốc khánh, xử phạt hành chính")),
    ],
    "CQ-UBND": [
        ("2025-04", Row(D(2025, 4, 15), "KY_LUAT_CA_NHAN", "KHIEN_TRACH", ma="UBND-2025-01",
                        mo_ta="01 công chức bị khiển trách do chậm giải quyết hồ sơ hành chính")),
    ],
    "DN-MAYTHEU": [
        ("2025-04", Row(D(2025, 4, 7), "CHAY_NO", "KHONG_NGHIEM_TRONG", bkk=False, ma="MT-2025-01",
                        mo_ta="Chập điện tại kho vải, đội PCCC cơ sở dập tắt ngay, thiệt hại nhỏ")),
        ("2025-07", Row(D(2025, 7, 22), "NLD_VI_PHAM_ANTT", ma="MT-2025-02",
                        mo_ta="01 công nhân bị Công an xã xử phạt vi phạm hành chính về hành vi đánh nhau tại khu "
                              "nhà trọ")),
        ("2025-10", Row(D(2025, 10, 3), "KY_LUAT_CA_NHAN", "KHIEN_TRACH", ma="MT-2025-03",
                        mo_ta="01 tổ trưởng sản xuất bị khiển trách do vi phạm nội quy an toàn lao động")),
    ],
    "DN-GACH": [
        ("2025-03", Row(D(2025, 3, 18), "VI_PHAM_MOI_TRUONG_VSTP", "KHONG_NGHIEM_TRONG", bkk=False, ma="GT-2025-01",
                        mo_ta="Khí thải lò nung vượt quy chuẩn, bị xử phạt hành chính, đã khắc phục")),
        ("2025-08", Row(D(2025, 8, 27), "SU_CO", "KHONG_NGHIEM_TRONG", bkk=False, ma="GT-2025-02",
                        mo_ta="Sập một phần mái che bãi phơi gạch do mưa bão, không có thương vong")),
    ],
    "TRUONG-THCS": [
        ("2025-03", Row(D(2025, 3, 25), "BAO_LUC_HOC_DUONG", ma="THCS-2025-01",
                        mo_ta="Nhóm 04 học sinh lớp 8 đánh hội đồng 01 bạn sau giờ học, quay video đăng mạng xã hội")),
        ("2025-10", Row(D(2025, 10, 14), "NGUOI_HOC_DAY_TE_NAN", "KHIEN_TRACH", ma="THCS-2025-02",
                        mo_ta="01 học sinh lớp 9 tham gia đánh bạc qua mạng, bị khiển trách")),
    ],
}

# The first version of XOM11's May file classified the theft as serious; the corrected file (June inbox) fixes it.
XOM11_WRONG = Row(D(2025, 5, 27), "TOI_PHAM", "NGHIEM_TRONG", ma="PD-2025-012",
                  mo_ta="Trộm cắp tài sản (xe máy) (chưa xác định giá trị)")


def rows_for(code: str, period: str) -> list[Row]:
    return [row for month, row in INCIDENTS.get(code, []) if month == period]


# ============================================================================================ received times

def received(code: str, period: str) -> datetime:
    """When a unit's normal file arrives: from the 28th of the month to the 4th of the next (on time)."""
    r = rng("received", code, period)
    day = month_end(period) + timedelta(days=r.choice((-2, -1, 0, 0, 1, 2, 3, 4)))
    return datetime(day.year, day.month, day.day, r.randint(7, 20), r.randint(0, 59), tzinfo=VN)


def operator_saved(period: str, minute: int = 0) -> datetime:
    """The operator saves the month's e-mails on the 6th of the next month, after the deadline."""
    nm = next_month(period)
    return at(int(nm[:4]), int(nm[5:]), 6, 16, minute)


def report_date(code: str, period: str, when: datetime) -> date:
    return when.date() if code in DATED_WHEN_SENT else min(when.date(), month_end(period))


# ============================================================================================ writing files

@dataclass
class Submission:
    """One filled workbook: which unit and month, what it says, how it is typed and when it was saved."""

    code: str
    period: str
    saved: datetime
    values: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    style: str = "normal"
    identity: dict | None = None       # typed identity on a blank template (unit code, name, period)


_CONTEXT: dict = {}


def context():
    """Catalog and workspace, loaded once per process."""
    if not _CONTEXT:
        sys.path.insert(0, str(HERE.parent))
        from antt_batch import api
        ws = api.open_workspace(WORKSPACE)
        _CONTEXT.update(ws=ws, catalog=api.catalog_for(ws))
    return _CONTEXT["ws"], _CONTEXT["catalog"]


def unit_of(code: str):
    ws, _ = context()
    unit = ws.find(code)
    if unit is None:
        raise KeyError(code)
    return unit


def submission(code: str, period: str, when: datetime | None = None, **changes) -> Submission:
    """The normal monthly file of a unit: status, who/when, the month's incidents."""
    unit = unit_of(code)
    when = when or received(code, period)
    values = status(code, unit.type, period)
    values.update(nguoi_bao_cao=REPORTERS[code], dien_thoai=phone(code),
                  ngay_bao_cao=report_date(code, period, when))
    sub = Submission(code, period, when, values, rows_for(code, period), STYLE.get(code, "normal"))
    return replace(sub, **changes)


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def typed(fdef, value, style: str, catalog):
    """A value as this clerk types it into the cell."""
    if value is None:
        return None
    if fdef is None or fdef.type == "text":
        return _nfd(value) if style == "nfd" else value
    if fdef.type == "date":
        return value.strftime("%d/%m/%Y") if style == "text" else value
    if fdef.type in ("int", "decimal"):
        return str(value) if style == "text" and fdef.type == "int" else value
    if fdef.type == "bool":
        word = "Có" if value else "Không"
        return {"text": word.lower(), "nfd": _nfd(word) + " "}.get(style, word)
    codelist = catalog.codelists[fdef.codelist]
    if style == "label":
        return codelist.label_of(value)
    return _nfd(codelist.display(value)) + " " if style == "nfd" else codelist.display(value)


def _cell(wb, name: str):
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return wb[sheet][ref.replace("$", "").split(":")[0]]


def write_submission(path: Path, sub: Submission) -> Path:
    """Write the unit's personalised template, fill it through the defined names and save it like Excel would."""
    import openpyxl
    from antt_batch.templates import deadline_text, write_template
    ws, catalog = context()
    unit = unit_of(sub.code)
    send_to = ", ".join(ws.commune.emails)
    deadline = deadline_text(sub.period, ws.deadline_day)
    if sub.identity:     # a blank per-type template on which the clerk typed the identity himself
        write_template(path, catalog, unit.type, send_to=send_to, deadline=deadline)
    else:
        write_template(path, catalog, unit.type, unit.code, unit.name, sub.period, send_to=send_to,
                       deadline=deadline)
    wb = openpyxl.load_workbook(path)
    for name, value in (sub.identity or {}).items():
        _cell(wb, name).value = value
    for fid, value in sub.values.items():
        fdef = catalog.fields[fid]
        if unit.type not in fdef.unit_types:
            raise ValueError(f"{fid} is not a field of {unit.type}")
        _cell(wb, fid).value = typed(fdef, value, sub.style, catalog)
    _fill_register(wb, sub, catalog)
    wb.properties.lastModifiedBy = REPORTERS[sub.code].split(",")[0]
    wb.save(path)
    normalise_zip(path, sub.saved)
    return path


def _fill_register(wb, sub: Submission, catalog) -> None:
    from antt_batch import layout as L
    sheet, ref = next(iter(wb.defined_names[L.REGISTER_NAME].destinations))
    ws = wb[sheet]
    first = int(re.match(r"\$?[A-Z]+\$?(\d+)", ref).group(1)) + 1
    levels = catalog.codelists["MUC_DO"]

    def flag(value):
        return None if value is None else typed(catalog.fields["trien_khai_day_du"], value, sub.style, catalog)

    for i, row in enumerate(sub.rows):
        r = first + i
        cat = catalog.categories[row.loai]
        date_cell = ws.cell(r, 1)
        if sub.style == "text":
            date_cell.value = row.ngay.strftime("%d/%m/%Y")
        else:
            date_cell.value = row.ngay
            date_cell.number_format = "dd/mm/yyyy"
        ws.cell(r, 2).value = cat.label if sub.style == "label" else f"{cat.code} - {cat.label}"
        if row.muc_do:
            ws.cell(r, 3).value = levels.label_of(row.muc_do) if sub.style == "label" else levels.display(row.muc_do)
        for col, value in enumerate((row.bkk, row.kip_thoi, row.giam_thieu, row.bao_cao), start=4):
            ws.cell(r, col).value = flag(value)
        ws.cell(r, 8).value = row.ma
        ws.cell(r, 9).value = row.mo_ta


def normalise_zip(path: Path, saved: datetime) -> None:
    """Fixed zip entry times and document dates, so the same content gives the same bytes."""
    stamp = saved.astimezone(VN).replace(tzinfo=None).timetuple()[:6]
    utc = saved.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as zin:
        entries = [(info.filename, zin.read(info)) for info in zin.infolist()]
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zout:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + utc.encode() + rb"\g<2>", data)
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            zout.writestr(info, data)
    os.replace(tmp, path)


def touch(path: Path, when: datetime) -> None:
    ts = when.timestamp()
    os.utime(path, (ts, ts))


# ============================================================================================ e-mail

def email_bytes(sender: tuple[str, str], date_header: datetime, subject: str, body: str,
                attachments: list[tuple[str, bytes]], key: str) -> bytes:
    """One saved e-mail (.eml): fixed Message-ID and MIME boundary, attachments base64."""
    msg = EmailMessage(policy=policy.default)
    msg["From"] = formataddr(sender)
    msg["To"] = formataddr(OPERATOR)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date_header)
    msg["Message-ID"] = f"<{key}@mail.example.vn>"
    msg.set_content(body)
    for name, data in attachments:
        msg.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=name)
    if attachments:
        msg.set_boundary(f"=_antt_{key}")
    return msg.as_bytes()


def mbox_bytes(messages: list[tuple[str, datetime, bytes]]) -> bytes:
    """An mbox (mboxrd): a "From " line per message, body lines beginning with "From " quoted."""
    out = []
    for sender, when, data in messages:
        stamp = when.astimezone(timezone.utc).strftime("%a %b %d %H:%M:%S %Y")
        out.append(f"From {sender} {stamp}\n".encode())
        for line in data.splitlines(keepends=True):
            out.append(b">" + line if re.match(rb">*From ", line) else line)
        if not data.endswith(b"\n"):
            out.append(b"\n")
        out.append(b"\n")
    return b"".join(out)


def subject_of(code: str, period: str) -> str:
    return f"Báo cáo ANTT tháng {period[5:]}/{period[:4]} - {unit_of(code).name}"


def body_of(code: str, period: str, extra: str = "") -> str:
    return (f"Kính gửi Công an xã Phú Đình,\n\n{unit_of(code).name} gửi báo cáo tháng {period[5:]}/{period[:4]} "
            f"theo biểu mẫu đính kèm.{(' ' + extra) if extra else ''}\n\nTrân trọng,\n{REPORTERS[code]}\n"
            f"ĐT: {phone(code)}\n")


def sender_of(code: str, address: str | None = None) -> tuple[str, str]:
    return REPORTERS[code].split(",")[0], address or unit_of(code).emails[0]


# ============================================================================================ the year

def pdf_bytes(text: str) -> bytes:
    """A small, valid one-page PDF (a scan-like export someone renamed to .xlsx)."""
    stream = f"BT /F1 14 Tf 56 780 Td ({text}) Tj ET".encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def fixture_submission(name: str) -> Submission:
    """The filled workbook a LibreOffice fixture was converted from (tests compare their values)."""
    code, period, _ = LIBREOFFICE_FIXTURES[name]
    if name == "XOM04_2025-01.xls":
        return submission(code, period, at(2025, 2, 3, 20, 12))
    return submission(code, period)


# Units and months with a special story; every other (unit, month) gets its normal file.
NOT_SENT = {("XOM09", "2025-06"), ("DN-CHE", "2025-08")}


def month_plan(period: str) -> list[tuple]:
    """Everything that lands in inbox/<period>/: (file name, kind, payload, mtime).

    kind: "sub" (payload = Submission, written as .xlsx), "eml" (payload = list of (attachment name, Submission or
    bytes) plus headers), "raw" (payload = bytes), "fixture" (payload = fixture name), "mbox".
    """
    ws, _ = context()
    plan: list[tuple] = []
    special = set()

    def eml(name, code, sub_period, when, attachments, saved=None, sender=None, extra="", key=None):
        plan.append((name, "eml", dict(code=code, period=sub_period, when=when, attachments=attachments,
                                       sender=sender, extra=extra, key=key or name.rsplit(".", 1)[0]),
                     saved or max(operator_saved(period), when + timedelta(hours=2))))

    # ---- stories, month by month -------------------------------------------------------------------------------
    if period == "2024-12":
        # An attachment saved while the download failed (0 bytes); the operator downloaded it again.
        good = submission("XOM07", period)
        plan.append(("XOM07_2024-12.xlsx", "raw", b"", good.saved - timedelta(minutes=3)))
        plan.append(("XOM07_2024-12 (1).xlsx", "sub", good, good.saved))
        special.add("XOM07")
    if period == "2025-01":
        # XOM04 first sent an Excel 97-2003 file (LibreOffice-made fixture), then the .xlsx the next day.
        plan.append(("XOM04_2025-01.xls", "fixture", "XOM04_2025-01.xls", at(2025, 2, 3, 20, 12)))
        plan.append(("XOM04_2025-01.xlsx", "sub", submission("XOM04", period, at(2025, 2, 4, 7, 40)),
                     at(2025, 2, 4, 7, 40)))
        # XOM01's head filled a blank template and typed the unit code "XOM 1"; the Công an xã sent the right one.
        typo = submission("XOM01", period, at(2025, 1, 30, 19, 5),
                          identity={"antt_unit_code": "XOM 1", "antt_unit_name": "xom Dinh", "antt_period": period})
        plan.append(("XOM1_2025-01.xlsx", "sub", typo, typo.saved))
        plan.append(("XOM01_2025-01.xlsx", "sub", submission("XOM01", period, at(2025, 2, 1, 9, 30)),
                     at(2025, 2, 1, 9, 30)))
        special |= {"XOM04", "XOM01"}
    if period == "2025-02":
        # XOM06: text in a number cell and a resolution dated after the month, then the corrected file.
        bad = submission("XOM06", period, at(2025, 3, 2, 20, 45))
        bad.values = {**bad.values, "so_ho_cu_tru": "chưa thống kê xong", "ngay_nghi_quyet_chi_bo": date(2025, 3, 15)}
        bad.rows = [Row(D(2025, 3, 1), "VI_PHAM_PHAP_LUAT", ma="PD-2025-005",
                        mo_ta="Ghi nhầm vụ việc của tháng sau vào báo cáo tháng này")]
        plan.append(("XOM06_2025-02.xlsx", "sub", bad, bad.saved))
        good = submission("XOM06", period, at(2025, 3, 4, 8, 10))
        plan.append(("XOM06_2025-02_sua.xlsx", "sub", good, good.saved))
        special.add("XOM06")
    if period == "2025-03":
        # DN-GACH's accountant sent the March file from a personal address (sender-mismatch, still accepted).
        when = at(2025, 4, 1, 21, 3)
        eml("2025-04-01_ketoan-gach.eml", "DN-GACH", period, when, [("DN-GACH_2025-03.xlsx", None)],
            sender=("Lê Thị Ngọc (kế toán)", "ngoc.ketoan1982@example.com"),
            extra="Em gửi hộ anh Đức Anh do hộp thư công ty đang lỗi.")
        # The THPT clerk re-saves the file in LibreOffice Calc before sending it.
        plan.append(("TRUONG-THPT_2025-03.xlsx", "fixture", "TRUONG-THPT_2025-03.xlsx",
                     fixture_submission("TRUONG-THPT_2025-03.xlsx").saved))
        # XOM10 missed the deadline: its March file reaches the April inbox (see 2025-04).
        special |= {"DN-GACH", "TRUONG-THPT", "XOM10"}
    if period == "2025-04":
        # XOM10's late March file (received 09/04, after the 05/04 deadline): an earlier month, accepted with a warning.
        late = submission("XOM10", "2025-03", at(2025, 4, 9, 10, 20))
        plan.append(("XOM10_2025-03.xlsx", "sub", late, late.saved))
        # XOM03 filled next month's template by mistake (period 2025-05, April data): refused, then sent April's.
        wrong = submission("XOM03", "2025-04", at(2025, 4, 30, 17, 25))
        wrong.period = "2025-05"
        plan.append(("XOM03_2025-05.xlsx", "sub", wrong, wrong.saved))
        plan.append(("XOM03_2025-04.xlsx", "sub", submission("XOM03", period, at(2025, 5, 3, 8, 5)),
                     at(2025, 5, 3, 8, 5)))
        special.add("XOM03")
    if period == "2025-05":
        # XOM11's first May file calls the theft "nghiêm trọng"; it is corrected in June (see 2025-06).
        first = submission("XOM11", period, at(2025, 6, 2, 8, 15))
        first.rows = [XOM11_WRONG]
        eml("2025-06-02_xomthamroc.eml", "XOM11", period, first.saved, [("XOM11_2025-05.xlsx", first)])
        special.add("XOM11")
    if period == "2025-06":
        # TRUONG-THCS exported a PDF and renamed it .xlsx; the real workbook followed.
        plan.append(("TRUONG-THCS_2025-06.xlsx", "raw",
                     pdf_bytes("BAO CAO ANTT THANG 06/2025 - TRUONG THCS PHU DINH (ban ky, dong dau)"),
                     at(2025, 6, 30, 16, 2)))
        good = submission("TRUONG-THCS", period, at(2025, 7, 1, 9, 12))
        plan.append(("TRUONG-THCS_2025-06 (1).xlsx", "sub", good, good.saved))
        # XOM11's corrected May file: later received, supersedes the first one.
        corrected = submission("XOM11", "2025-05", at(2025, 6, 12, 9, 40))
        eml("2025-06-12_xomthamroc-sua.eml", "XOM11", "2025-05", corrected.saved,
            [("XOM11_2025-05 (sửa).xlsx", corrected)],
            extra="Xóm gửi lại báo cáo tháng 5 đã sửa mức độ vụ trộm cắp (ít nghiêm trọng) theo hướng dẫn của "
                  "Công an xã; đề nghị dùng bản này thay bản gửi ngày 02/6.")
        special.add("TRUONG-THCS")
    if period == "2025-07":
        # XOM12 sent the same file twice, in two e-mails (the second "in case the first did not arrive").
        sub = submission("XOM12", period, at(2025, 7, 31, 21, 14))
        eml("2025-07-31_xomnamao.eml", "XOM12", period, sub.saved, [("XOM12_2025-07.xlsx", sub)])
        eml("2025-08-01_xomnamao-gui-lai.eml", "XOM12", period, at(2025, 8, 1, 7, 5), [("XOM12_2025-07.xlsx", sub)],
            extra="Gửi lại vì không biết thư hôm qua đã đến chưa.", key="2025-08-01_xomnamao-gui-lai")
        special.add("XOM12")
    if period == "2025-08":
        # DN-CHE sent an Excel 97-2003 file renamed to .xlsx, and nothing else that month.
        plan.append(("DN-CHE_2025-08.xlsx", "fixture", "DN-CHE_2025-08.xls",
                     fixture_submission("DN-CHE_2025-08.xls").saved))
        # XOM10 is late again, by e-mail: Date: 08/09/2025.
        late = submission("XOM10", period, at(2025, 9, 8, 19, 5))
        eml("2025-09-08_xomkhuontat.eml", "XOM10", period, late.saved, [("XOM10_2025-08.xlsx", late)],
            extra="Xin lỗi Công an xã vì gửi chậm.")
        special |= {"DN-CHE", "XOM10"}
    if period == "2025-09":
        # One mailbox file with two messages; XOM13's comes from an address the registry does not know.
        s12 = submission("XOM12", period, at(2025, 9, 30, 18, 2))
        s13 = submission("XOM13", period, at(2025, 10, 2, 6, 45))
        m12 = email_bytes(sender_of("XOM12"), s12.saved, subject_of("XOM12", period), body_of("XOM12", period),
                          [("XOM12_2025-09.xlsx", built_bytes(s12))], "2025-09-30_xomnamao")
        m13 = email_bytes(("Hoàng Văn Thịnh", "hoangthinh.qt88@example.com"), s13.saved,
                          subject_of("XOM13", period),
                          body_of("XOM13", period, "Cháu gửi hộ bác trưởng xóm bằng thư của cháu."),
                          [("XOM13_2025-09.xlsx", built_bytes(s13))], "2025-10-02_xomquyetthang")
        plan.append(("hop-thu-2025-09.mbox", "raw",
                     mbox_bytes([(sender_of("XOM12")[1], s12.saved, m12),
                                 ("hoangthinh.qt88@example.com", s13.saved, m13)]), operator_saved(period)))
        special |= {"XOM12", "XOM13"}
    if period == "2025-10":
        # XOM09 first forgot the attachment, then sent it the next morning.
        eml("2025-10-31_xomdonglan-quen-dinh-kem.eml", "XOM09", period, at(2025, 10, 31, 20, 10), [],
            extra="(quên đính kèm)")
        sub = submission("XOM09", period, at(2025, 11, 1, 7, 32))
        eml("2025-11-01_xomdonglan.eml", "XOM09", period, sub.saved, [("XOM09_2025-10.xlsx", sub)])
        special.add("XOM09")

    # ---- everybody else: the normal file (or e-mail) of the month ---------------------------------------------------
    for unit in [*ws.units, ws.commune]:
        code = unit.code
        if unit.in_scope is False or code in special or (code, period) in NOT_SENT:
            continue
        sub = submission(code, period)
        if code in BY_EMAIL:
            when = sub.saved
            if code == "DN-MAYTHEU" and period == "2025-09":      # 05/10 17:45 UTC = 06/10 00:45 in Vietnam: late
                when = datetime(2025, 10, 5, 17, 45, tzinfo=timezone.utc)
            if code == "DN-MAYTHEU" and period == "2025-10":      # 05/11 16:30 UTC = 05/11 23:30 in Vietnam: on time
                when = datetime(2025, 11, 5, 16, 30, tzinfo=timezone.utc)
            sub = replace(sub, saved=when, values={**sub.values, "ngay_bao_cao": report_date(
                code, period, when.astimezone(VN))})
            slug = unit.emails[0].split("@")[0].replace(".phudinh", "")
            eml(f"{when.astimezone(VN):%Y-%m-%d}_{slug}.eml", code, period, when,
                [(f"{code}_{period}.xlsx", sub)])
        else:
            plan.append((f"{code}_{period}.xlsx", "sub", sub, sub.saved))
    return plan


def built_bytes(sub: Submission) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_submission(Path(tmp) / f"{sub.code}_{sub.period}.xlsx", sub)
        return path.read_bytes()


def build_month(period: str, out: Path) -> list[Path]:
    folder = out / period
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, kind, payload, mtime in month_plan(period):
        path = folder / name
        if kind == "sub":
            write_submission(path, payload)
        elif kind == "raw":
            path.write_bytes(payload)
        elif kind == "fixture":
            shutil.copyfile(FIXTURES / payload, path)
        elif kind == "eml":
            p = payload
            code, sub_period = p["code"], p["period"]
            attachments = []
            for att_name, att in p["attachments"]:
                if att is None:
                    att = submission(code, sub_period, p["when"])
                attachments.append((att_name, built_bytes(att)))
            path.write_bytes(email_bytes(p["sender"] or sender_of(code), p["when"], subject_of(code, sub_period),
                                         body_of(code, sub_period, p["extra"]), attachments, p["key"]))
        touch(path, mtime)
        written.append(path)
    return written


def build(out: Path = INBOX, workers: int | None = None) -> list[Path]:
    """Write the whole inbox tree into `out` and return the files written.

    The month folders (YYYY-MM) of `out` are emptied first; nothing else in `out` is touched.
    """
    out = Path(out)
    for period in MONTHS:
        if (out / period).is_dir():
            shutil.rmtree(out / period)
    out.mkdir(parents=True, exist_ok=True)
    workers = workers or min(len(MONTHS), os.cpu_count() or 1)
    if workers == 1:
        return [p for m in MONTHS for p in build_month(m, out)]
    with ProcessPoolExecutor(workers) as pool:
        return [p for paths in pool.map(build_month, MONTHS, [out] * len(MONTHS)) for p in paths]


def refresh_fixtures() -> None:
    """Re-make the LibreOffice fixtures from this script's own filled workbooks (needs `soffice`)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        sys.exit("soffice not found: install LibreOffice Calc (apt-get install libreoffice-calc-nogui)")
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, (code, period, fmt) in LIBREOFFICE_FIXTURES.items():
            src = write_submission(tmp / "src" / f"{code}_{period}.xlsx", fixture_submission(name))
            outdir = tmp / name
            profile = (tmp / "profile").as_uri()
            subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", fmt,
                            "--outdir", str(outdir), str(src)], check=True, capture_output=True, timeout=300)
            shutil.copyfile(outdir / f"{code}_{period}.{fmt}", FIXTURES / name)
            print(f"fixture {FIXTURES / name}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=INBOX, help="inbox folder to (re)write (default: %(default)s)")
    parser.add_argument("--refresh-fixtures", action="store_true",
                        help="re-make the LibreOffice fixtures first (needs soffice)")
    parser.add_argument("--workers", type=int, default=None, help="parallel processes (default: CPU count)")
    parser.add_argument("--touch", action="store_true",
                        help="only set the files' received times (git keeps no mtimes: run after a fresh clone)")
    args = parser.parse_args(argv)
    if args.touch:
        for period in MONTHS:
            for name, _, _, mtime in month_plan(period):
                touch(args.out / period / name, mtime)
        return 0
    if args.refresh_fixtures:
        refresh_fixtures()
    paths = build(args.out, args.workers)
    print(f"{len(paths)} files written under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
