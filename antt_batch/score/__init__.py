"""The pure scoring core (spec §6): catalog + ScoringInput → ScoreResult, with no files, SQLite or Excel.

`score(catalog, data, period="2025-05")` is a monthly run: each unit type is evaluated over the year containing
the month's last day, as of that day, seeing only files of that month or earlier. `score(catalog, data,
year=2025)` is the final annual evaluation: every unit as of the end of its own period 2025, with everything
history holds (year-end results may arrive after the period), never "not due yet".

Units are scored first, then the commune, whose XA-4 reads the units' results. A unit is listed when it existed
during the year up to the as-of day (registry `active_from`/`active_to`); it counts for XA-4 only when it is also
active on the commune's period end, recognised by the commune (`recognised_by = "xa"`) and not out of scope.
"""

from __future__ import annotations

__all__ = ["score", "listed", "KINDS"]


def __getattr__(name: str):
    """`score` and `KINDS` load the engine on first use (PEP 562): validation, in every reader worker, imports only
    `periods` and `incidents` from this package and need not pay for the rules."""
    if name in __all__:
        from . import engine
        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
