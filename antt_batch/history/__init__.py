"""The history ledger in SQLite (spec §5): every file ever seen, accepted submissions, values and incidents.

Every write of a run happens in one transaction (`History.transaction`), so a crash or a kill leaves the previous
state intact. Reads turn rows back into the plain records of `antt_batch.model` for scoring and reporting.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime
from pathlib import Path

from antt_batch.errors import Location, Problem
from antt_batch.history.schema import migrate, transaction
from antt_batch.model import Evidence, FieldValue, Incident, LedgerEntry, Snapshot


_CONSTANTS = {"true": True, "false": False, "null": None}
_DATE_HEAD = '{"date": "'


def _encode(value) -> str:
    """JSON text of a value, dates as {"date": "YYYY-MM-DD"}. Printable text without quotes or backslashes and
    integers, most values, are what json.dumps would write, made without it (10,000 files: 150,000 values)."""
    kind = type(value)
    if kind is str and '"' not in value and "\\" not in value and value.isprintable():
        return f'"{value}"'
    if kind is int:
        return str(value)
    if isinstance(value, (date, datetime)):
        return f'{_DATE_HEAD}{value.isoformat()[:10]}"}}'
    if value is True or value is False:
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def _decode(text: str):
    """Inverse of `_encode`. A run decodes every stored value (150,000 for 10,000 units): the shapes `_encode`
    writes most (Có/Không, dates, plain strings, integers) skip the JSON parser."""
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if text.startswith(_DATE_HEAD) and len(text) == 22:
        return date.fromisoformat(text[10:20])
    if text[0] == '"' and "\\" not in text:
        return text[1:-1]
    if text.isascii() and text.isdigit():
        return int(text)
    value = json.loads(text)
    if isinstance(value, dict) and "date" in value:
        return date.fromisoformat(value["date"])
    return value


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class History:
    """One workspace's database. Open, read and write through this class only."""

    def __init__(self, path: Path, readonly: bool = False):
        """Open (creating and migrating when needed); `readonly` opens an existing database for a dry run."""
        self.path = Path(path)
        if readonly:
            self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
            return
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        if str(path) != ":memory:":
            self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.schema_version = migrate(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def transaction(self):
        return transaction(self.conn)

    # --- ledger --------------------------------------------------------------------------------------------
    def seen(self, source: str, sha256: str) -> tuple[int, str] | None:
        """(id, decision) when the same source with the same bytes was already recorded."""
        return self.conn.execute("SELECT id, decision FROM ledger WHERE source = ? AND sha256 = ?",
                                 (source, sha256)).fetchone()

    def first_with_hash(self, sha256: str) -> tuple[int, str, str] | None:
        """(id, display, decision) of the earliest taken entry with these bytes (a rejection does not count)."""
        return self.conn.execute("SELECT id, display, decision FROM ledger WHERE sha256 = ? AND decision !="
                                 " 'rejected' ORDER BY id LIMIT 1", (sha256,)).fetchone()

    def drop_entry(self, ledger_id: int) -> None:
        """Forget a rejection that a later run accepted (same source and bytes; the new entry replaces it)."""
        self.conn.execute("DELETE FROM problems WHERE ledger_id = ?", (ledger_id,))
        self.conn.execute("DELETE FROM ledger WHERE id = ?", (ledger_id,))

    def add_entry(self, *, source, display, sha256, stored, sender, received: datetime | None, run_period,
                  unit_code, period, decision, problems: list[Problem], changed_fields: str = "") -> int:
        cur = self.conn.execute(
            "INSERT INTO ledger (source, display, sha256, stored, sender, received, run_period, unit_code, period,"
            " decision, errors, warnings, changed_fields) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (source, display, sha256, stored, sender, received.isoformat() if received else None, run_period,
             unit_code, period, decision, sum(p.is_error for p in problems),
             sum(not p.is_error for p in problems), changed_fields))
        ledger_id = cur.lastrowid
        self.conn.executemany(
            "INSERT INTO problems VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(ledger_id, i, p.code, p.severity, p.location.sheet, p.location.cell, p.location.field, p.location.row,
              p.message, p.hint) for i, p in enumerate(problems)])
        return ledger_id

    def add_values(self, ledger_id: int, fields: dict[str, FieldValue], incidents: list[Incident]) -> None:
        self.conn.executemany("INSERT INTO field_values VALUES (?,?,?,?,?)",
                              [(ledger_id, fid, _encode(fv.value), fv.evidence.sheet, fv.evidence.cell)
                               for fid, fv in fields.items()])
        self.conn.executemany(
            "INSERT INTO incidents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(ledger_id, i, inc.ngay.isoformat(), inc.loai, inc.muc_do, inc.bat_kha_khang, inc.kip_thoi_phat_hien,
              inc.giam_thieu_hau_qua, inc.bao_cao_ngay, inc.ma_vu_viec, inc.mo_ta, inc.evidence.sheet,
              inc.evidence.cell, inc.evidence.row) for i, inc in enumerate(incidents)])

    def current(self, unit_code: str, period: str) -> tuple[int, datetime | None] | None:
        """(id, received) of the accepted submission that currently counts for (unit, month)."""
        row = self.conn.execute("SELECT id, received FROM ledger WHERE unit_code = ? AND period = ? AND"
                                " decision = 'accepted'", (unit_code, period)).fetchone()
        return (row[0], _dt(row[1])) if row else None

    def supersede(self, ledger_id: int) -> None:
        self.conn.execute("UPDATE ledger SET decision = 'superseded' WHERE id = ?", (ledger_id,))

    def values_of(self, ledger_id: int) -> dict:
        return {f: _decode(v) for f, v in self.conn.execute(
            "SELECT field, value FROM field_values WHERE ledger_id = ?", (ledger_id,))}

    # --- locks ---------------------------------------------------------------------------------------------
    def is_locked(self, unit_type: str, year: int) -> bool:
        row = self.conn.execute("SELECT locked FROM locks WHERE unit_type = ? AND year = ? ORDER BY at DESC, rowid"
                                " DESC LIMIT 1", (unit_type, year)).fetchone()
        return bool(row and row[0])

    def set_lock(self, unit_type: str, year: int, locked: bool, reason: str, at: datetime) -> None:
        with self.transaction():
            self.conn.execute("INSERT INTO locks VALUES (?,?,?,?,?)",
                              (unit_type, year, int(locked), reason, at.isoformat()))

    # --- reads for scoring and the report ------------------------------------------------------------------
    def _accepted(self, up_to_period: str):
        return self.conn.execute(
            "SELECT id, unit_code, period, received, display FROM ledger WHERE decision = 'accepted' AND period <= ?"
            " ORDER BY period, received, id", (up_to_period,)).fetchall()

    def snapshots(self, up_to_period: str, stored: dict | None = None) -> dict[str, list[Snapshot]]:
        """Accepted, current snapshots of every unit for months up to `up_to_period`.

        `stored`: ledger id -> the fields this process has just stored (`pipeline.ingest(stored=...)`): those are
        taken as they are, and out of `stored`, instead of being read back (10,000 files: 0.7 s). They are used only
        when they are all of the newest entries (the ids from the first one on), else everything is read."""
        rows = self._accepted(up_to_period)
        values: dict[int, dict[str, FieldValue]] = {r[0]: {} for r in rows}
        first = min(stored) if stored else None
        if first is not None and all(r[0] in stored for r in rows if r[0] >= first):
            values.update({r[0]: stored.pop(r[0]) for r in rows if r[0] >= first})
        else:
            first = None
        meta = {r[0]: r for r in rows}
        newer = "" if first is None else f" AND l.id < {int(first)}"      # those are taken from `stored`
        for ledger_id, fid, value, sheet, cell in self.conn.execute(
                "SELECT f.ledger_id, f.field, f.value, f.sheet, f.cell FROM field_values f JOIN ledger l ON"
                " l.id = f.ledger_id WHERE l.decision = 'accepted' AND l.period <= ?" + newer, (up_to_period,)):
            _, _, period, _, display = meta[ledger_id]
            values[ledger_id][fid] = FieldValue(_decode(value), Evidence(display, sheet or "", cell or "", period))
        out: dict[str, list[Snapshot]] = {}
        for ledger_id, unit_code, period, received, _ in rows:
            out.setdefault(unit_code, []).append(Snapshot(unit_code, period, _dt(received), values[ledger_id]))
        return out

    def _incidents(self, where: str, params: tuple) -> list[Incident]:
        """Incidents of accepted files matching `where` (on ledger `l`), in the order they were reported."""
        rows = self.conn.execute(
            "SELECT l.unit_code, l.period, l.display, i.ngay, i.loai, i.muc_do, i.bat_kha_khang,"
            " i.kip_thoi_phat_hien, i.giam_thieu_hau_qua, i.bao_cao_ngay, i.ma_vu_viec, i.mo_ta, i.sheet, i.cell,"
            f" i.row FROM incidents i JOIN ledger l ON l.id = i.ledger_id WHERE l.decision = 'accepted' AND {where}"
            " ORDER BY l.period, l.received, l.id, i.seq", params)
        return [Incident(unit, date.fromisoformat(ngay), loai, muc, _flag(bkk), _flag(kip), _flag(giam),
                         _flag(bao), ma, mo_ta, Evidence(display, sheet or "", cell or "", period, row))
                for unit, period, display, ngay, loai, muc, bkk, kip, giam, bao, ma, mo_ta, sheet, cell, row in rows]

    def incidents(self, up_to_period: str) -> list[Incident]:
        return self._incidents("l.period <= ?", (up_to_period,))

    def earlier_incidents(self, unit_code: str, period: str) -> list[Incident]:
        """The unit's incidents from accepted files of other months (to flag rows reported again)."""
        return self._incidents("l.unit_code = ? AND l.period != ?", (unit_code, period))

    def ledger(self, run_period: str) -> list[LedgerEntry]:
        """Entries of the files seen by the runs of `run_period` or belonging to that month."""
        return [LedgerEntry(display, sha, sender or "", _dt(received), decision, unit or "", period or "", err,
                            warn, changed)
                for display, sha, sender, received, decision, unit, period, err, warn, changed in self.conn.execute(
                    "SELECT display, sha256, sender, received, decision, unit_code, period, errors, warnings,"
                    " changed_fields FROM ledger WHERE run_period = ? OR period = ? ORDER BY id",
                    (run_period, run_period))]

    def problems(self, run_period: str) -> list[Problem]:
        return [Problem(code, severity, message, hint, Location(display, sheet or "", cell or "", field or "", row))
                for code, severity, message, hint, display, sheet, cell, field, row in self.conn.execute(
                    "SELECT p.code, p.severity, p.message, p.hint, l.display, p.sheet, p.cell, p.field, p.row"
                    " FROM problems p JOIN ledger l ON l.id = p.ledger_id WHERE l.run_period = ? OR l.period = ?"
                    " ORDER BY l.id, p.seq", (run_period, run_period))]

    def submissions(self, up_to_period: str) -> list[tuple[str, str, datetime | None, str, str]]:
        """(unit, month, received, sender, decision) of every accepted or superseded file, oldest first."""
        return [(u, p, _dt(r), s or "", d) for u, p, r, s, d in self.conn.execute(
            "SELECT unit_code, period, received, sender, decision FROM ledger WHERE decision IN"
            " ('accepted', 'superseded') AND period <= ? ORDER BY received, id", (up_to_period,))]

    def input_sha256(self, up_to_period: str) -> str:
        """Fingerprint of the ledger entries a report rests on (spec §7 manifest `input_sha256`)."""
        import hashlib
        digest = hashlib.sha256()
        for (sha,) in self.conn.execute("SELECT sha256 FROM ledger WHERE decision = 'accepted' AND period <= ?"
                                        " ORDER BY unit_code, period", (up_to_period,)):
            digest.update(sha.encode() + b"\n")
        return digest.hexdigest()
