"""Return files for the units (spec §9 `feedback`): their own file back, bad cells marked, and a reminder text.

A hamlet head fixes a file faster in the workbook he filled than from a list of cell addresses, so each unit gets a
copy of its *stored* file (the inbox and the store are never touched) with every bad cell filled and commented in
Vietnamese, and a first sheet `Lỗi cần sửa` listing every problem. Files that could not be tied to a unit get no
copy (there is nothing of theirs to mark up); they are listed with the late and missing units in `nhac-nho.txt`,
one ready-to-send message per addressee.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from antt_batch import layout as L
from antt_batch.errors import SEVERITY_VI
from antt_batch.text import FORMULA_PREFIXES, vn_date

SHEET = "Lỗi cần sửa"
HEADERS = ("Mức độ", "Trang tính", "Ô", "Trường", "Nội dung", "Cách sửa")
WIDTHS = (12, 12, 10, 28, 60, 60)
FILLS = {"error": "FFFF8080", "warning": "FFFFC000"}   # red for errors, amber for warnings
CELL_RE = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]{1,7})")
FONT = "Times New Roman"
SHOWN = 10          # problems quoted in a reminder message; the rest are in the return file
# Problems the operator settles (the registry, a second e-mail, a closed year): not the unit's to fix.
OPERATOR_ONLY = ("sender-mismatch", "duplicate-submission", "period-locked", "output-locked", "config-error",
                 "config-outdated", "config-placeholder")


@dataclass
class Entry:
    """One ledger row of the month with its problems (read straight from the documented schema)."""

    id: int
    display: str
    stored: str
    sender: str
    received: datetime | None
    unit_code: str | None
    period: str | None
    decision: str
    problems: list[tuple] = field(default_factory=list)   # (severity, sheet, cell, field, message, hint)


def _entries(conn, period: str) -> list[Entry]:
    rows = conn.execute("SELECT id, display, stored, sender, received, unit_code, period, decision FROM ledger"
                        " WHERE period = ? OR run_period = ? ORDER BY id", (period, period)).fetchall()
    entries = {r[0]: Entry(r[0], r[1], r[2] or "", r[3] or "", datetime.fromisoformat(r[4]) if r[4] else None,
                           *r[5:]) for r in rows}
    for lid, sev, sheet, cell, fid, msg, hint in conn.execute(
            "SELECT p.ledger_id, p.severity, p.sheet, p.cell, p.field, p.message, p.hint FROM problems p JOIN ledger l"
            f" ON l.id = p.ledger_id WHERE (l.period = ? OR l.run_period = ?) AND p.code NOT IN"
            f" ({','.join('?' * len(OPERATOR_ONLY))}) ORDER BY p.ledger_id, p.seq", (period, period, *OPERATOR_ONLY)):
        entries[lid].problems.append((sev, sheet or "", cell or "", fid or "", msg, hint))
    return list(entries.values())


def _failed_criteria(ws, catalog, history, period: str, latest: dict[str, Entry]) -> dict[str, list[tuple]]:
    """KHONG_DAT criteria of each unit whose current file was taken (a rejected file's would judge older data), as
    extra rows of its list, located only when the evidence is in that file. Scoring is a convenience here: if it
    fails, the units must still get their return files, so any error only drops these rows."""
    try:
        from antt_batch import assemble
        from antt_batch.score import score
        result = score(catalog, assemble.scoring_input(ws, history, period), period=period)
    except Exception:   # noqa: BLE001 — see docstring
        return {}
    out: dict[str, list[tuple]] = {}
    for ur in [*result.units, result.commune]:
        entry = latest.get(ur.unit.code)
        for cid, r in ur.results.items() if entry and entry.decision != "rejected" else ():
            if r.code == "KHONG_DAT":
                crit = catalog.criteria.get(cid)
                ev = next((e for e in r.evidence if e.file == entry.display), None)
                out.setdefault(ur.unit.code, []).append((
                    "info", ev.sheet if ev else "", ev.cell if ev else "", cid,
                    f"Tiêu chí chưa đạt: {f'{crit.text} ({crit.citation})' if crit else cid}. {r.reason}",
                    "Nếu số liệu chưa đúng, sửa và gửi lại; nếu đúng, đơn vị cần khắc phục để đạt tiêu chí."))
    return out


def _label(catalog, unit_type: str, fid: str) -> str:
    if fid in catalog.fields:
        return catalog.fields[fid].label_for(unit_type)
    return dict((f, h) for f, h, _ in L.REGISTER_COLUMNS).get(fid) or dict(L.IDENTITY).get(fid) or fid


def _text(cell, value) -> None:
    """Output text is always text: a message quoting a user's `=…` must never become a formula (spec §8)."""
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        cell.data_type = "s"


def _cells(wb, sheet: str, cell: str) -> list:
    """The cells a problem points at ("B10, B11" for a cross-field rule); a merged cell is marked on its top-left."""
    if sheet not in wb.sheetnames:
        return []
    out = []
    for ref in (f"{c}{r}" for c, r in CELL_RE.findall(cell)):
        rng = next((m for m in wb[sheet].merged_cells.ranges if ref in m), None)
        out.append(wb[sheet].cell(rng.min_row, rng.min_col) if rng else wb[sheet][ref])
    return out


def _mark(wb, rows: list[tuple]) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill
    notes: dict = {}
    for sev, sheet, cell, fid, msg, hint in rows:
        if sev not in FILLS:
            continue
        for target in _cells(wb, sheet, cell):
            if notes.get(target) is None or sev == "error":
                target.fill = PatternFill("solid", fgColor=FILLS[sev])
            notes.setdefault(target, []).append(f"{SEVERITY_VI[sev]}: {msg}\nCách sửa: {hint}")
    for target, texts in notes.items():
        target.comment = Comment("\n\n".join(texts), "antt-batch", width=360, height=min(60 + 70 * len(texts), 600))


def _problem_sheet(wb, title: str, rows: list[tuple], unit_type: str, catalog) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    if SHEET in wb.sheetnames:                 # a unit re-sent last month's return copy
        del wb[SHEET]
    sh = wb.create_sheet(SHEET, 0)
    for other in wb.worksheets:
        other.sheet_view.tabSelected = other is sh   # two selected tabs would make Excel edit them as a group
    wb.active = 0
    _text(sh.cell(1, 1), title)
    _text(sh.cell(2, 1), "Các ô có lỗi được tô đỏ (cảnh báo tô vàng cam) và có ghi chú. Sửa các ô đó trong tệp này, "
          "lưu lại rồi gửi lại cho Công an xã; trang này có thể để nguyên.")
    level = {**SEVERITY_VI, "info": "Chưa đạt"}
    table = [HEADERS, *((level[sev], sheet, cell, _label(catalog, unit_type, fid), msg, hint)
                        for sev, sheet, cell, fid, msg, hint in rows)]
    for i, values in enumerate(table, start=4):
        for j, value in enumerate(values, start=1):
            _text(sh.cell(i, j), value)
    for row in sh.iter_rows(min_row=1, max_row=max(sh.max_row, 4), max_col=len(HEADERS)):
        for c in row:
            c.font = Font(name=FONT, size=11, bold=c.row in (1, 4))
            c.alignment = Alignment(wrap_text=c.row > 3, vertical="top")
            if c.row == 4:
                c.fill = PatternFill("solid", fgColor="FFD9E1F2")
    for j, width in enumerate(WIDTHS):
        sh.column_dimensions[chr(65 + j)].width = width
    sh.freeze_panes = "A5"


def _save(wb, target: Path) -> Path:
    """Atomic write; if Excel holds the usual name open, write beside it with a time stamp (as the report does)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        wb.save(tmp)
        try:
            os.replace(tmp, target)
        except PermissionError:
            target = target.with_name(f"{target.stem}_{datetime.now():%Y%m%d-%H%M%S}.xlsx")
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _return_copy(ws, catalog, entry: Entry, rows: list[tuple], unit, period: str) -> Path | None:
    import openpyxl
    try:
        wb = openpyxl.load_workbook(ws.root / entry.stored, keep_vba=False)
    except Exception:   # noqa: BLE001 — a file our reader accepted but openpyxl cannot open: list it instead
        return None
    title = (f"{unit.name} ({unit.code}) – báo cáo tháng {period[5:]}/{period[:4]}, tệp «{entry.display}»: "
             f"{sum(r[0] == 'error' for r in rows)} lỗi, {sum(r[0] == 'warning' for r in rows)} cảnh báo"
             + (" – chưa được tiếp nhận" if entry.decision == "rejected" else ""))
    _mark(wb, rows)
    _problem_sheet(wb, title, rows, unit.type, catalog)
    return _save(wb, ws.output_dir / period / "tra-lai" / f"{unit.code}_{period}_tra-lai.xlsx")


def _quote(rows: list[tuple]) -> list[str]:
    lines = [f"- {f'Ô {cell} ({sheet}): ' if cell else ''}{msg} Cách sửa: {hint}"
             for sev, sheet, cell, _, msg, hint in rows[:SHOWN]]
    return lines + ([f"- … và {len(rows) - SHOWN} mục khác (xem tệp trả lại)."] if len(rows) > SHOWN else [])


def _unit_body(ws, catalog, unit, entry: Entry | None, rows, cell, period: str, due: str, day: date,
               body: list[str]) -> tuple[list[str], Path | None]:
    """What to tell one unit after `body` (its unreadable files): its file's problems (and return copy), or that
    nothing came, or that it came late."""
    month, copy = f"{period[5:]}/{period[:4]}", None
    if entry and entry.problems:
        copy = _return_copy(ws, catalog, entry, rows, unit, period)
        verb = "chưa thể tiếp nhận vì có lỗi" if entry.decision == "rejected" else "đã tiếp nhận, nhưng cần kiểm tra"
        body += [f"Công an xã đã nhận báo cáo tháng {month} của đơn vị (tệp «{entry.display}») và {verb}:",
                 *_quote(entry.problems)]
        if copy:
            body.append(f"Tệp trả lại «{copy.name}» gửi kèm: ô lỗi được tô màu, có ghi chú; trang «{SHEET}» liệt kê "
                        "từng lỗi và cách sửa.")
        if entry.decision == "rejected":
            body.append(f"Đề nghị đơn vị sửa và gửi lại trước ngày {due}.")
    if cell and cell.received is None and not entry:          # nothing usable came for this month
        body.append(f"Công an xã chưa nhận được báo cáo {'hợp lệ ' if body else ''}tháng {month} của đơn vị. "
                    f"Đề nghị điền biểu mẫu {unit.code}_{period}.xlsx và gửi trước ngày {due}.")
    elif cell and cell.status == "TRE_HAN":
        body.append(f"Báo cáo tháng {month} nhận ngày {vn_date(cell.received)}, sau hạn {vn_date(day)}. "
                    "Đề nghị các tháng sau gửi đúng hạn.")
    return body, copy


def _message(ws, to: str, addressee: str, body: list[str]) -> str:
    return "\n".join([f"Gửi: {to}", f"Kính gửi: {addressee},", *body, "Trân trọng,", f"Công an {ws.commune.name}"])


def write_feedback(ws, period: str, today: date | None = None) -> list[Path]:
    """Write the month's return copies and `nhac-nho.txt` under WS/output/<period>/tra-lai/; return their paths.

    `today` only decides whether the deadline has passed (default: the real date)."""
    from antt_batch.api import catalog_for
    from antt_batch.assemble import deadline, progress
    from antt_batch.history import History
    from antt_batch.score.periods import month_end
    today, catalog, folder = today or date.today(), catalog_for(ws), ws.output_dir / period / "tra-lai"
    month, deadline_day = f"{period[5:]}/{period[:4]}", deadline(period, ws.deadline_day)
    due = vn_date(deadline_day) + (" (đã quá hạn: đề nghị gửi ngay)" if today > deadline_day else "")
    history = History(ws.db_path if ws.db_path.exists() else Path(":memory:"))
    try:
        entries = _entries(history.conn, period)
        status = {c.unit_code: c for c in progress(ws, history, [period], today)}
        # Each unit's latest attempt at this month: a rejected re-send after an accepted file still needs an answer;
        # superseded and duplicate files have nothing left to fix; other months' files get their own month's answer.
        latest = {e.unit_code: e for e in entries
                  if e.unit_code and e.period == period and e.decision in ("accepted", "rejected", "locked")}
        failed = _failed_criteria(ws, catalog, history, period, latest)
    finally:
        history.close()
    written, messages = [], []
    unidentified = [e for e in entries if not e.unit_code and e.decision == "rejected"]
    by_sender = {mail: u for u in ws.all_units() for mail in u.emails}
    for unit in ws.all_units():
        if not unit.active_on(month_end(period)) or unit.in_scope is False:
            continue
        entry = latest.get(unit.code)
        rows = [*(entry.problems if entry else []), *failed.get(unit.code, [])]
        mine = [e for e in unidentified if e.sender and by_sender.get(e.sender.lower()) is unit]
        unidentified = [e for e in unidentified if e not in mine]
        body = [line for e in mine for line in (f"Tệp «{e.display}» gửi từ {e.sender} không được tiếp nhận:",
                                                *_quote(e.problems))]
        body, copy = _unit_body(ws, catalog, unit, entry, rows, status.get(unit.code), period, due, deadline_day,
                                body)
        written += [copy] if copy else []
        if body:
            to = f"{unit.name} ({unit.code})" + (f" – {', '.join(unit.emails)}" if unit.emails else "")
            messages.append(_message(ws, to, unit.name, body))
    for e in unidentified:
        when = f" ngày {vn_date(e.received)}" if e.received else ""
        messages.append(_message(ws, f"người gửi tệp «{e.display}» – {e.sender or 'không rõ địa chỉ'}",
                                 "người gửi tệp", [f"Công an xã đã nhận tệp «{e.display}»{when} nhưng không thể "
                                                   "tiếp nhận:", *_quote(e.problems), f"Đề nghị gửi lại báo cáo tháng "
                                                   f"{month} đúng biểu mẫu của đơn vị trước ngày {due}."]))
    head = [f"NHẮC NHỞ BÁO CÁO ANTT THÁNG {month} – {ws.commune.name}",
            f"Lập ngày {vn_date(today)}; hạn nộp báo cáo tháng {month}: {vn_date(deadline_day)}.",
            "Mỗi đoạn dưới đây là một tin nhắn sẵn sàng gửi." if messages else "Không có đơn vị nào cần nhắc."]
    return [*written, _finish(folder, period, written, "\n\n".join(["\n".join(head), *messages]) + "\n")]


def _finish(folder: Path, period: str, written: list[Path], text: str) -> Path:
    """Drop return copies of units that have since fixed their file (they must not be sent a stale copy), then
    write the reminder atomically, UTF-8 with BOM and CRLF so Notepad on the operator's Windows shows it right."""
    for old in set(folder.glob(f"*_{period}_tra-lai*.xlsx")) - set(written):
        try:
            old.unlink()
        except OSError:                    # open in Excel: it stays, and is replaced next time
            pass
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".nhac-nho.txt.tmp"
    tmp.write_text(text.replace("\n", "\r\n"), encoding="utf-8-sig", newline="")
    os.replace(tmp, folder / "nhac-nho.txt")
    return folder / "nhac-nho.txt"
