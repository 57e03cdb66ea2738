"""Rows deflated where they were written: a big workbook's offloaded sheets go into the zip without being deflated
again by the process that closes the workbook.

Why: closing a 10,000-unit workbook deflated ~63 MB of sheet XML on one core (~0.5 s, the other core idle), and
three quarters of it are the rows the `offload` children wrote. A deflate stream may be cut into pieces that each
end on a byte boundary (a sync flush), only the last one final, and be put back together by concatenation (what
pigz does to use several cores). So a child deflates the rows it wrote, as one such piece (`deflate_rows`), and the
sheet's zip member is the XML before the rows, deflated here, then the child's piece, then the XML after them; the
CRC and the sizes are those of the whole XML, as if it had been deflated in one go.

How it hooks into xlsxwriter, which writes each sheet's XML to a scratch file and zips it with
`zipfile.ZipFile.write`: for the duration of `close`, `installed` has it open a `PackingZip`; a sheet whose rows
were deflated writes `MARKER` in place of its rows (`FastWorksheet._write_optimized_sheet_data`) and names its XML
file in the shared `parts`; `PackingZip.write` composes that member. Where xlsxwriter is laid out differently,
nothing is installed and the rows are copied and deflated as before; so is a sheet whose rows changed since.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import zipfile
import zlib
from dataclasses import dataclass

MARKER = "\x00antt-batch deflated rows\x00"    # NUL never occurs in the XML xlsxwriter writes (it escapes it)
_LEVEL = zlib.Z_DEFAULT_COMPRESSION            # what zipfile uses for ZIP_DEFLATED (level 6)


@dataclass(frozen=True)
class DeflatedRows:
    raw: str            # the rows as xlsxwriter would copy them into the sheet's XML
    deflated: str       # the same, deflated as a piece of a stream (`deflate_rows`)
    size: int           # bytes of `raw` when deflated: a file that changed since is not used


def deflate_rows(raw: str) -> DeflatedRows:
    """Deflate the file `raw` into `raw + '.z'` as a middle piece of a stream: sync-flushed, not final."""
    deflater, size = zlib.compressobj(_LEVEL, zlib.DEFLATED, -15), 0
    with open(raw, "rb") as source, open(raw + ".z", "wb") as target:
        while chunk := source.read(1 << 20):
            size += len(chunk)
            target.write(deflater.compress(chunk))
        target.write(deflater.flush(zlib.Z_SYNC_FLUSH))
    return DeflatedRows(raw, raw + ".z", size)


class PackingZip(zipfile.ZipFile):
    """A ZipFile that hands `sheets` (with `deflated_rows`) the dict in which each names its XML file, and whose
    `write` of such a file puts the pieces together instead of deflating it; every other file is written as usual.
    Only a deflating zip (xlsxwriter's) hands it out: the pieces are deflated."""

    def __init__(self, *args, sheets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.parts: dict[str, DeflatedRows] = {}
        for ws in sheets if self.compression == zipfile.ZIP_DEFLATED else ():
            ws.packing = self.parts

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None) -> None:
        rows = self.parts.pop(os.fspath(filename), None)
        if rows is None:
            super().write(filename, arcname, compress_type, compresslevel)
        else:
            self._write_pieces(filename, arcname, rows)

    def _write_pieces(self, filename, arcname, rows: DeflatedRows) -> None:
        with open(filename, "rb") as xml:
            head, tail = xml.read().split(MARKER.encode())
        crc, size = zlib.crc32(head), len(head)
        with open(rows.raw, "rb") as raw:
            while chunk := raw.read(1 << 20):
                crc, size = zlib.crc32(chunk, crc), size + len(chunk)
        first, last = (zlib.compressobj(_LEVEL, zlib.DEFLATED, -15) for _ in range(2))
        start = first.compress(head) + first.flush(zlib.Z_SYNC_FLUSH)
        end = last.compress(tail) + last.flush()
        info = zipfile.ZipInfo.from_file(filename, arcname, strict_timestamps=self._strict_timestamps)
        info.compress_type, info.flag_bits = zipfile.ZIP_DEFLATED, 0
        info.file_size, info.CRC = size + len(tail), zlib.crc32(tail, crc)
        info.compress_size = len(start) + os.path.getsize(rows.deflated) + len(end)
        zip64 = max(info.file_size, info.compress_size) > zipfile.ZIP64_LIMIT
        if zip64 and not self._allowZip64:
            raise zipfile.LargeZipFile("Filesize would require ZIP64 extensions")
        with self._lock:
            if self._seekable:
                self.fp.seek(self.start_dir)
            info.header_offset = self.fp.tell()
            self._writecheck(info)
            self._didModify = True
            self.fp.write(info.FileHeader(zip64))
            self.fp.write(start)
            with open(rows.deflated, "rb") as piece:
                shutil.copyfileobj(piece, self.fp, 1 << 20)
            self.fp.write(end)
            self.start_dir = self.fp.tell()
            self.filelist.append(info)
            self.NameToInfo[info.filename] = info
        for done in (rows.raw, rows.deflated):
            with contextlib.suppress(OSError):
                os.unlink(done)


@contextlib.contextmanager
def installed(workbook):
    """While xlsxwriter closes `workbook`, it opens a `PackingZip` for the sheets with `deflated_rows`. Where it does
    not open its zip through the `ZipFile` name this replaces (another version), those sheets are never handed the
    dict and copy their rows as usual; the same while another workbook is being closed this way (threads)."""
    import xlsxwriter.workbook as module
    sheets = [ws for ws in workbook.worksheets() if getattr(ws, "deflated_rows", None) is not None]
    if not sheets or getattr(module, "ZipFile", None) is not zipfile.ZipFile:
        yield
        return
    module.ZipFile = functools.partial(PackingZip, sheets=sheets)
    try:
        yield
    finally:
        module.ZipFile = zipfile.ZipFile
        for ws in sheets:
            ws.packing = None
