"""The documented Python API: every CLI command is one call here, returning a result object; nothing prints.

    from antt_batch import api
    ws = api.open_workspace("examples/phu-dinh")
    result = api.run_month(ws, "2025-03", today=date(2025, 4, 10))
    result.report_path
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from antt_batch import __version__
from antt_batch.errors import Location, Problem, problem
from antt_batch.text import VN_TZ
from antt_batch.workspace import Workspace, load_workspace


def open_workspace(root) -> Workspace:
    return load_workspace(Path(root))


def catalog_for(ws: Workspace | None = None):
    """The catalog with the workspace's provincial extra criteria and reading options."""
    from antt_batch.catalog import load_catalog
    if ws is None or not (ws.extra_criteria or ws.options):
        return load_catalog()
    return load_catalog(extra_criteria=ws.extra_criteria, options=ws.options)


def init_workspace(directory) -> Path:
    """Create a starter workspace with a commented antt.toml the operator must complete."""
    from antt_batch.starter import STARTER_TOML
    directory = Path(directory)
    path = directory / "antt.toml"
    if path.exists():
        raise FileExistsError(path)
    for sub in ("inbox", "output", "templates"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER_TOML, encoding="utf-8")
    return path


def _prefill(catalog, snapshots: dict, unit, period: str) -> dict:
    """Latest status values of the same evaluation year (khoản-1 dates and year-end results stay in their year)."""
    from antt_batch.score.periods import month_end
    year_of = catalog.unit_types[unit.type].year_of
    year = year_of(month_end(period))
    values: dict = {}
    for snap in snapshots.get(unit.code, []):
        if snap.period < period and year_of(month_end(snap.period)) == year:
            values.update({f: v.value for f, v in snap.fields.items()})
    # Year-end results stay with the year they were issued for (spec §5): never carried into a template.
    return {f: v for f, v in values.items()
            if f in catalog.fields and catalog.fields[f].carry and not catalog.fields[f].year_end}


def make_templates(ws: Workspace, period: str, out: Path | None = None) -> list[Path]:
    """One personalised template per unit active in `period`, plus the commune's own (spec §4, §9.1)."""
    from antt_batch.history import History
    from antt_batch.score.periods import month_end
    from antt_batch.templates import deadline_text, template_filename, write_template
    catalog = catalog_for(ws)
    out = Path(out) if out else ws.root / "templates" / period
    snapshots = {}
    if ws.db_path.exists():
        with History(ws.db_path) as history:       # read once: every unit's prefill comes from it
            snapshots = history.snapshots(period)
    paths = []
    for unit in ws.all_units():
        if not unit.active_on(month_end(period)) or unit.in_scope is False:
            continue
        paths.append(write_template(
            out / template_filename(unit.code, period), catalog, unit.type, unit.code, unit.name, period,
            prefill=_prefill(catalog, snapshots, unit, period),
            send_to=", ".join(ws.commune.emails) or ws.commune.name,
            deadline=deadline_text(period, ws.deadline_day)))
    return paths


def write_blank_templates(out: Path) -> list[Path]:
    """The per-type blank templates committed in input_templates/ (regenerable; a test checks they are fresh)."""
    from antt_batch.templates import write_template
    catalog = catalog_for()
    return [write_template(Path(out) / f"{t}.xlsx", catalog, t) for t in catalog.unit_types]


@dataclass
class ReportOutcome:
    path: Path
    locked: bool
    score: object
    problems: list[Problem] = field(default_factory=list)
    progress: list = field(default_factory=list)


@dataclass
class RunResult:
    period: str
    ingest: object
    report: ReportOutcome
    templates: list[Path] = field(default_factory=list)
    drafts: list[Path] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 3 if self.report.locked else 0


def validate(ws: Workspace, period: str, paths: list[Path]):
    """Dry run: what a run would accept, reject or supersede; writes nothing (the database is opened read-only)."""
    from antt_batch.history import History
    from antt_batch.pipeline import ingest as do_ingest
    from antt_batch.pipeline import start_readers
    with start_readers(ws, period, dry_run=True) as readers:   # getting ready while the catalog loads
        catalog = catalog_for(ws)
        history = History(ws.db_path, readonly=True) if ws.db_path.exists() else History(Path(":memory:"))
        try:
            return do_ingest(ws, catalog, history, [Path(p) for p in paths], period, dry_run=True, readers=readers)
        finally:
            history.close()


def ingest(ws: Workspace, period: str, paths: list[Path], progress=None, while_reading=None, stored=None):
    """Take the files under `paths` into history; `stored`: see `pipeline.ingest`."""
    from antt_batch.pipeline import ingest as do_ingest
    from antt_batch.pipeline import start_readers
    with start_readers(ws, period) as readers:              # the workers get ready while this process goes on
        from antt_batch.history import History
        with History(ws.db_path) as history:
            return do_ingest(ws, catalog_for(ws), history, [Path(p) for p in paths], period, progress=progress,
                             while_reading=while_reading, readers=readers, stored=stored)


def report_path(ws: Workspace, period: str) -> Path:
    return ws.output_dir / period / f"BaoCao_ANTT_{ws.commune.code}_{period}.xlsx"


def write_report(ws: Workspace, period: str | None = None, year: int | None = None,
                 today: date | None = None, stored: dict | None = None) -> ReportOutcome:
    """Score from history and write the consolidated workbook of a month (or of an evaluation year).

    The score is computed while the workbook's first sheets are written (see `report.write_report`). `stored`: the
    fields an ingest just recorded (see `History.snapshots`), used instead of being read back."""
    from functools import cache

    from antt_batch import assemble
    from antt_batch.history import History
    from antt_batch.model import ReportInput
    from antt_batch.report import write_report as write_workbook
    from antt_batch.score import listed, score
    from antt_batch.score.periods import window
    catalog = catalog_for(ws)
    today = today or date.today()
    label = str(year) if year else period
    up_to = f"{year}-12" if year else period
    with History(ws.db_path) as history:
        months = assemble.report_months(label)
        incidents = history.incidents(up_to)
        progress = assemble.progress(ws, history, months, today)
        problems = [*ws.warnings, *ws.period_warnings(period or f"{year}-11"), *history.problems(label),
                    *(assemble.incomplete_year(ws, catalog, progress, year) if year else [])]
        inp = ReportInput(
            commune_code=ws.commune.code, commune_name=ws.commune.name, forward_to=ws.forward_to, period=label,
            as_of=window(catalog.unit_types["XA"], period=period, year=year).as_of, today=today,
            generated_at=datetime.now(VN_TZ).replace(microsecond=0), tool_version=__version__,
            catalog_version=catalog.version, score=None, progress=progress,
            months=months, incidents=[i for i in incidents if i.ngay >= date(int(months[0][:4]), 11, 1)],
            problems=problems, ledger=history.ledger(label), input_sha256=history.input_sha256(up_to),
            trend=assemble.trend(incidents, months), extra_criteria=[c["id"] for c in ws.extra_criteria],
            redact_descriptions=ws.redact_descriptions, committee_name=ws.committee_name,
            units=[ws.commune, *listed(catalog, ws.units, period, year)])
        scored = cache(lambda: score(catalog, assemble.scoring_input(ws, history, up_to, stored), period=period,
                                     year=year))
        written = write_workbook(inp, catalog, report_path(ws, label), scorer=scored)
    extra = []
    if written.locked:
        extra.append(problem("output-locked", Location(file=report_path(ws, label).name),
                             detail=written.path.name))
    return ReportOutcome(written.path, written.locked, scored(), extra, inp.progress)


def _import_report_stage() -> None:
    """Import what scoring and the workbook need (~70 ms, xlsxwriter most of it) while the workers read files."""
    import antt_batch.assemble  # noqa: F401
    import antt_batch.report  # noqa: F401
    import antt_batch.score.engine  # noqa: F401


def run_month(ws: Workspace, period: str, inbox: Path | None = None, today: date | None = None,
              next_templates: bool = True, drafts: bool = True, progress=None) -> RunResult:
    """The monthly one command (spec §9.1): ingest the inbox, merge, score, write the workbook and next month's kit."""
    inbox = Path(inbox) if inbox else ws.inbox(period)
    stored: dict = {}                                       # the month's values, handed from ingest to scoring
    result = ingest(ws, period, [inbox] if inbox.exists() else [], progress=progress,
                    while_reading=_import_report_stage, stored=stored)
    report = write_report(ws, period=period, today=today, stored=stored)
    run = RunResult(period, result, report)
    if next_templates:
        from antt_batch.score.periods import next_month
        run.templates = make_templates(ws, next_month(period))
    if drafts:
        from antt_batch.drafts import write_drafts
        run.drafts = write_drafts(ws, run, today or date.today())
    return run


def close_year(ws: Workspace, unit_type: str, year: int, reopen_reason: str | None = None) -> bool:
    """Lock (or, with a recorded reason, reopen) an evaluation year of a unit type; returns the new lock state."""
    from antt_batch.history import History
    with History(ws.db_path) as history:
        locked = reopen_reason is None
        history.set_lock(unit_type, year, locked, reopen_reason or "close-year", datetime.now(VN_TZ))
        return locked


def backup(ws: Workspace, out: Path | None = None) -> Path:
    """The database (a consistent online copy) and the store in one zip file."""
    import sqlite3
    import zipfile
    stamp = datetime.now(VN_TZ).strftime("%Y%m%d-%H%M%S")
    out = Path(out) if out else ws.root / f"backup_{ws.commune.code}_{stamp}.zip"
    tmp_db = ws.root / f".backup-{stamp}.sqlite"
    src = sqlite3.connect(ws.db_path)
    dst = sqlite3.connect(tmp_db)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    tmp_zip = out.with_name(out.name + ".tmp")
    try:
        with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(tmp_db, "antt.sqlite")
            zf.write(ws.config_path, "antt.toml")
            for path in sorted(ws.store_dir.rglob("*")) if ws.store_dir.exists() else []:
                if path.is_file():
                    zf.write(path, path.relative_to(ws.root).as_posix())
        os.replace(tmp_zip, out)
    finally:
        tmp_db.unlink(missing_ok=True)
    return out
