"""The openpyxl reference the benchmark compares antt-batch against (run by bench/run.py as a fresh process).

    python bench/openpyxl_ref.py units   LISTFILE   # unit templates: every defined name's cell + the register rows
    python bench/openpyxl_ref.py rollups LISTFILE   # output workbooks: every row of `data` and `manifest`

LISTFILE holds one path per line. Each file is opened the straightforward way (`load_workbook(read_only=False,
data_only=True)`), as a script written without antt-batch would do it; a file openpyxl cannot open is counted and
skipped (antt-batch rejects those files too). Prints one JSON line: files, failed, cells read, seconds.
Not a test: pytest never collects this file (its name does not match test_*.py).
"""

from __future__ import annotations

import io
import json
import sys
import time
import warnings


def attachments(path: str):
    """The .xlsx attachments of an .eml or .mbox (a straightforward script has to open mail too)."""
    import email
    import mailbox
    from email import policy
    if path.endswith(".mbox"):
        messages = [email.message_from_bytes(m.as_bytes(), policy=policy.default) for m in mailbox.mbox(path)]
    else:
        with open(path, "rb") as fh:
            messages = [email.message_from_binary_file(fh, policy=policy.default)]
    for message in messages:
        for part in message.iter_attachments():
            if (part.get_filename() or "").lower().endswith(".xlsx"):
                yield io.BytesIO(part.get_payload(decode=True))


def read_unit(path: str) -> int:
    if path.endswith((".eml", ".mbox")):
        return sum(read_unit_book(source) for source in attachments(path))
    return read_unit_book(path)


def read_unit_book(path) -> int:
    import openpyxl
    wb = openpyxl.load_workbook(path, read_only=False, data_only=True)
    cells = 0
    for name, dn in wb.defined_names.items():
        for sheet, ref in dn.destinations:
            if sheet not in wb.sheetnames:
                continue
            ws = wb[sheet]
            ref = ref.replace("$", "")
            if ":" in ref:                                  # the register: header + its rows
                for row in ws[ref]:
                    values = [c.value for c in row]
                    cells += len(values)
                header_row = int("".join(ch for ch in ref.split(":")[0] if ch.isdigit()))
                for row in ws.iter_rows(min_row=header_row + 1, max_col=9, values_only=True):
                    cells += sum(v is not None for v in row)    # rows typed below the range too
            else:
                _ = ws[ref].value
                cells += 1
    wb.close()
    return cells


def read_rollup(path: str) -> int:
    import openpyxl
    wb = openpyxl.load_workbook(path, read_only=False, data_only=True)
    cells = 0
    for sheet in ("data", "manifest"):
        for row in wb[sheet].iter_rows(values_only=True):
            cells += len(row)
    wb.close()
    return cells


def main(argv: list[str]) -> int:
    mode, listfile = argv[1], argv[2]
    reader = read_unit if mode == "units" else read_rollup
    paths = [line.strip() for line in open(listfile, encoding="utf-8") if line.strip()]
    warnings.simplefilter("ignore")                         # openpyxl warns about data validation extensions
    start = time.perf_counter()
    cells = failed = 0
    for path in paths:
        try:
            cells += reader(path)
        except Exception:                                   # 0-byte file, renamed PDF, ...
            failed += 1
    print(json.dumps({"files": len(paths), "failed": failed, "cells": cells,
                      "seconds": round(time.perf_counter() - start, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
