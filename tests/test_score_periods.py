"""Dates and timing: Quý I, evaluation-year boundaries, as-of runs, year-end results, curable states (spec §5–§6)."""

from __future__ import annotations

from datetime import date

import pytest

from antt_batch.model import CHUA_DEN_HAN, DAT, KHONG_DAT, THIEU_DU_LIEU
from antt_batch.score import score
from antt_batch.score.periods import month_end, window
from test_score_world import COMMUNE, MONTHS, XOM, Y, incident, results, snap, unit_result, world


def months_to(last: str) -> list[str]:
    return MONTHS[:MONTHS.index(last) + 1]


@pytest.mark.parametrize("day, expected", [
    (date(Y - 1, 12, 31), KHONG_DAT), (date(Y, 1, 1), DAT), (date(Y, 3, 31), DAT), (date(Y, 4, 1), KHONG_DAT)])
def test_quy_i_boundaries(catalog, day, expected):
    """§12.3: «Quý I hằng năm» is 01/01/Y–31/03/Y; a December or an April resolution does not count."""
    data = world(changes={"XOM01": {f"{Y}-10": {"ngay_nghi_quyet_chi_bo": day}}})
    assert results(score(catalog, data, year=Y), "XOM01")["KDC-1.1"] == expected


@pytest.mark.parametrize("period, expected", [(f"{Y}-03", CHUA_DEN_HAN), (f"{Y}-04", KHONG_DAT)])
def test_missing_khoan1_document_pending_until_31_march(catalog, period, expected):
    """§12.3/§12.24: before 31/03 a missing registration is not yet due; from the April run it fails."""
    data = world(months=months_to(period), omit={"XOM01": {"ngay_dang_ky_phan_dau"}})
    unit = unit_result(score(catalog, data, period=period), "XOM01")
    assert unit.results["KDC-1.2"].code == expected
    assert unit.registered is False
    evidence = unit.results["KDC-1.2"].evidence[0]      # the latest report, which left it blank
    assert (evidence.file, evidence.month, evidence.cell) == (f"XOM01_{period}.xlsx", period, "")


def test_december_date_pending_in_quarter_then_fails(catalog):
    """§12.3: a document dated before Q1 may still be replaced by one issued in Q1, so it is only pending in March;
    from April it fails and a later document never cures it."""
    changes = {"XOM01": {f"{Y - 1}-12": {"ngay_nghi_quyet_chi_bo": date(Y - 1, 12, 5)}}}
    data = world(omit={"XOM01": {"ngay_nghi_quyet_chi_bo"}}, changes=changes)
    assert results(score(catalog, data, period=f"{Y}-02"), "XOM01")["KDC-1.1"] == CHUA_DEN_HAN
    assert results(score(catalog, data, period=f"{Y}-04"), "XOM01")["KDC-1.1"] == KHONG_DAT
    changes["XOM01"][f"{Y}-05"] = {"ngay_nghi_quyet_chi_bo": date(Y, 5, 2)}
    late = results(score(catalog, world(omit={"XOM01": {"ngay_nghi_quyet_chi_bo"}}, changes=changes), year=Y),
                   "XOM01")
    assert late["KDC-1.1"] == KHONG_DAT


def test_state_based_khoan1_is_curable(catalog):
    """Spec §6: 100% households is judged on the latest snapshot — pending in March, failed in April, cured in May."""
    data = world(changes={"XOM01": {f"{Y}-03": {"so_ho_dang_ky": 110}, f"{Y}-05": {"so_ho_dang_ky": 120}}})
    seen = [results(score(catalog, data, period=p), "XOM01")["KDC-1.3"] for p in (f"{Y}-03", f"{Y}-04", f"{Y}-05")]
    assert seen == [CHUA_DEN_HAN, KHONG_DAT, DAT]


def test_attested_no_fails_now_and_is_cured_later(catalog):
    """§12.17: an attested "Không" fails as of that month; a later "Có" cures it; blank means unchanged."""
    data = world(changes={"XOM01": {f"{Y}-04": {"trien_khai_day_du": False}, f"{Y}-06": {"trien_khai_day_du": True}}})
    seen = [results(score(catalog, data, period=p), "XOM01")["KDC-2"] for p in (f"{Y}-03", f"{Y}-05", f"{Y}-07")]
    assert seen == [DAT, KHONG_DAT, DAT]


def test_blank_attested_is_missing_data(catalog):
    """§12.17: the tool never infers a qualitative criterion — blank is THIEU_DU_LIEU, not DAT."""
    data = world(omit={"XOM01": {"trien_khai_day_du"}})
    unit = unit_result(score(catalog, data, period=f"{Y}-05"), "XOM01")
    assert unit.results["KDC-2"].code == THIEU_DU_LIEU and unit.verdict_code == THIEU_DU_LIEU


def test_zero_count_fails_for_the_rest_of_the_year(catalog):
    """Spec §6: once an event happens the criterion fails until the year ends; before it, mid-year is DAT."""
    data = world(incidents=[incident("XOM01", date(Y, 2, 10), "TU_DIEM_PHUC_TAP")])
    seen = [results(score(catalog, data, period=p), "XOM01")["KDC-4.c.1"] for p in (f"{Y}-01", f"{Y}-02", f"{Y}-10")]
    assert seen == [DAT, KHONG_DAT, KHONG_DAT]


@pytest.mark.parametrize("day, fails_2025", [(date(Y, 10, 31), True), (date(Y, 11, 1), False)])
def test_kdc_year_ends_31_october(catalog, day, fails_2025):
    """§12.13: the KDC year is 01/11(Y−1)–31/10(Y); an event of 01/11 belongs to the next year."""
    data = world(incidents=[incident("XOM01", day, "TOI_PHAM", "NGHIEM_TRONG", month=f"{Y}-11")])
    assert (results(score(catalog, data, year=Y), "XOM01")["KDC-4.b"] == KHONG_DAT) is fails_2025
    nxt = world(months=[f"{Y}-11"], incidents=data.incidents)
    assert (results(score(catalog, nxt, period=f"{Y}-11"), "XOM01")["KDC-4.b"] == KHONG_DAT) is not fails_2025


@pytest.mark.parametrize("day, fails_2025", [(date(Y, 11, 15), True), (date(Y, 11, 16), False)])
def test_agency_year_ends_15_november(catalog, day, fails_2025):
    """§12.13: XA/CQDN/CSGD years are 16/11(Y−1)–15/11(Y); November is split."""
    data = world(incidents=[incident("DN-MAY", day, "TOI_PHAM", "RAT_NGHIEM_TRONG", month=f"{Y}-11")])
    assert (results(score(catalog, data, year=Y), "DN-MAY")["CQDN-3.dd"] == KHONG_DAT) is fails_2025


def test_early_november_event_is_next_kdc_year_but_this_commune_year(catalog):
    """§12.13: an event of 05/11/Y belongs to KDC year Y+1 but to XA year Y (XA-2 over the xã period, §12.6)."""
    data = world(incidents=[incident("XOM01", date(Y, 11, 5), "CHAY_NO", "NGHIEM_TRONG", month=f"{Y}-11")])
    res = score(catalog, data, year=Y)
    assert results(res, "XOM01")["KDC-4.d.1"] == DAT
    assert results(res, "PHUDINH")["XA-2:KDC-4.d.1"] == KHONG_DAT


def test_october_run_is_final_for_kdc_only(catalog):
    """Spec §6: a period has ended when the run's last day is on or after its end — 2025-10 closes KDC 2025."""
    res = score(catalog, world(), period=f"{Y}-10")
    xom, dn = unit_result(res, "XOM01"), unit_result(res, "DN-MAY")
    assert (xom.verdict_code, xom.provisional, xom.as_of, xom.period_end) == (DAT, False, date(Y, 10, 31),
                                                                            date(Y, 10, 31))
    assert (dn.verdict_code, dn.provisional, dn.period_end) == ("DANG_DAT", True, date(Y, 11, 15))
    assert not res.final and res.period == f"{Y}-10"


def test_mid_year_verdict_is_dang_dat(catalog):
    unit = unit_result(score(catalog, world(), period=f"{Y}-06"), "XOM01")
    assert unit.verdict_code == "DANG_DAT" and unit.provisional
    assert unit.results["KDC-5.1"].code == CHUA_DEN_HAN        # year-end rating not yet given
    assert unit.results["KDC-4.a"].code == DAT                  # YoY not failed mid-year → DAT


def test_blank_year_end_result_is_missing_in_final_evaluation(catalog):
    """Spec §6: year-end results are CHUA_DEN_HAN while blank in monthly runs, THIEU_DU_LIEU in `report --year`."""
    data = world(omit={"XOM01": {"xep_loai_luc_luong"}})
    assert results(score(catalog, data, period=f"{Y}-10"), "XOM01")["KDC-5.1"] == CHUA_DEN_HAN
    final = unit_result(score(catalog, data, year=Y), "XOM01")
    assert final.results["KDC-5.1"].code == THIEU_DU_LIEU and final.verdict_code == THIEU_DU_LIEU


def test_year_end_result_arriving_after_the_period_counts_for_that_year_only(catalog):
    """§12.8: a rating sent with the November file (KDC) or the December file (CQDN) is the ending year's result,
    never the next year's."""
    extra = {"XOM01": [snap("XOM01", f"{Y}-11", xep_loai_luc_luong="HOAN_THANH_TOT")],
             "DN-MAY": [snap("DN-MAY", f"{Y}-12", xep_loai_luc_luong_bao_ve="TAP_THE_LAO_DONG_TIEN_TIEN",
                             so_dau_moi_dat=9)]}
    data = world(omit={"XOM01": {"xep_loai_luc_luong"}, "DN-MAY": {"xep_loai_luc_luong_bao_ve", "so_dau_moi_dat"}},
                 extra=extra)
    final = score(catalog, data, year=Y)
    assert results(final, "XOM01")["KDC-5.1"] == DAT and results(final, "DN-MAY")["CQDN-4.1"] == DAT
    assert unit_result(final, "DN-MAY").results["CQDN-5.1"].evidence[0].month == f"{Y}-12"
    nxt = score(catalog, data, period=f"{Y}-12")
    assert results(nxt, "XOM01")["KDC-5.1"] == CHUA_DEN_HAN and results(nxt, "DN-MAY")["CQDN-4.1"] == CHUA_DEN_HAN


def test_khoan1_dates_are_not_carried_into_a_new_year(catalog):
    """Spec §4/§5: the 2025 registration says nothing about 2026."""
    data = world(months=MONTHS + [f"{Y}-11"])
    unit = unit_result(score(catalog, data, period=f"{Y}-11"), "XOM01")
    assert unit.evaluation_year == Y + 1
    assert unit.results["KDC-1.2"].code == CHUA_DEN_HAN and not unit.registered


def test_unit_without_a_file_this_year(catalog):
    """§12.24: no accepted file in the year → unregistered (pending until 31/03), THIEU_DU_LIEU elsewhere, but a
    reported incident still fails its criterion."""
    row = incident("XOM01", date(Y, 1, 5), "TU_DIEM_PHUC_TAP", month=f"{Y + 1}-01")
    data = world(months=[], units=(XOM,), incidents=[row])
    data.snapshots[COMMUNE.code] = [snap(COMMUNE.code, f"{Y}-01")]
    feb = unit_result(score(catalog, data, period=f"{Y}-02"), "XOM01")
    apr = unit_result(score(catalog, data, period=f"{Y}-04"), "XOM01")
    assert feb.results["KDC-1.2"].code == CHUA_DEN_HAN and apr.results["KDC-1.2"].code == KHONG_DAT
    assert {apr.results[c].code for c in ("KDC-1.1", "KDC-1.3", "KDC-2", "KDC-3.a", "KDC-4.a")} == {THIEU_DU_LIEU}
    assert apr.results["KDC-4.c.1"].code == THIEU_DU_LIEU   # its file (01/2026) is not yet history in April
    final = unit_result(score(catalog, data, year=Y), "XOM01")
    assert final.results["KDC-4.c.1"].code == KHONG_DAT and final.verdict_code == "CHUA_DAT"
    assert results(score(catalog, data, year=Y), "PHUDINH")["XA-4.1"] == KHONG_DAT


def test_rerun_of_an_earlier_month_ignores_later_files(catalog):
    """Spec §9.1 `report --period`: a past month is re-scored from the files of that month or earlier only."""
    data = world(changes={"XOM01": {f"{Y}-05": {"trien_khai_day_du": False}}},
                 incidents=[incident("XOM01", date(Y, 4, 20), "LY_KHAI", month=f"{Y}-05")])
    april = results(score(catalog, data, period=f"{Y}-04"), "XOM01")
    assert april["KDC-2"] == DAT and april["KDC-3.dd"] == DAT


def test_window_arithmetic(catalog):
    """§12.13 and spec §5: evaluation year Y is named after the year its period ends in; a November run already
    looks at the next XA year; every type's year holds the twelve snapshots November(Y−1)–October(Y)."""
    kdc, xa = catalog.unit_types["KDC"], catalog.unit_types["XA"]
    assert month_end("2024-02") == date(2024, 2, 29)
    w = window(xa, period="2025-11")
    assert (w.year, w.start, w.end, w.as_of) == (2026, date(2025, 11, 16), date(2026, 11, 15), date(2025, 11, 30))
    assert window(kdc, year=2025).months == tuple(MONTHS)
    assert window(xa, year=2025).months == tuple(MONTHS)      # 30/11/2024 is inside 16/11/2024–15/11/2025
    assert window(xa, year=2025).closing_months == ("2025-11", "2025-12")
    assert window(kdc, year=2025).previous().end == date(2024, 10, 31)
    with pytest.raises(ValueError):
        window(kdc, period="2025-01", year=2025)
