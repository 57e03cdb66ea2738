"""The container gate: every hostile file is refused with the right code before a parser sees it.

Files are real bytes built here (xlsxwriter, zipfile, a hand-made CFB); nothing is mocked.
"""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
import zlib

import pytest
import xlsxwriter

from antt_batch import limits
from antt_batch.container import cfb_stream_names, check_container
from antt_batch.reader import read_workbook

ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


# --- builders ------------------------------------------------------------------------------------------------
def small_xlsx(names: int = 2, text: str = "Xóm 1") -> bytes:
    """A small honest workbook with `names` workbook-level defined names."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf)
    sheet = book.add_worksheet("Báo cáo")
    sheet.write_string("B4", text)
    sheet.write_number("B5", 12)
    for i in range(names):
        book.define_name(f"ten_{i}", f"='Báo cáo'!$B${4 + i % 2}")
    book.close()
    return buf.getvalue()


def rewrite(xlsx: bytes, edits: dict[str, bytes | None] | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    """Copy a zip member by member, replacing (or dropping, for None) some and adding others."""
    edits, extra = edits or {}, extra or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in edits:
                if edits[info.filename] is not None:
                    dst.writestr(info.filename, edits[info.filename])
            else:
                dst.writestr(info.filename, src.read(info))
        for name, data in extra.items():
            dst.writestr(name, data)
    return out.getvalue()


def raw_zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip written by hand from (name, raw deflate stream, crc, declared uncompressed size): lets a test state
    any size it likes, whatever the stream really inflates to."""
    body, central = bytearray(), bytearray()
    for name, stream, crc, declared in entries:
        encoded = name.encode()
        offset = len(body)
        body += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(stream), declared,
                            len(encoded), 0) + encoded + stream
        central += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(stream), declared,
                               len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(body), 0)
    return bytes(body + central + end)


def deflated(data: bytes) -> tuple[bytes, int, int]:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(), zlib.crc32(data), len(data)


def zeros_stream(mib: int) -> bytes:
    """A raw deflate stream that inflates to `mib` MiB of zeros, built without ever holding them: after a full
    flush the compressor forgets its history, so every 1 MiB block compresses to the same bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    return block * mib + packer.flush()


def honest_members(xlsx: bytes) -> list[tuple[str, bytes, int, int]]:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src:
        return [(i.filename, *deflated(src.read(i))) for i in src.infolist()]


def cfb(streams: list[str], sector_shift: int = 9) -> bytes:
    """A minimal Compound File Binary container (MS-CFB v3) holding empty streams with these names."""
    size = 1 << sector_shift
    entries = [("Root Entry", 5)] + [(name, 2) for name in streams]
    per_sector = size // 128
    dir_sectors = -(-len(entries) // per_sector)
    fat = [FATSECT] + [s + 1 if s < dir_sectors else ENDOFCHAIN for s in range(1, dir_sectors + 1)]
    fat += [FREESECT] * (size // 4 - len(fat))
    header = struct.pack("<8s16s5H6x9I", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", bytes(16), 0x3E,
                         3 if sector_shift == 9 else 4, 0xFFFE, sector_shift, 6,
                         0, 1, 1, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
    header += struct.pack("<109I", 0, *[FREESECT] * 108)
    header = header.ljust(size, b"\0")
    directory = bytearray()
    for index, (name, kind) in enumerate(entries):
        encoded = (name + "\0").encode("utf-16-le")
        child = 1 if kind == 5 and len(entries) > 1 else NOSTREAM
        right = index + 1 if kind == 2 and index + 1 < len(entries) else NOSTREAM
        directory += struct.pack("<64sHBB3I16sI2QIQ", encoded, len(encoded), kind, 1, NOSTREAM, right, child,
                                 bytes(16), 0, 0, 0, ENDOFCHAIN, 0)
    directory = directory.ljust(dir_sectors * size, b"\0")
    return header + struct.pack(f"<{size // 4}I", *fat) + bytes(directory)


def ods() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
        z.writestr("META-INF/manifest.xml", "<manifest/>")
    return out.getvalue()


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def with_workbook_xml(transform) -> bytes:
    base = small_xlsx()
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        xml = z.read("xl/workbook.xml")
    return rewrite(base, {"xl/workbook.xml": transform(xml)})


def far_cells() -> bytes:
    """Two cells, A1 and XFD1048576, in a 5 KiB file. Measured: calamine aborts the whole process on it."""
    sheet = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxml'
             b'formats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is>'
             b'</c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>z</t></is></c></row></sheetData>'
             b'</worksheet>')
    return rewrite(small_xlsx(), {"xl/worksheets/sheet1.xml": sheet})


def odd_far_cell(cell: bytes) -> bytes:
    """A far cell written in a form the gate's fast path does not take: it must still be measured."""
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml'
             b'/2006/main" xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
             b'<c r="A1"><v>1</v></c>' + cell + b'</row></sheetData></worksheet>')
    return rewrite(small_xlsx(), {"xl/worksheets/sheet1.xml": sheet})


def zip64_xlsx() -> bytes:
    """Every member written with zip64 extra fields, as some writers do for large files."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(small_xlsx())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            with dst.open(info.filename, "w", force_zip64=True) as member:
                member.write(src.read(info))
    return out.getvalue()


def wide_but_small() -> bytes:
    """References with two column letters take the gate's slow path; 28 x 10 cells are fine."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf)
    book.add_worksheet("Báo cáo").write_string("AB10", "xa")
    book.close()
    return buf.getvalue()


def long_cell() -> bytes:
    """xlsxwriter and openpyxl both cut text at 32,767 characters, so the longer text is patched in."""
    base = small_xlsx(text="PLACEHOLDER")
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        strings = z.read("xl/sharedStrings.xml")
    return rewrite(base, {"xl/sharedStrings.xml": strings.replace(b"PLACEHOLDER", "Đ".encode() * 40_000)})


def declared_bomb() -> bytes:
    """1 GiB of zeros in ~1 MB, sizes declared honestly: refused on the declared size, nothing inflated."""
    return raw_zip(honest_members(small_xlsx()) + [("xl/media/image1.png", zeros_stream(1024), 0, 1 << 30)])


def lying_bomb(mib: int = 256) -> bytes:
    """The central directory says sheet1.xml is 2 KiB; its stream really inflates to `mib` MiB (256 MiB take the
    gate's streaming path, 8 MiB its one-call path for small streams)."""
    members = honest_members(small_xlsx())
    return raw_zip([(n, zeros_stream(mib), c, s) if n == "xl/worksheets/sheet1.xml" else (n, d, c, s)
                    for n, d, c, s in members])


def corrupt_member() -> bytes:
    data = bytearray(small_xlsx())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("xl/sharedStrings.xml")
    start = info.header_offset + 30 + len(info.filename.encode())
    data[start + 5] ^= 0xFF
    return bytes(data)


HOSTILE = [
    ("empty", lambda: b"", "XOM01_2025-03.xlsx", "not-a-workbook"),
    ("renamed-pdf", lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "XOM01.xlsx", "not-a-workbook"),
    ("renamed-csv", lambda: "ngay,loai\n05/03/2025,TOI_PHAM\n".encode(), "XOM01.xlsx", "not-a-workbook"),
    ("truncated-zip", lambda: small_xlsx()[:3000], "XOM01.xlsx", "not-a-workbook"),
    ("corrupt-member", corrupt_member, "XOM01.xlsx", "not-a-workbook"),
    ("cut-member", lambda: raw_zip([(n, d[:-8] if n == "xl/sharedStrings.xml" else d, c, s)
                                    for n, d, c, s in honest_members(small_xlsx())]), "XOM01.xlsx", "not-a-workbook"),
    ("xls", lambda: cfb(["Workbook", "\x05SummaryInformation"]), "XOM01.xls", "legacy-format"),
    ("xls-renamed", lambda: cfb(["Book"]), "XOM01.xlsx", "legacy-format"),
    ("encrypted", lambda: cfb(["EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"]), "XOM01.xlsx",
     "encrypted-file"),
    ("msg", lambda: cfb(["__substg1.0_0037001F", "__properties_version1.0", "__nameid_version1.0"]),
     "thu.msg", "unsupported-format"),
    ("msg-renamed", lambda: cfb(["__substg1.0_1000001F", "__properties_version1.0"]), "XOM01.xlsx",
     "unsupported-format"),
    ("ods", ods, "XOM01.ods", "unsupported-format"),
    ("ods-renamed", ods, "XOM01.xlsx", "unsupported-format"),
    ("docx", docx, "XOM01.docx", "unsupported-format"),
    ("pdf", lambda: b"%PDF-1.4\n", "bao-cao.pdf", "unsupported-format"),
    ("csv", lambda: b"a,b\n1,2\n", "bao-cao.csv", "unsupported-format"),
    ("xlsx-named-xls", small_xlsx, "XOM01.xls", "unsupported-format"),
    ("xlsm", small_xlsx, "XOM01_2025-03.xlsm", "macro-file"),
    ("vba-in-xlsx", lambda: rewrite(small_xlsx(), extra={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"}),
     "XOM01.xlsx", "macro-file"),
    ("zip-bomb-declared", declared_bomb, "XOM01.xlsx", "zip-bomb"),
    ("zip-bomb-ratio", lambda: raw_zip(honest_members(small_xlsx()) + [("xl/x.xml", zeros_stream(30), 0, 30 << 20)]),
     "XOM01.xlsx", "zip-bomb"),
    ("zip-bomb-lying-directory", lying_bomb, "XOM01.xlsx", "zip-bomb"),
    ("zip-bomb-lying-small-stream", lambda: lying_bomb(8), "XOM01.xlsx", "zip-bomb"),
    ("too-many-members", lambda: rewrite(small_xlsx(), extra={f"xl/m/{i}.txt": b"" for i in range(1001)}),
     "XOM01.xlsx", "zip-bomb"),
    ("workbook-entity", lambda: with_workbook_xml(lambda x: x.replace(
        b"?>", b'?><!DOCTYPE workbook [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>', 1)),
     "XOM01.xlsx", "xml-entities"),
    ("sheet-doctype", lambda: rewrite(small_xlsx(), {"xl/worksheets/sheet1.xml": b'<?xml version="1.0"?><!DOCTYPE x '
                                                     b'SYSTEM "http://example.invalid/x.dtd"><worksheet/>'}),
     "XOM01.xlsx", "xml-entities"),
    ("too-many-names", lambda: small_xlsx(names=limits.MAX_DEFINED_NAMES + 1), "XOM01.xlsx", "too-large"),
    ("cell-area", far_cells, "XOM01.xlsx", "too-large"),
    ("cell-area-tab", lambda: odd_far_cell(b'<c\tr="XFD1048576"><v>2</v></c>'), "XOM01.xlsx", "too-large"),
    ("cell-area-prefix", lambda: odd_far_cell(b"<x:c r='XFD1048576'><x:v>2</x:v></x:c>"), "XOM01.xlsx", "too-large"),
    ("cell-area-no-ref", lambda: odd_far_cell(b"<c><v>2</v></c>" * 20 + b'<c r="A10000"><v>3</v></c>'),
     "XOM01.xlsx", "too-large"),
    ("cell-text", long_cell, "XOM01.xlsx", "too-large"),
]


@pytest.mark.parametrize("build, display, code", [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_file_is_refused_with_its_code(build, display, code):
    data = build()
    result = read_workbook(data, display)
    assert [p.code for p in result.problems] == [code]
    found = result.problems[0]
    assert found.is_error and found.location.file == display
    assert "{" not in found.message and found.message.strip()
    if code != "too-large" or build is not long_cell:      # every other refusal happens before any parser
        assert [p.code for p in check_container(data, display)] == [code]
        assert result.workbook is None


def test_bombs_are_refused_without_inflating_them():
    for build in (declared_bomb, lying_bomb):
        data = build()
        tracemalloc.start()
        assert [p.code for p in check_container(data, "b.xlsx")] == ["zip-bomb"]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 128 * 2**20          # bounded streaming inflate: far below the 1 GiB the member claims


def test_lying_directory_is_stopped_by_the_total_budget_too(monkeypatch):
    monkeypatch.setattr(limits, "MAX_MEMBER_RATIO", 10**9)   # disable the early ratio stop
    problems = check_container(lying_bomb(), "b.xlsx")
    assert [p.code for p in problems] == ["zip-bomb"]
    assert "64" in problems[0].message


def test_bomb_builders_make_what_they_claim():
    with zipfile.ZipFile(io.BytesIO(declared_bomb())) as z:
        info = z.getinfo("xl/media/image1.png")
        assert info.file_size == 1 << 30 and info.compress_size < 2 << 20
    assert zlib.decompressobj(-15).decompress(zeros_stream(4), 3 << 20) == bytes(3 << 20)


def predefined_entities() -> bytes:
    """LibreOffice writes `&apos;`; predefined and character entities are not declarations."""
    return with_workbook_xml(lambda x: x.replace(
        b"</definedNames>",
        b'<definedName name="ghi_chu">&apos;B&#225;o c&#225;o&apos;!$B$4</definedName></definedNames>'))


@pytest.mark.parametrize("maker", [small_xlsx, wide_but_small, zip64_xlsx, predefined_entities])
def test_honest_files_pass(maker):
    assert check_container(maker(), "XOM01_2025-03.xlsx") == []


def test_honest_compression_ratios_pass():
    """A register of 2,000 styled rows (ratio ~11 measured; 10-15 for other writers) is far from the limit."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf)
    sheet = book.add_worksheet("Vụ việc")
    style = book.add_format({"locked": False, "border": 1})
    for row in range(2000):
        for col in range(9):
            sheet.write_blank(row, col, None, style)
    book.close()
    assert check_container(buf.getvalue(), "XOM01.xlsx") == []


@pytest.mark.parametrize("display", ["../../etc/passwd.xlsx", "C:\\Windows\\x.xlsx", "/abs/path/x.xlsx",
                                     "Xo\u0301m 1\u0303.xlsx", "bad\udcff\udcfebytes.xlsx", "a\x00b\n.xlsx",
                                     b"\xff\xfe-X\xc3\xb3m.xlsx"])
def test_display_name_is_only_shown(display, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    problems = check_container(b"", display)
    assert [p.code for p in problems] == ["not-a-workbook"]
    shown = problems[0].location.file
    assert shown.isprintable() and shown in problems[0].message
    assert list(tmp_path.iterdir()) == []                   # nothing written anywhere near the name


def test_cfb_reader_lists_streams_and_survives_garbage():
    assert cfb_stream_names(cfb(["Workbook", "SummaryInformation"])) == ["Root Entry", "Workbook",
                                                                          "SummaryInformation"]
    many = [f"__substg1.0_{i:04X}001F" for i in range(20)]  # spans several directory sectors
    assert cfb_stream_names(cfb(many))[1:] == many
    assert cfb_stream_names(cfb(["Workbook"], sector_shift=12)) == ["Root Entry", "Workbook"]
    looping = bytearray(cfb(["Workbook"]))
    struct.pack_into("<I", looping, 512 + 4, 1)               # directory sector chained to itself
    assert "Workbook" in cfb_stream_names(bytes(looping))
    assert cfb_stream_names(cfb(["Workbook"])[:600]) is None
    assert cfb_stream_names(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100)) is None
