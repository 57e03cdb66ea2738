"""Scope (Điều 1 khoản 2 điểm b; NĐ 80/2021) and the Circular's N/A carve-outs (digest §3.1, §9.3, §12.14–16)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from antt_batch.model import DAT, KHONG_AP_DUNG, KHONG_DAT, NGOAI_PHAM_VI, THIEU_DU_LIEU
from antt_batch.score import score
from test_score_world import DN, THCS, XOM, Y, incident, results, unit_result, world

DN_SIZE = ("loai_hinh", "linh_vuc", "so_lao_dong_bhxh", "doanh_thu_ty", "tong_nguon_von_ty", "duoi_mot_nam")


def enterprise(catalog, **size):
    """Score DN-MAY with its GOOD size data replaced by `size` (None = blank)."""
    data = world(omit={"DN-MAY": set(DN_SIZE)},
                 changes={"DN-MAY": {f"{Y}-01": {k: v for k, v in size.items() if v is not None}}})
    return unit_result(score(catalog, data, year=Y), "DN-MAY")


def school(catalog, cap_hoc, unit=THCS):
    data = world(units=(XOM, DN, unit), omit={unit.code: {"cap_hoc"}},
                 changes={unit.code: {f"{Y}-01": {"cap_hoc": cap_hoc}}} if cap_hoc else None)
    return unit_result(score(catalog, data, year=Y), unit.code)


def test_armed_forces_agency_is_out_of_scope(catalog):
    """§3.1 SCOPE-CQ-LLVT: an agency of the armed forces is «ngoài phạm vi», not «chưa đạt»."""
    unit = enterprise(catalog, loai_hinh="CO_QUAN", thuoc_llvt=True)
    assert (unit.verdict_code, unit.in_scope, unit.score_pct, unit.results, unit.registered) == (
        NGOAI_PHAM_VI, False, None, {}, False)
    assert "lực lượng vũ trang" in unit.scope_reason and "khoản 2 Điều 1" in unit.scope_reason


def test_civil_agency_is_in_scope_and_enterprise_never_out_for_armed_forces(catalog):
    """Spec §4.1: only a CO_QUAN of the armed forces is out; an army-owned enterprise is judged on its size."""
    assert enterprise(catalog, loai_hinh="CO_QUAN", thuoc_llvt=False).verdict_code == DAT
    big = enterprise(catalog, loai_hinh="DOANH_NGHIEP", thuoc_llvt=True, linh_vuc="CONG_NGHIEP_XAY_DUNG",
                     so_lao_dong_bhxh=300, doanh_thu_ty=500.0, tong_nguon_von_ty=200.0, duoi_mot_nam=False)
    assert big.in_scope is True


@pytest.mark.parametrize("sector, workers, revenue, capital, young, in_scope", [
    ("THUONG_MAI_DICH_VU", 30, 20.0, 10.0, False, False),        # small trader: out
    ("THUONG_MAI_DICH_VU", 50, 100.0, 60.0, False, False),       # at every "nhỏ" limit of revenue: still small
    ("THUONG_MAI_DICH_VU", 51, 1.0, 1.0, False, True),           # one worker above the limit: in, whatever money
    ("CONG_NGHIEP_XAY_DUNG", 150, 1.0, 1.0, False, True),
    ("CONG_NGHIEP_XAY_DUNG", 80, 60.0, 25.0, False, True),       # medium by money: both above
    ("CONG_NGHIEP_XAY_DUNG", 80, 40.0, 25.0, False, False),      # revenue within: small
    ("NONG_LAM_THUY_SAN", 8, 2.0, 30.0, True, True),             # micro by revenue, but under 1 year: capital only
    ("NONG_LAM_THUY_SAN", 8, None, 3.0, True, False),            # under 1 year, small capital: out
])
def test_small_enterprise_per_nd80(catalog, sector, workers, revenue, capital, young, in_scope):
    """§9.3 (three-valued): workers above the "nhỏ" limit → in scope; within it, "nhỏ" if revenue or capital is
    within its limit; a firm under one year old is judged on capital only (NĐ 80 Điều 9)."""
    unit = enterprise(catalog, loai_hinh="DOANH_NGHIEP", linh_vuc=sector, so_lao_dong_bhxh=workers,
                      doanh_thu_ty=revenue, tong_nguon_von_ty=capital, duoi_mot_nam=young)
    assert unit.in_scope is in_scope
    assert unit.verdict_code == (DAT if in_scope else NGOAI_PHAM_VI)
    assert "Nghị định 80/2021/NĐ-CP" in unit.scope_reason


@pytest.mark.parametrize("size, missing", [
    ({"linh_vuc": "CONG_NGHIEP_XAY_DUNG", "doanh_thu_ty": 10.0}, "Số lao động"),
    ({"linh_vuc": "CONG_NGHIEP_XAY_DUNG", "so_lao_dong_bhxh": 40}, "Tổng doanh thu"),
    ({"so_lao_dong_bhxh": 60, "doanh_thu_ty": 10.0, "duoi_mot_nam": False}, "Lĩnh vực"),
    ({"linh_vuc": "CONG_NGHIEP_XAY_DUNG", "so_lao_dong_bhxh": 40, "doanh_thu_ty": 10.0}, "chưa đủ 01 năm"),
])
def test_missing_size_data_is_unknown_scope(catalog, size, missing):
    """§9.3, §12.14: without the figures the decision needs, scope is unknown (never silently in or out): the
    verdict is THIEU_DU_LIEU and the reason names what to verify."""
    unit = enterprise(catalog, loai_hinh="DOANH_NGHIEP", **size)
    assert (unit.in_scope, unit.verdict_code) == (None, THIEU_DU_LIEU)
    assert missing in unit.scope_reason and "cần xác minh quy mô" in unit.scope_reason
    assert [(w.code, w.severity) for w in unit.warnings] == [("scope-unknown", "warning")]
    assert unit.scope_reason in unit.warnings[0].message
    assert unit.results and unit.score_pct is not None        # still scored, so the operator sees the rest


def test_unknown_sector_decided_when_both_sectors_agree(catalog):
    """§9.3: three-valued — when every possible sector gives the same answer, the missing sector does not matter."""
    unit = enterprise(catalog, loai_hinh="DOANH_NGHIEP", so_lao_dong_bhxh=120)
    assert unit.in_scope is True                      # above 100 and 50 workers: in for any sector


def test_unknown_scope_even_with_a_failure_is_thieu_du_lieu(catalog):
    """§12.14: a unit that may be out of scope cannot be declared «chưa đạt»; it is THIEU_DU_LIEU until verified."""
    data = world(omit={"DN-MAY": {"so_lao_dong_bhxh", "doanh_thu_ty", "tong_nguon_von_ty"}},
                 changes={"DN-MAY": {f"{Y}-05": {"trien_khai_day_du": False}}})
    unit = unit_result(score(catalog, data, year=Y), "DN-MAY")
    assert unit.failed_criteria == ["CQDN-2"] and unit.verdict_code == THIEU_DU_LIEU


@pytest.mark.parametrize("cap_hoc, in_scope", [
    ("NHA_TRE", False), ("MAM_NON", False), ("TIEU_HOC", False), ("LIEN_CAP_MN_TH", False),
    ("LIEN_CAP_TH_THCS", True), ("THCS", True), ("THPT", True), ("GDTX", True), (None, None)])
def test_school_levels(catalog, cap_hoc, in_scope):
    """§3.1 SCOPE-CSGD-TH-MN and §12.14: crèche, preschool, primary and a combined MN+TH school are out; a TH+THCS
    school keeps a level in scope; a blank level is unknown."""
    assert school(catalog, cap_hoc).in_scope is in_scope


def test_registry_out_of_scope_beats_template(catalog):
    """Spec §2: registry `in_scope = false` beats everything, with its own reason."""
    unit = replace(DN, in_scope=False, scope_reason="Chi nhánh, không phải doanh nghiệp (Điều 2 khoản 3)")
    res = unit_result(score(catalog, world(units=(XOM, unit, THCS)), year=Y), "DN-MAY")
    assert (res.verdict_code, res.scope_reason) == (NGOAI_PHAM_VI, unit.scope_reason)


def test_template_beats_registry_subtype(catalog):
    """Spec §2: scope data in the template beats subtype data in the registry, which fills in when it is blank."""
    registered_primary = replace(THCS, subtype={"cap_hoc": "TIEU_HOC"})
    assert school(catalog, "THCS", registered_primary).in_scope is True
    fallback = school(catalog, None, registered_primary)
    assert fallback.in_scope is False and fallback.verdict_code == NGOAI_PHAM_VI


# --- N/A switches (§12.15, §12.16) ---------------------------------------------------------------------------------

def scored(catalog, changes, omit=None, period=None):
    data = world(changes={code: {f"{Y}-10": fields} for code, fields in changes.items()}, omit=omit)
    return score(catalog, data, period=period) if period else score(catalog, data, year=Y)


def test_no_party_organisation(catalog):
    """§12.15: «đối với nơi có tổ chức Đảng» — CQDN/CSGD-1.1 are N/A, even with no resolution date."""
    res = scored(catalog, {"DN-MAY": {"co_to_chuc_dang": False}, "TRUONG-THCS": {"co_to_chuc_dang": False}},
                 omit={"DN-MAY": {"ngay_nghi_quyet"}, "TRUONG-THCS": {"ngay_nghi_quyet"}})
    assert results(res, "DN-MAY")["CQDN-1.1"] == KHONG_AP_DUNG and results(res, "TRUONG-THCS")["CSGD-1.1"] == \
        KHONG_AP_DUNG
    dn = unit_result(res, "DN-MAY")
    assert dn.verdict_code == DAT and dn.score_pct == 100.0       # N/A leaves leave the denominator
    assert "đối với nơi có tổ chức Đảng" in dn.results["CQDN-1.1"].reason


def test_kdc_without_chi_bo_fails(catalog):
    """§12.16: KDC-1.1 has no carve-out: a xóm without a Party cell's resolution fails it."""
    res = scored(catalog, {}, omit={"XOM01": {"ngay_nghi_quyet_chi_bo"}})
    assert results(res, "XOM01")["KDC-1.1"] == KHONG_DAT


def test_not_eligible_for_emulation_titles(catalog):
    """§12.15: «đối với những nơi đủ điều kiện bình xét danh hiệu thi đua» makes the rating and sub-unit halves N/A;
    the discipline halves stay applicable."""
    res = scored(catalog, {"DN-MAY": {"du_dieu_kien_thi_dua": False}, "TRUONG-THCS": {"du_dieu_kien_thi_dua": False}},
                 omit={"DN-MAY": {"xep_loai_luc_luong_bao_ve", "so_dau_moi_dat"},
                       "TRUONG-THCS": {"xep_loai_luc_luong_bao_ve", "so_dau_moi_dat"}})
    assert {results(res, "DN-MAY")[c] for c in ("CQDN-4.1", "CQDN-5.1")} == {KHONG_AP_DUNG}
    assert {results(res, "TRUONG-THCS")[c] for c in ("CSGD-5.1", "CSGD-6.1")} == {KHONG_AP_DUNG}
    assert results(res, "DN-MAY")["CQDN-5.2"] == DAT
    row = incident("DN-MAY", date(Y, 5, 1), "KY_LUAT_CA_NHAN", "CANH_CAO")
    data = world(incidents=[row], changes={"DN-MAY": {f"{Y}-10": {"du_dieu_kien_thi_dua": False}}})
    assert results(score(catalog, data, year=Y), "DN-MAY")["CQDN-5.2"] == KHONG_DAT


def test_no_security_force(catalog):
    """§12.15: KHONG_CO_LUC_LUONG makes CQDN-4.1/4.2 N/A with a warning (no «nếu có» in Điều 6 khoản 4) and
    CSGD-5.1/5.2 N/A without one (Điều 7 khoản 5 says «nếu có»)."""
    none = {"xep_loai_luc_luong_bao_ve": "KHONG_CO_LUC_LUONG"}
    res = scored(catalog, {"DN-MAY": none, "TRUONG-THCS": none}, period=f"{Y}-10")
    dn, school_ = unit_result(res, "DN-MAY"), unit_result(res, "TRUONG-THCS")
    assert {dn.results[c].code for c in ("CQDN-4.1", "CQDN-4.2")} == {KHONG_AP_DUNG}
    assert {school_.results[c].code for c in ("CSGD-5.1", "CSGD-5.2")} == {KHONG_AP_DUNG}
    [warning] = dn.warnings
    assert warning.code == "na-review" and "CQDN-4.1, CQDN-4.2" in warning.message
    assert (warning.location.file, warning.location.field) == (f"DN-MAY_{Y}-10.xlsx", "xep_loai_luc_luong_bao_ve")
    assert school_.warnings == []
    assert dn.groups["CQDN-4"] == KHONG_AP_DUNG


def test_no_sub_units(catalog):
    """Spec §4.1: 0 sub-units → CQDN-5.1 / CSGD-6.1 N/A (no 0/0 ratio)."""
    res = scored(catalog, {"DN-MAY": {"so_dau_moi": 0, "so_dau_moi_dat": 0}})
    assert results(res, "DN-MAY")["CQDN-5.1"] == KHONG_AP_DUNG


@pytest.mark.parametrize("cap_hoc, expected", [("GDTX", KHONG_AP_DUNG), ("LIEN_CAP_TH_THCS", KHONG_DAT)])
def test_parent_coordination_only_for_general_education(catalog, cap_hoc, expected):
    """§12.15: CSGD-2.2 «(đối với cấp học phổ thông)» applies only to THCS/THPT levels."""
    res = scored(catalog, {"TRUONG-THCS": {"cap_hoc": cap_hoc, "phoi_hop_cha_me_hoc_sinh": False}})
    assert results(res, "TRUONG-THCS")["CSGD-2.2"] == expected


@pytest.mark.parametrize("met, total, expected", [
    (7, 10, DAT), (6, 10, KHONG_DAT), (3, 3, DAT), (2, 3, KHONG_DAT), (18, 25, DAT), (17, 25, KHONG_DAT)])
def test_seventy_percent_exactly(catalog, met, total, expected):
    """§12.5: exact compare met × 10 ≥ total × 7 — 70% passes, one below fails, 3 sub-units need 3, 25 need 18."""
    res = scored(catalog, {"DN-MAY": {"so_dau_moi": total, "so_dau_moi_dat": met}})
    assert results(res, "DN-MAY")["CQDN-5.1"] == expected
