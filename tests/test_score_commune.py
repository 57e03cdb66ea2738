"""The commune's XA-4 over its units, who is listed, and how leaves fold into groups, verdicts and scores."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from antt_batch.model import (CHUA_DEN_HAN, DAT, KHONG_AP_DUNG, KHONG_DAT, THIEU_DU_LIEU, CriterionResult,
                              Recognition)
from antt_batch.score import score
from antt_batch.score.unit import fold, score_pct, verdict
from test_score_world import COMMUNE, DN, THCS, XOM, Y, results, unit_result, world

XOMS = [replace(XOM, code=f"XOM{i:02d}", name=f"Xóm {i}") for i in range(1, 11)]


def ten_xoms(failing: int, **kw):
    """Ten xóm, the first `failing` of which said "Không" to KDC-2 in May."""
    changes = {u.code: {f"{Y}-05": {"trien_khai_day_du": False}} for u in XOMS[:failing]}
    return world(units=XOMS, changes=changes, **kw)


@pytest.mark.parametrize("failing, expected", [(3, DAT), (4, KHONG_DAT)])
def test_xa_4_2_seventy_percent_exactly(catalog, failing, expected):
    """§12.5: pooled, exact — 7 of 10 recognised passes, 6 of 10 fails. Without a recorded decision the final
    evaluation uses the units' own DAT verdicts, marked projected."""
    commune = unit_result(score(catalog, ten_xoms(failing), year=Y), COMMUNE.code)
    result = commune.results["XA-4.2"]
    assert result.code == expected and result.projected and commune.provisional
    assert f"{10 - failing}/10" in result.reason


def test_xa_4_2_monthly_is_a_projection(catalog):
    """Spec §6: before the XA period ends XA-4.2 is CHUA_DEN_HAN and shows the share of DAT + DANG_DAT."""
    commune = unit_result(score(catalog, ten_xoms(4), period=f"{Y}-06"), COMMUNE.code)
    result = commune.results["XA-4.2"]
    assert (result.code, result.projected) == (CHUA_DEN_HAN, True)
    assert "6/10" in result.reason and "60%" in result.reason and "7/10" in result.reason


def test_recorded_recognition_decision_wins(catalog):
    """Spec §6: the commune's recorded decision ([recognition.Y]) is used when entered — not a projection."""
    decided = Recognition(Y, "15/QĐ-UBND", date(Y, 11, 12), tuple(u.code for u in XOMS[:7]))
    commune = unit_result(score(catalog, ten_xoms(0, recognition={Y: decided}), year=Y), COMMUNE.code)
    result = commune.results["XA-4.2"]
    assert (result.code, result.projected, commune.provisional) == (DAT, False, False)
    assert "15/QĐ-UBND" in result.reason and result.evidence
    fewer = replace(decided, unit_codes=decided.unit_codes[:6])
    assert results(score(catalog, ten_xoms(0, recognition={Y: fewer}), year=Y), COMMUNE.code)["XA-4.2"] == KHONG_DAT


def test_xa_4_population(catalog):
    """§8.2, §12.5, spec §6: XA-4 counts units recognised by the commune, active on the XA period's last day, in scope
    or of unknown scope. Province-recognised, dissolved and out-of-scope units stay out of both denominators."""
    by_province = replace(DN, code="DN-TINH", recognised_by="tinh")
    dissolved = replace(XOM, code="XOM99", active_to=date(Y, 9, 30))
    primary = replace(THCS, code="TRUONG-TH", subtype={"cap_hoc": "TIEU_HOC"})
    unknown = replace(DN, code="DN-MOI")
    data = world(units=(XOM, by_province, dissolved, primary, unknown),
                 omit={"DN-TINH": {"ngay_dang_ky_phan_dau"}, "XOM99": {"ngay_dang_ky_phan_dau"},
                       "TRUONG-TH": {"ngay_dang_ky_phan_dau", "cap_hoc"}, "DN-MOI": {"so_lao_dong_bhxh",
                                                                                     "doanh_thu_ty"}})
    res = score(catalog, data, year=Y)
    assert [u.unit.code for u in res.units] == ["XOM01", "DN-TINH", "XOM99", "TRUONG-TH", "DN-MOI"]
    assert unit_result(res, "DN-MOI").in_scope is None
    xa = unit_result(res, COMMUNE.code).results
    assert xa["XA-4.1"].code == DAT and xa["XA-4.1"].reason.startswith("2/2")      # XOM01 and DN-MOI
    assert xa["XA-4.2"].code == KHONG_DAT and "1/2" in xa["XA-4.2"].reason        # unknown scope is not DAT


def test_xa_4_1_pending_until_april(catalog):
    """§12.24: an unregistered unit is pending until 31/03, then fails XA-4.1 (and still counts in XA-4)."""
    data = world(omit={"XOM01": {"ngay_dang_ky_phan_dau"}})
    assert results(score(catalog, data, period=f"{Y}-03"), COMMUNE.code)["XA-4.1"] == CHUA_DEN_HAN
    april = unit_result(score(catalog, data, period=f"{Y}-04"), COMMUNE.code).results["XA-4.1"]
    assert april.code == KHONG_DAT and "XOM01" in april.reason


def test_listing_follows_the_registry_dates(catalog):
    """A unit is listed when it existed during the year up to the as-of day: one dissolved before the year, or not
    yet created, is left out; one dissolved mid-year is listed (scored) but not in XA-4."""
    gone = replace(XOM, code="XOM-CU", active_to=date(Y - 1, 10, 1))
    future = replace(XOM, code="XOM-MOI", active_from=date(Y, 8, 1))
    res = score(catalog, world(units=(XOM, gone, future)), period=f"{Y}-06")
    assert [u.unit.code for u in res.units] == ["XOM01"]
    later = score(catalog, world(units=(XOM, gone, future)), period=f"{Y}-09")
    assert [u.unit.code for u in later.units] == ["XOM01", "XOM-MOI"]


def test_commune_without_units_cannot_pass_xa_4(catalog):
    """§12.5: an empty XA-4 population is missing data, not a vacuous 100%."""
    xa = results(score(catalog, world(units=()), year=Y), COMMUNE.code)
    assert xa["XA-4.1"] == THIEU_DU_LIEU and xa["XA-4.2"] == THIEU_DU_LIEU


def r(code: str) -> CriterionResult:
    return CriterionResult("X", code)


@pytest.mark.parametrize("codes, expected", [
    ((DAT, KHONG_AP_DUNG), DAT), ((KHONG_AP_DUNG, KHONG_AP_DUNG), KHONG_AP_DUNG), ((DAT, CHUA_DEN_HAN), CHUA_DEN_HAN),
    ((CHUA_DEN_HAN, THIEU_DU_LIEU), THIEU_DU_LIEU), ((THIEU_DU_LIEU, KHONG_DAT, DAT), KHONG_DAT)])
def test_group_fold(codes, expected):
    """Parents pass iff all applicable children pass; mixed children fold like verdicts."""
    assert fold(codes) == expected


@pytest.mark.parametrize("in_scope, codes, ended, expected", [
    (True, (DAT, KHONG_DAT, THIEU_DU_LIEU), True, "CHUA_DAT"),
    (True, (DAT, THIEU_DU_LIEU, CHUA_DEN_HAN), False, THIEU_DU_LIEU),
    (True, (DAT, KHONG_AP_DUNG), True, DAT),
    (True, (DAT, KHONG_AP_DUNG), False, "DANG_DAT"),
    (True, (DAT, CHUA_DEN_HAN), True, "DANG_DAT"),
    (None, (DAT,), True, THIEU_DU_LIEU),
    (False, (KHONG_DAT,), True, "NGOAI_PHAM_VI")])
def test_verdict_precedence(in_scope, codes, ended, expected):
    """Spec §6: NGOAI_PHAM_VI, CHUA_DAT, THIEU_DU_LIEU, DAT (period ended, all applicable DAT), DANG_DAT."""
    assert verdict(in_scope, {str(i): r(c) for i, c in enumerate(codes)}, ended) == expected


@pytest.mark.parametrize("dat, other, expected", [(2, 1, 66.7), (1, 15, 6.3), (1, 7, 12.5), (0, 3, 0.0), (21, 0, 100.0)])
def test_score_pct_rounds_half_up(dat, other, expected):
    """Spec §7: DAT ÷ applicable × 100, half-up to one decimal (1/16 = 6.25 → 6.3, not banker's 6.2); N/A leaves
    are not counted."""
    leaves = [r(DAT)] * dat + [r(KHONG_DAT)] * other + [r(KHONG_AP_DUNG)] * 3
    assert score_pct({str(i): x for i, x in enumerate(leaves)}) == expected
    assert score_pct({"a": r(KHONG_AP_DUNG)}) is None
