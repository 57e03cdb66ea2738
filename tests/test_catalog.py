"""The real catalog through the real loader: legal coverage (digest §5), the spec §4.1/§4.3 mappings, parsing of what
users type, and the load-time checks that stop a broken catalog or provincial extra."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from antt_batch.catalog import CATALOG_DIR, KINDS, CatalogError, load_catalog, parse_bool

ROOT = Path(__file__).resolve().parents[1]
CAT = load_catalog()
NT, CC = "NGHIEM_TRONG", "CANH_CAO"

XA_IMPORTS = ["KDC-2", "KDC-3.a", "KDC-3.b", "KDC-3.c", "KDC-3.d", "KDC-3.dd", "KDC-3.e", "KDC-3.g", "KDC-4.a",
              "KDC-4.b", "KDC-4.c.1", "KDC-4.c.2", "KDC-4.c.3", "KDC-4.d.1", "KDC-4.d.2", "KDC-4.d.3"]
CSGD_IMPORTS = ["CQDN-3.a", "CQDN-3.b", "CQDN-3.c", "CQDN-3.dd", "CQDN-3.e", "CQDN-3.g.1", "CQDN-3.g.2",
                "CQDN-3.g.3", "CQDN-3.g.4"]


def _both(kdc: str, level: str | None = None) -> dict:
    """A KDC criterion and its XA-2 import read a category at the same level."""
    return {kdc: level, f"XA-2:{kdc}": level}


def _cq(cqdn: str, level: str | None = None) -> dict:
    return {cqdn: level, f"CSGD-3:{cqdn}": level}


# Spec §4.3: category -> {criterion: min_level under the default reading (None = any level)}.
FEEDS = {
    "CHONG_DANG": _both("KDC-3.a"),
    "PHA_HOAI": _both("KDC-3.b"),
    "TON_GIAO_TRAI_PHEP": {**_both("KDC-3.c"), **_cq("CQDN-3.a")},
    "LOI_DUNG_TON_GIAO": {**_both("KDC-3.d"), **_cq("CQDN-3.b")},
    "LY_KHAI": _both("KDC-3.dd"),
    "MAU_THUAN_KEO_DAI": _both("KDC-3.e"),
    "KICH_DONG_KHIEU_KIEN": {**_both("KDC-3.g"), **_cq("CQDN-3.c")},
    "DINH_CONG": {"CQDN-3.d": None},
    "TOI_PHAM": {**_both("KDC-4.a"), **_both("KDC-4.b", NT), **_cq("CQDN-3.dd", NT)},
    "LO_BI_MAT": _cq("CQDN-3.e"),
    "TE_NAN_XA_HOI": _both("KDC-4.a"),
    "VI_PHAM_PHAP_LUAT": _both("KDC-4.a"),
    "TU_DIEM_PHUC_TAP": _both("KDC-4.c.1"),
    "NGUOI_MAC_TNXH_MOI": _both("KDC-4.c.2"),
    "CHAY_NO": {**_both("KDC-4.d.1", NT), **_cq("CQDN-3.g.1", NT)},
    "TAI_NAN_LD_CHET_NGUOI": {**_both("KDC-4.d.2"), **_cq("CQDN-3.g.2")},
    "SU_CO": {**_both("KDC-4.d.3", NT), **_cq("CQDN-3.g.3", NT)},
    "VI_PHAM_MOI_TRUONG_VSTP": _cq("CQDN-3.g.4", NT),
    "NLD_VI_PHAM_ANTT": {"CQDN-3.h": None},
    "NLD_TE_NAN_XA_HOI": {"CQDN-3.h": CC},
    "BAO_LUC_HOC_DUONG": {"CSGD-4.1": None},
    "NGUOI_HOC_DAY_PHAM_TOI": {"XA-2:KDC-4.b": NT, "CSGD-4.2": None, "CSGD-3:CQDN-3.dd": NT},
    "NGUOI_HOC_DAY_TE_NAN": {"CSGD-4.2": CC},
    "KY_LUAT_LUC_LUONG": {"KDC-5.2": None, "XA-3.2": None, "CQDN-4.2": CC, "CQDN-5.2": CC, "CSGD-5.2": CC,
                          "CSGD-6.2": CC},
    "KY_LUAT_CA_NHAN": {"CQDN-5.2": CC, "CSGD-6.2": CC},
}
SERIES = {"DINH_CONG": "vi_pham_phap_luat", "TOI_PHAM": "toi_pham", "LO_BI_MAT": "vi_pham_phap_luat",
          "TE_NAN_XA_HOI": "te_nan_xa_hoi", "VI_PHAM_PHAP_LUAT": "vi_pham_phap_luat",
          "VI_PHAM_MOI_TRUONG_VSTP": "vi_pham_phap_luat", "NLD_VI_PHAM_ANTT": "vi_pham_phap_luat",
          "NLD_TE_NAN_XA_HOI": "te_nan_xa_hoi", "BAO_LUC_HOC_DUONG": "vi_pham_phap_luat",
          "NGUOI_HOC_DAY_PHAM_TOI": "toi_pham", "NGUOI_HOC_DAY_TE_NAN": "te_nan_xa_hoi"}
KINDS_BY_ID = {
    "dated_q1": ["KDC-1.1", "KDC-1.2", "XA-1.1", "XA-1.2", "XA-1.3", "CQDN-1.1", "CQDN-1.2", "CQDN-1.3", "CSGD-1.1",
                 "CSGD-1.2", "CSGD-1.3"],
    "ratio": ["KDC-1.3", "CQDN-1.5", "CQDN-5.1", "CSGD-1.5", "CSGD-6.1"],
    "all_yes": ["CQDN-1.4", "CSGD-1.4"],
    "min_count": ["XA-1.4", "CQDN-1.6", "CSGD-1.6"],
    "attested": ["KDC-2", "KDC-4.c.3", "XA-2:KDC-2", "XA-2:KDC-4.c.3", "XA-3.1", "CQDN-2", "CSGD-2.1", "CSGD-2.2"],
    "rating": ["KDC-5.1", "CQDN-4.1", "CSGD-5.1"],
    "yoy": ["KDC-4.a", "XA-2:KDC-4.a"],
    "xa_registered": ["XA-4.1"],
    "xa_recognised": ["XA-4.2"],
}


def all_texts(cat) -> list[str]:
    """Every piece of legal wording the catalog holds (leaves, groups, lead-ins)."""
    return ([c.text for c in cat.criteria.values()] + [g.text for g in cat.groups.values()]
            + [u.lead_in for u in cat.unit_types.values()])


# --- legal coverage ----------------------------------------------------------------------------------------------

def test_leaf_counts_and_imports():
    own = {ut: [c.id for c in CAT.criteria_for(ut) if not c.imports] for ut in ("KDC", "XA", "CQDN", "CSGD")}
    assert [len(own[ut]) for ut in own] == [21, 8, 22, 14]
    assert [c.id for c in CAT.criteria_for("XA") if c.imports] == [f"XA-2:{i}" for i in XA_IMPORTS]
    assert [c.id for c in CAT.criteria_for("CSGD") if c.imports] == [f"CSGD-3:{i}" for i in CSGD_IMPORTS]
    assert {c.unit_type for c in CAT.criteria.values()} == {"KDC", "XA", "CQDN", "CSGD"}
    order = [c.unit_type for c in CAT.criteria.values()]
    assert order == sorted(order, key=["KDC", "XA", "CQDN", "CSGD"].index)
    assert CAT.national_leaf_ids() == list(CAT.criteria) and not CAT.extra_leaf_ids()
    assert "KDC-2" in CAT.criteria and "CQDN-2" in CAT.criteria and "KDC-2" not in CAT.groups


def test_every_leaf_has_wording_citation_and_nfc_text():
    for c in CAT.criteria.values():
        assert c.text.strip() and "Thông tư 124/2021/TT-BCA" in c.citation, c.id
    for text in all_texts(CAT) + [c.citation for c in CAT.criteria.values()]:
        assert text == unicodedata.normalize("NFC", text)
    for path in CATALOG_DIR.glob("*.toml"):
        raw = path.read_text(encoding="utf-8")
        assert raw == unicodedata.normalize("NFC", raw), path.name


def test_citations_follow_the_circular():
    assert CAT.criteria["KDC-4.b"].citation == "Điểm b khoản 4 Điều 4 Thông tư 124/2021/TT-BCA"
    assert CAT.criteria["KDC-3.dd"].citation == "Điểm đ khoản 3 Điều 4 Thông tư 124/2021/TT-BCA"
    assert CAT.criteria["KDC-1.1"].citation == "Khoản 1 Điều 4 Thông tư 124/2021/TT-BCA"
    for c in CAT.criteria.values():
        if c.imports:   # "<parent khoản> (<source điểm/khoản, lower-case>)"
            source = CAT.criteria[c.imports].citation.removesuffix(" Thông tư 124/2021/TT-BCA")
            assert c.citation == f"{CAT.groups[c.parent].citation} ({source[0].lower()}{source[1:]})", c.id


def test_imports_inherit_and_are_not_copied():
    src, imp = CAT.criteria["KDC-4.b"], CAT.criteria["XA-2:KDC-4.b"]
    assert imp.text is src.text and imp.exceptions == ("BKK", "RESCUE") and imp.register == "territory"
    assert imp.parent == "XA-2" and imp.reads[: len(src.reads)] == src.reads
    assert CAT.criteria["CSGD-3:CQDN-3.g.2"].exceptions == ("BKK",)
    raw = (CATALOG_DIR / "criteria.toml").read_text(encoding="utf-8")
    assert raw.count(src.text) == 1
    assert CAT.criteria["CQDN-3.c"].text == CAT.criteria["KDC-3.g"].text


def test_exceptions_flags_and_na():
    bkk = {c.id for c in CAT.criteria.values() if "BKK" in c.exceptions}
    rescue = {c.id for c in CAT.criteria.values() if "RESCUE" in c.exceptions}
    base_bkk = {"KDC-4.b", "KDC-4.d.1", "KDC-4.d.2", "KDC-4.d.3", "CQDN-3.dd", "CQDN-3.g.1", "CQDN-3.g.2",
                "CQDN-3.g.3", "CQDN-3.g.4"}
    imported = {f"XA-2:{i}" for i in base_bkk if i.startswith("KDC")} | {f"CSGD-3:{i}" for i in base_bkk
                                                                           if i.startswith("CQDN")}
    assert bkk == base_bkk | imported
    assert rescue == {"KDC-4.b", "CQDN-3.dd", "XA-2:KDC-4.b", "CSGD-3:CQDN-3.dd"}
    khoan1 = {c.id for c in CAT.criteria.values() if c.khoan1}
    assert khoan1 == {c.id for c in CAT.criteria.values() if c.id.split("-", 1)[1].startswith("1.")}
    assert {c.id for c in CAT.criteria.values() if c.year_end} == {"KDC-5.1", "CQDN-4.1", "CQDN-5.1", "CSGD-5.1",
                                                                    "CSGD-6.1"}
    assert [c.id for c in CAT.criteria.values() if c.registration] == ["KDC-1.2", "XA-1.3", "CQDN-1.3", "CSGD-1.3"]
    na = {cid: {(x.field, x.equals, x.warn) for x in c.na_when} for cid, c in CAT.criteria.items() if c.na_when}
    no_force = ("xep_loai_luc_luong_bao_ve", "KHONG_CO_LUC_LUONG")
    assert na == {
        "CQDN-1.1": {("co_to_chuc_dang", False, False)}, "CSGD-1.1": {("co_to_chuc_dang", False, False)},
        "CQDN-4.1": {("du_dieu_kien_thi_dua", False, False), (*no_force, True)}, "CQDN-4.2": {(*no_force, True)},
        "CSGD-5.1": {("du_dieu_kien_thi_dua", False, False), (*no_force, False)}, "CSGD-5.2": {(*no_force, False)},
        "CQDN-5.1": {("du_dieu_kien_thi_dua", False, False), ("so_dau_moi", 0, False)},
        "CSGD-6.1": {("du_dieu_kien_thi_dua", False, False), ("so_dau_moi", 0, False)},
    }
    applies = CAT.criteria["CSGD-2.2"].applies_when
    assert applies.field == "cap_hoc" and set(applies.in_) == {"THCS", "LIEN_CAP_TH_THCS", "THPT",
                                                                "LIEN_CAP_THCS_THPT"}
    assert applies.holds("THPT") and not applies.holds("GDTX")
    assert CAT.criteria["CQDN-5.1"].na_when[1].holds(0) and not CAT.criteria["CQDN-5.1"].na_when[0].holds(0)
    switches = CAT.criteria["CQDN-4.1"].switches          # na_when first, then applies_when, with the applying value
    assert [(cond.field, applies) for cond, applies in switches] == [
        ("du_dieu_kien_thi_dua", False), ("xep_loai_luc_luong_bao_ve", False)]
    assert [(cond.field, applies) for cond, applies in CAT.criteria["CSGD-2.2"].switches] == [("cap_hoc", True)]


def test_groups_fold_bottom_up():
    """Every group of a unit type comes after the groups among its children, and each group appears once."""
    for unit_type in ("KDC", "CQDN", "CSGD", "XA"):
        order = [g.id for g in CAT.groups_bottom_up(unit_type)]
        assert len(order) == len(set(order)) and set(order) >= {g.id for g in CAT.groups_for(unit_type)}
        for position, gid in enumerate(order):
            assert all(order.index(child) < position for child in CAT.groups[gid].children if child in CAT.groups)


def test_kinds_and_thresholds():
    for kind, ids in KINDS_BY_ID.items():
        assert sorted(c.id for c in CAT.criteria.values() if c.kind == kind) == sorted(ids), kind
    assert {c.kind for c in CAT.criteria.values()} <= set(KINDS)
    zero = [c for c in CAT.criteria.values() if c.kind not in KINDS_BY_ID]
    assert {c.kind for c in zero} == {"zero_count"}
    crit = CAT.criteria
    assert crit["KDC-1.3"].fields == ("so_ho_dang_ky", "so_ho_cu_tru") and crit["KDC-1.3"].min_ratio == 1
    assert crit["CQDN-5.1"].min_ratio == Fraction(7, 10) == crit["CSGD-6.1"].min_ratio == crit["XA-4.2"].min_ratio
    assert crit["CQDN-5.1"].fields == ("so_dau_moi_dat", "so_dau_moi")
    assert len(crit["CQDN-1.4"].fields) == 6 and len(crit["CSGD-1.4"].fields) == 4
    assert crit["XA-1.4"].min == crit["CQDN-1.6"].min == crit["CSGD-1.6"].min == 1
    assert set(crit["KDC-5.1"].accept) == {"HOAN_THANH", "HOAN_THANH_TOT", "HOAN_THANH_XUAT_SAC"}
    assert set(crit["CQDN-4.1"].accept) == set(crit["CSGD-5.1"].accept) == {
        "TAP_THE_LAO_DONG_TIEN_TIEN", "HOAN_THANH_XUAT_SAC", "HOAN_THANH_TOT"}
    assert crit["KDC-4.a"].series == ("toi_pham", "te_nan_xa_hoi", "vi_pham_phap_luat")
    assert crit["XA-3.2"].register == "commune_own"
    assert {c.register for c in CAT.criteria_for("XA") if c.imports} == {"territory"}


# --- spec §4.3 mappings ------------------------------------------------------------------------------------------

def test_categories_feed_exactly_the_spec_criteria():
    got: dict[str, dict] = {}
    for c in CAT.criteria.values():
        for r in c.reads:
            got.setdefault(r.category, {})[c.id] = CAT.min_level(r)
    assert got == FEEDS
    assert len(CAT.categories) == 25 and set(CAT.categories) == set(FEEDS)
    assert {code: cat.series for code, cat in CAT.categories.items() if cat.series} == SERIES


def test_cqdn_3h_reading_option():
    nld = CAT.criteria["CQDN-3.h"].reads[0]
    assert CAT.options["cqdn_3h_reading"] == "A"
    assert CAT.read_matches(nld, None) and CAT.read_matches(nld, "KHIEN_TRACH")
    strict = load_catalog(options={"cqdn_3h_reading": "B"})
    assert strict.min_level(nld) == CC and not strict.read_matches(nld, None)
    assert not strict.read_matches(nld, "KHIEN_TRACH") and strict.read_matches(nld, "NANG_HON")
    with pytest.raises(CatalogError) as err:
        load_catalog(options={"cqdn_3h_reading": "C"})
    assert err.value.problems[0].location.file == "antt.toml"


def test_levels_by_rank():
    b = CAT.criteria["KDC-4.b"].reads[0]
    assert not CAT.read_matches(b, "IT_NGHIEM_TRONG") and CAT.read_matches(b, "RAT_NGHIEM_TRONG")
    assert not CAT.read_matches(b, None) and not CAT.read_matches(b, "NONSENSE")


def test_categories_for_each_unit_type():
    kdc = [code for code, feeds in FEEDS.items() if any(cid.startswith("KDC-") for cid in feeds)]
    assert [c.code for c in CAT.categories_for("KDC")] == kdc
    assert {c.code for c in CAT.categories_for("XA")} == set(kdc) | {"NGUOI_HOC_DAY_PHAM_TOI"}
    for ut in ("CQDN", "CSGD"):
        want = {code for code, feeds in FEEDS.items() if any(cid.startswith(ut + "-") for cid in feeds)}
        assert {c.code for c in CAT.categories_for(ut)} == want
    assert "DINH_CONG" not in {c.code for c in CAT.categories_for("CSGD")}


def test_category_levels():
    cats = CAT.categories
    assert {c for c in cats if cats[c].levels == "MUC_DO_TOI_PHAM"} == {"TOI_PHAM", "NGUOI_HOC_DAY_PHAM_TOI"}
    assert {c for c in cats if cats[c].levels == "MUC_DO_SU_VIEC"} == {"CHAY_NO", "SU_CO", "VI_PHAM_MOI_TRUONG_VSTP"}
    assert {c for c in cats if cats[c].levels == "KY_LUAT"} == {
        "KY_LUAT_LUC_LUONG", "KY_LUAT_CA_NHAN", "NLD_TE_NAN_XA_HOI", "NGUOI_HOC_DAY_TE_NAN", "NLD_VI_PHAM_ANTT"}
    assert {c for c in cats if cats[c].level_required} == {c for c in cats if cats[c].levels} - {"NLD_VI_PHAM_ANTT"}
    assert CAT.codelists["LOAI_VU_VIEC"].codes == tuple(cats)
    assert CAT.series_categories("toi_pham") == ["TOI_PHAM", "NGUOI_HOC_DAY_PHAM_TOI"]


# --- fields, unit types ------------------------------------------------------------------------------------------

def test_fields():
    f = CAT.fields
    assert list(f)[:3] == ["nguoi_bao_cao", "dien_thoai", "ngay_bao_cao"]
    assert {i for i in f if f[i].required} == {"nguoi_bao_cao", "ngay_bao_cao"}
    assert {i for i in f if f[i].year_end} == {"xep_loai_luc_luong", "xep_loai_luc_luong_bao_ve", "so_dau_moi_dat"}
    assert all(f[i].type == "date" for i in f if f[i].khoan1)
    assert f["ngay_ke_hoach_ubnd"].unit_types == ("XA",) and "UBND xã ban hành" in f["ngay_ke_hoach_ubnd"].label
    assert f["trien_khai_day_du"].codelist == "CO_KHONG"
    assert f["so_ho_dang_ky"].max_field == "so_ho_cu_tru" and f["so_dau_moi_dat"].max_field == "so_dau_moi"
    assert "người học" in f["so_nguoi"].label_for("CSGD") and "người học" not in f["so_nguoi"].label_for("CQDN")
    cqdn = [x.id for x in CAT.fields_for("CQDN")]
    for scope in ("loai_hinh", "thuoc_llvt", "linh_vuc", "so_lao_dong_bhxh", "doanh_thu_ty", "tong_nguon_von_ty",
                  "duoi_mot_nam"):
        assert scope in cqdn and scope not in [x.id for x in CAT.fields_for("CSGD")]
    assert "cap_hoc" in [x.id for x in CAT.fields_for("CSGD")]
    assert all(x.help.strip() and x.label.strip() for x in f.values())
    used = {fid for c in CAT.criteria.values() for fid in c.fields}
    used |= {x.field for c in CAT.criteria.values() for x in c.na_when}
    assert used <= set(f)


def test_unit_types_and_periods():
    kdc, xa = CAT.unit_types["KDC"], CAT.unit_types["XA"]
    assert kdc.period(2025) == (date(2024, 11, 1), date(2025, 10, 31))
    assert xa.period(2025) == (date(2024, 11, 16), date(2025, 11, 15))
    assert kdc.year_of(date(2025, 11, 5)) == 2026 and xa.year_of(date(2025, 11, 5)) == 2025
    assert xa.year_of(date(2025, 11, 16)) == 2026 and kdc.year_of(date(2025, 10, 31)) == 2025
    assert CAT.version == "2025.1" and CAT.template_version == 1
    assert CAT.legal_title.startswith("Thông tư số 124/2021/TT-BCA")


# --- code lists --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, want", [
    ("Có", "CO"), ("có", "CO"), ("x", "CO"), ("X", "CO"), ("co", "CO"), ("CO - Có", "CO"), (" Có ", "CO"),
    (unicodedata.normalize("NFD", "Có"), "CO"), ("yes", "CO"), (1, "CO"), (1.0, "CO"),
    ("Không", "KHONG"), ("khong", "KHONG"), ("KHONG - Không", "KHONG"), (unicodedata.normalize("NFD", "không"),
                                                                        "KHONG"), ("no", "KHONG"),
    ("", None), (None, None), ("   ", None), ("có lẽ", None),
])
def test_co_khong_parse(text, want):
    assert CAT.codelists["CO_KHONG"].parse(text) == want


def test_parse_bool():
    assert parse_bool("Có") is True and parse_bool("x") is True and parse_bool("không") is False
    assert parse_bool(True) is True and parse_bool("") is None and parse_bool("??") is None


def test_codelist_parse_display_rank():
    rating = CAT.codelists["XEP_LOAI_LUC_LUONG"]
    assert rating.parse("Hoàn thành xuất sắc nhiệm vụ") == "HOAN_THANH_XUAT_SAC"
    assert rating.parse("hoan thanh tot nhiem vu") == "HOAN_THANH_TOT"
    assert rating.parse("HOAN_THANH_TOT - Hoàn thành tốt nhiệm vụ") == "HOAN_THANH_TOT"
    assert rating.parse("hoan_thanh") == "HOAN_THANH" and rating.parse("HOAN THANH") == "HOAN_THANH"
    assert rating.parse(unicodedata.normalize("NFD", "Không hoàn thành nhiệm vụ")) == "KHONG_HOAN_THANH"
    assert rating.display("HOAN_THANH") == "HOAN_THANH - Hoàn thành nhiệm vụ"
    assert rating.rank("HOAN_THANH") < rating.rank("HOAN_THANH_TOT") < rating.rank("HOAN_THANH_XUAT_SAC")
    for cl in CAT.codelists.values():
        assert all(cl.parse(d) == c for c, d in zip(cl.codes, cl.displays()))
        assert all(cl.parse(it.label) == it.code for it in cl.items)
    assert CAT.codelists["XEP_LOAI_LUC_LUONG_BAO_VE"].label_of("KHONG_CO_LUC_LUONG") == "Không có lực lượng bảo vệ"
    assert CAT.codelists["CAP_HOC"].parse("Trung học cơ sở") == "THCS"
    assert CAT.codelists["LINH_VUC"].parse("Nông, lâm nghiệp và thuỷ sản") == "NONG_LAM_THUY_SAN"
    ky = CAT.codelists["KY_LUAT"]
    assert ky.ordered and ky.rank("KHIEN_TRACH") < ky.rank("CANH_CAO") < ky.rank("NANG_HON")


# --- broken catalogs ---------------------------------------------------------------------------------------------

def broken(tmp_path: Path, file: str, old: str, new: str) -> list:
    for path in CATALOG_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    target = tmp_path / file
    text = target.read_text(encoding="utf-8")
    assert old in text, old
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(directory=tmp_path)
    problems = err.value.problems
    assert problems and all(p.code == "config-error" and p.is_error for p in problems)
    return problems


def at(problems, file: str, key: str) -> bool:
    return any(p.location.file == file and p.location.field.startswith(key) for p in problems)


def test_unchanged_copy_loads(tmp_path):
    for path in CATALOG_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    assert list(load_catalog(directory=tmp_path).criteria) == list(CAT.criteria)


def test_dangling_category(tmp_path):
    problems = broken(tmp_path, "criteria.toml", '{ category = "PHA_HOAI" }', '{ category = "PHA_HOAI_X" }')
    assert at(problems, "criteria.toml", "KDC-3.b.reads") and at(problems, "categories.toml", "PHA_HOAI")
    assert "PHA_HOAI_X" in " ".join(p.message for p in problems)


def test_duplicate_id(tmp_path):
    assert at(broken(tmp_path, "criteria.toml", 'id = "KDC-3.c"', 'id = "KDC-3.b"'), "criteria.toml", "KDC-3.b")


def test_unknown_kind(tmp_path):
    assert at(broken(tmp_path, "criteria.toml", 'kind = "yoy"', 'kind = "guess"'), "criteria.toml", "KDC-4.a.kind")


def test_dangling_field_parent_codelist_and_unknown_key(tmp_path):
    assert at(broken(tmp_path, "criteria.toml", '["ngay_nghi_quyet_chi_bo"]', '["ngay_nq"]'), "criteria.toml",
              "KDC-1.1.fields")
    assert at(broken(tmp_path, "criteria.toml", 'parent = "KDC-4.d"', 'parent = "KDC-9"'), "criteria.toml",
              "KDC-4.d.1.parent")
    assert at(broken(tmp_path, "fields.toml", 'codelist = "CAP_HOC"', 'codelist = "CAP"'), "fields.toml",
              "cap_hoc.codelist")
    assert at(broken(tmp_path, "criteria.toml", 'min_level = "CANH_CAO" }]', 'min_levle = "CANH_CAO" }]'),
              "criteria.toml", "CQDN-4.2.reads[0].min_levle")


def test_non_nfc_text(tmp_path):
    text = CAT.criteria["KDC-4.c.2"].text
    problems = broken(tmp_path, "criteria.toml", text, unicodedata.normalize("NFD", text))
    assert at(problems, "criteria.toml", "KDC-4.c.2")


def test_import_must_not_restate_inherited_keys(tmp_path):
    problems = broken(tmp_path, "criteria.toml", 'imports = "KDC-3.e"', 'imports = "KDC-3.e"\nkind = "attested"')
    assert at(problems, "criteria.toml", "XA-2:KDC-3.e.kind")


def test_bad_toml_syntax(tmp_path):
    assert at(broken(tmp_path, "codelists.toml", "[CO_KHONG]", "[CO_KHONG"), "codelists.toml", "")


# --- provincial extras -------------------------------------------------------------------------------------------

EXTRA = {"id": "TINH-KDC-6", "unit_type": "KDC", "citation": "Điều 2 Quyết định số 01/2025/QĐ-UBND tỉnh",
         "text": "Không có hộ gia đình vi phạm quy ước", "kind": "zero_count",
         "reads": [{"category": "VI_PHAM_PHAP_LUAT"}]}


def test_extra_criterion_is_appended():
    cat = load_catalog(extra_criteria=[EXTRA])
    assert list(cat.criteria)[-1] == "TINH-KDC-6" and cat.criteria["TINH-KDC-6"].extra
    assert cat.extra_leaf_ids() == ["TINH-KDC-6"] and cat.national_leaf_ids() == list(CAT.criteria)
    assert cat.criteria_for("KDC")[-1].id == "TINH-KDC-6"
    assert load_catalog() is load_catalog() and "TINH-KDC-6" not in load_catalog().criteria


@pytest.mark.parametrize("change, key", [
    ({"kind": "magic"}, "TINH-KDC-6.kind"), ({"id": "KDC-2"}, "KDC-2"),
    ({"reads": [{"category": "NOPE"}]}, "TINH-KDC-6.reads"), ({"text": ""}, "TINH-KDC-6"),
    ({"text": unicodedata.normalize("NFD", "Không có hộ vi phạm")}, "TINH-KDC-6"),
])
def test_bad_extra_criterion(change, key):
    with pytest.raises(CatalogError) as err:
        load_catalog(extra_criteria=[{**EXTRA, **change}])
    assert at(err.value.problems, "antt.toml", key)


# --- code hygiene ------------------------------------------------------------------------------------------------

def test_no_criterion_wording_in_code():
    """Wording lives in criteria.toml only: a copy in code would drift from the Circular."""
    texts = {t for t in all_texts(CAT) if len(t) >= 25}
    offenders = []
    for path in [*(ROOT / "antt_batch").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        source = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
        offenders += [(path.name, t[:40]) for t in texts if t in source]
    assert not offenders


def test_import_is_light():
    code = ("import sys, antt_batch.catalog as c; c.load_catalog(); "
            "print(sorted(m for m in ('pandas', 'openpyxl', 'xlsxwriter', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_groups_follow_the_circular():
    g = CAT.groups
    assert g["KDC-4"].children == ("KDC-4.a", "KDC-4.b", "KDC-4.c", "KDC-4.d")
    assert g["CQDN-3"].children[-2:] == ("CQDN-3.g", "CQDN-3.h") and g["CQDN-3.g"].parent == "CQDN-3"
    assert g["XA-2"].children == tuple(f"XA-2:{i}" for i in XA_IMPORTS)
    assert all(x.title and x.citation for x in g.values())
    assert CAT.criteria["KDC-2"].parent == "" and CAT.criteria["CQDN-2"].parent == ""


# --- the pickled copy --------------------------------------------------------------------------------------------

def _fresh_load(cache: Path, extras: list[dict] | None = None) -> str:
    """Load in a new interpreter with `cache` as the cache directory; returns what it printed."""
    code = ("import sys, json, antt_batch.catalog as c; cat = c.load_catalog(extra_criteria=json.loads(sys.argv[1])); "
            "print(len(cat.criteria), list(cat.criteria)[-1], 'antt_batch.catalog.loader' in sys.modules)")
    env = {**os.environ, "ANTT_BATCH_CACHE": str(cache)}
    out = subprocess.run([sys.executable, "-c", code, json.dumps(extras or [])], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env)
    return out.stdout.strip()


def _same(a, b) -> bool:
    """Catalogs compare by identity (they key caches); compare what they hold."""
    from dataclasses import fields
    return all(getattr(a, f.name) == getattr(b, f.name) for f in fields(a))


def test_cached_catalog_is_the_built_one(tmp_path, monkeypatch):
    from antt_batch.catalog.cache import cached_build
    calls = []

    def build():
        calls.append(1)
        return load_catalog(directory=CATALOG_DIR)
    names = [f"{n}.toml" for n in ("catalog", "codelists", "fields", "categories", "criteria")]
    monkeypatch.setenv("ANTT_BATCH_CACHE", str(tmp_path))
    first = cached_build(CATALOG_DIR, names, [], {}, build)
    again = cached_build(CATALOG_DIR, names, [], {}, build)
    assert _same(again, first) and again is not first and calls == [1]   # second call: from the file
    assert _same(again, CAT)
    assert type(again.criteria).__name__ == "mappingproxy"               # still read-only
    (cached,) = tmp_path.glob("catalog-*.pickle")
    cached.write_bytes(b"not a pickle")                                   # damaged: rebuilt, rewritten
    assert _same(cached_build(CATALOG_DIR, names, [], {}, build), first) and len(calls) == 2
    assert _same(cached_build(CATALOG_DIR, names, [], {}, build), first) and len(calls) == 2


def test_second_process_skips_the_loader_and_extras_change_the_key(tmp_path):
    assert _fresh_load(tmp_path) == f"{len(CAT.criteria)} {list(CAT.criteria)[-1]} True"
    assert _fresh_load(tmp_path) == f"{len(CAT.criteria)} {list(CAT.criteria)[-1]} False"
    assert _fresh_load(tmp_path, [EXTRA]) == f"{len(CAT.criteria) + 1} TINH-KDC-6 True"
    assert _fresh_load(tmp_path, [EXTRA]) == f"{len(CAT.criteria) + 1} TINH-KDC-6 False"
    assert len(list(tmp_path.glob("catalog-*.pickle"))) == 2


def test_unwritable_cache_still_loads(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert _fresh_load(blocker / "sub") == f"{len(CAT.criteria)} {list(CAT.criteria)[-1]} True"
