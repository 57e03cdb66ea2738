"""A streamed sheet's cells written by a forked child while this process builds the rest of the workbook.

Why: a workbook is written on one core while the other idles, and the `data` sheet of a big workbook is most of
it (a national roll-up: ~3.6 million cells, ~6 s of its ~10 s of writing). In a streamed sheet the cells only
become rows in a scratch file; everything else about the sheet (widths, panes, filter, print setup) is set by
calls that do not touch that file. So `start`, called before the first sheet, forks a child that writes the cells
into a scratch file of its own and exits; this process builds every sheet meanwhile, skipping those cells; at the
sheet's place it `adopt`s the child, and `join` (before the workbook is closed) points the sheet at the child's rows
and their extent. The formats the cells use get their style numbers before the fork, in both ways of writing, so
the workbook is byte for byte the one written in one process (`tests/test_report_offload.py`).

Only for streamed workbooks, and only where it is safe: Linux (fork), this process running a single thread (no
lock can be inherited held), xlsxwriter internals present (the fast worksheet). Otherwise `start` returns None
and the caller writes the cells in place.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
from dataclasses import dataclass

from antt_batch.report.fastsheet import WORKSHEET_CLASS


@dataclass
class Child:
    pid: int
    fd: int
    ws: object = None       # the sheet the rows belong to, once `adopt`ed


def start(workbook, new_sheet, write_cells, formats) -> Child | None:
    """In a streamed workbook, fix the style numbers of the formats the cells use (`formats()`, in the order the
    cells first use them), then fork a child that runs `write_cells(new_sheet())` on its own copy of the workbook.
    None: not forked (a small workbook, or forking is not possible here); the caller writes the cells itself."""
    if not getattr(workbook, "stream", False) or WORKSHEET_CLASS is None:
        return None
    for fmt in formats():
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
        _child(new_sheet, write_cells, write_end)            # never returns
    os.close(write_end)
    child = Child(pid, read_end)
    workbook.offloaded.append(child)
    return child


def _child(new_sheet, write_cells, pipe: int) -> None:
    status, message = 0, b""
    try:
        ws = new_sheet()
        write_cells(ws)
        ws._write_single_row()                              # the last row, as xlsxwriter does when closing
        ws.row_data_fh.close()
        message = pickle.dumps(("ok", ws.row_data_filename,
                                (ws.dim_rowmin, ws.dim_rowmax, ws.dim_colmin, ws.dim_colmax)))
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


def adopt(child: Child, ws) -> None:
    """The sheet, now added at its place, whose rows the child is writing."""
    child.ws = ws


def join(workbook) -> None:
    """Wait for every child and point its sheet at the rows it wrote. Raises RuntimeError if one failed."""
    children, workbook.offloaded = workbook.offloaded, []
    failures = []
    for child in children:
        with os.fdopen(child.fd, "rb") as pipe:
            message = pipe.read()
        _, status = os.waitpid(child.pid, 0)
        kind, *rest = pickle.loads(message) if message else ("error", f"exit status {status}")
        if kind != "ok" or status != 0 or child.ws is None:
            failures.append(rest[0] if kind != "ok" else "a sheet was started but never added")
            continue
        filename, dims = rest
        ws = child.ws
        ws.row_data_fh.close()                              # this process's own scratch file for it: empty
        os.unlink(ws.row_data_filename)
        ws.row_data_filename = filename
        ws.row_data_fh = ws.fh = open(filename, mode="a+", encoding="utf-8")   # noqa: SIM115 (as xlsxwriter reopens)
        ws.dim_rowmin, ws.dim_rowmax, ws.dim_colmin, ws.dim_colmax = dims
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
