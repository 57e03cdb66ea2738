"""The catalog's records: code lists, fields, categories, criteria, groups and the `Catalog` that holds them."""


from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

from antt_batch.errors import AnttError
from antt_batch.model import UNIT_TYPES
from antt_batch.text import clean, fold

CATALOG_DIR = Path(__file__).resolve().parent
TABLES = ("catalog", "codelists", "fields", "categories", "criteria")     # <name>.toml in CATALOG_DIR
SERIES = ("toi_pham", "te_nan_xa_hoi", "vi_pham_phap_luat")
EXCEPTIONS = ("BKK", "RESCUE")
REGISTERS = ("own", "commune_own", "territory")   # whose `Vụ việc` rows a criterion reads
FIELD_TYPES = ("int", "decimal", "date", "bool", "code", "text")
GENERATED_LISTS = ("MUC_DO", "LOAI_VU_VIEC")
_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:[-.:][A-Za-z0-9]+)*$")
_FIELD_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_DASH = re.compile(r"\s+[-–—]\s+")


class CatalogError(AnttError):
    """The catalog or a provincial extra is inconsistent; `problems` holds every `config-error` found."""


@dataclass(frozen=True)
class Kind:
    """What a criterion kind needs from its leaf. The scorer has one evaluator per registered kind, so a kind the
    catalog names but nobody implements is refused at load rather than silently skipped."""

    name: str
    fields: str = ""            # field types, comma separated; "bool+" = one or more
    reads: bool = False
    series: bool = False
    min_ratio: bool = False
    min: bool = False
    accept: bool = False
    unit_types: tuple[str, ...] = UNIT_TYPES


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("dated_q1", "date"), Kind("ratio", "int,int", min_ratio=True), Kind("all_yes", "bool+"),
    Kind("min_count", "int", min=True), Kind("attested", "bool"), Kind("rating", "code", accept=True),
    Kind("zero_count", reads=True), Kind("yoy", reads=True, series=True),
    Kind("xa_registered", unit_types=("XA",)), Kind("xa_recognised", min_ratio=True, unit_types=("XA",)))}


@dataclass(frozen=True)
class Item:
    code: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class CodeList:
    """A dropdown list. `parse` accepts what users really type: the code, the label, the dropdown's "CODE - Nhãn"
    or an alias, in any case, with or without accents, NFC or NFD."""

    id: str
    label: str
    ordered: bool
    items: tuple[Item, ...]

    def __post_init__(self):
        keys: dict[str, str] = {}
        for it in self.items:
            for key in (it.code, it.code.replace("_", " "), it.label, *it.aliases):
                keys.setdefault(fold(key), it.code)
        object.__setattr__(self, "_keys", keys)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(it.code for it in self.items)

    def label_of(self, code: str) -> str:
        return next(it.label for it in self.items if it.code == code)

    def rank(self, code: str) -> int:
        """Position in the list (lowest first for ordered lists); KeyError for an unknown code."""
        for i, it in enumerate(self.items):
            if it.code == code:
                return i
        raise KeyError(code)

    def display(self, code: str) -> str:
        return f"{code} - {self.label_of(code)}"

    def displays(self) -> list[str]:
        return [self.display(c) for c in self.codes]

    def parse(self, text: Any) -> str | None:
        """The code meant by a cell's value; None when blank or not recognised (tell them apart with `clean`)."""
        if isinstance(text, float) and text.is_integer():
            text = int(text)
        value = "" if text is None else clean(text)
        if not value:
            return None
        keys: dict[str, str] = self._keys  # type: ignore[attr-defined]
        code = keys.get(fold(value))
        if code is not None:
            return code
        parts = _DASH.split(value, maxsplit=1)
        return next((keys[fold(p)] for p in parts if len(parts) == 2 and fold(p) in keys), None)


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    type: str
    codelist: str
    min: float | None
    max: float | None
    unit_types: tuple[str, ...]
    required: bool
    help: str
    khoan1: bool
    year_end: bool
    carry: bool
    max_field: str = ""                             # cross-field bound: value <= that field (registered <= residing)
    unit: str = ""                                  # shown beside the input cell
    labels: tuple[tuple[str, str], ...] = ()        # per unit type wording (CSGD counts learners too)

    def label_for(self, unit_type: str) -> str:
        return dict(self.labels).get(unit_type, self.label)


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    levels: str
    level_required: bool
    series: str
    help: str


@dataclass(frozen=True)
class ReadOption:
    """Under reading option `name` == `equals`, the read's min_level becomes `min_level` (digest §12.9)."""

    name: str
    equals: str
    min_level: str


@dataclass(frozen=True)
class Read:
    category: str
    min_level: str | None = None
    option: ReadOption | None = None


@dataclass(frozen=True)
class Condition:
    field: str
    equals: Any = None
    in_: tuple[str, ...] = ()
    warn: bool = False

    def holds(self, value: Any) -> bool:
        if self.in_:
            return value in self.in_
        return value is not None and isinstance(value, bool) == isinstance(self.equals, bool) and value == self.equals


@dataclass(frozen=True)
class Criterion:
    """A leaf: the unit of scoring and of the report's columns. An import carries its source's text and rules, with
    its own ID, parent, citation and register, and `reads` = the source's reads + its extra reads."""

    id: str
    unit_type: str
    parent: str
    citation: str
    text: str
    kind: str
    fields: tuple[str, ...] = ()
    reads: tuple[Read, ...] = ()
    exceptions: tuple[str, ...] = ()
    khoan1: bool = False
    year_end: bool = False
    registration: bool = False
    na_when: tuple[Condition, ...] = ()
    applies_when: Condition | None = None
    register: str = "own"
    imports: str = ""
    series: tuple[str, ...] = ()
    min_ratio: Fraction | None = None
    min: int | None = None
    accept: tuple[str, ...] = ()
    na_text: str = ""
    extra: bool = False

    @cached_property    # asked for by every leaf of every unit scored (a frozen class may cache, see Catalog)
    def switches(self) -> tuple[tuple[Condition, bool], ...]:
        """(condition, the value that makes the criterion apply) of each N/A switch: `na_when` then `applies_when`."""
        return (*((cond, False) for cond in self.na_when), *(((self.applies_when, True),) if self.applies_when else ()))


@dataclass(frozen=True)
class Group:
    """A khoản or điểm that passes iff all its children pass; `text` is empty where the Circular splits a sentence."""

    id: str
    unit_type: str
    parent: str
    citation: str
    text: str
    title: str
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnitTypeInfo:
    code: str
    label: str
    article: str
    period_start: tuple[int, int]     # (month, day) in year Y-1
    period_end: tuple[int, int]       # (month, day) in year Y
    lead_in: str = ""

    def period(self, year: int) -> tuple[date, date]:
        return date(year - 1, *self.period_start), date(year, *self.period_end)

    def year_of(self, day: date) -> int:
        """The evaluation year whose period contains `day` (periods end in the year they are named after)."""
        return day.year + 1 if (day.month, day.day) > self.period_end else day.year


@dataclass(frozen=True)
class Option:
    name: str
    default: str
    choices: tuple[str, ...]
    help: str


@dataclass(frozen=True, eq=False)
class Catalog:
    """The checked catalog: read-only mappings in catalog order, plus the lookups the other stages share."""

    version: str
    template_version: int
    legal_title: str
    legal_short: str
    options: Mapping[str, str]
    option_specs: Mapping[str, Option]
    series: Mapping[str, str]
    unit_types: Mapping[str, UnitTypeInfo]
    codelists: Mapping[str, CodeList]
    fields: Mapping[str, Field]
    categories: Mapping[str, Category]
    criteria: Mapping[str, Criterion]
    groups: Mapping[str, Group]

    def fields_for(self, unit_type: str) -> list[Field]:
        return [f for f in self.fields.values() if unit_type in f.unit_types]

    def criteria_for(self, unit_type: str) -> list[Criterion]:
        return list(self._by_type[unit_type][0])

    def groups_for(self, unit_type: str) -> list[Group]:
        return list(self._by_type[unit_type][1])

    def groups_bottom_up(self, unit_type: str) -> tuple[Group, ...]:
        """The unit type's groups, each after the groups among its children: the order results fold up in."""
        return self._by_type[unit_type][2]

    @cached_property    # asked for by every unit scored (a frozen class may cache: this writes __dict__ directly)
    def _by_type(self) -> dict[str, tuple[tuple[Criterion, ...], tuple[Group, ...], tuple[Group, ...]]]:
        out = {}
        for t in UNIT_TYPES:
            groups = tuple(g for g in self.groups.values() if g.unit_type == t)
            out[t] = (tuple(c for c in self.criteria.values() if c.unit_type == t), groups, self._bottom_up(groups))
        return out

    def _bottom_up(self, groups: tuple[Group, ...]) -> tuple[Group, ...]:
        order: dict[str, Group] = {}

        def visit(group: Group) -> None:
            if group.id not in order:
                for child in group.children:
                    if child in self.groups:
                        visit(self.groups[child])
                order[group.id] = group
        for group in groups:
            visit(group)
        return tuple(order.values())

    @cached_property    # asked for by every unit scored
    def year_end_ids(self) -> frozenset[str]:
        """Fields holding a year-end result (issued after the period ends, spec §5)."""
        return frozenset(fid for fid, f in self.fields.items() if f.year_end)

    def categories_for(self, unit_type: str) -> list[Category]:
        """Categories a unit of this type may enter: those its criteria read (imports and extra reads included)."""
        read = {r.category for c in self.criteria_for(unit_type) for r in c.reads}
        return [cat for code, cat in self.categories.items() if code in read]

    def national_leaf_ids(self) -> list[str]:
        return [cid for cid, c in self.criteria.items() if not c.extra]

    def extra_leaf_ids(self) -> list[str]:
        return [cid for cid, c in self.criteria.items() if c.extra]

    def series_categories(self, series: str) -> list[str]:
        return [code for code, cat in self.categories.items() if cat.series == series]

    def min_level(self, read: Read) -> str | None:
        """The read's threshold under the catalog's reading options."""
        opt = read.option
        return opt.min_level if opt and self.options.get(opt.name) == opt.equals else read.min_level

    def read_matches(self, read: Read, level: str | None) -> bool:
        """Whether an incident of `read.category` at `level` counts for the criterion holding `read`."""
        need = self.min_level(read)
        if need is None:
            return True
        levels = self.codelists[self.categories[read.category].levels]
        return level in levels.codes and levels.rank(level) >= levels.rank(need)

