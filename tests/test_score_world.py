"""A small, complete, all-good commune built from model records, and the builders the other score tests share.

One xóm, one medium enterprise, one THCS school and the commune, each with twelve monthly snapshots of the 2025
evaluation year that satisfy every criterion. The tests of this file check that this world scores DAT on every
national leaf; the other test_score_* files each change one thing and look at what moves.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from antt_batch.catalog import load_catalog
from antt_batch.model import DAT, Evidence, FieldValue, Incident, ScoringInput, Snapshot, Unit
from antt_batch.score import score

CATALOG = load_catalog()
YEAR_END = {fid for fid, f in CATALOG.fields.items() if f.year_end}
Y = 2025
MONTHS = [f"{Y - 1}-11", f"{Y - 1}-12"] + [f"{Y}-{m:02d}" for m in range(1, 11)]
ZERO = {"toi_pham": 0, "te_nan_xa_hoi": 0, "vi_pham_phap_luat": 0}

COMMUNE = Unit("PHUDINH", "xã Phú Đình", "XA", baselines={Y - 1: dict(ZERO)})
XOM = Unit("XOM01", "Xóm Đình", "KDC", baselines={Y - 1: dict(ZERO)})
DN = Unit("DN-MAY", "Công ty May Phú Đình", "CQDN")
THCS = Unit("TRUONG-THCS", "Trường THCS Phú Đình", "CSGD")

GOOD = {
    "KDC": {"ngay_nghi_quyet_chi_bo": date(Y, 1, 20), "ngay_dang_ky_phan_dau": date(Y, 2, 10),
            "so_ho_cu_tru": 120, "so_ho_dang_ky": 120, "trien_khai_day_du": True,
            "quan_ly_doi_tuong_hieu_qua": True, "xep_loai_luc_luong": "HOAN_THANH"},
    "XA": {"ngay_nghi_quyet_dang_uy": date(Y, 1, 23), "ngay_ke_hoach_ubnd": date(Y, 2, 5),
           "ngay_dang_ky_phan_dau": date(Y, 2, 5), "so_mo_hinh_hieu_qua": 2, "trien_khai_day_du": True,
           "quan_ly_doi_tuong_hieu_qua": True, "cong_an_nam_chac_tinh_hinh": True},
    "CQDN": {"loai_hinh": "DOANH_NGHIEP", "linh_vuc": "CONG_NGHIEP_XAY_DUNG", "so_lao_dong_bhxh": 250,
             "doanh_thu_ty": 120.0, "tong_nguon_von_ty": 80.0, "duoi_mot_nam": False, "co_to_chuc_dang": True,
             "du_dieu_kien_thi_dua": True, "ngay_nghi_quyet": date(Y, 1, 15), "ngay_ke_hoach": date(Y, 1, 20),
             "ngay_dang_ky_phan_dau": date(Y, 2, 1), "noi_quy_bao_ve": True, "noi_quy_bi_mat": True,
             "noi_quy_chinh_tri_noi_bo": True, "noi_quy_an_toan_lao_dong": True, "noi_quy_pccn": True,
             "noi_quy_moi_truong": True, "so_nguoi": 250, "so_nguoi_quan_triet": 250, "so_mo_hinh_hieu_qua": 1,
             "trien_khai_day_du": True, "xep_loai_luc_luong_bao_ve": "HOAN_THANH_TOT", "so_dau_moi": 10,
             "so_dau_moi_dat": 8},
    "CSGD": {"cap_hoc": "THCS", "co_to_chuc_dang": True, "du_dieu_kien_thi_dua": True,
             "ngay_nghi_quyet": date(Y, 1, 10), "ngay_ke_hoach": date(Y, 1, 10),
             "ngay_dang_ky_phan_dau": date(Y, 1, 10), "noi_quy_bao_ve": True, "noi_quy_chinh_tri_noi_bo": True,
             "noi_quy_quan_ly_nguoi_hoc": True, "noi_quy_pccn": True, "so_nguoi": 600, "so_nguoi_quan_triet": 600,
             "so_mo_hinh_hieu_qua": 1, "trien_khai_day_du": True, "phoi_hop_cha_me_hoc_sinh": True,
             "xep_loai_luc_luong_bao_ve": "TAP_THE_LAO_DONG_TIEN_TIEN", "so_dau_moi": 5, "so_dau_moi_dat": 4},
}


def snap(code: str, period: str, **fields) -> Snapshot:
    """A snapshot whose every value points at its own file, sheet `Báo cáo`, cell C<n>."""
    return Snapshot(code, period, datetime(int(period[:4]), int(period[5:]), 28), {
        fid: FieldValue(value, Evidence(f"{code}_{period}.xlsx", "Báo cáo", f"C{i + 5}", period))
        for i, (fid, value) in enumerate(fields.items())})


def incident(code: str, ngay: date, loai: str, muc_do: str | None = None, *, bkk: bool | None = None,
             rescue: tuple = (None, None, None), ma: str | None = None, row: int = 6,
             month: str | None = None) -> Incident:
    month = month or f"{ngay.year:04d}-{ngay.month:02d}"
    return Incident(code, ngay, loai, muc_do, bkk, *rescue, ma, None,
                    Evidence(f"{code}_{month}.xlsx", "Vụ việc", f"A{row}", month, row))


def world(units=(XOM, DN, THCS), commune=COMMUNE, months=MONTHS, incidents=(), changes=None, extra=None,
          omit=None, **kw) -> ScoringInput:
    """Every unit reports its GOOD values in its first month and a bare snapshot (all unchanged) every month after,
    except year-end results, which arrive with the last month (a value in November or December of Y−1 is the
    previous year's result, spec §5).

    `changes` = {unit code: {period: {field: value}}} adds values to a month's snapshot; `extra` = {code: [Snapshot]}
    adds whole snapshots (e.g. the month after the period ends); `omit` = {code: {field, …}} leaves GOOD values out.
    """
    changes, omit, snapshots = changes or {}, omit or {}, {}
    for unit in (commune, *units):
        good, left_out = GOOD[unit.type], omit.get(unit.code, set())
        snaps = []
        for i, period in enumerate(months):
            values = {"nguoi_bao_cao": "Nguyễn Văn A"}
            if i == 0:
                values.update({f: v for f, v in good.items() if f not in YEAR_END | left_out})
            if i == len(months) - 1:
                values.update({f: v for f, v in good.items() if f in YEAR_END - left_out})
            values.update(changes.get(unit.code, {}).get(period, {}))
            snaps.append(snap(unit.code, period, **values))
        snaps += (extra or {}).get(unit.code, [])
        snapshots[unit.code] = sorted(snaps, key=lambda s: (s.period, s.received))
    return ScoringInput(commune, list(units), snapshots, list(incidents), **kw)


def results(res, code: str) -> dict:
    """Leaf ID -> result code of one unit (the commune by its code)."""
    unit = res.commune if res.commune.unit.code == code else next(u for u in res.units if u.unit.code == code)
    return {cid: r.code for cid, r in unit.results.items()}


def unit_result(res, code: str):
    return res.commune if res.commune.unit.code == code else next(u for u in res.units if u.unit.code == code)


OWNER = {"KDC": XOM.code, "XA": COMMUNE.code, "CQDN": DN.code, "CSGD": THCS.code}


@pytest.fixture(scope="module")
def good_final(catalog):
    return score(catalog, world(), year=Y)


@pytest.mark.parametrize("leaf", CATALOG.national_leaf_ids())
def test_every_leaf_dat_in_the_good_world(catalog, good_final, leaf):
    """The DAT case of every national leaf: a commune where everything is in order passes each one."""
    owner = OWNER[catalog.criteria[leaf].unit_type]
    result = unit_result(good_final, owner).results[leaf]
    assert result.code == DAT, result.reason


def test_good_world_verdicts(good_final):
    """Final evaluation: every unit DAT, 100%, not provisional except the commune, whose XA-4.2 rests on the
    units' own verdicts while no recognition decision is recorded (spec §6, digest §12.5)."""
    for unit in good_final.units:
        assert (unit.verdict_code, unit.score_pct, unit.provisional, unit.registered) == ("DAT", 100.0, False, True)
    commune = good_final.commune
    assert (commune.verdict_code, commune.score_pct, commune.registered) == ("DAT", 100.0, True)
    assert commune.results["XA-4.2"].projected and commune.provisional
    assert good_final.final and good_final.period == "2025"
    assert all(code == DAT for code in commune.groups.values())


def test_world_builder_changes_apply(catalog):
    """The builders do what the other files rely on: a change lands in its month's snapshot."""
    data = world(changes={"XOM01": {"2025-05": {"trien_khai_day_du": False}}})
    assert results(score(catalog, data, period="2025-05"), "XOM01")["KDC-2"] == "KHONG_DAT"
