"""KHONG_DAT case of every national leaf, table-driven over the good world of test_score_world.

Each row changes one field (reported in October 2025) or adds one incident (dated 15/03/2025) and expects the
leaf to fail in the final evaluation of 2025 with its citation in the reason, evidence, and — for incidents —
the incident recorded in `incident_hits`. The DAT case of every leaf is test_score_world's good world.
"""

from __future__ import annotations

from datetime import date

import pytest

from antt_batch.model import KHONG_DAT
from antt_batch.score import score
from test_score_world import CATALOG, COMMUNE, DN, OWNER, THCS, XOM, Y, incident, unit_result, world

WHEN = date(Y, 3, 15)


def F(unit, **fields):
    """Report these values in the unit's October 2025 file."""
    return ("field", unit.code, fields)


def I(unit, loai, muc_do=None):  # noqa: E743 — reads like the table it is
    """One incident in the unit's register, dated 15/03/2025."""
    return ("incident", unit.code, loai, muc_do)


KDC_EVENTS = {"3.a": "CHONG_DANG", "3.b": "PHA_HOAI", "3.c": "TON_GIAO_TRAI_PHEP", "3.d": "LOI_DUNG_TON_GIAO",
              "3.dd": "LY_KHAI", "3.e": "MAU_THUAN_KEO_DAI", "3.g": "KICH_DONG_KHIEU_KIEN",
              "4.c.1": "TU_DIEM_PHUC_TAP", "4.c.2": "NGUOI_MAC_TNXH_MOI"}
CQDN_EVENTS = {"3.a": ("TON_GIAO_TRAI_PHEP", None), "3.b": ("LOI_DUNG_TON_GIAO", None),
               "3.c": ("KICH_DONG_KHIEU_KIEN", None), "3.dd": ("TOI_PHAM", "RAT_NGHIEM_TRONG"),
               "3.e": ("LO_BI_MAT", None), "3.g.1": ("CHAY_NO", "NGHIEM_TRONG"),
               "3.g.2": ("TAI_NAN_LD_CHET_NGUOI", None), "3.g.3": ("SU_CO", "NGHIEM_TRONG"),
               "3.g.4": ("VI_PHAM_MOI_TRUONG_VSTP", "NGHIEM_TRONG")}

CASES = {
    "KDC-1.1": F(XOM, ngay_nghi_quyet_chi_bo=date(Y, 4, 15)),
    "KDC-1.2": F(XOM, ngay_dang_ky_phan_dau=date(Y - 1, 12, 20)),
    "KDC-1.3": F(XOM, so_ho_dang_ky=119),
    "KDC-2": F(XOM, trien_khai_day_du=False),
    **{f"KDC-{k}": I(XOM, loai) for k, loai in KDC_EVENTS.items()},
    "KDC-4.a": I(XOM, "VI_PHAM_PHAP_LUAT"),
    "KDC-4.b": I(XOM, "TOI_PHAM", "NGHIEM_TRONG"),
    "KDC-4.c.3": F(XOM, quan_ly_doi_tuong_hieu_qua=False),
    "KDC-4.d.1": I(XOM, "CHAY_NO", "NGHIEM_TRONG"),
    "KDC-4.d.2": I(XOM, "TAI_NAN_LD_CHET_NGUOI"),
    "KDC-4.d.3": I(XOM, "SU_CO", "NGHIEM_TRONG"),
    "KDC-5.1": F(XOM, xep_loai_luc_luong="KHONG_HOAN_THANH"),
    "KDC-5.2": I(XOM, "KY_LUAT_LUC_LUONG", "KHIEN_TRACH"),
    "XA-1.1": F(COMMUNE, ngay_nghi_quyet_dang_uy=date(Y, 4, 1)),
    "XA-1.2": F(COMMUNE, ngay_ke_hoach_ubnd=date(Y - 1, 12, 30)),
    "XA-1.3": F(COMMUNE, ngay_dang_ky_phan_dau=date(Y, 4, 2)),
    "XA-1.4": F(COMMUNE, so_mo_hinh_hieu_qua=0),
    "XA-2:KDC-2": F(COMMUNE, trien_khai_day_du=False),
    **{f"XA-2:KDC-{k}": I(XOM, loai) for k, loai in KDC_EVENTS.items()},
    "XA-2:KDC-4.a": I(DN, "DINH_CONG"),                                  # a strike counts as "vi phạm" (§4.3)
    "XA-2:KDC-4.b": I(THCS, "NGUOI_HOC_DAY_PHAM_TOI", "RAT_NGHIEM_TRONG"),  # extra read of the import
    "XA-2:KDC-4.c.3": F(COMMUNE, quan_ly_doi_tuong_hieu_qua=False),
    "XA-2:KDC-4.d.1": I(DN, "CHAY_NO", "NGHIEM_TRONG"),                 # spec §4.3's own example
    "XA-2:KDC-4.d.2": I(DN, "TAI_NAN_LD_CHET_NGUOI"),
    "XA-2:KDC-4.d.3": I(XOM, "SU_CO", "NGHIEM_TRONG"),
    "XA-3.1": F(COMMUNE, cong_an_nam_chac_tinh_hinh=False),
    "XA-3.2": I(COMMUNE, "KY_LUAT_LUC_LUONG", "KHIEN_TRACH"),
    "XA-4.1": F(XOM, ngay_dang_ky_phan_dau=date(Y, 4, 10)),             # the xóm registered late
    "XA-4.2": F(DN, trien_khai_day_du=False),                            # 2 of 3 units đạt = 66,7% < 70%
    "CQDN-1.1": F(DN, ngay_nghi_quyet=date(Y, 4, 1)),
    "CQDN-1.2": F(DN, ngay_ke_hoach=date(Y, 5, 1)),
    "CQDN-1.3": F(DN, ngay_dang_ky_phan_dau=date(Y, 4, 30)),
    "CQDN-1.4": F(DN, noi_quy_moi_truong=False),
    "CQDN-1.5": F(DN, so_nguoi_quan_triet=249),
    "CQDN-1.6": F(DN, so_mo_hinh_hieu_qua=0),
    "CQDN-2": F(DN, trien_khai_day_du=False),
    **{f"CQDN-{k}": I(DN, *v) for k, v in CQDN_EVENTS.items()},
    "CQDN-3.d": I(DN, "DINH_CONG"),
    "CQDN-3.h": I(DN, "NLD_VI_PHAM_ANTT"),
    "CQDN-4.1": F(DN, xep_loai_luc_luong_bao_ve="HOAN_THANH"),
    "CQDN-4.2": I(DN, "KY_LUAT_LUC_LUONG", "CANH_CAO"),
    "CQDN-5.1": F(DN, so_dau_moi_dat=6),
    "CQDN-5.2": I(DN, "KY_LUAT_CA_NHAN", "NANG_HON"),
    "CSGD-1.1": F(THCS, ngay_nghi_quyet=date(Y - 1, 11, 20)),
    "CSGD-1.2": F(THCS, ngay_ke_hoach=date(Y, 4, 1)),
    "CSGD-1.3": F(THCS, ngay_dang_ky_phan_dau=date(Y, 6, 1)),
    "CSGD-1.4": F(THCS, noi_quy_quan_ly_nguoi_hoc=False),
    "CSGD-1.5": F(THCS, so_nguoi_quan_triet=599),
    "CSGD-1.6": F(THCS, so_mo_hinh_hieu_qua=0),
    "CSGD-2.1": F(THCS, trien_khai_day_du=False),
    "CSGD-2.2": F(THCS, phoi_hop_cha_me_hoc_sinh=False),
    **{f"CSGD-3:CQDN-{k}": I(THCS, *v) for k, v in CQDN_EVENTS.items()},
    "CSGD-4.1": I(THCS, "BAO_LUC_HOC_DUONG"),
    "CSGD-4.2": I(THCS, "NGUOI_HOC_DAY_PHAM_TOI", "IT_NGHIEM_TRONG"),
    "CSGD-5.1": F(THCS, xep_loai_luc_luong_bao_ve="HOAN_THANH"),
    "CSGD-5.2": I(THCS, "KY_LUAT_LUC_LUONG", "CANH_CAO"),
    "CSGD-6.1": F(THCS, so_dau_moi_dat=3),
    "CSGD-6.2": I(THCS, "KY_LUAT_CA_NHAN", "CANH_CAO"),
}


def build(case):
    """The good world with the case's one change; returns it and the incident rows added."""
    if case[0] == "field":
        return world(changes={case[1]: {f"{Y}-10": case[2]}}), []
    row = incident(case[1], WHEN, case[2], case[3])
    return world(incidents=[row]), [row]


def test_table_covers_every_national_leaf():
    assert set(CASES) == set(CATALOG.national_leaf_ids())


@pytest.mark.parametrize("leaf", list(CASES))
def test_khong_dat_case(catalog, leaf):
    data, rows = build(CASES[leaf])
    res = score(catalog, data, year=Y)
    result = unit_result(res, OWNER[catalog.criteria[leaf].unit_type]).results[leaf]
    assert result.code == KHONG_DAT, result.reason
    assert result.reason.endswith(f" — {catalog.criteria[leaf].citation}")
    assert "\n" not in result.reason and result.evidence
    for row in rows:
        assert leaf in res.incident_hits[row]
        assert row.evidence in result.evidence


def test_reason_names_the_date_and_the_quarter(catalog):
    data, _ = build(CASES["KDC-1.1"])
    result = unit_result(score(catalog, data, year=Y), XOM.code).results["KDC-1.1"]
    assert "15/04/2025 ngoài Quý I/2025" in result.reason
    assert result.evidence[0].file == f"XOM01_{Y}-10.xlsx" and result.evidence[0].sheet == "Báo cáo"


def test_failed_unit_verdict_and_failed_criteria(catalog):
    data, _ = build(CASES["CQDN-3.h"])
    unit = unit_result(score(catalog, data, year=Y), DN.code)
    assert unit.verdict_code == "CHUA_DAT" and unit.failed_criteria == ["CQDN-3.h"]
    assert unit.groups["CQDN-3"] == KHONG_DAT and unit.groups["CQDN-1"] == "DAT"
    assert unit.score_pct == 95.5           # 21 of 22 leaves: 95.45… rounds half-up to one decimal


def test_unknown_kind_is_an_error(catalog, monkeypatch):
    """A kind the scorer has no rule for must stop the run, never pass silently."""
    from antt_batch.score import rules
    monkeypatch.delitem(rules.RULES, "all_yes")
    monkeypatch.setattr("antt_batch.score.engine.KINDS", frozenset(rules.RULES))
    with pytest.raises(ValueError, match="all_yes"):
        score(catalog, world(), year=Y)


def test_scorer_and_catalog_know_the_same_kinds():
    from antt_batch.catalog import KINDS as CATALOG_KINDS
    from antt_batch.score import KINDS
    assert set(CATALOG_KINDS) == set(KINDS)


def test_households_ratio_needs_a_denominator(catalog):
    """§12.7: KDC-1.3 is a strict 100% of the residing households the xóm reports; with 0 (or no) households there
    is nothing to compare — missing data, never a vacuous pass."""
    data = world(changes={"XOM01": {f"{Y}-10": {"so_ho_cu_tru": 0, "so_ho_dang_ky": 0}}})
    assert unit_result(score(catalog, data, year=Y), XOM.code).results["KDC-1.3"].code == "THIEU_DU_LIEU"


def test_contradicting_values_from_different_months_are_not_a_pass(catalog):
    """Blank means "unchanged", so June's 100 households can meet February's 120 registered: that is inconsistent
    data (missing), never 120 %."""
    data = world(changes={"XOM01": {f"{Y}-06": {"so_ho_cu_tru": 100, "so_ho_dang_ky": None}}})
    result = unit_result(score(catalog, data, year=Y), XOM.code).results["KDC-1.3"]
    assert result.code == "THIEU_DU_LIEU" and "không nhất quán" in result.reason
