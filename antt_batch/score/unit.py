"""Scoring one unit over one evaluation year: leaf results, groups, verdict and score (spec §6).

The rules in `rules.py` answer "is the condition met as of today"; this module adds what is common to every kind:
the Circular's N/A carve-outs, the Quý I deadline of khoản 1, the late arrival of year-end results, the unit that
sent nothing this year, and the citation on every failure. It then folds the leaves into groups and a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Location, Problem, problem
from ..model import (CHUA_DAT, CHUA_DEN_HAN, DANG_DAT, DAT, KHONG_AP_DUNG, KHONG_DAT, NGOAI_PHAM_VI, THIEU_DU_LIEU,
                     CriterionResult, FieldValue, Incident, Unit)
from ..text import vn_date
from .rules import RULES, Context, Outcome, _show, percent

# Mixed children of a group fold like a unit's verdict: a failure beats missing data, which beats "not yet due".
_GROUP_ORDER = (KHONG_DAT, THIEU_DU_LIEU, CHUA_DEN_HAN, DAT)


@dataclass(frozen=True)
class Review:
    """An N/A switch the Circular does not provide for (condition `warn`): to be checked by the operator."""

    field: str
    value: FieldValue
    said: str


@dataclass(slots=True)          # made ~200,000 times for 10,000 units: plain slots, not frozen (3x cheaper)
class Judged:
    result: CriterionResult
    hits: tuple[Incident, ...] = ()
    review: Review | None = None


# Scoring warnings are Problems so the report lists them with the file problems (`Lỗi dữ liệu`).
def review_problem(unit: Unit, review: Review, criteria: list[str]) -> Problem:
    ev = review.value.evidence
    return problem("na-review", Location(ev.file, ev.sheet, ev.cell, review.field), value=unit.code,
                   detail=review.said, expected=", ".join(criteria))


def scope_problem(unit: Unit, reason: str) -> Problem:
    return problem("scope-unknown", value=unit.code, detail=reason)


def _not_applicable(ctx: Context, crit) -> Judged | None:
    """The Circular's own carve-outs (digest §12.15): KHONG_AP_DUNG, optionally with a warning to review.

    A blank switch field decides nothing: the criterion is then judged as usual.
    """
    for cond, applies in crit.switches:
        fv = ctx.fv(cond.field)
        if fv is None or cond.holds(fv.value) == applies:
            continue
        said = f"{ctx.label(cond.field)}: {_show(ctx, cond.field, fv.value)}"
        carve_out = f" — {crit.na_text}" if crit.na_text else ""
        return Judged(CriterionResult(crit.id, KHONG_AP_DUNG, said + carve_out, (fv.evidence,)),
                      review=Review(cond.field, fv, said) if cond.warn else None)
    return None


def _nothing_sent(ctx: Context) -> str:
    return f"Chưa có báo cáo nào của năm đánh giá {ctx.window.year}"


def judge(ctx: Context, crit) -> Judged:
    """One leaf's result as of the window's as-of day."""
    na = _not_applicable(ctx, crit)
    if na is not None:
        return na
    silent = not ctx.values.has_snapshot
    if silent and crit.fields and not crit.registration:
        return Judged(CriterionResult(crit.id, THIEU_DU_LIEU, _nothing_sent(ctx)))
    out: Outcome = RULES[crit.kind](ctx, crit)
    code, reason = out.code, out.reason
    if silent and code == DAT and (crit.reads or crit.series):
        code, reason = THIEU_DU_LIEU, f"{_nothing_sent(ctx)}; {reason}"    # no report: "nothing happened" is unknown
    if crit.khoan1 and ctx.window.q1_open and code in (KHONG_DAT, THIEU_DU_LIEU):
        code, reason = CHUA_DEN_HAN, f"{reason}; hạn {vn_date(ctx.window.q1_end)}"
    elif crit.year_end and code == THIEU_DU_LIEU and not ctx.window.final:
        code, reason = CHUA_DEN_HAN, f"{reason}; kết quả cuối năm, có thể gửi đến tháng sau khi hết kỳ"
    if code == KHONG_DAT:
        reason = f"{reason} — {crit.citation}"
    hits = out.hits if code == KHONG_DAT else ()
    return Judged(CriterionResult(crit.id, code, reason, out.evidence, out.projected), hits)


def fold(codes) -> str:
    """A parent's result from its children: KHONG_AP_DUNG only when every child is."""
    present = set(codes) - {KHONG_AP_DUNG}
    if not present:
        return KHONG_AP_DUNG
    return next(code for code in _GROUP_ORDER if code in present)


def group_results(catalog, unit_type: str, results: dict[str, CriterionResult]) -> dict[str, str]:
    """Every group (khoản, điểm) of the unit type, in catalog order: DAT iff all applicable children are DAT."""
    codes = {cid: result.code for cid, result in results.items()}
    for group in catalog.groups_bottom_up(unit_type):
        codes[group.id] = fold([codes[child] for child in group.children])
    return {g.id: codes[g.id] for g in catalog.groups_for(unit_type)}


def verdict(in_scope: bool | None, results: dict[str, CriterionResult], ended: bool) -> str:
    """Unit verdict in the spec's order of precedence; unknown scope can be neither đạt nor chưa đạt."""
    if in_scope is False:
        return NGOAI_PHAM_VI
    codes = {r.code for r in results.values()}
    if in_scope is None:
        return THIEU_DU_LIEU
    if KHONG_DAT in codes:
        return CHUA_DAT
    if THIEU_DU_LIEU in codes:
        return THIEU_DU_LIEU
    return DAT if ended and codes <= {DAT, KHONG_AP_DUNG} else DANG_DAT


def score_pct(results: dict[str, CriterionResult]) -> float | None:
    """DAT leaves ÷ applicable leaves × 100, rounded half-up to one decimal; None when nothing applies."""
    applicable = [r for r in results.values() if r.code != KHONG_AP_DUNG]
    if not applicable:
        return None
    dat = sum(r.code == DAT for r in applicable)
    return float(percent(dat, len(applicable)))
