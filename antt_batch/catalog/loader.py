"""Reading and checking the catalog TOML files: every problem becomes a located `config-error` (spec §3)."""


from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

from antt_batch.errors import Location, problem
from antt_batch.model import UNIT_TYPES
from antt_batch.text import fold, nfc

from antt_batch.catalog.types import (EXCEPTIONS, FIELD_TYPES, GENERATED_LISTS, KINDS, REGISTERS, SERIES, TABLES,
                                      _FIELD_ID, _ID, Catalog, CatalogError, Category, CodeList, Condition,
                                      Criterion, Field, Group, Item, Option, Read, ReadOption, UnitTypeInfo)

# --- loading and checking -----------------------------------------------------------------------------------------

_KEYS = {
    "catalog": {"version", "template_version", "legal_title", "legal_short", "options", "series", "unit_types"},
    "unit_type": {"label", "article", "period_start", "period_end", "lead_in"},
    "option": {"default", "choices", "help"},
    "codelist": {"label", "ordered", "items"}, "item": {"code", "label", "aliases"},
    "field": {"id", "label", "labels", "type", "codelist", "min", "max", "max_field", "unit", "unit_types",
              "required", "help", "khoan1", "year_end", "carry"},
    "category": {"code", "label", "levels", "level_required", "series", "help"},
    "group": {"id", "unit_type", "parent", "citation", "text", "title"},
    "criterion": {"id", "unit_type", "parent", "citation", "text", "kind", "fields", "reads", "exceptions", "khoan1",
                  "year_end", "registration", "na_when", "applies_when", "register", "imports", "extra_reads",
                  "series", "min_ratio", "min", "accept", "na_text"},
    "read": {"category", "min_level", "option"}, "read_option": {"name", "equals", "min_level"},
    "condition": {"field", "equals", "in", "warn"},
}
# What an import (XA-2:…, CSGD-3:…) takes from its source leaf and must not restate.
_INHERITED = {"text", "kind", "fields", "reads", "exceptions", "khoan1", "year_end", "na_when", "applies_when",
              "series", "min_ratio", "min", "accept", "na_text", "registration"}


class _Checker:
    """Collects every problem with its file and key, so one run lists everything there is to fix."""

    def __init__(self):
        self.problems: list = []

    def need(self, ok: Any, file: str, key: str, detail: str) -> bool:
        if not ok:
            self.problems.append(problem("config-error", Location(file=file, field=key), key=key, detail=detail))
        return bool(ok)


class _Rec:
    """Typed access to one TOML record: an unknown, missing or mistyped key becomes a problem, never a crash."""

    def __init__(self, data: Any, file: str, key: str, ck: _Checker, kind: str):
        self.d, self.file, self.key, self.ck = data if isinstance(data, dict) else {}, file, key, ck
        ck.need(isinstance(data, dict), file, key, "phải là một bảng (table)")
        for k in sorted(self.d.keys() - _KEYS[kind]):
            ck.need(False, file, f"{key}.{k}", "khóa không được hỗ trợ")

    def get(self, name: str, typ: type | tuple, default: Any = None, required: bool = False) -> Any:
        if name not in self.d:
            self.ck.need(not required, self.file, f"{self.key}.{name}", "thiếu giá trị bắt buộc")
            return default
        value, types = self.d[name], typ if isinstance(typ, tuple) else (typ,)
        ok = isinstance(value, types) and (bool in types or not isinstance(value, bool))
        return value if self.ck.need(ok, self.file, f"{self.key}.{name}", f"sai kiểu dữ liệu ({value!r})") else default

    def strs(self, name: str) -> tuple[str, ...]:
        items = self.get(name, list, [])
        ok = all(isinstance(x, str) for x in items)
        return tuple(items) if self.ck.need(ok, self.file, f"{self.key}.{name}", "phải là danh sách chuỗi") else ()

    def recs(self, name: str, kind: str) -> list[_Rec]:
        return [_Rec(x, self.file, f"{self.key}.{name}[{i}]", self.ck, kind)
                for i, x in enumerate(self.get(name, list, []))]

    def sub(self, name: str, kind: str) -> _Rec | None:
        value = self.get(name, dict)
        return None if value is None else _Rec(value, self.file, f"{self.key}.{name}", self.ck, kind)


def _name(raw: Any, key: str) -> str:
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, str) else "?"


def _read_toml(directory: Path, name: str, ck: _Checker) -> dict:
    try:
        data = tomllib.loads((directory / name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        ck.need(False, name, "", f"không đọc được tệp ({exc})")
        raise CatalogError(ck.problems) from exc
    _check_nfc(data, name, "", ck)
    return data


def _check_nfc(node: Any, file: str, path: str, ck: _Checker) -> None:
    """Every string, keys included: a non-NFC text would not match what readers normalise to NFC."""
    if isinstance(node, str):
        ck.need(node == nfc(node), file, path, "văn bản chưa ở dạng Unicode NFC")
    elif isinstance(node, dict):
        for k, v in node.items():
            _check_nfc(k, file, path, ck)
            _check_nfc(v, file, f"{path}.{k}" if path else k, ck)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            own = _name(v, "id") if _name(v, "id") != "?" else _name(v, "code")
            _check_nfc(v, file, own if own != "?" else f"{path}[{i}]", ck)


def _codelist(cid: str, raw: Any, ck: _Checker) -> CodeList:
    r = _Rec(raw, "codelists.toml", cid, ck, "codelist")
    items = [Item(i.get("code", str, "", True), i.get("label", str, "", True), i.strs("aliases"))
             for i in r.recs("items", "item")]
    seen: dict[str, str] = {}
    for it in items:   # one typed text must never mean two codes
        for key in {fold(k) for k in (it.code, it.code.replace("_", " "), it.label, *it.aliases)}:
            ck.need(seen.setdefault(key, it.code) == it.code, "codelists.toml", f"{cid}.{it.code}",
                    f"«{key}» trùng với mục {seen[key]}")
    ck.need(items, "codelists.toml", cid, "danh sách rỗng")
    return CodeList(cid, r.get("label", str, "", True), r.get("ordered", bool, False), tuple(items))


def _field(raw: Any, ck: _Checker) -> Field:
    r = _Rec(raw, "fields.toml", _name(raw, "id"), ck, "field")
    ftype, labels = r.get("type", str, "text", True), r.get("labels", dict, {})
    return Field(r.key, r.get("label", str, "", True), ftype, r.get("codelist", str, "CO_KHONG" if ftype == "bool"
                 else ""), r.get("min", (int, float)), r.get("max", (int, float)), r.strs("unit_types"),
                 r.get("required", bool, False), r.get("help", str, "", True), r.get("khoan1", bool, False),
                 r.get("year_end", bool, False), r.get("carry", bool, True), r.get("max_field", str, ""),
                 r.get("unit", str, ""), tuple((k, v) for k, v in labels.items() if isinstance(v, str)))


def _category(raw: Any, ck: _Checker) -> Category:
    r = _Rec(raw, "categories.toml", _name(raw, "code"), ck, "category")
    return Category(r.key, r.get("label", str, "", True), r.get("levels", str, ""),
                    r.get("level_required", bool, False), r.get("series", str, ""), r.get("help", str, "", True))


def _group(raw: Any, ck: _Checker) -> Group:
    r = _Rec(raw, "criteria.toml", _name(raw, "id"), ck, "group")
    return Group(r.key, r.get("unit_type", str, "", True), r.get("parent", str, ""),
                 r.get("citation", str, "", True), r.get("text", str, ""), r.get("title", str, "", True))


def _leaf(raw: Any, file: str, ck: _Checker, extra: bool) -> tuple[Criterion, tuple[Read, ...]]:
    """One leaf as written, plus its extra reads; an import's inherited keys are filled in by `_build`."""
    r = _Rec(raw, file, _name(raw, "id"), ck, "criterion")
    if r.get("imports", str):
        for k in sorted(_INHERITED & r.d.keys()):
            ck.need(False, file, f"{r.key}.{k}", f"được kế thừa từ {r.d['imports']}, không ghi lại")
    ratio = r.get("min_ratio", str)
    try:
        ratio = Fraction(ratio) if ratio is not None else None
    except (ValueError, ZeroDivisionError):
        ratio = ck.need(False, file, f"{r.key}.min_ratio", f"tỉ lệ không hợp lệ «{ratio}»") or None
    applies = r.sub("applies_when", "condition")
    return Criterion(
        r.key, r.get("unit_type", str, "", True), r.get("parent", str, ""), r.get("citation", str, "", True),
        r.get("text", str, ""), r.get("kind", str, ""), r.strs("fields"), _reads(r, "reads"), r.strs("exceptions"),
        r.get("khoan1", bool, False), r.get("year_end", bool, False), r.get("registration", bool, False),
        tuple(_condition(c) for c in r.recs("na_when", "condition")), applies and _condition(applies),
        r.get("register", str, "own"), r.get("imports", str, ""), r.strs("series"), ratio, r.get("min", int),
        r.strs("accept"), r.get("na_text", str, ""), extra), _reads(r, "extra_reads")


def _reads(r: _Rec, name: str) -> tuple[Read, ...]:
    out = []
    for rr in r.recs(name, "read"):
        o = rr.sub("option", "read_option")
        option = o and ReadOption(o.get("name", str, "", True), o.get("equals", str, "", True),
                                  o.get("min_level", str, "", True))
        out.append(Read(rr.get("category", str, "", True), rr.get("min_level", str), option))
    return tuple(out)


def _condition(r: _Rec) -> Condition:
    return Condition(r.get("field", str, "", True), r.d.get("equals"), r.strs("in"), r.get("warn", bool, False))


def _unique(records: list, file: str, ck: _Checker) -> dict:
    out: dict = {}
    for rec in records:
        key = getattr(rec, "id", None) or rec.code
        ck.need(key not in out, file, key, "mã bị trùng")
        out.setdefault(key, rec)
    return out


def _build(directory: Path, extras: list[dict], overrides: dict) -> Catalog:
    ck = _Checker()
    raw = {n: _read_toml(directory, f"{n}.toml", ck) for n in TABLES}
    top = _Rec(raw["catalog"], "catalog.toml", "catalog", ck, "catalog")
    specs = {}
    for name, value in top.get("options", dict, {}).items():
        r = _Rec(value, "catalog.toml", f"options.{name}", ck, "option")
        specs[name] = Option(name, r.get("default", str, "", True), r.strs("choices"), r.get("help", str, ""))
        ck.need(specs[name].default in specs[name].choices, "catalog.toml", r.key, "mặc định không nằm trong lựa chọn")
    options = {n: s.default for n, s in specs.items()}
    for name, value in overrides.items():
        if ck.need(name in specs and value in specs[name].choices, "antt.toml", f"options.{name}",
                   f"tùy chọn hoặc giá trị «{value}» không được hỗ trợ"):
            options[name] = value
    series = top.get("series", dict, {})
    ck.need(set(series) == set(SERIES), "catalog.toml", "series", f"phải gồm đúng {', '.join(SERIES)}")
    unit_types = {code: _unit_type(code, top, ck) for code in UNIT_TYPES}

    codelists = {cid: _codelist(cid, value, ck) for cid, value in raw["codelists"].items()}
    for cid in GENERATED_LISTS:
        ck.need(cid not in codelists, "codelists.toml", cid, "danh sách này được tạo tự động, không ghi trong tệp")
    fields = _unique([_field(f, ck) for f in raw["fields"].get("field", [])], "fields.toml", ck)
    categories = _unique([_category(c, ck) for c in raw["categories"].get("category", [])], "categories.toml", ck)
    levels: dict[str, Item] = {}
    for cat in categories.values():
        for it in codelists[cat.levels].items if cat.levels in codelists else ():
            ck.need(levels.setdefault(it.code, it) == it, "codelists.toml", it.code, "một mã mức độ có hai nhãn")
    codelists["MUC_DO"] = CodeList("MUC_DO", "Mức độ", False, tuple(levels.values()))
    codelists["LOAI_VU_VIEC"] = CodeList("LOAI_VU_VIEC", "Loại vụ việc", False,
                                         tuple(Item(c.code, c.label) for c in categories.values()))
    _check_fields(fields, codelists, ck)
    _check_categories(categories, codelists, ck)

    groups = _unique([_group(g, ck) for g in raw["criteria"].get("group", [])], "criteria.toml", ck)
    _check_nfc(extras, "antt.toml", "extra_criteria", ck)
    pending = [(*_leaf(c, "criteria.toml", ck, False), "criteria.toml") for c in raw["criteria"].get("criterion", [])]
    pending += [(*_leaf(c, "antt.toml", ck, True), "antt.toml") for c in extras]
    criteria: dict[str, Criterion] = {}
    for leaf, extra_reads, file in pending:
        if not ck.need(leaf.id not in criteria and leaf.id not in groups, file, leaf.id, "mã tiêu chí bị trùng"):
            continue
        if leaf.imports:
            src = criteria.get(leaf.imports)
            if not ck.need(src and not src.imports and not src.extra, file, f"{leaf.id}.imports",
                           f"tiêu chí nguồn «{leaf.imports}» không tồn tại hoặc không hợp lệ"):
                continue
            leaf = replace(src, id=leaf.id, unit_type=leaf.unit_type, parent=leaf.parent, citation=leaf.citation,
                           register=leaf.register, imports=leaf.imports, reads=src.reads + extra_reads,
                           registration=False, extra=leaf.extra)
        else:
            ck.need(not extra_reads, file, f"{leaf.id}.extra_reads", "chỉ dùng cho tiêu chí dẫn chiếu (imports)")
        criteria[leaf.id] = leaf
    parts = {"fields": fields, "categories": categories, "codelists": codelists, "groups": groups, "options": specs}
    for c in criteria.values():
        _check_leaf(c, parts, "antt.toml" if c.extra else "criteria.toml", ck)
    groups = _link_groups(groups, criteria, ck)
    _check_coverage(categories, criteria, ck)
    if ck.problems:
        raise CatalogError(ck.problems)
    ro = MappingProxyType
    return Catalog(top.get("version", str, ""), top.get("template_version", int, 0), top.get("legal_title", str, ""),
                   top.get("legal_short", str, ""), ro(options), ro(specs), ro(dict(series)), ro(unit_types),
                   ro(codelists), ro(fields), ro(categories), ro(criteria), ro(groups))


def _unit_type(code: str, top: _Rec, ck: _Checker) -> UnitTypeInfo:
    r = _Rec(top.get("unit_types", dict, {}).get(code), "catalog.toml", f"unit_types.{code}", ck, "unit_type")
    start, end = (tuple(r.get(k, list, [1, 1], True)) for k in ("period_start", "period_end"))
    try:   # year_of() relies on each period starting the day after the previous one ends
        ok = date(2001, *end) + timedelta(days=1) == date(2001, *start)
    except (TypeError, ValueError):
        ok = False
    ck.need(ok, "catalog.toml", r.key, "kỳ đánh giá phải bắt đầu ngay sau ngày cuối của kỳ trước")
    return UnitTypeInfo(code, r.get("label", str, "", True), r.get("article", str, "", True), start, end,
                        r.get("lead_in", str, ""))


def _check_fields(fields: dict, codelists: dict, ck: _Checker) -> None:
    for f in fields.values():
        def need(ok: Any, key: str, detail: str) -> None:
            ck.need(ok, "fields.toml", f"{f.id}.{key}", detail)
        need(_FIELD_ID.match(f.id), "id", "mã trường chỉ gồm chữ thường không dấu, số và gạch dưới")
        need(f.type in FIELD_TYPES, "type", f"kiểu «{f.type}» không được hỗ trợ")
        need((f.type in ("code", "bool")) == bool(f.codelist) and (not f.codelist or f.codelist in codelists),
             "codelist", f"danh mục «{f.codelist}» không hợp lệ cho kiểu {f.type}")
        need(f.unit_types and set(f.unit_types) <= set(UNIT_TYPES), "unit_types", "loại đơn vị không hợp lệ")
        need(set(dict(f.labels)) <= set(f.unit_types), "labels", "nhãn riêng cho loại đơn vị không dùng trường này")
        need(f.min is None or f.max is None or f.min <= f.max, "min", "min lớn hơn max")
        need(not f.max_field or (f.max_field in fields and fields[f.max_field].type == f.type), "max_field",
             f"trường «{f.max_field}» không tồn tại hoặc khác kiểu")
        need(not f.khoan1 or f.type == "date", "khoan1", "chỉ trường ngày của văn bản Quý I mới có khoan1")


def _check_categories(categories: dict, codelists: dict, ck: _Checker) -> None:
    for c in categories.values():
        ck.need(not c.levels or (c.levels in codelists and codelists[c.levels].ordered), "categories.toml",
                f"{c.code}.levels", f"danh mục mức độ «{c.levels}» không tồn tại hoặc không có thứ tự")
        ck.need(c.levels or not c.level_required, "categories.toml", f"{c.code}.level_required",
                "bắt buộc mức độ nhưng không có danh mục mức độ")
        ck.need(not c.series or c.series in SERIES, "categories.toml", f"{c.code}.series",
                f"nhóm thống kê «{c.series}» không hợp lệ")


def _check_leaf(c: Criterion, p: dict, file: str, ck: _Checker) -> None:
    def need(ok: Any, key: str, detail: str) -> bool:
        return ck.need(ok, file, f"{c.id}.{key}" if key else c.id, detail)
    fields, cats, lists = p["fields"], p["categories"], p["codelists"]
    need(_ID.match(c.id), "", "mã tiêu chí chỉ gồm chữ in hoa không dấu, số và các dấu - . :")
    need(c.extra or (c.id.startswith(f"{c.unit_type}-") and (not c.imports or c.id == f"{c.parent}:{c.imports}")),
         "", "mã tiêu chí quốc gia bắt đầu bằng loại đơn vị; tiêu chí dẫn chiếu có mã <nhóm cha>:<tiêu chí nguồn>")
    need(c.unit_type in UNIT_TYPES, "unit_type", f"loại đơn vị «{c.unit_type}» không hợp lệ")
    need(not c.parent or (c.parent in p["groups"] and p["groups"][c.parent].unit_type == c.unit_type), "parent",
         f"nhóm cha «{c.parent}» không tồn tại hoặc khác loại đơn vị")
    need(c.text.strip() and c.citation.strip(), "", "thiếu nội dung (text) hoặc căn cứ (citation)")
    kind = KINDS.get(c.kind)
    if not need(kind, "kind", f"loại tiêu chí «{c.kind}» không được hỗ trợ"):
        return
    need(c.unit_type in kind.unit_types, "kind", f"loại tiêu chí {c.kind} không dùng cho {c.unit_type}")
    want = [t for t in kind.fields.split(",") if t]
    if want == ["bool+"]:
        want = ["bool"] * max(len(c.fields), 1)
    got = [fields[f].type if f in fields and c.unit_type in fields[f].unit_types else "?" for f in c.fields]
    need(got == want, "fields", f"loại {c.kind} cần các trường kiểu {want}, có {list(c.fields)}")
    for key, has in (("reads", c.reads), ("series", c.series), ("min_ratio", c.min_ratio is not None),
                     ("min", c.min is not None), ("accept", c.accept)):
        need(getattr(kind, key) == bool(has), key, f"loại {c.kind} {'cần' if getattr(kind, key) else 'không dùng'} "
             "khóa này")
    for r in c.reads:
        levels = lists.get(cats[r.category].levels) if r.category in cats else None
        need(r.category in cats, "reads", f"loại vụ việc «{r.category}» không tồn tại")
        for lvl in (r.min_level, r.option and r.option.min_level):
            need(lvl is None or (levels and lvl in levels.codes), "reads", f"mức độ «{lvl}» không hợp lệ")
        need(not r.option or r.option.equals in getattr(p["options"].get(r.option.name), "choices", ()), "reads",
             f"tùy chọn «{r.option and r.option.name}» không tồn tại")
    need(set(c.series) <= set(SERIES), "series", "nhóm thống kê không hợp lệ")
    need(c.min_ratio is None or 0 < c.min_ratio <= 1, "min_ratio", "tỉ lệ phải lớn hơn 0 và không quá 1")
    need(c.min is None or c.min >= 0, "min", "số tối thiểu không được âm")
    codes = lists[fields[c.fields[0]].codelist].codes if c.accept and got == want else ()
    need(set(c.accept) <= set(codes), "accept", "mã chấp nhận không có trong danh mục của trường")
    need(set(c.exceptions) <= set(EXCEPTIONS), "exceptions", f"ngoại lệ chỉ có thể là {', '.join(EXCEPTIONS)}")
    need(c.register in REGISTERS, "register", f"sổ vụ việc «{c.register}» không hợp lệ")
    need(not c.registration or c.kind == "dated_q1", "registration", "tiêu chí đăng ký phải là loại dated_q1")
    for key, cond in [("na_when", x) for x in c.na_when] + ([("applies_when", c.applies_when)] if c.applies_when
                                                            else []):
        f = fields.get(cond.field)
        if need(f and c.unit_type in f.unit_types, key, f"trường «{cond.field}» không dùng cho {c.unit_type}"):
            need((key == "applies_when") == bool(cond.in_) and all(_value_ok(f, v, lists) for v in cond.in_ or
                 (cond.equals,)), key, f"giá trị so sánh không hợp lệ cho trường «{cond.field}»")


def _value_ok(f: Field, value: Any, lists: dict) -> bool:
    if f.type == "bool" or isinstance(value, bool):
        return f.type == "bool" and isinstance(value, bool)
    if f.type in ("int", "decimal"):
        return isinstance(value, int) or (f.type == "decimal" and isinstance(value, float))
    return isinstance(value, str) and (f.type != "code" or value in getattr(lists.get(f.codelist), "codes", ()))


def _link_groups(groups: dict, criteria: dict, ck: _Checker) -> dict:
    children: dict[str, list[str]] = {g: [] for g in groups}
    for g in groups.values():
        ck.need(_ID.match(g.id) and g.id.startswith(f"{g.unit_type}-") and g.unit_type in UNIT_TYPES, "criteria.toml",
                g.id, "mã nhóm bắt đầu bằng loại đơn vị và chỉ gồm chữ in hoa, số, - . :")
        ck.need(not g.parent or (g.parent in groups and groups[g.parent].unit_type == g.unit_type), "criteria.toml",
                f"{g.id}.parent", f"nhóm cha «{g.parent}» không tồn tại hoặc khác loại đơn vị")
    for c in criteria.values():   # children in the order of their first leaf: KDC-4.a, 4.b, 4.c, 4.d
        node, parent = c.id, c.parent
        while parent in children and node not in children[parent]:
            children[parent].append(node)
            node, parent = parent, groups[parent].parent
    for gid, kids in children.items():
        ck.need(kids, "criteria.toml", gid, "nhóm không có tiêu chí con")
    return {gid: replace(g, children=tuple(children[gid])) for gid, g in groups.items()}


def _check_coverage(categories: dict, criteria: dict, ck: _Checker) -> None:
    """Every category must feed a criterion (or a YoY series), and every unit type has one registration leaf."""
    read = {r.category for c in criteria.values() for r in c.reads}
    counted = {s for c in criteria.values() if c.kind == "yoy" for s in c.series}
    for cat in categories.values():
        ck.need(cat.code in read or cat.series in counted, "categories.toml", cat.code,
                "loại vụ việc không được tiêu chí nào sử dụng")
    for ut in UNIT_TYPES:
        n = sum(1 for c in criteria.values() if c.unit_type == ut and c.registration and not c.extra)
        ck.need(n == 1, "criteria.toml", ut, f"cần đúng một tiêu chí đăng ký (registration) cho {ut}, có {n}")

