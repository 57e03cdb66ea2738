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
            " ON l.id = p.ledger_id WHERE l.period = ? OR l.run_period = ? ORDER BY p.ledger_id, p.seq",
            (period, period)):
        entries[lid].problems.append((sev, sheet or "", cell or "", fid or "", msg, hint))
    return list(entries.values())


def _latest_per_unit(entries: list[Entry], period: str) -> dict[str, Entry]:
    """The unit's latest attempt at this month: a rejected re-send after an accepted file still needs an answer,
    while superseded and duplicate files have nothing left to fix. Files of other months seen by this month's run
    are answered by the feedback of their own month."""
    return {e.unit_code: e for e in entries
            if e.unit_code and e.period == period and e.decision in ("accepted", "rejected", "locked")}


def _failed_criteria(ws, catalog, history, period: str) -> dict[str, list[tuple]]:
    """KHONG_DAT criteria per unit, as extra rows of the list. Scoring is a convenience here: if it fails, the units
    must still get their return files, so any error only drops these rows."""
    try:
        from antt_batch import assemble
        from antt_batch.score import score
        result = score(catalog, assemble.scoring_input(ws, history, period), period=period)
    except Exception:   # noqa: BLE001 — see docstring
        return {}
    out: dict[str, list[tuple]] = {}
    for ur in [*result.units, result.commune]:
        for cid, r in ur.results.items():
            if r.code == "KHONG_DAT":
                crit = catalog.criteria.get(cid)
                text = f"{crit.text} ({crit.citation})" if crit else cid
                ev = next(iter(r.evidence), None)
                out.setdefault(ur.unit.code, []).append((
                    "info", ev.sheet if ev else "", ev.cell if ev else "", cid, f"Tiêu chí chưa đạt: {text}. {r.reason}",
                    "Nếu số liệu chưa đúng, sửa và gửi lại; nếu đúng, đơn vị cần khắc phục để đạt tiêu chí.", ev))
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


def _message(ws, unit, body: list[str], to: str) -> str:
    return "\n".join([f"Gửi: {to}", f"Kính gửi: {unit.name if unit else 'người gửi tệp'},", *body, "Trân trọng,",
                      f"Công an {ws.commune.name}"])


def write_feedback(ws, period: str, today: date | None = None) -> list[Path]:
    """Write the month's return copies and `nhac-nho.txt` under WS/output/<period>/tra-lai/; return their paths.

    `today` only decides whether an unsent report is already overdue (default: the real date)."""
    from antt_batch.api import catalog_for
    from antt_batch.assemble import deadline, progress
    from antt_batch.history import History
    from antt_batch.score.periods import month_end
    today = today or date.today()
    catalog = catalog_for(ws)
    due = deadline(period, ws.deadline_day)
    month = f"{period[5:]}/{period[:4]}"
    late = " (đã quá hạn: đề nghị gửi ngay)" if today > due else ""
    folder = ws.output_dir / period / "tra-lai"
    history = History(ws.db_path if ws.db_path.exists() else Path(":memory:"))
    try:
        entries = _entries(history.conn, period)
        status = {c.unit_code: c for c in progress(ws, history, [period], today)}
        failed = _failed_criteria(ws, catalog, history, period)
    finally:
        history.close()
    written, messages = [], []
    by_sender = {e: u for u in ws.all_units() for e in u.emails}
    unidentified = [e for e in entries if not e.unit_code and e.decision == "rejected"]
    latest = _latest_per_unit(entries, period)
    for unit in ws.all_units():
        if not unit.active_on(month_end(period)) or unit.in_scope is False:
            continue
        entry = latest.get(unit.code)
        rows = list(entry.problems) if entry else []
        if entry and entry.decision != "rejected":     # criteria of a rejected file would judge older data
            rows += [r[:6] if r[6] and r[6].file == entry.display else (r[0], "", "", *r[3:6])
                     for r in failed.get(unit.code, [])]
        body, copy = [], None
        if entry and entry.problems:
            copy = _return_copy(ws, catalog, entry, rows, unit, period)
            written += [copy] if copy else []
            verb = ("chưa thể tiếp nhận vì có lỗi" if entry.decision == "rejected"
                    else "đã tiếp nhận, nhưng có điểm cần kiểm tra")
            body += [f"Công an xã đã nhận báo cáo tháng {month} của đơn vị (tệp «{entry.display}») và {verb}:",
                     *_quote(entry.problems)]
            if copy:
                body.append(f"Tệp trả lại «{copy.name}» gửi kèm: ô lỗi được tô màu, có ghi chú; trang «{SHEET}» "
                            "liệt kê từng lỗi và cách sửa.")
            if entry.decision == "rejected":
                body.append(f"Đề nghị đơn vị sửa và gửi lại trước ngày {vn_date(due)}{late}.")
        mine = [e for e in unidentified if e.sender and by_sender.get(e.sender.lower()) is unit]
        for e in mine:
            body += [f"Tệp «{e.display}» gửi từ {e.sender} không được tiếp nhận:", *_quote(e.problems)]
        cell = status.get(unit.code)
        if cell and cell.received is None and not entry:      # sent nothing usable for this month
            body.append(f"{'Ngoài ra, c' if mine else 'C'}ông an xã chưa nhận được báo cáo tháng {month} của đơn vị. "
                        f"Đề nghị điền biểu mẫu {unit.code}_{period}.xlsx và gửi trước ngày {vn_date(due)}{late}.")
        elif cell and cell.status == "TRE_HAN":
            body.append(f"Báo cáo tháng {month} nhận ngày {vn_date(cell.received)}, sau hạn {vn_date(due)}. "
                        "Đề nghị các tháng sau gửi đúng hạn.")
        if body:
            messages.append(_message(ws, unit, body, f"{unit.name} ({unit.code})"
                                     + (f" – {', '.join(unit.emails)}" if unit.emails else "")))
        unidentified = [e for e in unidentified if e not in mine]
    for e in unidentified:
        when = f" ngày {vn_date(e.received)}" if e.received else ""
        body = [f"Công an xã đã nhận tệp «{e.display}»{when} nhưng không thể tiếp nhận:", *_quote(e.problems),
                f"Đề nghị gửi lại báo cáo tháng {month} đúng biểu mẫu của đơn vị trước ngày {vn_date(due)}{late}."]
        messages.append(_message(ws, None, body, f"người gửi tệp «{e.display}» – {e.sender or 'không rõ địa chỉ'}"))
    head = [f"NHẮC NHỞ BÁO CÁO ANTT THÁNG {month} – {ws.commune.name}",
            f"Lập ngày {vn_date(today)}; hạn nộp báo cáo tháng {month}: {vn_date(due)}.",
            "Mỗi đoạn dưới đây là một tin nhắn sẵn sàng gửi cho đơn vị."
            if messages else "Không có đơn vị nào cần nhắc."]
    keep = set(written)
    for old in folder.glob(f"*_{period}_tra-lai*.xlsx") if folder.exists() else []:
        if old not in keep:                    # a unit that has since fixed its file must not be sent a stale copy
            try:
                old.unlink()
            except OSError:                    # open in Excel: it stays, and is overwritten next time
                pass
    text = "\n\n".join(["\n".join(head), *messages]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".nhac-nho.txt.tmp"
    tmp.write_text(text.replace("\n", "\r\n"), encoding="utf-8-sig", newline="")   # Notepad-friendly
    os.replace(tmp, folder / "nhac-nho.txt")
    return [*written, folder / "nhac-nho.txt"]
