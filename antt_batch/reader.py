"""Read one workbook's raw content: defined names, their cell values and the incident register (spec §4, §8).

`read_workbook` never raises: the container gate runs first, then workbook-level names come from xl/workbook.xml
(the gate's defusedxml parse, so names written by LibreOffice as `&apos;Báo cáo&apos;!$B$4` resolve), and cell
values come from python-calamine (fast, no openpyxl). Values are kept as calamine returns them (str, float, int,
bool, date, datetime, time; blank -> None); normalising and identity checks are the caller's job.
Run it in a worker process (`antt_batch.worker`): a native crash of the parser must only cost that file.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from . import limits
from .container import fmt_int, gate
from .errors import Location, Problem, problem
from .text import safe_display_name

REGISTER_NAME = "vu_viec"
REGISTER_COLUMNS = 9          # ngay, loai, muc_do, bat_kha_khang, kip_thoi_phat_hien, giam_thieu_hau_qua,
                              # bao_cao_ngay, ma_vu_viec, mo_ta (spec §4)

_A1 = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})(?::\$?([A-Za-z]{1,3})\$?(\d{1,7}))?")
_UNQUOTED_FORBIDDEN = set("'[]:*?/\\!,() ")


class NameRef(NamedTuple):
    """Where a defined name points: its sheet, the A1 reference without `$` ("B4" or "A1:I201")."""

    sheet: str
    ref: str
    cell: str                 # first (top-left) cell, A1

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """(first row, first column, last row, last column), 1-based."""
        return _bounds(self.ref)

    @property
    def is_cell(self) -> bool:
        r1, c1, r2, c2 = _bounds(self.ref)
        return r1 == r2 and c1 == c2


@dataclass(frozen=True)
class RegisterRow:
    row: int                  # Excel row (1-based)
    values: tuple             # the 9 register columns from the range's first column; blank -> None
    outside: bool = False     # typed below the `vu_viec` range (warning `incident-outside-register`)


@dataclass
class RawWorkbook:
    names: dict[str, NameRef] = field(default_factory=dict)   # workbook-level names on an existing sheet
    values: dict[str, object] = field(default_factory=dict)   # every single-cell name -> raw value (None: blank)
    sheet_names: tuple[str, ...] = ()
    register_sheet: str = ""                                  # "" when there is no `vu_viec` name
    register_header_row: int = 0
    register_last_row: int = 0
    header: tuple = ()
    register: list[RegisterRow] = field(default_factory=list)


@dataclass
class ReadResult:
    """`workbook` is None when the file could not be read at all; an error in `problems` rejects the file even
    when `workbook` is present (it is kept so the caller can still tell which unit sent the file)."""

    workbook: RawWorkbook | None
    problems: list[Problem] = field(default_factory=list)


def read_workbook(data: bytes, display: str) -> ReadResult:
    """Gate, then read names, values and register. Any exception of a library becomes `reader-crashed`."""
    name = safe_display_name(display)
    try:
        checked = gate(data, display)
        if checked.problems:
            return ReadResult(None, checked.problems)
        return _read(data, name, checked)
    except Exception as exc:                                    # a library failing on a malformed file
        return ReadResult(None, [problem("reader-crashed", Location(file=name), detail=describe_exception(exc))])


def describe_exception(exc: BaseException) -> str:
    """Vietnamese detail for a library failure; only the exception's type name (no English text) is shown."""
    return f"bảng tính bị hỏng, không phân tích được ({type(exc).__name__})"


def defined_names(root) -> dict[str, NameRef]:
    """Workbook-level names (no localSheetId) that point at one cell or one rectangular range of one sheet."""
    names: dict[str, NameRef] = {}
    container = next((child for child in root if child.tag.endswith("definedNames")), None) if root else None
    for item in () if container is None else container:
        key = item.get("name") or ""
        if item.get("localSheetId") is not None or key.startswith("_xlnm.") or key in names:
            continue
        ref = parse_reference(item.text or "")
        if ref is not None:                                      # else constants, formulas, #REF!, several areas
            names[key] = ref
    return names


_shared_names = lru_cache(maxsize=64)(defined_names)    # a batch's files share their template's workbook.xml tree


@lru_cache(maxsize=4096)
def parse_reference(formula: str) -> NameRef | None:
    """`'Báo cáo'!$B$4` (quotes doubled inside) or `Sheet1!$A$1:$I$201` -> NameRef; anything else -> None.

    Cached: every file of a batch carries the same template formulas, and NameRef is immutable."""
    sheet, bang, cells = formula.strip().removeprefix("=").rpartition("!")
    if not bang or not sheet:
        return None
    if sheet[0] == "'":
        inner = sheet[1:-1]
        if len(sheet) < 3 or sheet[-1] != "'" or "'" in inner.replace("''", ""):
            return None
        sheet = inner.replace("''", "'")
    elif not _UNQUOTED_FORBIDDEN.isdisjoint(sheet):
        return None
    match = _A1.fullmatch(cells.strip())
    if not match:
        return None
    c1, r1, c2, r2 = match.groups()
    if int(r1) < 1 or (r2 is not None and int(r2) < 1):
        return None
    first = f"{c1.upper()}{int(r1)}"
    return NameRef(sheet, f"{first}:{c2.upper()}{int(r2)}" if c2 else first, first)


def _read(data: bytes, file: str, checked) -> ReadResult:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        return _read_book(book, file, checked)
    finally:
        book.close()


def _name_plan(found: dict[str, NameRef], sheet_names: tuple[str, ...]):
    """The names that point at an existing sheet, and (name, sheet, row, column) of those that are one cell."""
    names = {k: v for k, v in found.items() if v.sheet in sheet_names}
    return names, tuple((key, ref.sheet, *ref.bounds[:2]) for key, ref in names.items() if ref.is_cell)


@lru_cache(maxsize=64)
def _shared_plan(root, sheet_names: tuple[str, ...]):
    """`_name_plan` of a workbook.xml tree shared by a batch's files (see `container.Gate.shared_root`)."""
    return _name_plan(_shared_names(root), sheet_names)


def _read_book(book, file: str, checked) -> ReadResult:
    sheet_names = tuple(book.sheet_names)
    names, cells = (_shared_plan(checked.root, sheet_names) if checked.shared_root
                    else _name_plan(defined_names(checked.root), sheet_names))
    raw = RawWorkbook(names=dict(names), sheet_names=sheet_names)
    problems: list[Problem] = []
    grids = {}
    for sheet in sorted({ref.sheet for ref in names.values()}):
        grid = _load(book, sheet, file, problems, checked.largest_part)
        if grid is None:
            return ReadResult(raw, problems)
        grids[sheet] = grid
    for key, sheet, row, col in cells:
        raw.values[key] = grids[sheet].get(row, col)
    register = names.get(REGISTER_NAME)
    if register is not None:
        _read_register(raw, register, grids[register.sheet], file, problems)
    return ReadResult(raw, problems)


class _Grid:
    """A loaded sheet: calamine's rows from its first non-empty cell, addressed by 1-based Excel row/column."""

    def __init__(self, rows: list[list], top: int, left: int):
        self.rows, self.top, self.left = rows, top, left
        self.last_row = top + len(rows) - 1

    def get(self, row: int, col: int):
        r, c = row - self.top, col - self.left
        if 0 <= r < len(self.rows) and 0 <= c < len(self.rows[r]):
            value = self.rows[r][c]
            return None if value == "" else value
        return None

    def raw_span(self, row: int, col: int, width: int) -> list:
        """`width` cells of one row from `col`, as calamine gives them ("" for blank)."""
        r, c = row - self.top, col - self.left
        line = self.rows[r] if 0 <= r < len(self.rows) else []
        values = [""] * min(-c, width) + line[max(c, 0):max(c + width, 0)] if c < 0 else line[c:c + width]
        return values + [""] * (width - len(values))

    def span(self, row: int, col: int, width: int) -> tuple:
        return tuple(None if v == "" else v for v in self.raw_span(row, col, width))


def _load(book, sheet: str, file: str, problems: list[Problem], text_bound: int) -> _Grid | None:
    """Load one sheet and enforce the exact cell-count and cell-text limits (the gate only bounded them).

    `text_bound` is the most characters a cell can hold (the largest inflated part); below the limit the per-cell
    scan is skipped."""
    loaded = book.get_sheet_by_name(sheet)
    start = loaded.start
    if start is None:
        return _Grid([], 1, 1)
    area = loaded.height * loaded.width
    if area > limits.MAX_SHEET_CELLS:
        problems.append(problem("too-large", Location(file=file, sheet=sheet),
                                detail=f"trang «{sheet}» có {fmt_int(area)} ô, "
                                       f"tối đa {fmt_int(limits.MAX_SHEET_CELLS)}"))
        return None
    rows = loaded.to_python(skip_empty_area=True)
    top, left = start[0] + 1, start[1] + 1
    for i, row in enumerate(rows if text_bound > limits.MAX_CELL_TEXT else ()):
        for j, value in enumerate(row):
            if type(value) is str and len(value) > limits.MAX_CELL_TEXT:
                cell = f"{column_letters(left + j)}{top + i}"
                problems.append(problem("too-large", Location(file=file, sheet=sheet, cell=cell),
                                        detail=f"ô {cell} của trang «{sheet}» có {fmt_int(len(value))} ký tự, "
                                               f"tối đa {fmt_int(limits.MAX_CELL_TEXT)}"))
    return _Grid(rows, top, left)


def _read_register(raw: RawWorkbook, ref: NameRef, grid: _Grid, file: str, problems: list[Problem]) -> None:
    """Every non-blank row below the header, inside the range or typed below it (flagged), never dropped."""
    header_row, first_col, last_row, _ = ref.bounds
    raw.register_sheet, raw.register_header_row, raw.register_last_row = ref.sheet, header_row, last_row
    raw.header = grid.span(header_row, first_col, REGISTER_COLUMNS)
    width, offset = REGISTER_COLUMNS, first_col - grid.left
    for index in range(max(header_row + 1 - grid.top, 0), len(grid.rows)):
        if offset >= 0:                                          # the common case, decided at C speed
            cells = grid.rows[index][offset:offset + width]
            if cells.count("") == len(cells):
                continue
        row = grid.top + index
        values = grid.span(row, first_col, width)
        if all(v is None or (type(v) is str and not v.strip()) for v in values):
            continue
        if len(raw.register) == limits.MAX_INCIDENT_ROWS:
            problems.append(problem("too-large", Location(file=file, sheet=ref.sheet, row=row),
                                    detail=f"hơn {fmt_int(limits.MAX_INCIDENT_ROWS)} dòng vụ việc"))
            return
        raw.register.append(RegisterRow(row, values, outside=row > last_row))


@lru_cache(maxsize=4096)
def _bounds(ref: str) -> tuple[int, int, int, int]:
    first, _, last = ref.partition(":")
    (r1, c1), (r2, c2) = _split_a1(first), _split_a1(last or first)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def _split_a1(a1: str) -> tuple[int, int]:
    letters = a1.rstrip("0123456789")
    return int(a1[len(letters):]), column_number(letters)


def column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rem = divmod(number - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
