"""One scoring rule per criterion kind, registered by the kind's name (docs/catalog-schema.md "Leaf keys").

A rule reads the criterion's data (fields, reads, series, thresholds) from the catalog, never its ID, so a
provincial extra criterion of a known kind scores with no code change, and an unknown kind is an error at the
first run rather than a silent pass. Rules answer as of the window's as-of day; the khoản-1, year-end and N/A
timing common to all kinds is applied afterwards by `judge` (score/unit.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from math import ceil
from typing import Callable

from ..model import CHUA_DEN_HAN, DANG_DAT, DAT, KHONG_DAT, THIEU_DU_LIEU, Evidence, Incident, Recognition, Unit
from ..text import vn_date
from . import incidents as inc
from .periods import Window
from .values import Values


@dataclass(slots=True)          # one per criterion per unit: plain slots, not frozen (3x cheaper to make)
class Outcome:
    code: str
    reason: str
    evidence: tuple[Evidence, ...] = ()
    hits: tuple[Incident, ...] = ()     # register rows that made the criterion fail
    projected: bool = False


@dataclass
class Context:
    """Everything a rule may look at for one unit: the catalog, its year, its values and registers."""

    catalog: object                      # antt_batch.catalog.Catalog
    unit: Unit
    window: Window
    values: Values
    options: dict[str, str]              # reading choices: catalog defaults overridden by the workspace
    cases: Callable[[str], list[inc.Case]]   # register name -> merged incidents of that register, every year
    baseline: Callable[[str, str], tuple[int | None, str]]   # (register, series) -> (count or None, source)
    population: list = field(default_factory=list)   # XA-4: UnitResults of the units under the commune
    recognition: Recognition | None = None           # the commune's recorded decision for the year

    def label(self, field_id: str) -> str:
        return f"«{self.catalog.fields[field_id].label_for(self.unit.type)}»"

    def fv(self, field_id: str):
        return self.values.get(field_id)

    def missing(self, code: str, reason: str) -> Outcome:
        """A blank value: the evidence is the latest report of the year that left it blank."""
        return Outcome(code, reason, (self.values.latest,) if self.values.latest else ())


RULES: dict[str, Callable[[Context, object], Outcome]] = {}


def rule(kind: str):
    def register(fn):
        RULES[kind] = fn
        return fn
    return register


def percent(part: int, whole: int) -> Decimal:
    """part/whole × 100 rounded half-up to one decimal, exactly (Decimal: 2/3 → 66.7, 1/16 → 6.3)."""
    return (Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _percent(part: int, whole: int) -> str:
    """Percent as shown in Vietnamese reasons: 70%, 66,7%."""
    return f"{percent(part, whole):f}".rstrip("0").rstrip(".").replace(".", ",") + "%"


def _share_ok(part: int, whole: int, ratio: Fraction) -> bool:
    """Exact compare, no rounding: part/whole ≥ ratio ⇔ part·den ≥ whole·num (digest §12.5)."""
    return part * ratio.denominator >= whole * ratio.numerator


def _show(ctx: Context, field_id: str, value) -> str:
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if hasattr(value, "strftime"):
        return vn_date(value)
    codelist = ctx.catalog.fields[field_id].codelist
    return ctx.catalog.codelists[codelist].label_of(value) if codelist else str(value)


@rule("dated_q1")
def dated_q1(ctx: Context, crit) -> Outcome:
    """A document dated inside Quý I of year Y (digest §12.3): a December or an April date never passes."""
    fid = crit.fields[0]
    fv, year = ctx.fv(fid), ctx.window.year
    if fv is None:
        return ctx.missing(KHONG_DAT, f"Chưa có {ctx.label(fid)} trong Quý I/{year}")
    inside = ctx.window.in_q1(fv.value)
    where = "trong" if inside else "ngoài"
    return Outcome(DAT if inside else KHONG_DAT, f"{ctx.label(fid)}: {vn_date(fv.value)} {where} Quý I/{year}",
                   (fv.evidence,))


@rule("ratio")
def ratio(ctx: Context, crit) -> Outcome:
    """part/whole ≥ min_ratio with integers only (100% households, 100% briefed, ≥ 70% sub-units)."""
    part_id, whole_id = crit.fields
    part, whole = ctx.fv(part_id), ctx.fv(whole_id)
    missing = [f for f, v in ((part_id, part), (whole_id, whole)) if v is None]
    if missing:
        return ctx.missing(THIEU_DU_LIEU, "Chưa có " + ", ".join(ctx.label(f) for f in missing))
    if whole.value == 0:
        return Outcome(THIEU_DU_LIEU, f"{ctx.label(whole_id)} bằng 0", (whole.evidence,))
    if part.value > whole.value:   # values from different months contradict each other (blank = unchanged)
        return Outcome(THIEU_DU_LIEU, f"Số liệu không nhất quán: {ctx.label(part_id)} {part.value} lớn hơn "
                       f"{ctx.label(whole_id)} {whole.value}", (part.evidence, whole.evidence))
    need = Fraction(crit.min_ratio)
    ok = _share_ok(part.value, whole.value, need)
    text = (f"{ctx.label(part_id)} {part.value}/{whole.value} ({_percent(part.value, whole.value)}), "
            f"cần ít nhất {ceil(whole.value * need)} ({_percent(need.numerator, need.denominator)})")
    return Outcome(DAT if ok else KHONG_DAT, text, (part.evidence, whole.evidence))


@rule("all_yes")
def all_yes(ctx: Context, crit) -> Outcome:
    """Every listed rule exists (CQDN-1.4: six, CSGD-1.4: four): one "Không" fails, a blank is missing data."""
    values = {f: ctx.fv(f) for f in crit.fields}
    noes = [f for f, v in values.items() if v is not None and v.value is False]
    blanks = [f for f, v in values.items() if v is None]
    if noes:
        return Outcome(KHONG_DAT, "Chưa có: " + ", ".join(ctx.label(f) for f in noes),
                       tuple(values[f].evidence for f in noes))
    if blanks:
        return ctx.missing(THIEU_DU_LIEU, "Chưa khai báo: " + ", ".join(ctx.label(f) for f in blanks))
    return Outcome(DAT, f"Có đủ {len(values)} nội dung", tuple(v.evidence for v in values.values()))


@rule("min_count")
def min_count(ctx: Context, crit) -> Outcome:
    """At least `min` of something (≥ 1 effective model)."""
    fid = crit.fields[0]
    fv = ctx.fv(fid)
    if fv is None:
        return ctx.missing(THIEU_DU_LIEU, f"Chưa khai báo {ctx.label(fid)}")
    ok = fv.value >= crit.min
    return Outcome(DAT if ok else KHONG_DAT, f"{ctx.label(fid)}: {fv.value}, cần ít nhất {crit.min}", (fv.evidence,))


@rule("attested")
def attested(ctx: Context, crit) -> Outcome:
    """An attested Có/Không (digest §12.17): "Không" fails as of now and a later "Có" cures it."""
    fid = crit.fields[0]
    fv = ctx.fv(fid)
    if fv is None:
        return ctx.missing(THIEU_DU_LIEU, f"Chưa khai báo {ctx.label(fid)}")
    return Outcome(DAT if fv.value is True else KHONG_DAT, f"{ctx.label(fid)}: {_show(ctx, fid, fv.value)}",
                   (fv.evidence,))


@rule("rating")
def rating(ctx: Context, crit) -> Outcome:
    """A year-end rating that must be one of the accepted codes (KDC-5.1, CQDN-4.1, CSGD-5.1)."""
    fid = crit.fields[0]
    fv = ctx.fv(fid)
    if fv is None:
        return ctx.missing(THIEU_DU_LIEU, f"Chưa có {ctx.label(fid)}")
    ok = fv.value in crit.accept
    return Outcome(DAT if ok else KHONG_DAT, f"{ctx.label(fid)}: «{_show(ctx, fid, fv.value)}»", (fv.evidence,))


def _describe(ctx: Context, case: inc.Case) -> str:
    category = ctx.catalog.categories[case.loai]
    level = f" ({ctx.catalog.codelists[category.levels].label_of(case.muc_do)})" if category.levels and case.muc_do \
        else ""
    number = next((r.ma_vu_viec for r in case.rows if r.ma_vu_viec), "")
    return f"«{category.label}»{level} ngày {vn_date(case.ngay)}" + (f", mã {number}" if number else "")


EXCEPTION_VI = {inc.BKK: "bất khả kháng", inc.RESCUE: "kịp thời phát hiện, giảm thiểu hậu quả và báo cáo ngay"}


@rule("zero_count")
def zero_count(ctx: Context, crit) -> Outcome:
    """No qualifying incident in the year; one fails the criterion for the rest of the year (spec §6)."""
    cases = ctx.cases(crit.register)
    if not cases:                       # most units, most months: the answer below with nothing found
        return Outcome(DAT, "Không xảy ra vụ việc nào")
    found = [c for c in cases if ctx.window.counts(c.ngay)
             and any(inc.qualifies(ctx.catalog, c, read, ctx.options) for read in crit.reads)]
    failing = [c for c in found if not inc.cleared_by(c, crit.exceptions)]
    if failing:
        more = inc.distinct(failing) - 1
        rows = tuple(r for c in failing for r in c.rows)
        return Outcome(KHONG_DAT, f"Xảy ra {_describe(ctx, failing[0])}" + (f" và {more} vụ khác" if more else ""),
                       tuple(r.evidence for r in rows), rows)
    cleared = [f"{_describe(ctx, c)} ({EXCEPTION_VI[inc.cleared_by(c, crit.exceptions)]})" for c in found]
    return Outcome(DAT, "Không xảy ra vụ việc nào" if not cleared else "Được loại trừ: " + "; ".join(cleared),
                   tuple(r.evidence for c in found for r in c.rows))


@rule("yoy")
def yoy(ctx: Context, crit) -> Outcome:
    """Each series year-to-date ≤ the previous full year (digest §12.4): above it fails at once, 0 vs 0 passes."""
    cases = [c for c in ctx.cases(crit.register) if ctx.window.counts(c.ngay)]
    over, missing, parts, rows = [], [], [], []
    for series in crit.series:
        now = inc.in_series(ctx.catalog, cases, series)
        count, before = inc.distinct(now), ctx.baseline(crit.register, series)
        label = ctx.catalog.series[series]
        if before[0] is None:
            missing.append(label)
            continue
        parts.append(f"{label} {count}/{before[0]} ({before[1]})")
        if count > before[0]:
            over.append(f"{label} {count} vụ, vượt năm {ctx.window.year - 1} ({before[0]} vụ)")
            rows.extend(r for c in now for r in c.rows)
    if over:
        return Outcome(KHONG_DAT, "; ".join(over), tuple(r.evidence for r in rows), tuple(rows))
    if missing:
        return Outcome(THIEU_DU_LIEU, f"Thiếu số liệu năm {ctx.window.year - 1} của: " + ", ".join(missing))
    return Outcome(DAT, "Không tăng so với năm trước: " + "; ".join(parts))


def registration_id(catalog, unit_type: str) -> str | None:
    """The unit type's registration leaf (KDC-1.2, XA-1.3, CQDN-1.3, CSGD-1.3): it decides `registered`."""
    return next((c.id for c in catalog.criteria_for(unit_type) if c.registration), None)


@rule("xa_registered")
def xa_registered(ctx: Context, crit) -> Outcome:
    """XA-4.1: every unit under the commune registered in Quý I (pending until 31/03, digest §12.24)."""
    units = ctx.population
    if not units:
        return Outcome(THIEU_DU_LIEU, "Không có đơn vị nào thuộc diện xét")
    late = [r for r in units if not r.registered]
    done = f"{len(units) - len(late)}/{len(units)} đơn vị đã đăng ký phấn đấu"
    if not late:
        return Outcome(DAT, done)
    if ctx.window.q1_open:
        return Outcome(CHUA_DEN_HAN, f"{done}; hạn {vn_date(ctx.window.q1_end)}")
    evidence = tuple(e for r in late for cid in [registration_id(ctx.catalog, r.unit.type)]
                     if cid in r.results for e in r.results[cid].evidence)
    return Outcome(KHONG_DAT, f"{done}; chưa đăng ký: " + ", ".join(r.unit.code for r in late), evidence)


@rule("xa_recognised")
def xa_recognised(ctx: Context, crit) -> Outcome:
    """XA-4.2: pooled share of recognised units ≥ 70% (digest §12.5).

    The commune's recorded decision counts when entered; otherwise the units' own verdicts stand in for it —
    DAT in the final evaluation (projected), and DAT + DANG_DAT as a projection while the XA period runs.
    """
    units, need = ctx.population, Fraction(crit.min_ratio)
    if not units:
        return Outcome(THIEU_DU_LIEU, "Không có đơn vị nào thuộc diện xét")
    total, wanted = len(units), ceil(len(units) * need)
    target = f"cần từ {_percent(need.numerator, need.denominator)} ({wanted}/{total})"
    if ctx.recognition is not None:
        rec = ctx.recognition
        yes = [r for r in units if r.unit.code in rec.unit_codes]
        share = f"{len(yes)}/{total} đơn vị được công nhận ({_percent(len(yes), total)})"
        source = f"Quyết định {rec.decision}" + (f" ngày {vn_date(rec.date)}" if rec.date else "")
        return Outcome(DAT if _share_ok(len(yes), total, need) else KHONG_DAT, f"{source}: {share}, {target}",
                       (Evidence(f"antt.toml [recognition.{rec.year}]"),))
    if not ctx.window.ended:
        hopeful = [r for r in units if r.verdict_code in (DAT, DANG_DAT)]
        return Outcome(CHUA_DEN_HAN, f"Dự kiến {len(hopeful)}/{total} đơn vị đạt hoặc đang đạt "
                                     f"({_percent(len(hopeful), total)}), {target}", projected=True)
    yes = [r for r in units if r.verdict_code == DAT]
    ok = _share_ok(len(yes), total, need)
    evidence = tuple(res.evidence[0] for r in units if r not in yes for res in r.results.values()
                     if res.code == KHONG_DAT and res.evidence)
    return Outcome(DAT if ok else KHONG_DAT, f"Dự kiến theo kết quả tự đánh giá (chưa có quyết định công nhận): "
                                             f"{len(yes)}/{total} đơn vị đạt ({_percent(len(yes), total)}), {target}",
                   evidence, projected=True)
