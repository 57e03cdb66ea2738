"""The workspace: `antt.toml` (commune identity, unit registry, deadlines, baselines) and the folders around it.

Configuration problems are reported like data errors (file, key, Vietnamese message) and stop only the command
that needs the configuration (spec §2).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from antt_batch.errors import AnttError, Location, Problem, problem
from antt_batch.model import Recognition, Unit
from antt_batch.text import fold, nfc

CONFIG_NAME = "antt.toml"
UNIT_TYPES_IN_REGISTRY = ("KDC", "CQDN", "CSGD")
RECOGNISED_BY = ("xa", "tinh", "bo")
PLACEHOLDER_MARKS = ("CẦN ĐIỀN", "CAN-DIEN")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
DISTRICT_WORDS = re.compile(r"\b(huyện|quận|thị xã)\b", re.IGNORECASE)
REFORM_PERIOD = "2025-07"
SUBTYPE_KEYS = ("loai_hinh", "thuoc_llvt", "linh_vuc", "so_lao_dong_bhxh", "doanh_thu_ty", "tong_nguon_von_ty",
                "duoi_mot_nam", "cap_hoc")


@dataclass
class Workspace:
    root: Path
    commune: Unit
    units: list[Unit]
    forward_to: str = ""
    forward_to_email: str = ""
    committee_name: str = "Ban Chỉ đạo 138"
    deadline_day: int = 5
    output_dir: Path = Path("output")
    redact_descriptions: bool = False
    recognition: dict[int, Recognition] = field(default_factory=dict)
    extra_criteria: list[dict] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    ntm_indicator: str = "chỉ tiêu 19.2"
    warnings: list[Problem] = field(default_factory=list)
    _by_code: dict[str, Unit] = field(default_factory=dict, repr=False, compare=False)

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def db_path(self) -> Path:
        return self.root / "antt.sqlite"

    @property
    def store_dir(self) -> Path:
        return self.root / "store"

    def inbox(self, period: str) -> Path:
        return self.root / "inbox" / period

    def all_units(self) -> list[Unit]:
        """Every reporting unit, the commune last (its template and data row use the commune code)."""
        return [*self.units, self.commune]

    def find(self, code: str) -> Unit | None:
        if len(self._by_code) != len(self.units) + 1:   # built on first use: a province-size registry is 10k units
            self._by_code = {u.code: u for u in self.all_units()}
        return self._by_code.get(code)

    def suggest(self, code: str) -> Unit | None:
        """The registered unit a mistyped code or name most likely meant (accent- and case-insensitive)."""
        def key(text: str) -> str:   # "XOM 1", "xom-01", "Xóm 01" all -> "xom1"
            return re.sub(r"(?<!\d)0+(?=\d)", "", re.sub(r"[\s_-]", "", fold(text)))

        wanted = key(code)
        return next((u for u in self.all_units() for c in (u.code, u.name) if key(c) == wanted), None) \
            if wanted else None

    def period_warnings(self, period: str) -> list[Problem]:
        """`config-outdated`: the recipient is a district-level body although the period is after the reform."""
        if period >= REFORM_PERIOD and DISTRICT_WORDS.search(self.forward_to or ""):
            return [problem("config-outdated", Location(file=CONFIG_NAME, field="commune.forward_to"),
                            key="commune.forward_to", value=self.forward_to)]
        return []


class _Checker:
    """Collects config problems with their key, so one run reports all of them at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, key: str, detail: str) -> None:
        self.problems.append(problem("config-error", Location(file=CONFIG_NAME, field=key), key=key, detail=detail))

    def placeholder(self, key: str, value: str) -> None:
        self.problems.append(problem("config-placeholder", Location(file=CONFIG_NAME, field=key), key=key,
                                     value=value))

    def text(self, table: dict, key: str, where: str, required: bool = True) -> str:
        value = table.get(key, "")
        if not isinstance(value, str):
            self.error(f"{where}.{key}", "phải là chuỗi ký tự")
            return ""
        value = nfc(value.strip())
        if required and not value:
            self.error(f"{where}.{key}", "thiếu giá trị")
        elif any(mark in value for mark in PLACEHOLDER_MARKS):
            self.placeholder(f"{where}.{key}", value)
        return value

    def code(self, table: dict, where: str) -> str:
        value = self.text(table, "code", where)
        if value and not CODE_RE.match(value):
            self.error(f"{where}.code", f"mã «{value}» chỉ được gồm chữ cái không dấu, chữ số, '-' và '_'")
        return value

    def baselines(self, table: dict, where: str) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = {}
        for year, counts in (table.get("baselines") or {}).items():
            if not (str(year).isdigit() and isinstance(counts, dict)):
                self.error(f"{where}.baselines.{year}", "năm phải là số, ví dụ [units.baselines.2024]")
                continue
            for series, count in counts.items():
                if not isinstance(count, int) or count < 0:
                    self.error(f"{where}.baselines.{year}.{series}", "phải là số nguyên không âm")
            out[int(year)] = {k: v for k, v in counts.items() if isinstance(v, int)}
        return out

    def dates(self, table: dict, where: str) -> tuple[date | None, date | None]:
        values = []
        for key in ("active_from", "active_to"):
            value = table.get(key)
            if value is not None and not isinstance(value, date):
                self.error(f"{where}.{key}", "phải là ngày dạng YYYY-MM-DD (ví dụ 2025-01-01)")
                value = None
            values.append(value)
        return values[0], values[1]


def _unit(chk: _Checker, table: dict, where: str, unit_type: str) -> Unit:
    emails = tuple(str(e).strip().lower() for e in table.get("emails", []) if str(e).strip())
    recognised_by = table.get("recognised_by", "xa")
    if recognised_by not in RECOGNISED_BY:
        chk.error(f"{where}.recognised_by", f"phải là một trong {', '.join(RECOGNISED_BY)}")
    in_scope = table.get("in_scope")
    if in_scope is not None and not isinstance(in_scope, bool):
        chk.error(f"{where}.in_scope", "phải là true hoặc false")
        in_scope = None
    active_from, active_to = chk.dates(table, where)
    return Unit(code=chk.code(table, where), name=chk.text(table, "name", where), type=unit_type, emails=emails,
                recognised_by=recognised_by, in_scope=in_scope, scope_reason=nfc(str(table.get("scope_reason", ""))),
                active_from=active_from, active_to=active_to,
                subtype={k: table[k] for k in SUBTYPE_KEYS if k in table},
                baselines=chk.baselines(table, where))


def _recognition(chk: _Checker, raw: dict) -> dict[int, Recognition]:
    out = {}
    for year, entry in (raw or {}).items():
        where = f"recognition.{year}"
        if not str(year).isdigit() or not isinstance(entry, dict):
            chk.error(where, "phải có dạng [recognition.2025] với decision, date, units")
            continue
        day = entry.get("date")
        if day is not None and not isinstance(day, date):
            chk.error(f"{where}.date", "phải là ngày dạng YYYY-MM-DD")
            day = None
        out[int(year)] = Recognition(int(year), nfc(str(entry.get("decision", ""))), day,
                                     tuple(str(c) for c in entry.get("units", [])))
    return out


LARGE_CONFIG = 64 * 1024   # characters: below this tomllib takes < ~15 ms, and a cache file is not worth keeping


def _toml(text: str) -> dict:
    """The parsed TOML; a large registry's is cached by content (10,000 units: tomllib 0.25 s, unpickling 14 ms)."""
    if len(text) < LARGE_CONFIG:
        return tomllib.loads(text)
    from antt_batch.catalog.cache import cached
    return cached("config", [text.encode()], lambda: tomllib.loads(text))


def parse_config(text: str, root: Path) -> Workspace:
    """Build a `Workspace` from the text of antt.toml; raise AnttError listing every config error at once."""
    chk = _Checker()
    try:
        raw = _toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise AnttError([problem("config-error", Location(file=CONFIG_NAME), key="(cú pháp)",
                                 detail=f"tệp không đúng cú pháp TOML: {exc}")]) from None
    commune_raw = raw.get("commune")
    if not isinstance(commune_raw, dict):
        chk.error("commune", "thiếu bảng [commune] (mã, tên xã, nơi nhận báo cáo)")
        commune_raw = {}
    commune = _unit(chk, commune_raw, "commune", "XA")
    units: list[Unit] = []
    seen = {commune.code} if commune.code else set()
    for i, table in enumerate(raw.get("units", []), start=1):
        where = f"units[{i}]"
        unit_type = table.get("type", "")
        if unit_type == "XA":
            chk.error(f"{where}.type", "xã không khai báo trong [[units]]; thông tin xã nằm ở bảng [commune]")
            continue
        if unit_type not in UNIT_TYPES_IN_REGISTRY:
            chk.error(f"{where}.type", f"loại «{unit_type}» không hợp lệ; chỉ dùng KDC, CQDN hoặc CSGD")
        unit = _unit(chk, table, where, unit_type)
        if unit.code in seen:
            chk.error(f"{where}.code", f"mã «{unit.code}» bị trùng")
        seen.add(unit.code)
        units.append(unit)
    deadline = commune_raw.get("deadline_day", 5)
    if not isinstance(deadline, int) or not 1 <= deadline <= 28:
        chk.error("commune.deadline_day", "phải là số ngày từ 1 đến 28")
        deadline = 5
    forward_to = chk.text(commune_raw, "forward_to", "commune")
    ws = Workspace(
        root=root, commune=commune, units=units, forward_to=forward_to,
        forward_to_email=chk.text(commune_raw, "forward_to_email", "commune", required=False),
        committee_name=chk.text(commune_raw, "committee_name", "commune", required=False) or "Ban Chỉ đạo 138",
        deadline_day=deadline, output_dir=(root / str(raw.get("output_dir", "output"))).resolve(),
        redact_descriptions=bool(raw.get("redact_descriptions", False)),
        recognition=_recognition(chk, raw.get("recognition")),
        extra_criteria=list(raw.get("extra_criteria", [])), options=dict(raw.get("options", {})),
        ntm_indicator=nfc(str(commune_raw.get("ntm_indicator", "chỉ tiêu 19.2"))))
    errors = [p for p in chk.problems if p.is_error]
    if errors:
        raise AnttError(errors)
    ws.warnings = chk.problems
    return ws


def load_workspace(root: Path) -> Workspace:
    root = Path(root)
    path = root / CONFIG_NAME
    if not path.is_file():
        raise AnttError([problem("config-error", Location(file=CONFIG_NAME), key="(tệp)",
                                 detail=f"không tìm thấy {path}; tạo mới bằng lệnh antt-batch init")])
    try:   # Notepad may save "UTF-8 with BOM"; an ANSI (cp1258) file cannot be read as Vietnamese text
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AnttError([problem("config-error", Location(file=CONFIG_NAME), key="(mã hóa)",
                                 detail="tệp không lưu ở dạng UTF-8; mở bằng Notepad, chọn Lưu thành… › Mã hóa UTF-8")]
                        ) from None
    return parse_config(text, root.resolve())
