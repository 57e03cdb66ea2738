"""Intake to history: collect files, read and validate them in reader workers, merge the month in one transaction.

The decisions of spec §5 live here: a re-run over the same inbox is not a new event, a byte-identical file from
another source is a `duplicate-submission`, the latest-received accepted file of a (unit, month) counts and the
earlier one is kept as superseded, and a file for a locked year is stored and flagged without changing anything.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from antt_batch import limits
from antt_batch.errors import Location, Problem, problem

if TYPE_CHECKING:
    from antt_batch.model import Evidence
    from antt_batch.validate import FileReport


@dataclass
class FileOutcome:
    display: str
    decision: str   # accepted | superseded | duplicate | rejected | locked | noted (nothing to take) | seen (re-run)
    unit_code: str = ""
    period: str = ""
    problems: list[Problem] = field(default_factory=list)
    changed_fields: list[str] = field(default_factory=list)


@dataclass
class IngestResult:
    run_period: str
    outcomes: list[FileOutcome] = field(default_factory=list)

    def count(self, decision: str) -> int:
        return sum(o.decision == decision for o in self.outcomes)

    @property
    def problems(self) -> list[Problem]:
        return [p for o in self.outcomes for p in o.problems]


def _stored_name(sha256: str, name: str) -> str:
    """Workspace-relative path of the content-addressed copy of a file under WS/store/ (never beside the inputs)."""
    return f"store/{sha256[:2]}/{sha256}{os.path.splitext(name)[1].lower()[:8] or '.bin'}"


def _store(root: Path, sha256: str, name: str, data: bytes) -> None:
    """Keep the copy at `_stored_name`; a complete copy already there is the same bytes (content-addressed).

    Created in place, exclusively: half the file-system work of a temporary file renamed into place (measured on
    ext4: 10,000 files 0.58 s instead of 1.1 s), and as safe: a copy cut short by a crash has the wrong size, so the
    next run replaces it, atomically then. Two workers storing the same bytes at once leave one complete copy."""
    target = root / _stored_name(sha256, name)
    for first_try in (True, False):
        try:
            with open(target, "xb") as handle:
                handle.write(data)
            return
        except FileNotFoundError:
            if not first_try:
                raise
            target.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            break
    if target.stat().st_size != len(data):
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)


class _Check:
    """What a reader worker does with each new file of an ingest (see `worker.Readers`): keep its copy in the store
    (real runs), read it, validate it. Runs in the workers, so it travels as the workspace root and is re-opened
    there when the worker does not inherit this process's memory (spawn)."""

    def __init__(self, ws, run_period: str, store: bool, catalog=None):
        self.root, self.run_period, self.store = ws.root, run_period, store
        self.ws, self.catalog = ws, catalog

    def __getstate__(self) -> dict:
        return {**self.__dict__, "ws": None, "catalog": None}

    def prepare(self) -> None:
        """Open what the checks need (a forked worker may have inherited it) and import the reader."""
        from antt_batch import reader, validate  # noqa: F401
        if self.ws is None:
            from antt_batch.api import open_workspace
            self.ws = open_workspace(self.root)
        if self.catalog is None:
            from antt_batch.api import catalog_for
            self.catalog = catalog_for(self.ws)

    def __call__(self, key: tuple[str, str], data: bytes, display: str):
        from antt_batch.reader import read_workbook
        from antt_batch.validate import FileReport, validate_workbook
        if self.ws is None or self.catalog is None:
            self.prepare()
        sha256, name = key
        if self.store:
            _store(self.root, sha256, name, data)
        read = read_workbook(data, display)
        if read.workbook is None:
            return FileReport(display=display, sha256=sha256, problems=list(read.problems))
        report = validate_workbook(read.workbook, display, sha256, self.catalog, self.ws, self.run_period)
        report.problems[:0] = read.problems
        return report


def _sender_check(report: FileReport, incoming, ws) -> None:
    unit = ws.find(report.unit_code)
    if incoming.sender and unit and unit.emails and incoming.sender not in unit.emails:
        report.problems.append(problem("sender-mismatch", Location(file=report.display), value=incoming.sender,
                                       detail=f"{unit.code} – {unit.name}"))


def _locked_year(history, catalog, report: FileReport, known: dict) -> int | None:
    """The locked evaluation year the file's month belongs to, if any; `known` keeps the answers of one run (its
    transaction: no lock changes meanwhile), so the locks are read once per unit type and month, not per file."""
    key = (report.unit_type, report.period)
    if key not in known:
        from antt_batch.score.periods import month_end
        year = catalog.unit_types[report.unit_type].year_of(month_end(report.period))
        known[key] = year if history.is_locked(report.unit_type, year) else None
    return known[key]


def _decide(history, catalog, report: FileReport, incoming, pending_hashes: set[str], locks: dict,
            apply: bool = True) -> tuple[str, list[str]]:
    """Decision for one validated, new file, plus the fields it changed; with `apply`, records the supersession."""
    if not report.accepted:
        return "rejected", []
    earlier = history.first_with_hash(incoming.sha256)
    if earlier or incoming.sha256 in pending_hashes:
        where = earlier[1] if earlier else "cùng lượt này"
        report.problems.append(problem("duplicate-submission", Location(file=report.display), detail=where))
        return "duplicate", []
    year = _locked_year(history, catalog, report, locks)
    if year is not None:
        report.problems.append(problem("period-locked", Location(file=report.display), value=year,
                                       detail=report.unit_type))
        return "locked", []
    current = history.current(report.unit_code, report.period)
    if current and current[1] and incoming.received < current[1]:
        return "superseded", []
    _repeated_rows(history, report)
    before = history.values_of(current[0]) if current else {}
    changed = sorted(f for f, v in report.fields.items() if before.get(f) != v.value)
    if current and apply:
        history.supersede(current[0])
    return "accepted", changed


def _repeated_rows(history, report: FileReport) -> None:
    """`duplicate-row` for incidents already reported in another month; scoring counts them once."""
    from antt_batch.score.incidents import report_key
    earlier: dict[tuple, Evidence] = {}
    for old in history.earlier_incidents(report.unit_code, report.period):
        earlier.setdefault(report_key(old), old.evidence)
    for inc in report.incidents:
        seen = earlier.get(report_key(inc))
        if seen:
            where = Location(report.display, inc.evidence.sheet, inc.evidence.cell, "ngay", inc.evidence.row)
            report.problems.append(problem("duplicate-row", where,
                                           detail=f"{seen.file}, tháng {seen.month[5:]}/{seen.month[:4]}"))


def _steps(progress):
    """The readers say how many files are done; `progress` takes how many more."""
    if progress is None:
        return None
    shown = [0]

    def report(done: int, total: int) -> None:
        progress(done - shown[0])
        shown[0] = done
    return report


def _collect(ws, paths: list[Path]):
    """Stream what is under every path; sources are prefixed with the path's place in the workspace (or its absolute
    path), so `inbox/2025-02/X.xlsx` and `inbox/2025-03/X.xlsx` are different sources while displays stay short."""
    from antt_batch.intake import Incoming, iter_collect
    for path in paths:
        resolved = Path(path).resolve()
        base = resolved if resolved.is_dir() else resolved.parent
        prefix = base.relative_to(ws.root).as_posix() if base.is_relative_to(ws.root) else base.as_posix()
        for found in iter_collect([path]):
            yield replace(found, source=f"{prefix}/{found.source}") if isinstance(found, Incoming) else found


def start_readers(ws, run_period: str, dry_run: bool = False, catalog=None):
    """Reader workers for an ingest, started now: they get ready (imports, catalog) while this process goes on."""
    from antt_batch.worker import Readers
    return Readers(_Check(ws, run_period, store=not dry_run, catalog=catalog))


def ingest(ws, catalog, history, paths: list[Path], run_period: str, dry_run: bool = False,
           progress=None, while_reading=None, readers=None, stored: dict | None = None) -> IngestResult:
    """Take every file under `paths` into history (or, with `dry_run`, only say what would happen).

    Collecting, reading and deciding overlap: each new file goes to a reader worker as soon as it is found, and the
    decisions, which follow the order files were received in, are taken as the results come back, in one
    transaction. `while_reading()` runs once in this process while the workers read (see `worker.Readers`).
    `readers` are workers from `start_readers` (started earlier by the caller); they are closed here. `stored`, a
    dict, receives the fields recorded, by ledger id, so that a report right after need not read them back."""
    with readers or start_readers(ws, run_period, dry_run, catalog) as readers:
        result = _Ingest(ws, catalog, history, run_period, dry_run, stored).run(paths, readers, progress,
                                                                                 while_reading)
    if len(result.outcomes) > limits.POOL_THRESHOLD:         # only a big ingest leaves a big heap behind
        _release_heap()
    return result


def _release_heap() -> None:
    """Give the C heap's free memory back to the system. The files' bytes went through this process (to the
    workers) and leave glibc's heap fragmented: after 10,000 files, 178 MB resident, 123 MB once trimmed; the
    workbook's writer, forked later, would otherwise start from the larger figure. A no-op where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):                       # musl and other C libraries: nothing to trim
        pass


class _Ingest:
    """One ingest: what was found, and the decisions taken in the order the files were received."""

    def __init__(self, ws, catalog, history, run_period: str, dry_run: bool, stored: dict | None = None):
        self.ws, self.catalog, self.history, self.dry_run, self.stored = ws, catalog, history, dry_run, stored
        self.result = IngestResult(run_period)
        self.retried: dict[str, int] = {}   # source -> ledger id of an earlier rejection, evaluated again
        self.attached: dict[str, list[Problem]] = {}   # intake problems of a file that was found anyway
        self.pending: set[str] = set()      # hashes taken in this run
        self.locks: dict = {}               # (unit type, month) -> its locked year or None (`_locked_year`)

    def run(self, paths, readers, progress, while_reading) -> IngestResult:
        new, problems, displays = [], [], set()
        for found in _collect(self.ws, paths):
            if isinstance(found, Problem):
                problems.append(found)
                continue
            displays.add(found.display)
            earlier = self.history.seen(found.source, found.sha256)
            if earlier and earlier[1] != "rejected":
                self.result.outcomes.append(FileOutcome(found.display, "seen"))
                continue
            if earlier:
                self.retried[found.source] = earlier[0]
            readers.submit((found.data, found.display, (found.sha256, found.name)))
            new.append(replace(found, data=b""))                # the readers hold the bytes, as long as needed
        for prob in problems:
            if prob.location.file in displays:
                self.attached.setdefault(prob.location.file, []).append(prob)
        order = sorted(range(len(new)), key=lambda i: (new[i].received, new[i].source))
        back: dict[int, object] = {}
        taken = 0
        # A dry run walks the same decisions against a read-only database and records nothing.
        with self.history.transaction() if not self.dry_run else contextlib.nullcontext():
            for index, done, unread in readers.results(_steps(progress), while_reading):
                back[index] = done, unread
                while taken < len(order) and order[taken] in back:
                    self._take(new[order[taken]], *back.pop(order[taken]))
                    taken += 1
            for prob in problems:
                if prob.location.file not in displays:
                    self._note(prob)
        return self.result

    def _take(self, inc, done, unread) -> None:
        """Decide on one new file, with its worker's result (or, with `unread`, the item the workers could not deal
        with), and record it."""
        from antt_batch.validate import FileReport
        history, dry_run = self.history, self.dry_run
        if isinstance(done, FileReport):
            report = done
            if report.accepted:
                _sender_check(report, inc, self.ws)
        else:    # crashed, timed out or too big: the task may not have stored it
            report = FileReport(display=inc.display, sha256=inc.sha256, problems=list(done.problems))
            if not dry_run:
                _store(self.ws.root, inc.sha256, inc.name, unread[0])
        report.problems[:0] = self.attached.get(inc.display, [])
        decision, changed = _decide(history, self.catalog, report, inc, self.pending, self.locks, apply=not dry_run)
        self.pending.add(inc.sha256)
        if inc.source in self.retried and decision == "rejected":   # same file, same verdict: not a new event
            self.result.outcomes.append(FileOutcome(inc.display, "seen"))
            return
        if not dry_run:
            if inc.source in self.retried:
                history.drop_entry(self.retried[inc.source])   # now taken: its earlier rejection is replaced
            ledger_id = history.add_entry(
                source=inc.source, display=inc.display, sha256=inc.sha256, stored=_stored_name(inc.sha256, inc.name),
                sender=inc.sender, received=inc.received, run_period=self.result.run_period,
                unit_code=report.unit_code or None, period=report.period or None, decision=decision,
                problems=report.problems, changed_fields=", ".join(changed))
            if decision in ("accepted", "superseded"):
                history.add_values(ledger_id, report.fields, report.incidents)
                if self.stored is not None:
                    self.stored[ledger_id] = report.fields
        self.result.outcomes.append(FileOutcome(inc.display, decision, report.unit_code, report.period,
                                                report.problems, changed))

    def _note(self, prob: Problem) -> None:
        """An intake problem that belongs to no file found (a message without attachment, an unreadable file)."""
        source = f"intake:{prob.location.file}:{prob.code}"
        if self.history.seen(source, ""):
            return
        decision = "rejected" if prob.is_error else "noted"
        if not self.dry_run:
            self.history.add_entry(source=source, display=prob.location.file, sha256="", stored="", sender=None,
                                   received=None, run_period=self.result.run_period, unit_code=None, period=None,
                                   decision=decision, problems=[prob])
        self.result.outcomes.append(FileOutcome(prob.location.file, decision, problems=[prob]))
