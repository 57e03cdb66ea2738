"""Incidents: exceptions, level thresholds, reading options, merging reports, commune scope and YoY (spec §4.3, §6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from antt_batch.model import DAT, KHONG_DAT, THIEU_DU_LIEU
from antt_batch.score import score
from test_score_world import COMMUNE, DN, THCS, XOM, Y, incident, results, snap, unit_result, world

MARCH = date(Y, 3, 10)
PREVIOUS = [f"{Y - 2}-11", f"{Y - 2}-12"] + [f"{Y - 1}-{m:02d}" for m in range(1, 11)]


def verdicts(catalog, *rows, **kw):
    return score(catalog, world(incidents=list(rows), **kw), year=Y)


@pytest.mark.parametrize("flags, expected", [
    ((True, True, True), DAT), ((True, True, None), KHONG_DAT), ((True, False, True), KHONG_DAT),
    ((None, None, None), KHONG_DAT)])
def test_rescue_needs_all_three_flags(catalog, flags, expected):
    """§12.1: the rescue clause is conjunctive and a blank flag means "not rescued" (fail-safe)."""
    res = verdicts(catalog, incident("XOM01", MARCH, "TOI_PHAM", "NGHIEM_TRONG", rescue=flags),
                   incident("DN-MAY", MARCH, "TOI_PHAM", "NGHIEM_TRONG", rescue=flags, ma="DN-1"))
    assert results(res, "XOM01")["KDC-4.b"] == expected
    assert results(res, "DN-MAY")["CQDN-3.dd"] == expected
    assert results(res, "PHUDINH")["XA-2:KDC-4.b"] == expected


def test_rescue_does_not_clear_a_fire(catalog):
    """§12.1–2: RESCUE is written only on KDC-4.b and CQDN-3.dd; a serious fire is cleared by BKK alone."""
    row = incident("XOM01", MARCH, "CHAY_NO", "NGHIEM_TRONG", rescue=(True, True, True))
    assert results(verdicts(catalog, row), "XOM01")["KDC-4.d.1"] == KHONG_DAT


@pytest.mark.parametrize("bkk, expected", [(True, DAT), (False, KHONG_DAT), (None, KHONG_DAT)])
def test_force_majeure_clears_the_whole_diem(catalog, bkk, expected):
    """§12.2: «(trừ trường hợp bất khả kháng)» closes điểm d / điểm g and covers each of its items; it needs the
    explicit flag (default: not force majeure)."""
    rows = [incident("XOM01", MARCH, "CHAY_NO", "NGHIEM_TRONG", bkk=bkk),
            incident("XOM01", MARCH, "TAI_NAN_LD_CHET_NGUOI", bkk=bkk, row=7),
            incident("DN-MAY", MARCH, "VI_PHAM_MOI_TRUONG_VSTP", "NGHIEM_TRONG", bkk=bkk),
            incident("TRUONG-THCS", MARCH, "TOI_PHAM", "NGHIEM_TRONG", bkk=bkk)]
    res = verdicts(catalog, *rows)
    assert {results(res, "XOM01")[c] for c in ("KDC-4.d.1", "KDC-4.d.2")} == {expected}
    assert results(res, "DN-MAY")["CQDN-3.g.4"] == expected
    assert results(res, "TRUONG-THCS")["CSGD-3:CQDN-3.dd"] == expected
    if bkk:
        assert "bất khả kháng" in unit_result(res, "XOM01").results["KDC-4.d.1"].reason


def test_force_majeure_does_not_exist_for_khoan_3(catalog):
    """§12.2: no BKK for KDC-3.*, CQDN-3.a–e/h or CSGD-4.*."""
    res = verdicts(catalog, incident("XOM01", MARCH, "MAU_THUAN_KEO_DAI", bkk=True),
                   incident("TRUONG-THCS", MARCH, "BAO_LUC_HOC_DUONG", bkk=True))
    assert results(res, "XOM01")["KDC-3.e"] == KHONG_DAT
    assert results(res, "TRUONG-THCS")["CSGD-4.1"] == KHONG_DAT


@pytest.mark.parametrize("unit, loai, level, leaf, expected", [
    ("XOM01", "TOI_PHAM", "IT_NGHIEM_TRONG", "KDC-4.b", DAT),
    ("XOM01", "TOI_PHAM", "NGHIEM_TRONG", "KDC-4.b", KHONG_DAT),
    ("XOM01", "CHAY_NO", "KHONG_NGHIEM_TRONG", "KDC-4.d.1", DAT),
    ("XOM01", "KY_LUAT_LUC_LUONG", "KHIEN_TRACH", "KDC-5.2", KHONG_DAT),
    ("DN-MAY", "KY_LUAT_LUC_LUONG", "KHIEN_TRACH", "CQDN-4.2", DAT),
    ("DN-MAY", "KY_LUAT_CA_NHAN", "KHIEN_TRACH", "CQDN-5.2", DAT),
    ("DN-MAY", "NLD_TE_NAN_XA_HOI", "KHIEN_TRACH", "CQDN-3.h", DAT),
    ("DN-MAY", "NLD_TE_NAN_XA_HOI", "CANH_CAO", "CQDN-3.h", KHONG_DAT),
    ("TRUONG-THCS", "NGUOI_HOC_DAY_TE_NAN", "KHIEN_TRACH", "CSGD-4.2", DAT),
    ("TRUONG-THCS", "NGUOI_HOC_DAY_PHAM_TOI", "IT_NGHIEM_TRONG", "CSGD-4.2", KHONG_DAT),
    ("TRUONG-THCS", "NGUOI_HOC_DAY_PHAM_TOI", "IT_NGHIEM_TRONG", "CSGD-3:CQDN-3.dd", DAT),
])
def test_level_thresholds(catalog, unit, loai, level, leaf, expected):
    """§12.8: KDC-5.2 counts any discipline; §12.23: "từ cảnh cáo trở lên" excludes khiển trách; §12.9: for CSGD-4.2
    any crime counts, a social evil only with discipline from cảnh cáo; §9.1: "nghiêm trọng trở lên"."""
    assert results(verdicts(catalog, incident(unit, MARCH, loai, level)), unit)[leaf] == expected


@pytest.mark.parametrize("reading, level, expected", [
    ("A", None, KHONG_DAT), ("B", None, DAT), ("B", "KHIEN_TRACH", DAT), ("B", "CANH_CAO", KHONG_DAT)])
def test_cqdn_3h_reading_option(catalog, reading, level, expected):
    """§12.9: reading A (default) — any ANTT fine fails CQDN-3.h; reading B — only with discipline from cảnh cáo.
    The workspace's [options] override the catalog's default."""
    res = verdicts(catalog, incident("DN-MAY", MARCH, "NLD_VI_PHAM_ANTT", level), options={"cqdn_3h_reading": reading})
    assert results(res, "DN-MAY")["CQDN-3.h"] == expected


def test_reading_option_from_the_catalog(catalog):
    """§12.9: the reading may also be chosen when the catalog is loaded (antt.toml [options])."""
    from antt_batch.catalog import load_catalog
    row = incident("DN-MAY", MARCH, "NLD_VI_PHAM_ANTT")
    res = score(load_catalog(options={"cqdn_3h_reading": "B"}), world(incidents=[row]), year=Y)
    assert results(res, "DN-MAY")["CQDN-3.h"] == DAT


def test_same_case_in_two_registers_counts_once_at_highest_level(catalog):
    """Spec §4.3: rows sharing (ma_vu_viec, loai) are one incident, the highest level counts; at commune scope
    the case counts once in the XA-2:KDC-4.a series."""
    low = incident("XOM01", date(Y, 2, 1), "TOI_PHAM", "IT_NGHIEM_TRONG", ma="VV-07")
    high = incident("DN-MAY", date(Y, 2, 1), "TOI_PHAM", "NGHIEM_TRONG", ma="vv-07 ", month=f"{Y}-03")
    commune = replace(COMMUNE, baselines={Y - 1: {"toi_pham": 1, "te_nan_xa_hoi": 0, "vi_pham_phap_luat": 0}})
    res = verdicts(catalog, low, high, commune=commune)
    xa = results(res, "PHUDINH")
    assert xa["XA-2:KDC-4.b"] == KHONG_DAT and xa["XA-2:KDC-4.a"] == DAT       # 1 case ≤ 1
    assert "XA-2:KDC-4.b" in res.incident_hits[low] and "XA-2:KDC-4.b" in res.incident_hits[high]
    assert results(res, "XOM01")["KDC-4.b"] == DAT        # the xóm's own register only has the low report
    without_number = verdicts(catalog, replace(low, ma_vu_viec=None), high, commune=commune)
    assert results(without_number, "PHUDINH")["XA-2:KDC-4.a"] == KHONG_DAT   # two cases > 1


def test_case_reported_under_two_categories_is_one_crime(catalog):
    """Spec §4.3: a teacher's crime reported as TOI_PHAM by the xóm and NGUOI_HOC_DAY_PHAM_TOI by the school is one
    crime in the commune's series."""
    commune = replace(COMMUNE, baselines={Y - 1: {"toi_pham": 1, "te_nan_xa_hoi": 0, "vi_pham_phap_luat": 0}})
    res = verdicts(catalog, incident("XOM01", MARCH, "TOI_PHAM", "IT_NGHIEM_TRONG", ma="HS-1"),
                   incident("TRUONG-THCS", MARCH, "NGUOI_HOC_DAY_PHAM_TOI", "IT_NGHIEM_TRONG", ma="HS-1"),
                   commune=commune)
    assert results(res, "PHUDINH")["XA-2:KDC-4.a"] == DAT


def test_exception_holds_only_if_every_report_says_so(catalog):
    """Spec §4.3 / §12.1: one report without the BKK flag is enough to doubt it."""
    res = verdicts(catalog, incident("XOM01", MARCH, "CHAY_NO", "NGHIEM_TRONG", bkk=True, ma="CN-1"),
                   incident("DN-MAY", MARCH, "CHAY_NO", "NGHIEM_TRONG", bkk=None, ma="CN-1"))
    assert results(res, "PHUDINH")["XA-2:KDC-4.d.1"] == KHONG_DAT
    assert results(res, "XOM01")["KDC-4.d.1"] == DAT


def test_report_upgraded_in_a_later_month_keeps_first_date_and_highest_level(catalog):
    """Spec §4.3/§5: a case re-reported with a heavier classification is one incident at its highest level, dated
    when it first happened (the March run, which has not seen the upgrade yet, passes)."""
    first = incident("XOM01", date(Y, 3, 28), "TOI_PHAM", "IT_NGHIEM_TRONG", ma="VV-9")
    later = incident("XOM01", date(Y, 4, 2), "TOI_PHAM", "RAT_NGHIEM_TRONG", ma="VV-9", month=f"{Y}-04")
    data = world(incidents=[first, later])
    assert results(score(catalog, data, period=f"{Y}-03"), "XOM01")["KDC-4.b"] == DAT
    april = unit_result(score(catalog, data, period=f"{Y}-04"), "XOM01").results["KDC-4.b"]
    assert april.code == KHONG_DAT and "28/03/2025" in april.reason and "Rất nghiêm trọng" in april.reason


def test_identical_rows_without_case_number_are_one_incident(catalog):
    """Spec §5: a row repeated identically in a later month is the same incident (intake warns `duplicate-row`)."""
    row = incident("XOM01", MARCH, "TE_NAN_XA_HOI")
    xom = replace(XOM, baselines={Y - 1: {"toi_pham": 0, "te_nan_xa_hoi": 1, "vi_pham_phap_luat": 0}})
    again = replace(row, evidence=replace(row.evidence, month=f"{Y}-04", row=9))
    assert results(verdicts(catalog, row, again, units=(xom, DN, THCS)), "XOM01")["KDC-4.a"] == DAT


def test_xa_3_2_reads_only_the_communes_own_register(catalog):
    """Spec §4.3: XA-3.2 is about commune police officers: a hamlet's disciplined guard fails KDC-5.2 only."""
    res = verdicts(catalog, incident("XOM01", MARCH, "KY_LUAT_LUC_LUONG", "KHIEN_TRACH"))
    assert results(res, "PHUDINH")["XA-3.2"] == DAT and results(res, "XOM01")["KDC-5.2"] == KHONG_DAT
    own = verdicts(catalog, incident("PHUDINH", MARCH, "KY_LUAT_LUC_LUONG", "KHIEN_TRACH"))
    assert results(own, "PHUDINH")["XA-3.2"] == KHONG_DAT


@pytest.mark.parametrize("count, expected", [(0, DAT), (2, DAT), (3, KHONG_DAT)])
def test_yoy_equal_passes_one_above_fails_at_once(catalog, count, expected):
    """§12.4: «kiềm chế, kéo giảm» passes at ≤ the previous year; above it fails at once, even mid-year."""
    xom = replace(XOM, baselines={Y - 1: {"toi_pham": 2, "te_nan_xa_hoi": 0, "vi_pham_phap_luat": 0}})
    rows = [incident("XOM01", date(Y, 1, 5 + i), "TOI_PHAM", "IT_NGHIEM_TRONG", row=6 + i) for i in range(count)]
    res = score(catalog, world(units=(xom,), incidents=rows), period=f"{Y}-02")
    assert results(res, "XOM01")["KDC-4.a"] == expected


def test_yoy_zero_against_zero_passes_and_missing_baseline_is_missing_data(catalog):
    """§12.4: 0 vs 0 passes; a missing baseline (or a missing series in it) is «không đủ dữ liệu», never a pass."""
    assert results(verdicts(catalog), "XOM01")["KDC-4.a"] == DAT
    partial = replace(XOM, baselines={Y - 1: {"toi_pham": 0, "te_nan_xa_hoi": 0}})
    res = verdicts(catalog, units=(partial, replace(XOM, code="XOM02", baselines={})))
    assert results(res, "XOM01")["KDC-4.a"] == THIEU_DU_LIEU
    assert "Vi phạm pháp luật khác" in unit_result(res, "XOM01").results["KDC-4.a"].reason
    assert results(res, "XOM02")["KDC-4.a"] == THIEU_DU_LIEU


def test_yoy_baseline_from_complete_history_beats_configuration(catalog):
    """Spec §6: history holding every month of the previous year gives the baseline; antt.toml is the fallback."""
    before = incident("XOM01", date(Y - 1, 6, 1), "TOI_PHAM", "IT_NGHIEM_TRONG", ma="OLD")
    now = incident("XOM01", date(Y, 6, 1), "TOI_PHAM", "IT_NGHIEM_TRONG", ma="NEW")
    history = {"XOM01": [snap("XOM01", m) for m in PREVIOUS]}
    res = verdicts(catalog, before, now, extra=history)                # antt.toml says 0, history says 1
    assert results(res, "XOM01")["KDC-4.a"] == DAT
    assert "theo lịch sử" in unit_result(res, "XOM01").results["KDC-4.a"].reason
    gap = {"XOM01": [snap("XOM01", m) for m in PREVIOUS if m != f"{Y - 1}-07"]}
    assert results(verdicts(catalog, before, now, extra=gap), "XOM01")["KDC-4.a"] == KHONG_DAT


def test_commune_yoy_history_needs_every_unit(catalog):
    """Spec §6: for XA-2:KDC-4.a "complete" means the commune and every active unit sent every month."""
    before = incident("DN-MAY", date(Y - 1, 6, 1), "DINH_CONG")
    now = incident("XOM01", date(Y, 6, 1), "VI_PHAM_PHAP_LUAT")
    everyone = {u.code: [snap(u.code, m) for m in PREVIOUS] for u in (COMMUNE, XOM, DN, THCS)}
    assert results(verdicts(catalog, before, now, extra=everyone), "PHUDINH")["XA-2:KDC-4.a"] == DAT
    late_school = dict(everyone, **{THCS.code: everyone[THCS.code][1:]})
    assert results(verdicts(catalog, before, now, extra=late_school), "PHUDINH")["XA-2:KDC-4.a"] == KHONG_DAT
    opened_later = replace(THCS, active_from=date(Y - 1, 1, 1))        # not yet active in Nov/Dec of Y−2
    res = verdicts(catalog, before, now, extra=late_school | {THCS.code: everyone[THCS.code][2:]},
                   units=(XOM, DN, opened_later))
    assert results(res, "PHUDINH")["XA-2:KDC-4.a"] == DAT


def test_incident_hits_lists_every_failed_criterion(catalog):
    """Spec §7 `Vụ việc`: each incident lists the criteria it failed — own and commune scope; a force-majeure case
    still counts in the YoY series (§12.2: BKK is written on điểm b/d, not on điểm a)."""
    row = incident("XOM01", MARCH, "TOI_PHAM", "NGHIEM_TRONG")
    res = verdicts(catalog, row)
    assert res.incident_hits[row] == ["KDC-4.a", "KDC-4.b", "XA-2:KDC-4.a", "XA-2:KDC-4.b"]
    cleared = replace(row, bat_kha_khang=True)
    assert verdicts(catalog, cleared).incident_hits[cleared] == ["KDC-4.a", "XA-2:KDC-4.a"]
