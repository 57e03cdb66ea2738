"""Who is in scope of Thông tư 124 (Điều 1 khoản 2 điểm b; digest §3.1, §9.3, §12.14).

Out of scope ("ngoài phạm vi", not "chưa đạt"): armed-forces agencies, small and micro enterprises under
NĐ 80/2021/NĐ-CP, crèches, preschools and primary schools. Precedence (spec §2): a registry `in_scope = false`
beats everything; otherwise a field reported in the year's templates beats the registry's subtype data (the
`Values` lookup already does that). Unknown facts never silently decide: the answer is then `None` with a reason
naming what is missing, and the unit's verdict is THIEU_DU_LIEU.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Unit
from .values import Values

CITATION = "điểm b khoản 2 Điều 1 Thông tư 124/2021/TT-BCA"
ND80 = "Nghị định 80/2021/NĐ-CP"

# NĐ 80/2021 Điều 5: the "nhỏ" row per sector — (max BHXH workers, max revenue, max total capital in tỷ đồng).
# Every "siêu nhỏ" firm also meets it, so out of scope == meets this row (digest §9.3).
SMALL_LIMITS = {
    "NONG_LAM_THUY_SAN": (100, 50, 20),
    "CONG_NGHIEP_XAY_DUNG": (100, 50, 20),
    "THUONG_MAI_DICH_VU": (50, 100, 50),
}
# Điều 1 khoản 2 điểm b: «trừ cơ sở giáo dục tiểu học, mầm non, nhà trẻ»; a combined MN+TH school has no
# other level, while TH+THCS keeps a level in scope (digest §12.14).
EXCLUDED_CAP_HOC = frozenset({"NHA_TRE", "MAM_NON", "TIEU_HOC", "LIEN_CAP_MN_TH"})
DN_FIELDS = ("linh_vuc", "so_lao_dong_bhxh", "doanh_thu_ty", "tong_nguon_von_ty", "duoi_mot_nam")


@dataclass(frozen=True)
class Scope:
    in_scope: bool | None
    reason: str


def _and(*values):
    """Kleene three-valued AND: False wins, then unknown."""
    return False if False in values else (None if None in values else True)


def _or(*values):
    return True if True in values else (None if None in values else False)


def _not(value):
    return None if value is None else not value


def _within(value, limit):
    return None if value is None else value <= limit


def _num(value) -> str:
    return f"{value:g}".replace(".", ",")


def _labels(catalog, field_ids) -> str:
    return ", ".join(f"«{catalog.fields[f].label}»" if f in catalog.fields else f"«{f}»" for f in field_ids)


def _is_small(values: Values, sector: str):
    """NĐ 80 "nhỏ" test in three-valued logic; a firm under one year old is judged on capital only (Điều 9)."""
    workers, revenue, capital = (values.value(f) for f in ("so_lao_dong_bhxh", "doanh_thu_ty", "tong_nguon_von_ty"))
    max_workers, max_revenue, max_capital = SMALL_LIMITS[sector]
    money = _or(_within(capital, max_capital), _and(_not(values.value("duoi_mot_nam")), _within(revenue, max_revenue)))
    return _and(_within(workers, max_workers), money)


def _figures(catalog, values: Values, sector: str | None) -> str:
    """The NĐ 80 figures the decision rests on, each beside its "nhỏ" limit when the sector is known."""
    limits = dict(zip(("so_lao_dong_bhxh", "doanh_thu_ty", "tong_nguon_von_ty"), SMALL_LIMITS.get(sector, ())))
    parts = [catalog.codelists["LINH_VUC"].label_of(sector)] if sector in SMALL_LIMITS else []
    for fid, noun, unit in (("so_lao_dong_bhxh", "lao động BHXH", ""), ("doanh_thu_ty", "doanh thu", " tỷ đồng"),
                            ("tong_nguon_von_ty", "tổng nguồn vốn", " tỷ đồng")):
        value = values.value(fid)
        if value is not None:
            limit = f" (giới hạn {_num(limits[fid])}{unit})" if fid in limits else ""
            parts.append(f"{_num(value)} {noun}{unit}{limit}" if not unit else f"{noun} {_num(value)}{unit}{limit}")
    if values.value("duoi_mot_nam"):
        parts.append("thành lập chưa đủ 01 năm: chỉ xét tổng nguồn vốn")
    return "; ".join(parts)


def _enterprise(catalog, values: Values) -> Scope:
    sector = values.value("linh_vuc")
    answers = {_is_small(values, s) for s in ([sector] if sector in SMALL_LIMITS else SMALL_LIMITS)}
    small = answers.pop() if len(answers) == 1 else None
    if small is None:
        missing = [f for f in DN_FIELDS if values.value(f) is None]
        return Scope(None, f"Chưa đủ số liệu để xác định doanh nghiệp nhỏ, siêu nhỏ theo {ND80}: thiếu "
                           f"{_labels(catalog, missing)} — cần xác minh quy mô")
    figures = _figures(catalog, values, sector)
    if small:
        return Scope(False, f"Doanh nghiệp nhỏ, siêu nhỏ theo {ND80} ({figures}) — không thuộc đối tượng áp dụng "
                            f"({CITATION})")
    return Scope(True, f"Không phải doanh nghiệp nhỏ, siêu nhỏ theo {ND80} ({figures})")


def _agency_or_enterprise(catalog, values: Values) -> Scope:
    kind = values.value("loai_hinh")
    if kind == "DOANH_NGHIEP":
        return _enterprise(catalog, values)
    if kind != "CO_QUAN":
        return Scope(None, f"Chưa khai báo {_labels(catalog, ['loai_hinh'])} (cơ quan hay doanh nghiệp) — cần xác minh "
                           "phạm vi")
    armed = values.value("thuoc_llvt")
    if armed is None:
        return Scope(None, f"Chưa khai báo {_labels(catalog, ['thuoc_llvt'])} — cần xác minh phạm vi")
    if armed:
        return Scope(False, f"Cơ quan, đơn vị lực lượng vũ trang — không thuộc đối tượng áp dụng ({CITATION})")
    return Scope(True, "")


def _school(catalog, values: Values) -> Scope:
    level = values.value("cap_hoc")
    if level is None:
        return Scope(None, f"Chưa khai báo {_labels(catalog, ['cap_hoc'])} — cần xác minh phạm vi")
    if level in EXCLUDED_CAP_HOC:
        return Scope(False, f"Cơ sở giáo dục cấp «{catalog.codelists['CAP_HOC'].label_of(level)}» — không thuộc đối "
                            f"tượng áp dụng ({CITATION})")
    return Scope(True, "")


def decide(catalog, unit: Unit, values: Values) -> Scope:
    """The unit's scope for the year, with a one-line Vietnamese reason when it is out or unknown."""
    if unit.in_scope is False:
        return Scope(False, unit.scope_reason or "Danh sách đơn vị (antt.toml) ghi ngoài phạm vi")
    if unit.type == "CQDN":
        return _agency_or_enterprise(catalog, values)
    if unit.type == "CSGD":
        return _school(catalog, values)
    return Scope(True, "")
