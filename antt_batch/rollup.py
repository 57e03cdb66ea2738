"""`antt-batch rollup`: consolidate lower-level output workbooks through their `data` + `manifest` sheets (§7, §9.1).

Each input is checked (readable, carries the contract, `data` unedited, same catalog version, same period, no unit
twice) and a bad one is left out and listed in `Lỗi dữ liệu`; nothing here raises for bad input. The output has
the same shape as a commune workbook: this level's own CAP_TREN row, then each input's top row re-parented to
`--code`, then every row beneath it unchanged, so roll-ups of roll-ups work to any depth.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from antt_batch import __version__
from antt_batch.errors import Location, Problem, problem
from antt_batch.limits import MAX_MEMBER_RATIO, RATIO_MIN_BYTES
from antt_batch.model import DAT, LedgerEntry
from antt_batch.report import FAILED_COLUMNS, LEDGER_COLUMNS, MATRICES, PROBLEM_COLUMNS, ledger_rows, problem_rows
from antt_batch.report.book import WriteResult, write_workbook
from antt_batch.report.data import (MANIFEST_KEYS, META_COLUMNS, UPPER_LEVEL, combined_sha256, data_header,
                                    data_sha256, round_half_up, upper_level_row)
from antt_batch.report.sheets import (Column, DataSheet, ListSheet, manifest_sheet, matrix_sheet, month_label,
                                      offload_cells, summary_sheet)
from antt_batch.report.summary import period_label, rollup_summary
from antt_batch.text import safe_display_name

#: Largest declared uncompressed size of one input workbook. A province's roll-up (~10,000 rows) inflates to
#: ~30 MiB and the national one (~85,000 rows) to ~250 MiB; python-calamine aborts the process on a 1.1 GiB bomb.
MAX_ROLLUP_UNCOMPRESSED = 768 * 1024 * 1024
INPUT_COLUMNS = [Column("Tệp", 30), Column("Mã đơn vị", 14), Column("Tên đơn vị", 28), Column("Kỳ báo cáo", 10),
                 Column("Số liệu đến ngày", 12, "date"), Column("Thời điểm lập", 16, "datetime"),
                 Column("Số dòng", 9, "int"), Column("Kết quả", 16)]
INCIDENT_COLUMNS = [Column("Mã đơn vị", 14), Column("Tên đơn vị", 28), Column("Ngày", 11, "date"),
                    Column("Loại vụ việc", 30), Column("Mức độ", 14), Column("Tiêu chí bị ảnh hưởng", 24)]
NO_INCIDENTS = ("Vụ việc không thuộc dữ liệu gửi lên cấp trên (trang «data»); "
                "xem trang «Vụ việc» trong báo cáo của từng đơn vị cấp dưới.")


@dataclass
class RollupResult:
    path: Path | None                 # None when no input could be used (nothing written)
    locked: bool                      # written beside a locked target; `problems` then ends with output-locked
    problems: list[Problem]
    accepted: list[Path] = field(default_factory=list)
    rejected: list[Path] = field(default_factory=list)
    rows: int = 0                     # data rows written, this level's own row included


@dataclass
class _Input:
    path: Path
    display: str
    sha256: str                       # of the file's bytes, for `Nhật ký`
    manifest: dict
    header: list[str]
    rows: list[list]
    problem: Problem | None = None

    @property
    def top(self) -> list:
        return self.rows[0]


MATRIX_MAX_ROWS = 20_000   # a national roll-up holds ~85,000 units: a matrix of all of them is only the data sheet
NOT_PASSING = ("CHUA_DAT", "THIEU_DU_LIEU")


def matrix_rows(rows: list[list], unit_type: str) -> tuple[list[list], str]:
    """The rows a roll-up's criterion matrix shows: every unit of the type, or, above MATRIX_MAX_ROWS, only those
    that did not pass (CHUA_DAT, THIEU_DU_LIEU) — the full list stays in `data`, which has filters."""
    mine = [r for r in rows if r[2] == unit_type]
    if len(mine) <= MATRIX_MAX_ROWS:
        return mine, ""
    kept = [r for r in mine if r[8] in NOT_PASSING]
    return kept, (f" — {len(mine):,} đơn vị: chỉ liệt kê {len(kept):,} đơn vị chưa đạt hoặc thiếu dữ liệu; "
                  "đầy đủ ở trang «data»").replace(",", ".")


def rollup(inputs: list[Path], code: str, name: str, out: Path | None, catalog, *, today: date | None = None,
           generated_at: datetime | None = None) -> RollupResult:
    """Read every input workbook (files, or folders of `.xlsx`), check them, and write the consolidated workbook."""
    files = _expand(inputs, out)
    read = [_read(path) for path in files]
    read.sort(key=lambda i: (str(i.top[0]) if i.problem is None else "", str(i.path)))
    _check(read, code, catalog)
    good = [i for i in read if i.problem is None]
    problems = [i.problem for i in read if i.problem is not None]
    result = RollupResult(None, False, problems, [i.path for i in good], [i.path for i in read if i.problem])
    if not good:
        return result
    period = good[0].manifest["period"]
    as_of = max(_as_date(i.manifest.get("as_of")) or date.min for i in good)
    today = today or max(_as_date(i.manifest.get("today")) or date.min for i in good)
    generated_at = generated_at or datetime.now().replace(microsecond=0)
    extras = list(dict.fromkeys(c for i in good for c in i.header[len(META_COLUMNS) + len(
        catalog.national_leaf_ids()):]))
    header = data_header(catalog, extras)
    years = [i.top[4] for i in good if isinstance(i.top[4], int)]
    rows = [upper_level_row(header, code, name, max(years, default=None), as_of)]
    for item in good:
        position = [header.index(column) for column in item.header]
        for index, source in enumerate(item.rows):
            row = [None] * len(header)
            for col, value in zip(position, source):
                row[col] = value
            if index == 0:
                row[3] = code
            rows.append(row)
    manifest = {"tool_version": __version__, "catalog_version": catalog.version, "commune_code": code,
                "commune_name": name, "period": period, "as_of": as_of, "today": today,
                "generated_at": generated_at,
                "input_sha256": combined_sha256(i.manifest["data_sha256"] for i in good),
                "extra_criteria": ", ".join(extras), "data_sha256": data_sha256(header, rows)}
    path = Path(out) if out else Path("output") / period / f"BaoCao_ANTT_{code}_{period}.xlsx"
    written = _write(path, catalog, code, name, header, rows, manifest, read, problems)
    result.path, result.locked, result.rows = written.path, written.locked, len(rows)
    if written.locked:   # the workbook is already written, so this one is only returned, for the exit code 3
        result.problems.append(problem("output-locked", Location(path.name), detail=written.path.name))
    return result


def _expand(inputs: list[Path], out: Path | None) -> list[Path]:
    """Files as given, folders as their `.xlsx` files sorted by name; Excel lock files and the output skipped."""
    skip = Path(out).resolve() if out else None
    files = []
    for item in map(Path, inputs):
        candidates = sorted(item.glob("*.xlsx")) if item.is_dir() else [item]
        files += [f for f in candidates if not f.name.startswith(("~$", ".")) and f.resolve() != skip]
    return list(dict.fromkeys(files))


def _read(path: Path) -> _Input:
    """The input's contract sheets with python-calamine, after a zip size gate (calamine aborts on bombs)."""
    display = safe_display_name(path.name)
    item = _Input(path, display, "", {}, [], [[None]])
    try:
        item.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
        if sum(m.file_size for m in members) > MAX_ROLLUP_UNCOMPRESSED or any(
                m.file_size > RATIO_MIN_BYTES and m.file_size > MAX_MEMBER_RATIO * max(m.compress_size, 1)
                for m in members):
            item.problem = problem("zip-bomb", Location(display), detail="kích thước giải nén vượt giới hạn")
            return item
        from python_calamine import CalamineWorkbook
        workbook = CalamineWorkbook.from_path(str(path))
        if not {"data", "manifest"} <= set(workbook.sheet_names):
            item.problem = problem("unknown-template", Location(display),
                                   detail="không có trang «data» và «manifest» của báo cáo tổng hợp")
            return item
        raw = workbook.get_sheet_by_name("data").to_python()
        manifest = {str(r[0]): r[1] for r in workbook.get_sheet_by_name("manifest").to_python() if len(r) > 1}
    except Exception as exc:  # noqa: BLE001 - whatever the zip or the parser says, only this input is rejected
        item.problem = problem("not-a-workbook", Location(display),
                               detail=f"tệp hỏng hoặc không phải định dạng .xlsx: {type(exc).__name__}")
        return item
    header = [str(v) for v in raw[0]] if raw else []
    while header and header[-1] == "":
        header.pop()
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if tuple(header[:len(META_COLUMNS)]) != META_COLUMNS or len(raw) < 2 or missing:
        item.problem = problem("unknown-template", Location(display, "data" if not missing else "manifest"),
                               detail="trang «data»/«manifest» không đúng cấu trúc")
        return item
    item.manifest = {k: (v if v != "" else None) for k, v in manifest.items()}
    item.header = header
    item.rows = [[_cell(v) for v in row[:len(header)]] for row in raw[1:]]
    return item


def _cell(value):
    """A calamine cell as the writer would hold it: blank None, integral floats int, midnight datetimes dates."""
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    return value


def _as_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _check(items: list[_Input], code: str, catalog) -> None:
    """Mark each bad input with its problem: tampered, other catalog, other period, repeated unit (in that order)."""
    for item in items:
        if item.problem is None and data_sha256(item.header, item.rows) != item.manifest.get("data_sha256"):
            item.problem = problem("rollup-tampered", Location(item.display, "data"))
        elif item.problem is None and str(item.manifest.get("catalog_version")) != catalog.version:
            item.problem = problem("rollup-catalog-mismatch", Location(item.display, "manifest"),
                                   value=item.manifest.get("catalog_version"), expected=catalog.version)
    periods = Counter(str(i.manifest.get("period")) for i in items if i.problem is None)
    expected = periods.most_common(1)[0][0] if periods else ""
    seen: set[tuple] = set()
    for item in items:
        if item.problem is not None:
            continue
        if str(item.manifest.get("period")) != expected:
            item.problem = problem("rollup-period-mismatch", Location(item.display, "manifest"),
                                   value=item.manifest.get("period"), expected=expected)
            continue
        pairs = [(code if index == 0 else row[3] or "", row[0]) for index, row in enumerate(item.rows)]
        repeated = next((p for p in pairs if p in seen), None) or next(
            (p for p, n in Counter(pairs).items() if n > 1), None)
        if repeated is not None:
            item.problem = problem("rollup-duplicate", Location(item.display, "data"), value=repeated[1],
                                   detail=repeated[0])
            continue
        seen.update(pairs)


def _children(items: list[_Input]) -> list[dict]:
    """One entry per used input for the score chart: a commune's own score, or a roll-up's mean commune score."""
    children = []
    for item in items:
        top = item.top
        if top[2] == UPPER_LEVEL:
            communes = [r for r in item.rows if r[2] == "XA"]
            scores = [r[10] for r in communes if isinstance(r[10], (int, float))]
            passed = sum(1 for r in communes if r[8] == DAT)
            children.append({"unit_name": top[1], "score": round_half_up(sum(scores) / len(scores))
                             if scores else None, "result": f"{passed}/{len(communes)} xã đạt"})
        else:
            children.append({"unit_name": top[1], "score": top[10], "result": top[9]})
    return children


def _write(path: Path, catalog, code: str, name: str, header, rows, manifest, items, problems) -> WriteResult:
    good = [i for i in items if i.problem is None]
    period, as_of = manifest["period"], manifest["as_of"]
    wanted = ("unit_type", "verdict_code", "in_scope", "failed_criteria", "unit_name", "score_pct")
    index = {k: header.index(k) for k in wanted}
    compact = [{k: row[i] for k, i in index.items()} for row in rows[1:]]
    summary = rollup_summary(catalog, code=code, name=name, period=period, as_of=as_of, today=manifest["today"],
                             rows=compact, children=_children(good), accepted=len(good),
                             rejected=len(items) - len(good), problems=problems)
    caption = summary.caption
    ledger = [LedgerEntry(i.display, i.sha256, "", i.manifest.get("generated_at") if i.problem is None else None,
                          "accepted" if i.problem is None else "rejected",
                          str(i.top[0] or "") if i.problem is None else "", str(i.manifest.get("period") or ""),
                          int(i.problem is not None)) for i in items]
    inputs = [[i.display, i.top[0] if i.problem is None else None, i.top[1] if i.problem is None else None,
               month_label(str(i.manifest.get("period") or "")), _as_date(i.manifest.get("as_of")),
               i.manifest.get("generated_at"), len(i.rows) if i.problem is None else None,
               "Được tổng hợp" if i.problem is None else "Bị loại"] for i in items]

    def failed():
        for row in rows:
            for cid in (row[12] or "").split(", "):
                if cid:
                    criterion = catalog.criteria.get(cid)
                    yield [row[0], row[1], row[3], cid, getattr(criterion, "text", ""),
                           getattr(criterion, "citation", "")] + [None] * 6

    def build(workbook, st):
        lists = [ListSheet(st, "Tiêu chí không đạt", "TIÊU CHÍ KHÔNG ĐẠT", caption, FAILED_COLUMNS, failed(), caption),
                 ListSheet(st, "Tiến độ nộp", "TIẾP NHẬN BÁO CÁO CỦA CẤP DƯỚI", caption, INPUT_COLUMNS, inputs,
                           caption),
                 ListSheet(st, "Vụ việc", "VỤ VIỆC", caption, INCIDENT_COLUMNS, [], caption, NO_INCIDENTS),
                 ListSheet(st, "Lỗi dữ liệu", "LỖI DỮ LIỆU", caption, PROBLEM_COLUMNS, problem_rows(problems), caption),
                 ListSheet(st, "Nhật ký", "NHẬT KÝ TIẾP NHẬN TỆP", caption, LEDGER_COLUMNS, ledger_rows(ledger),
                           caption)]
        data = DataSheet(st, header, rows)
        child = offload_cells(workbook, st, [data, *lists])
        summary_sheet(workbook, st, summary)
        for unit_type, sheet, title in MATRICES:
            shown, note = matrix_rows(rows, unit_type)
            matrix_sheet(workbook, st, sheet, unit_type, header, shown, catalog, title, caption + note,
                         with_parent=True)
        for sheet in lists:
            sheet.place(workbook, child)
        data.place(workbook, child)
        manifest_sheet(workbook, st, manifest)

    title = f"Tổng hợp báo cáo ANTT {name} {period_label(period).lower()}"
    return write_workbook(path, build, created=manifest["generated_at"], title=title, rows=len(rows))
