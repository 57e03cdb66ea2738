"""The scoring run over every unit and the commune; `antt_batch.score` describes it and exposes `score`."""

from __future__ import annotations

from dataclasses import replace

from ..model import DAT, NGOAI_PHAM_VI, ScoreResult, ScoringInput, Unit, UnitResult
from . import incidents as inc
from .periods import Window, month_end, window
from .rules import RULES, Context, registration_id
from .scope import decide
from .unit import group_results, judge, review_problem, scope_problem, score_pct, verdict
from .values import Values

__all__ = ["score", "listed", "KINDS"]

KINDS = frozenset(RULES)      # the criterion kinds the catalog (and provincial extras) may use


def _history_complete(data: ScoringInput, covered: list[Unit], prev: Window) -> bool:
    """History holds the whole previous year: a snapshot for every month each covered unit was active in it."""
    for unit in covered:
        have = {s.period for s in data.snapshots.get(unit.code, ())}
        if any(unit.active_on(month_end(m)) and m not in have for m in prev.months):
            return False
    return True


def _context(catalog, data: ScoringInput, rows_of: dict, unit: Unit, win: Window, options: dict, population=(),
             recognition=None) -> Context:
    merged: dict[str, list] = {}

    def cases(register: str) -> list:
        if register not in merged:
            merged[register] = inc.merge(catalog, inc.register_rows(data, unit, register, rows_of),
                                         catalog.unit_types[unit.type].year_of)
        return merged[register]

    prev = win.previous()

    def baseline(register: str, series: str) -> tuple[int | None, str]:
        """Previous year's count of a series: from history when complete, else the configured baseline (§6)."""
        if _history_complete(data, inc.covered_units(data, unit, register), prev):
            before = [c for c in cases(register) if prev.counts(c.ngay)]
            return inc.distinct(inc.in_series(catalog, before, series)), f"năm {prev.year} theo lịch sử"
        return unit.baselines.get(prev.year, {}).get(series), f"năm {prev.year} theo antt.toml"

    values = Values(catalog, unit, data.snapshots.get(unit.code, []), win)
    return Context(catalog, unit, win, values, options, cases, baseline, list(population), recognition)


def _score_unit(ctx: Context, hits: dict) -> UnitResult:
    catalog, unit, win = ctx.catalog, ctx.unit, ctx.window
    scope = decide(catalog, unit, ctx.values)
    provisional = win.as_of < win.end
    if scope.in_scope is False:
        return UnitResult(unit, win.year, win.as_of, win.end, False, scope.reason, False, NGOAI_PHAM_VI, None,
                          provisional, {})
    results, reviews = {}, {}
    for crit in catalog.criteria_for(unit.type):
        judged = judge(ctx, crit)
        results[crit.id] = judged.result
        if judged.review:
            reviews.setdefault(judged.review, []).append(crit.id)
        for row in judged.hits:
            hits.setdefault(row, [])
            if crit.id not in hits[row]:
                hits[row].append(crit.id)
    warnings = ([scope_problem(unit, scope.reason)] if scope.in_scope is None else []) + [
        review_problem(unit, review, ids) for review, ids in reviews.items()]
    reg = registration_id(catalog, unit.type)
    return UnitResult(
        unit, win.year, win.as_of, win.end, scope.in_scope, scope.reason,
        registered=reg is not None and results[reg].code == DAT,
        verdict_code=verdict(scope.in_scope, results, win.ended),
        score_pct=score_pct(results),
        provisional=provisional or any(r.projected for r in results.values()),
        results=results, groups=group_results(catalog, unit.type, results), warnings=warnings)


def _listed(unit: Unit, win: Window) -> bool:
    """The unit existed at some point of the year up to the as-of day."""
    return (unit.active_from is None or unit.active_from <= win.as_of) and (
        unit.active_to is None or unit.active_to >= win.start)


def _windows(catalog, period: str | None, year: int | None) -> dict[str, Window]:
    return {t: window(info, period=period, year=year) for t, info in catalog.unit_types.items()}


def listed(catalog, units: list[Unit], period: str | None = None, year: int | None = None) -> list[Unit]:
    """The units `score` lists, in the same order, known before scoring (the report's first sheets need them)."""
    windows = _windows(catalog, period, year)
    return [u for u in units if _listed(u, windows[u.type])]


def score(catalog, data: ScoringInput, period: str | None = None, year: int | None = None) -> ScoreResult:
    """Score every unit and the commune for a monthly `period` (YYYY-MM) or the final evaluation of `year`."""
    unknown = sorted({c.kind for c in catalog.criteria.values()} - KINDS)
    if unknown:
        raise ValueError(f"unknown criterion kind(s): {', '.join(unknown)}; known: {', '.join(sorted(KINDS))}")
    windows = _windows(catalog, period, year)
    if period is not None:     # a re-run of an earlier month sees only what had arrived by then
        data = replace(data, snapshots={code: [s for s in snaps if s.period <= period]
                                        for code, snaps in data.snapshots.items()},
                       incidents=[r for r in data.incidents if not r.evidence.month or r.evidence.month <= period])
    options = {**catalog.options, **data.options}
    hits: dict = {}
    rows_of = inc.rows_by_unit(data)
    units = [_score_unit(_context(catalog, data, rows_of, u, windows[u.type], options), hits)
             for u in listed(catalog, data.units, period, year)]
    xa = windows["XA"]
    population = [r for r in units if r.unit.recognised_by == "xa" and r.unit.active_on(xa.end)
                  and r.in_scope is not False]
    commune = _score_unit(_context(catalog, data, rows_of, data.commune, xa, options, population,
                                   data.recognition.get(xa.year)), hits)
    return ScoreResult(period=period or str(year), final=year is not None, units=units, commune=commune,
                       incident_hits=hits)
