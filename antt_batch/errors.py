"""Problems as records (spec §8): a stable code, a severity, a location and Vietnamese text from one catalog.

Nothing in the pipeline raises for bad input; every check returns `Problem`s, and a file is rejected when one of
them is an error. Wording lives in `catalog/messages.toml`, so no English reaches the operator.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ERROR = "error"
WARNING = "warning"
SEVERITY_VI = {ERROR: "Lỗi", WARNING: "Cảnh báo"}


@dataclass(frozen=True)
class Location:
    """Where a problem is: the file as received, then sheet, A1 cell, field ID and row inside it."""

    file: str = ""
    sheet: str = ""
    cell: str = ""
    field: str = ""
    row: int | None = None


@dataclass(frozen=True)
class Problem:
    code: str
    severity: str
    message: str
    hint: str
    location: Location = field(default_factory=Location)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def as_dict(self) -> dict:
        loc = self.location
        return {
            "code": self.code, "severity": self.severity, "file": loc.file, "sheet": loc.sheet,
            "cell": loc.cell, "field": loc.field, "row": loc.row, "message": self.message, "hint": self.hint,
        }


class AnttError(Exception):
    """Raised only where a command cannot go on at all (bad configuration); carries the problems."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


@lru_cache(maxsize=1)
def message_catalog() -> dict[str, dict]:
    """The message catalog, read once."""
    return tomllib.loads((Path(__file__).parent / "catalog" / "messages.toml").read_text(encoding="utf-8"))


class _Blank(dict):
    """Leaves unknown placeholders empty instead of failing: a report must never raise."""

    def __missing__(self, key: str) -> str:
        return ""


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def problem(code: str, location: Location = Location(), severity: str | None = None, **params) -> Problem:
    """Build a `Problem` for `code`, rendering its Vietnamese message and hint from `params` and the location.

    `severity` overrides the code's default (e.g. `period-mismatch` is a warning for an earlier month); the code's
    `[code.warning]` wording is then used when present.
    """
    entry = message_catalog()[code]
    severity = severity or entry["severity"]
    wording = entry.get(severity, entry) if severity != entry["severity"] else entry
    values = _Blank(file=location.file, sheet=location.sheet, cell=location.cell, field=location.field,
                    row=location.row if location.row is not None else "")
    values.update({k: "" if v is None else v for k, v in params.items()})
    fmt = string.Formatter()
    return Problem(code, severity, fmt.vformat(wording["message"], (), values),
                   fmt.vformat(wording["hint"], (), values), location)


def has_errors(problems) -> bool:
    return any(p.is_error for p in problems)
