"""Every size, count and time limit of the reader, in one place (spec §8).

The defaults are far above anything an honest monthly template reaches (a filled template is ~10-30 KiB, three
sheets, ~40 defined names, a few hundred cells) and far below what would hurt the operator's laptop. They exist
because files arrive by e-mail from anyone: a bad file is rejected with a Vietnamese message, never allowed to
exhaust memory, disk or time. Measured facts behind them are noted beside each constant.
"""

from __future__ import annotations

MiB = 1024 * 1024

# --- container (checked before any parser) -------------------------------------------------------------------
#: Largest file accepted, in bytes. A template with a full register is < 100 KiB; pasted photos stay well below.
MAX_FILE_BYTES = 20 * MiB

#: Sum of the uncompressed sizes of all zip members, declared AND actually inflated. python-calamine aborts the
#: whole process (SIGABRT) on a 1.1 GiB decompression bomb, so this gate runs first.
MAX_TOTAL_UNCOMPRESSED = 64 * MiB

#: Largest uncompressed/compressed ratio of one member. Honest XML measured at 10-15 (xlsxwriter and openpyxl,
#: 2,000-20,000 repetitive styled rows); zeros deflate at ~1,000. Only checked for members larger than
#: RATIO_MIN_BYTES, since tiny members can have any ratio without harm.
MAX_MEMBER_RATIO = 200
RATIO_MIN_BYTES = 1 * MiB

#: Most zip members. A template has ~15; each extra sheet, image or comment adds two or three.
MAX_MEMBERS = 1_000

#: Bytes of each XML part inspected for a DTD before its root element; honest prologs are < 200 bytes.
XML_PROLOG_BYTES = 4_096

# --- workbook content --------------------------------------------------------------------------------------------
#: Cells per sheet, counted as the area A1 .. (last row, last column) that calamine would allocate densely.
#: Measured: a 6 KiB file with cells A1 and XFD1048576 makes calamine abort; 200,000 x 100 cells take 640 MB.
MAX_SHEET_CELLS = 200_000

#: Non-blank incident rows below the header of `vu_viec` (inside the range or typed below it).
MAX_INCIDENT_ROWS = 2_000

#: Characters in one cell; Excel's own limit.
MAX_CELL_TEXT = 32_767

#: `definedName` elements in xl/workbook.xml (a template has ~40).
MAX_DEFINED_NAMES = 1_000

# --- worker processes -------------------------------------------------------------------------------------------
#: Above this many files `worker.read_many` uses one worker per CPU instead of a single child worker.
POOL_THRESHOLD = 300

#: A file still being parsed after this many seconds is treated as a crash (the worker is killed and replaced).
#: A template parses in well under 10 ms; the limit only catches a parser stuck in a loop.
READ_TIMEOUT_S = 60.0

#: Address space a worker may add to what it had at start (Linux/macOS; ignored where unsupported), so a file that
#: slips past the gates and makes the parser allocate wildly fails inside the worker (`reader-crashed`) instead of
#: swapping. An honest file needs a few MiB.
WORKER_MEMORY_BYTES = 2048 * MiB

#: Bytes of files handed to the reader workers and not yet read: beyond this, finding more files waits.
READ_BACKLOG_BYTES = 64 * MiB

#: Files and bytes sent to a worker in one message: few round trips, bounded pipe traffic.
CHUNK_FILES = 16
CHUNK_BYTES = 8 * MiB
