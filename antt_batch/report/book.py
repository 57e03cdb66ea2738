"""Workbook lifecycle: streamed sheets, deterministic properties and the atomic, lock-aware write (spec §7, §9.1).

A workbook of more than `STREAM_ABOVE_ROWS` unit rows (a very large commune, a province's or the nation's roll-up:
up to ~85,000 rows x ~100 columns) streams its big row-ordered sheets (`data`, the matrices, the lists) with
xlsxwriter's constant_memory mode, so memory stays bounded. Smaller workbooks keep every sheet in memory with shared
strings, which writes a cell in ~7 µs instead of ~10 µs (measured: 400,000 string cells) but holds every cell
(10,000 units: +130 MB). `Tổng hợp` is never streamed: its charts read cached values from its helper tables, which
constant_memory cannot provide. xlsxwriter only exposes the mode per workbook, so it is switched on around
`add_worksheet` for the streamed sheets.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import xlsxwriter

from antt_batch.report import offload, packing
from antt_batch.report.fastsheet import WORKSHEET_CLASS
from antt_batch.report.styles import Styles, workbook_options


@dataclass(frozen=True)
class WriteResult:
    """Where the workbook went; `locked` means the target was in use and `path` is the name beside it."""

    path: Path
    locked: bool = False


STREAM_ABOVE_ROWS = 5_000


class _Workbook(xlsxwriter.Workbook):
    """An xlsxwriter workbook that knows whether its big sheets are streamed (`write_workbook(rows=...)`) and which
    sheets' cells a child process is writing (`offload.start`)."""

    stream = False

    def __init__(self, filename: str, options: dict):
        super().__init__(filename, options)
        self.offloaded: list = []

    def _store_workbook(self) -> None:
        with packing.installed(self):     # the rows a child deflated go into the zip as they are
            super()._store_workbook()


def add_sheet(workbook, name: str, streamed: bool = True):
    """A new sheet; a streamed one (in a big workbook) must be written row by row, top to bottom."""
    workbook.constant_memory = streamed and workbook.stream
    try:
        return workbook.add_worksheet(name, worksheet_class=WORKSHEET_CLASS)
    finally:
        workbook.constant_memory = False


STALE_TEMP_SECONDS = 3600   # older temp files cannot belong to a writer still running


def locked_name(path: Path, now: datetime) -> Path:
    """`BaoCao_..._2025-06.xlsx` -> `BaoCao_..._2025-06_20250705-081500.xlsx`, beside the locked file."""
    return path.with_name(f"{path.stem}_{now:%Y%m%d-%H%M%S}{path.suffix}")


def write_workbook(path: Path, build, *, created: datetime, title: str, rows: int) -> WriteResult:
    """Build a workbook with `build(workbook, styles)` into a temp file beside `path`, then move it into place.

    `rows` (unit rows in the workbook) decides whether big sheets are streamed (see the module docstring).
    A crash while building leaves the previous file untouched and no temp file behind. When the target cannot be
    replaced because another program holds it (PermissionError, typically Excel on Windows), the report is moved
    beside it under a timestamped name and `locked` is set so the caller can report `output-locked` (exit 3).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - STALE_TEMP_SECONDS
    for stale in path.parent.glob(f".{path.stem}.*.tmp.xlsx"):   # left by a killed run (SIGKILL, power loss);
        with contextlib.suppress(OSError):                       # a concurrent writer's fresh temp file is kept
            if stale.stat().st_mtime < cutoff:
                stale.unlink()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.xlsx", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with tempfile.TemporaryDirectory(prefix="antt-xlsx-", ignore_cleanup_errors=True) as scratch:
            stream = rows > STREAM_ABOVE_ROWS     # else every part is assembled in memory, no scratch files
            workbook = _Workbook(str(tmp), {**workbook_options(), "tmpdir": scratch, "in_memory": not stream})
            workbook.stream = stream
            try:
                workbook.set_properties({"title": title, "author": "antt-batch", "created": created})
                build(workbook, Styles(workbook))
                offload.join(workbook)
            except BaseException:
                offload.abandon(workbook)
                with contextlib.suppress(Exception):
                    workbook.close()    # releases the streamed sheets' scratch files; the output is discarded
                raise
            workbook.close()
        try:
            os.replace(tmp, path)
            return WriteResult(path)
        except PermissionError:
            beside = locked_name(path, datetime.now())
            os.replace(tmp, beside)
            return WriteResult(beside, locked=True)
    finally:
        tmp.unlink(missing_ok=True)
