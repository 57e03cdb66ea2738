"""Streamed sheets' cells written by a forked child while this process builds the rest of the workbook.

Why: a workbook is written on one core while the other idles, and the row-ordered sheets of a big workbook are most
of it (a national roll-up's `data`: ~3.6 million cells, ~6 s of its ~10 s of writing; a 10,000-unit commune's
lists: ~0.8 s). In a streamed sheet the cells only become rows in a scratch file; everything else about the sheet
(widths, panes, filter, print setup) is set by calls that do not touch that file, and the merged ranges are a plain
list. So `start`, called before the first sheet, forks one child that writes the cells of the sheets it is given,
each into a scratch file of its own, deflates them (`packing`), leaves what it learnt in a scratch file and exits;
this process builds every other sheet meanwhile (or scores: a commune's workbook forks one child before the score
exists, one after); at each sheet's place it `adopt`s the child's rows, and `join` (before the workbook is closed)
points the sheets at those rows, their extent and merged ranges. Every cell format made so far gets its style
number before the fork, in both ways of writing, so the workbook is byte for byte the one written in one process
(`tests/test_report_offload.py`); a format first used in the child would be unknown here, so the child fails
loudly on one.

Only for streamed workbooks, and only where it is safe: Linux (fork), this process running a single thread (no
lock can be inherited held), xlsxwriter internals present (the fast worksheet). Otherwise `start` returns None
and the caller writes the cells in place.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
from dataclasses import dataclass, field

from antt_batch.report.fastsheet import WORKSHEET_CLASS
from antt_batch.report.packing import deflate_rows


@dataclass
class Child:
    pid: int
    fd: int
    sheets: dict = field(default_factory=dict)   # sheet name -> (the sheet at its place here, its `finish`)


def start(workbook, sheets, formats) -> Child | None:
    """In a streamed workbook, fix the style numbers of `formats` (every format made so far, in the order made),
    then fork a child that runs `sheet.cells(ws)` for each of `sheets` (objects with a `name`) on sheets of its own
    copy of the workbook; what `cells` returns (picklable) comes back to the sheet's `finish`. None: not forked (a
    small workbook, or forking is not possible here); the caller writes the cells itself."""
    if not getattr(workbook, "stream", False) or WORKSHEET_CLASS is None:
        return None
    for fmt in formats:
        fmt._get_xf_index()
    from antt_batch.worker import single_threaded
    if not sys.platform.startswith("linux") or not single_threaded():
        return None
    try:
        read_end, write_end = os.pipe()
    except OSError:                                         # out of file descriptors: write the cells here
        return None
    try:
        pid = os.fork()
    except OSError:                                         # no process to spare (limits, a sandbox): here too
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:
        os.close(read_end)
        _child(workbook, sheets, write_end)                  # never returns
    os.close(write_end)
    child = Child(pid, read_end, {sheet.name: None for sheet in sheets})
    workbook.offloaded.append(child)
    return child


def _child(workbook, sheets, pipe: int) -> None:
    """Write the sheets' cells, then say where the outcome is and exit at once: a pipe holds 64 KB, and a child
    blocked writing a bigger outcome (10,000 units: every merged range of `Tiến độ nộp`) would keep its memory until
    `join` reads it."""
    status, message = 0, b""
    try:
        from antt_batch.report.book import add_sheet          # here: book imports this module
        styles = len(workbook.xf_format_indices)
        written = []
        for sheet in sheets:
            ws = add_sheet(workbook, sheet.name)
            result = sheet.cells(ws)
            ws._write_single_row()                          # the last row, as xlsxwriter does when closing
            ws.row_data_fh.close()
            deflated = deflate_rows(ws.row_data_filename) if ws.dim_rowmin is not None else None
            written.append((sheet.name, ws.row_data_filename,
                            (ws.dim_rowmin, ws.dim_rowmax, ws.dim_colmin, ws.dim_colmax), ws.merge, result,
                            deflated))
        if len(workbook.xf_format_indices) != styles:
            raise RuntimeError("a cell format was first used in the child: make it before `offload.start`")
        outcome = os.path.join(workbook.tmpdir, f"offload-{os.getpid()}.pickle")
        with open(outcome, "wb") as handle:
            pickle.dump(written, handle)
        message = pickle.dumps(("ok", outcome))
    except BaseException:                                   # a bug: the parent raises it with this traceback
        import traceback
        status, message = 1, pickle.dumps(("error", traceback.format_exc()))
    finally:
        try:
            view = memoryview(message)
            while view:
                view = view[os.write(pipe, view):]
        finally:
            os._exit(status)


def settle(child: Child | None) -> None:
    """Wait until `child` has exited (it is reaped by `join`). Before forking another child: each process alive
    keeps its own copy of every page another one writes, so three at once (10,000 units: ~390 MB) cost what two do
    not (~330 MB)."""
    if child is not None:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)


def adopt(child: Child, ws, finish) -> None:
    """The sheet, now added at its place, whose rows the child is writing; `finish(ws, result)` is called with what
    the child's `cells` returned once they are written (`join`)."""
    child.sheets[ws.name] = (ws, finish)


def join(workbook) -> None:
    """Wait for every child and point its sheets at the rows it wrote. Raises RuntimeError if one failed."""
    children, workbook.offloaded = workbook.offloaded, []
    failures = []
    for child in children:
        with os.fdopen(child.fd, "rb") as pipe:
            message = pipe.read()
        _, status = os.waitpid(child.pid, 0)
        kind, rest = pickle.loads(message) if message else ("error", f"exit status {status}")
        if kind != "ok" or status != 0:
            failures.append(rest if kind != "ok" else f"exit status {status}")
            continue
        with open(rest, "rb") as handle:
            written = pickle.load(handle)
        os.unlink(rest)
        for name, filename, dims, merged, result, deflated in written:
            ws, finish = child.sheets[name] or (None, None)
            if ws is None:
                failures.append(f"sheet «{name}» was started but never added")
                continue
            ws.row_data_fh.close()                          # this process's own scratch file for it: empty
            os.unlink(ws.row_data_filename)
            ws.row_data_filename, ws.row_data_fh_closed = filename, True     # xlsxwriter reopens it to read it
            ws.deflated_rows = deflated                     # or takes them deflated (`packing`)
            ws.dim_rowmin, ws.dim_rowmax, ws.dim_colmin, ws.dim_colmax = dims
            ws.merge[:0] = merged                           # the cells' merged ranges come first, as in one process
            finish(ws, result)
    if failures:
        raise RuntimeError("antt-batch: writing a sheet in a child process failed:\n" + "\n".join(failures))


def abandon(workbook) -> None:
    """After a failure here: stop and reap the children (their scratch files go with the scratch folder)."""
    import signal
    children, workbook.offloaded = getattr(workbook, "offloaded", []), []
    for child in children:
        with contextlib.suppress(OSError):
            os.kill(child.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(child.pid, 0)
        with contextlib.suppress(OSError):
            os.close(child.fd)
