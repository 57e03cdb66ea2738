"""Crash isolation: parse workbooks in child processes, so a native crash costs one file, not the run (spec §8).

python-calamine is native code; on a hostile file it can abort the whole process (SIGABRT, measured on a 1.1 GiB
bomb and on a sheet spanning A1:XFD1048576). `Readers` therefore sends the files, in chunks, to long-lived child
workers (one, or one per CPU above `limits.POOL_THRESHOLD` files), which may also run a task on each (the ingest
validates there, on every core). Each result comes back as soon as it is ready, so when a worker dies the file it
was reading is known: that file gets `reader-crashed`, the rest of its chunk goes back to the queue, and a fresh
worker goes on. A file still being read after `limits.READ_TIMEOUT_S` is treated the same way. `read_many` is the
simple form: a list in, the results in the same order out.

Start method (measured on Linux, time to the first result): 'fork' ~30 ms, used only while this process has a
single thread, so no lock can be inherited held; otherwise 'forkserver' ~200 ms once (a clean preloaded server,
then a few ms per worker); 'spawn' ~200 ms per worker, the only choice on Windows and the default on macOS.

Test hooks: if the environment variable `ANTT_TEST_CRASH_ON` is set when the workers start, a worker calls
`os.abort()` instead of reading any file whose display name contains that text; with `ANTT_TEST_HANG_ON`, it
sleeps on such a file instead (until the timeout kills it). They are read in the parent and passed to the
workers, and acted on only inside a worker: they exist so tests can prove crash and hang isolation without mocks.
Never set them in production.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from typing import Callable, Iterator

from . import limits

CRASH_ENV = "ANTT_TEST_CRASH_ON"
HANG_ENV = "ANTT_TEST_HANG_ON"
_CPUS = os.cpu_count() or 1         # asked once: it reads /sys on every call
_PRELOAD = ["antt_batch.reader", "python_calamine", "defusedxml.ElementTree"]
PUMP_EVERY = 32                     # results delivered between two looks at the workers (`Readers.results`)
# A worker is sent its next files while it still reads its last PREFETCH ones, so it never waits for this process
# (measured at 10,000 files: each worker waited ~0.8 s, a few ms per chunk). Such a message waits in the pipe, and
# a send that does not fit would block this process while the worker may itself be blocked sending a result back:
# so only where the pipe is known to hold it (Linux: a socket pair holds ~208 KiB each way, against this message
# and PREFETCH + CHUNK_FILES results of ~3 KB); elsewhere (8 KiB pipes) only an idle worker is sent files.
PREFETCH = 8
PREFETCH_BYTES = 128 * 1024 if sys.platform.startswith("linux") else 0


def read_many(items: list[tuple], progress: Callable[[int, int], None] | None = None, task=None,
              while_waiting: Callable[[], None] | None = None) -> list:
    """Read every `(data, display_name)` in a child process; return their `ReadResult`s in the same order.

    A shorthand for `Readers(task).read(...)`; see there.
    """
    with Readers(task, start=0) as readers:
        return readers.read(items, progress, while_waiting)


class Readers:
    """Reader workers, a context manager. They can be started before the files are known (`start`), so that their
    start-up (a fork, the reader's imports) overlaps this process's own work; files are `submit`ted one by one as
    they are found and go to an idle worker at once, and `results()` yields each result as soon as it is back.

    With `task`, a picklable callable (with an optional `prepare()` that a worker calls once on starting), a worker
    returns `task(key, data, display)` for each item
    `(data, display, key)` (`key` defaults to the item's index) instead of the `ReadResult`, so the work that
    follows the reading (validation) runs in the workers too, on every CPU. A file that crashed or timed out, or was
    too big to send, still gets a `ReadResult` with its problem. An exception raised by the task is a bug, not a bad
    file: it is raised here as RuntimeError with the worker's traceback. Never raises for a bad file; raises
    RuntimeError if a worker process cannot start at all (a broken installation, not a bad file).

    One worker reads up to `limits.POOL_THRESHOLD` files, one per CPU from then on. Memory stays bounded however
    many files there are: `submit` waits while more than `limits.READ_BACKLOG_BYTES` are sent and not yet read,
    and a file's bytes are let go as soon as a worker has dealt with it (kept only for the files the workers could
    not deal with, which `results` hands back so the caller can still keep a copy).
    """

    def __init__(self, task=None, start: int = 1):
        self.task = task
        self.ctx = _context()
        self.hooks = (os.environ.get(CRASH_ENV, ""), os.environ.get(HANG_ENV, ""))   # tests only (module docstring)
        self.workers = [_Worker(self.ctx, self.hooks, task) for _ in range(start)]
        self.items: list = []           # by index; None once a worker has dealt with it
        self.todo: deque[int] = deque()
        self.ready: dict = {}           # index -> result not yet delivered
        self.unread: set[int] = set()   # too big, crashed or timed out: the item is kept for the caller
        self.backlog = 0                # bytes submitted whose result has not come back
        self.delivered = 0

    def __enter__(self) -> Readers:
        return self

    def __exit__(self, *exc) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def submit(self, item: tuple) -> int:
        """Queue one item and hand it to an idle worker; returns its index. Waits only while the backlog is full."""
        index = len(self.items)
        self.items.append(item)
        if len(item[0]) > limits.MAX_FILE_BYTES:            # never ship a huge file through a pipe
            from .container import size_problem
            from .reader import ReadResult
            self.ready[index] = ReadResult(None, [size_problem(item[0], item[1])])
            self.unread.add(index)
            return index
        self.todo.append(index)
        self.backlog += len(item[0])
        self._pump()
        while self.backlog > limits.READ_BACKLOG_BYTES:
            self._wait_busy()
            self._pump()
        return index

    def results(self, progress: Callable[[int, int], None] | None = None,
                while_waiting: Callable[[], None] | None = None) -> Iterator[tuple[int, object, tuple | None]]:
        """`(index, result, item)` of every submitted item, in the order they finish; `item` is None unless the
        workers could not deal with it (too big, crashed, timed out).

        `while_waiting()` is called once, before the first wait: this process would otherwise sit idle while the
        workers read (the monthly run imports the scorer and the workbook writer then). `progress(done, total)` is
        called as files finish."""
        while True:
            self._pump()
            if self.ready:
                done, self.ready = self.ready, {}
                self.delivered += len(done)
                if progress:
                    progress(self.delivered, len(self.items))
                for n, (index, result) in enumerate(done.items(), start=1):
                    item, self.items[index] = self.items[index], None
                    yield index, result, item if index in self.unread else None
                    if n % PUMP_EVERY == 0:     # a long batch: keep the workers fed while the caller works on it
                        self._pump()
            if self.delivered == len(self.items):
                return
            if while_waiting:
                while_waiting()
                while_waiting = None
                continue
            self._wait_busy()

    def read(self, items: list[tuple], progress: Callable[[int, int], None] | None = None,
             while_waiting: Callable[[], None] | None = None) -> list:
        """Results for `items` in their order (see the class)."""
        first = len(self.items)
        for item in items:
            self.submit(item)
        out: list = [None] * len(items)
        for index, result, _ in self.results(progress, while_waiting):
            out[index - first] = result
        return out

    def _wait_busy(self) -> None:
        busy = [w for w in self.workers if w.pending]
        if busy:                                            # else a failed worker's files wait for a new one
            _wait(busy)

    def _pump(self) -> None:
        """Without waiting: give idle workers files, start workers as needed, take the results that are back."""
        size = _CPUS if len(self.items) > limits.POOL_THRESHOLD else 1
        workers, todo, items = self.workers, self.todo, self.items
        for worker in list(workers):
            if not worker.pending and todo:
                if not worker.process.is_alive():      # died while idle (killed from outside): replace it
                    worker.stop(kill=True)
                    workers.remove(worker)
                    continue
                worker.send(_chunk(todo, items, size), items)
            elif todo and len(worker.pending) <= PREFETCH and len(items[todo[0]][0]) <= PREFETCH_BYTES:
                worker.send(_chunk(todo, items, size, limit=PREFETCH_BYTES), items)
        while todo and len(workers) < size:
            workers.append(_Worker(self.ctx, self.hooks, self.task))
            workers[-1].send(_chunk(todo, items, size), items)
        for worker in [w for w in workers if w.pending]:
            for index in worker.collect(self.ready):
                self.backlog -= len(items[index][0])
                if index not in self.unread:
                    items[index] = None                 # dealt with: its bytes can go
            if worker.dead or worker.overdue():
                failed = worker.fail(self.ready, todo, items)
                if failed is not None:
                    self.backlog -= len(items[failed][0])
                    self.unread.add(failed)
                workers.remove(worker)


def _context():
    """'fork' when this process has a single thread (measured: first worker ready in ~30 ms), else 'forkserver'
    (~200 ms for the server, then a few ms per worker), else 'spawn' (Windows, macOS: a new interpreter)."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux"):
        if "fork" in methods and single_threaded():
            return multiprocessing.get_context("fork")
        if "forkserver" in methods:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            return ctx
    return multiprocessing.get_context("spawn")


def single_threaded() -> bool:
    """Forking is only safe without other threads (one could hold a lock the child would inherit locked).
    /proc counts native threads too, such as those a numerical library starts on import."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _chunk(todo: deque[int], items, workers: int, limit: int = limits.CHUNK_BYTES) -> list[int]:
    """Few files per message (fewer round trips), but small enough to spread the work over every worker, and never
    more than `limit` bytes (but for a first file bigger than that)."""
    count = max(1, min(limits.CHUNK_FILES, len(todo) // (2 * workers)))
    chunk, size = [], 0
    while todo and len(chunk) < count and (not chunk or size + len(items[todo[0]][0]) <= limit):
        index = todo.popleft()
        chunk.append(index)
        size += len(items[index][0])
    return chunk


def _wait(busy: list[_Worker]) -> None:
    from multiprocessing.connection import wait

    deadline = min(w.since for w in busy) + limits.READ_TIMEOUT_S
    wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=max(0.0, deadline - time.monotonic()))


class TaskFailed:
    """A task raised inside a worker: its traceback, re-raised in the parent (a crash would blame the file)."""

    def __init__(self, text: str):
        self.text = text


class _Worker:
    """One child process, its pipe, and the files sent to it that have no result yet (in order)."""

    def __init__(self, ctx, hooks: tuple[str, str], task=None):
        parent, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child, hooks, task), daemon=True, name="antt-reader")
        self.process.start()
        child.close()
        self.conn, self.pending, self.dead, self.ready = parent, deque(), False, False
        self.since = time.monotonic()

    def send(self, chunk: list[int], items) -> None:
        if not self.pending:                                # else the clock runs from its oldest file's start
            self.since = time.monotonic()
        self.pending.extend(chunk)
        try:
            self.conn.send([(i, *items[i]) for i in chunk])
        except OSError:                                     # died before reading: `collect` will notice
            self.dead = True

    def collect(self, results: dict) -> list[int]:
        """Take every result already sent back; notice a dead worker. Returns the indexes of the files finished."""
        finished = []
        try:
            while self.conn.poll() or not self.process.is_alive() and self.conn.poll(0.05):
                message = self.conn.recv()
                if message == "ready":
                    self.ready = True
                    continue
                index, result = message
                if isinstance(result, TaskFailed):
                    raise RuntimeError(f"antt-batch: a reader worker failed on a file:\n{result.text}")
                self.pending.remove(index)
                results[index] = result
                finished.append(index)
                self.since = time.monotonic()
        except (EOFError, OSError):
            self.dead = True
        if not self.process.is_alive():
            self.dead = True
        return finished

    def overdue(self) -> bool:
        return bool(self.pending) and time.monotonic() - self.since > limits.READ_TIMEOUT_S

    def fail(self, results: dict, todo: deque[int], items) -> int | None:
        """The worker died (or hangs) on its oldest pending file: reject that file, requeue the others.
        Returns the rejected file's index."""
        from .errors import Location, problem
        from .reader import ReadResult
        from .text import safe_display_name

        timed_out = not self.dead
        self.stop(kill=True)
        if not self.ready and not timed_out:
            raise RuntimeError(f"antt-batch: reader worker could not start (exit code {self.process.exitcode})")
        if not self.pending:
            return None
        index = self.pending.popleft()
        if timed_out:
            detail = f"đọc quá {limits.READ_TIMEOUT_S:g} giây".replace(".", ",")
        else:
            detail = f"tiến trình đọc bị dừng đột ngột, {_exit_reason(self.process.exitcode)}"
        name = safe_display_name(items[index][1])
        results[index] = ReadResult(None, [problem("reader-crashed", Location(file=name), detail=detail)])
        todo.extendleft(reversed(self.pending))
        self.pending.clear()
        return index

    def stop(self, kill: bool = False) -> None:
        if self.process.is_alive() and not kill:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(2.0)
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5.0)
        self.conn.close()


def _exit_reason(code: int | None) -> str:
    import signal

    if code is not None and code < 0:
        try:
            return f"tín hiệu {signal.Signals(-code).name}"
        except ValueError:
            return f"tín hiệu {-code}"
    return f"mã thoát {code}"


def serve(conn, hooks: tuple[str, str], task=None) -> None:
    """Worker main loop: receive chunks of (index, data, display[, key]), send back (index, ReadResult or task
    result) one by one."""
    import faulthandler
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)          # Ctrl-C is the parent's business
    faulthandler.disable()                                  # a crash is reported as a Problem, not a stack dump
    os.environ["RUST_BACKTRACE"] = "0"                      # nor as a Rust backtrace on the operator's console
    _limit_memory()
    import importlib
    for name in _PRELOAD:                                   # the reader's lazy imports, before the first file
        importlib.import_module(name)
    from .errors import Location, problem
    from .reader import ReadResult, describe_exception, read_workbook
    from .text import safe_display_name

    crash_on, hang_on = hooks
    conn.send("ready")
    if hasattr(task, "prepare"):            # its imports and data, while the parent is still finding files
        try:
            task.prepare()
        except Exception:                   # the first call raises it again, and then it is reported as a bug
            pass
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for index, data, display, *key in chunk:
            if crash_on or hang_on:                         # test hooks, see the module docstring
                shown = safe_display_name(display)
                if crash_on and crash_on in shown:
                    os.abort()
                if hang_on and hang_on in shown:
                    time.sleep(3600)
            if task is None:
                result = read_workbook(data, display)
            else:
                try:
                    result = task(key[0] if key else index, data, display)
                except Exception:                           # a bug, not a bad file: the parent raises it
                    import traceback
                    result = TaskFailed(traceback.format_exc())
            try:
                conn.send((index, result))
            except Exception as exc:                        # an unpicklable value: report it, keep going
                crash = problem("reader-crashed", Location(file=safe_display_name(display)),
                                detail=describe_exception(exc))
                conn.send((index, ReadResult(None, [crash])))


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


def _limit_memory() -> None:
    """Cap the worker's address space where the OS allows it, so a runaway allocation fails inside the worker, and
    forbid core dumps: a crashing worker must not leave a copy of someone's report on disk."""
    try:
        import resource
    except ImportError:                                     # Windows
        return
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = _address_space() + limits.WORKER_MEMORY_BYTES  # a forked worker starts as big as its parent
        if soft == resource.RLIM_INFINITY or soft > cap:
            resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    except (ValueError, OSError):
        pass
