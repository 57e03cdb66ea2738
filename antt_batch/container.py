"""The container gate (spec §8): cheap checks on the raw bytes, run before any parser sees the file.

Why a gate at all: python-calamine aborts the whole process on a decompression bomb or on a sheet whose cells span
a huge area, and it does not care whether the file is really a workbook. So this module decides, from magic bytes,
the zip directory and a bounded inflation of every member, whether the file may be parsed; it answers in Vietnamese
`Problem`s. It never writes anything and never uses the display name as a path (it is shown only).

Only the standard library and defusedxml are imported, so the gate is cheap to import in a worker.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache

from . import limits
from .errors import Location, Problem, problem
from .text import safe_display_name

XLSX_EXTS = {".xlsx"}
MACRO_EXTS = {".xlsm", ".xltm", ".xlam"}
LEGACY_EXTS = {".xls", ".xlt"}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
WORKBOOK_PART = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
EXT_LABELS = {".csv": "CSV", ".pdf": "PDF", ".ods": "OpenDocument (.ods)", ".docx": "Word (.docx)",
              ".doc": "Word 97-2003 (.doc)", ".msg": "thư Outlook (.msg)", ".eml": "thư điện tử (.eml)",
              ".xlsb": "Excel nhị phân (.xlsb)", ".html": "trang web (.html)", ".htm": "trang web (.htm)"}

_PROLOG = re.compile(rb"(?:\s|<\?.*?\?>|<!--.*?-->)*", re.S)
_CELL_REF = re.compile(rb"""<(?:[\w.-]+:)?c\b[^>]*?\sr=["']([A-Za-z]{1,3})(\d{1,9})""")
_CELL_TAG = re.compile(rb"<(?:[\w.-]+:)?c[\s/>]")
_ROW_TAG = re.compile(rb"<(?:[\w.-]+:)?row[\s/>]")
_ODD_CELL = re.compile(rb"""<c(?:[\t\n\r>/]| (?!r="[A-Z]\d{1,4}"))""")


@dataclass
class Gate:
    """What the gate learnt, so the reader need not open the zip or parse workbook.xml twice."""

    problems: list[Problem] = field(default_factory=list)
    root: object = None                                   # parsed xl/workbook.xml (ElementTree element)
    sheet_parts: dict[str, str] = field(default_factory=dict)   # sheet name -> zip member
    largest_part: int = 0     # real inflated size of the largest member: no cell can hold more characters
    shared_root: bool = False   # `root` is the tree shared by every file with the same small workbook.xml


class _Reject(Exception):
    def __init__(self, code: str, detail: str = ""):
        self.code, self.detail = code, detail


def check_container(data: bytes, display: str) -> list[Problem]:
    """Problems that forbid parsing `data` at all (an empty list means: safe to hand to the parser)."""
    return gate(data, display).problems


def size_problem(data: bytes, display: str) -> Problem | None:
    """The one check cheap enough to run in the parent before a file is sent to a worker."""
    if len(data) > limits.MAX_FILE_BYTES:
        return problem("too-large", Location(file=safe_display_name(display)),
                       detail=f"tệp {_mib(len(data))}, tối đa {_mib(limits.MAX_FILE_BYTES)}")
    return None


def gate(data: bytes, display: str) -> Gate:
    """Every check, in order of cost; the first refusal ends it (a refused file gets exactly one problem)."""
    too_big = size_problem(data, display)
    if too_big is not None:
        return Gate([too_big])
    name, result = safe_display_name(display), Gate()
    try:
        _classify(data, _extension(name), result)
        return result
    except _Reject as exc:
        code, detail = exc.code, exc.detail
    except Exception as exc:                               # malformed beyond what the checks foresee: refuse it
        code, detail = "not-a-workbook", f"cấu trúc tệp bất thường ({type(exc).__name__})"
    return Gate([problem(code, Location(file=name), detail=detail)])


def _extension(name: str) -> str:
    last = re.split(r"[/\\›]", name)[-1].strip().rstrip(". ")
    return posixpath.splitext(last)[1].lower()


def _label(ext: str) -> str:
    return EXT_LABELS.get(ext) or (f"«{ext}»" if ext else "không rõ (tên tệp không có đuôi)")


def _mib(n: int) -> str:
    return f"{n / limits.MiB:.1f} MiB".replace(".", ",")


def _classify(data: bytes, ext: str, result: Gate) -> None:
    """Magic bytes first, then the name: a renamed file is judged by what it is, and told how to fix it."""
    excel_name = ext in XLSX_EXTS | MACRO_EXTS | LEGACY_EXTS
    if ext in MACRO_EXTS:
        raise _Reject("macro-file")
    if not data:
        raise (_Reject("not-a-workbook", "tệp rỗng, 0 byte") if excel_name
               else _Reject("unsupported-format", _label(ext)))
    if data.startswith(OLE_MAGIC):
        _classify_ole(data, ext)
    if not data.startswith(ZIP_MAGICS):
        kind = _sniff_other(data)
        if ext in LEGACY_EXTS and kind in ("HTML", "CSV/văn bản"):
            raise _Reject("legacy-format")          # "xls" exported by web applications: HTML or text
        if excel_name:
            raise _Reject("not-a-workbook", f"tệp {kind} đổi tên thành {ext}" if kind else "nội dung không nhận ra")
        raise _Reject("unsupported-format", EXT_LABELS.get(ext) or kind or _label(ext))
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception:                                      # BadZipFile, struct.error, ValueError, ...
        if ext in XLSX_EXTS | LEGACY_EXTS:
            raise _Reject("not-a-workbook", "tệp nén bị hỏng hoặc không đầy đủ") from None
        raise _Reject("unsupported-format", _label(ext)) from None
    names = {i.filename for i in infos}
    if len(infos) > limits.MAX_MEMBERS:
        raise _Reject("zip-bomb", f"{fmt_int(len(infos))} thành phần, tối đa {fmt_int(limits.MAX_MEMBERS)}")
    if any(posixpath.basename(n).lower() == "vbaproject.bin" for n in names):
        raise _Reject("macro-file")
    other = _zip_kind(data, infos, names)
    if other:
        raise _Reject("unsupported-format", other)
    if WORKBOOK_PART not in names:
        if ext in XLSX_EXTS:
            raise _Reject("not-a-workbook", "tệp nén không chứa sổ tính Excel")
        raise _Reject("unsupported-format", _label(ext))
    if ext not in XLSX_EXTS:
        detail = f"«{ext}» (nội dung thực ra là .xlsx: chỉ cần đổi đuôi tên tệp thành .xlsx)" if ext else _label(ext)
        raise _Reject("unsupported-format", detail)
    _check_zip(data, infos, result)


def _sniff_other(data: bytes) -> str:
    head = data[:4096]
    if head.startswith(b"%PDF") or b"%PDF-" in head[:1024]:
        return "PDF"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "CSV/văn bản"                             # Excel's "Unicode text" export is UTF-16
    if b"\0" in head:
        return ""
    text = head.decode("utf-8", "replace").lstrip("\ufeff \r\n\t").lower()
    if text.startswith(("<html", "<!doctype html", "<table", "<?xml")) or "<html" in text[:512]:
        return "HTML"
    return "CSV/văn bản"


def _zip_kind(data: bytes, infos, names: set[str]) -> str:
    """A label for zips that are some other document format; '' for a would-be spreadsheet."""
    info = next((i for i in infos if i.filename == "mimetype" and i.file_size < 200), None)
    mime = _member(data, info, 200, keep=200)[0] if info else b""
    if mime.startswith(b"application/vnd.oasis.opendocument"):
        return "OpenDocument (.ods)" if mime.endswith(b"spreadsheet") else "OpenDocument"
    tops = {n.split("/", 1)[0] for n in names}
    return ("Word (.docx)" if "word" in tops else "PowerPoint (.pptx)" if "ppt" in tops
            else "Excel nhị phân (.xlsb)" if "xl/workbook.bin" in names else "")


def _classify_ole(data: bytes, ext: str) -> None:
    """Old Office files and Outlook messages share one container (CFB); its stream names tell them apart."""
    names = cfb_stream_names(data)
    if names is None:
        if ext in XLSX_EXTS | LEGACY_EXTS:
            raise _Reject("not-a-workbook", "tệp Office cũ bị hỏng")
        raise _Reject("unsupported-format", _label(ext))
    found = set(names)
    if {"EncryptionInfo", "EncryptedPackage"} <= found:
        raise _Reject("encrypted-file")
    if found & {"Workbook", "Book"}:
        raise _Reject("legacy-format")
    outlook = any(n.startswith(("__substg1.0_", "__properties_version1.0", "__nameid_version1.0")) for n in names)
    raise _Reject("unsupported-format", "thư Outlook (.msg)" if outlook else "Word 97-2003 (.doc)"
                  if "WordDocument" in found else "PowerPoint 97-2003 (.ppt)" if "PowerPoint Document" in found
                  else "tài liệu Office cũ (OLE) không rõ loại")


def cfb_stream_names(data: bytes) -> list[str] | None:
    """Names of the storages and streams of a Compound File Binary (MS-CFB) container, or None if unreadable.

    Stdlib only: follows the FAT chain of the directory and lists its entries; every loop is bounded by the
    number of sectors in the file, so a cyclic or lying FAT cannot hang it.
    """
    if len(data) < 512 or not data.startswith(OLE_MAGIC):
        return None
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        return None
    size = 1 << shift
    n_sectors = (len(data) - 512) // size
    last = 0xFFFFFFFA                                     # values >= this are special (end of chain, free, ...)

    def sector(i: int) -> bytes:
        if i >= n_sectors:
            raise ValueError
        return data[512 + i * size: 512 + (i + 1) * size] if shift == 9 else data[(i + 1) * size:(i + 2) * size]

    try:
        fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < last]
        nxt, steps = struct.unpack_from("<I", data, 0x44)[0], 0
        while nxt < last and steps <= n_sectors:
            words = struct.unpack(f"<{size // 4}I", sector(nxt))
            fat_sectors += [s for s in words[:-1] if s < last]
            nxt, steps = words[-1], steps + 1
        fat = b"".join(sector(s) for s in fat_sectors[:n_sectors])
        fat_words = struct.unpack(f"<{len(fat) // 4}I", fat)
        names, nxt, steps = [], struct.unpack_from("<I", data, 0x30)[0], 0
        while nxt < last and steps <= n_sectors:
            block = sector(nxt)
            for off in range(0, size, 128):
                length, kind = struct.unpack_from("<HB", block, off + 0x40)
                if kind in (1, 2, 5) and 2 <= length <= 64:
                    names.append(block[off:off + length - 2].decode("utf-16-le", "replace"))
            nxt, steps = (fat_words[nxt] if nxt < len(fat_words) else last), steps + 1
    except (ValueError, struct.error):
        return None
    return names or None


def _check_zip(data: bytes, infos, result: Gate) -> None:
    """Declared sizes, then the real ones: every member is inflated with a bounded streaming decompressor."""
    declared = sum(i.file_size for i in infos)
    if declared > limits.MAX_TOTAL_UNCOMPRESSED:
        raise _Reject("zip-bomb",
                      f"khai báo {_mib(declared)} khi giải nén, tối đa {_mib(limits.MAX_TOTAL_UNCOMPRESSED)}")
    for i in infos:
        if i.file_size > limits.RATIO_MIN_BYTES and i.file_size > limits.MAX_MEMBER_RATIO * max(i.compress_size, 1):
            raise _Reject("zip-bomb", f"tỉ lệ nén {i.file_size // max(i.compress_size, 1)}:1")
    if any(i.flag_bits & 0x1 for i in infos):
        raise _Reject("encrypted-file")
    if any(i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for i in infos):
        raise _Reject("not-a-workbook", "kiểu nén không được hỗ trợ")
    budget = limits.MAX_TOTAL_UNCOMPRESSED
    kept: dict[str, bytes] = {}
    for i in infos:
        name = i.filename
        full = name in (WORKBOOK_PART, WORKBOOK_RELS) or name.startswith("xl/worksheets/")
        is_xml = name.lower().endswith((".xml", ".rels"))
        head, size = _member(data, i, budget, keep=-1 if full else limits.XML_PROLOG_BYTES if is_xml else 0)
        budget -= size
        result.largest_part = max(result.largest_part, size)
        if is_xml and size:
            _check_prolog(head, name)
        if full:
            kept[name] = head
    result.root = _parse_xml(kept[WORKBOOK_PART], WORKBOOK_PART)
    rels = kept.get(WORKBOOK_RELS)
    result.shared_root = len(kept[WORKBOOK_PART]) <= SHARED_XML and len(rels or b"") <= SHARED_XML
    count, parts = (_workbook_facts if result.shared_root else _workbook_facts.__wrapped__)(result.root, rels)
    if count > limits.MAX_DEFINED_NAMES:
        raise _Reject("too-large",
                      f"{fmt_int(count)} tên được đặt (defined names), tối đa {fmt_int(limits.MAX_DEFINED_NAMES)}")
    result.sheet_parts = dict(parts)
    by_name = {i.filename: i for i in infos}
    labels = {part: part for part in kept if part.startswith("xl/worksheets/") and part.endswith(".xml")}
    labels.update({part: sheet for sheet, part in result.sheet_parts.items() if part in by_name})
    for part, sheet in labels.items():                     # every sheet calamine may load, whatever its path
        xml = kept.get(part) or _member(data, by_name[part], limits.MAX_TOTAL_UNCOMPRESSED, keep=-1)[0]
        _check_prolog(xml[:limits.XML_PROLOG_BYTES], part)
        _check_area(xml, sheet)


def _member(data: bytes, info: zipfile.ZipInfo, budget: int, keep: int) -> tuple[bytes, int]:
    """Inflate one member from its local header, never producing more than `budget` bytes; check size and CRC.

    Returns its first `keep` bytes (all of it for -1) and its real size. The central directory's sizes are not
    trusted: the stream is inflated until its own end, and a ratio beyond the limit stops it early.
    """
    off = info.header_offset
    if data[off:off + 4] != b"PK\x03\x04":
        raise _Reject("not-a-workbook", "tệp nén bị hỏng")
    name_len, extra_len = struct.unpack_from("<HH", data, off + 26)
    start = off + 30 + name_len + extra_len
    raw = memoryview(data)[start:start + info.compress_size]
    if len(raw) < info.compress_size:
        raise _Reject("not-a-workbook", "tệp nén không đầy đủ")
    if info.compress_type == zipfile.ZIP_STORED or len(raw) <= 65536:   # the usual member: one bounded call
        ratio_cap = max(limits.RATIO_MIN_BYTES, limits.MAX_MEMBER_RATIO * len(raw))
        cap = min(info.file_size, budget, ratio_cap)          # never more than declared, nor than the limits
        whole = raw.tobytes() if info.compress_type == zipfile.ZIP_STORED else _inflate(raw, cap + 1, True)
        if len(whole) > cap:
            raise _Reject("zip-bomb", "kích thước giải nén thực tế lớn hơn kích thước khai báo"
                          if cap == info.file_size else f"giải nén vượt {_mib(limits.MAX_TOTAL_UNCOMPRESSED)}"
                          if cap == budget else f"tỉ lệ nén thực tế trên {limits.MAX_MEMBER_RATIO}:1")
        _check_declared(info, len(whole), zlib.crc32(whole))
        return (whole if keep < 0 else whole[:keep]), len(whole)
    inflater, out, size, crc, pos = zlib.decompressobj(-15), bytearray(), 0, 0, 0
    while not inflater.eof:                                # a large stream: 1 MiB at a time, checked as it goes
        feed = inflater.unconsumed_tail
        if not feed and pos < len(raw):
            feed, pos = raw[pos:pos + 65536], pos + 65536
        piece = _inflate(feed, 1 << 20, False, inflater)
        if not piece and not feed:
            raise _Reject("not-a-workbook", "tệp nén không đầy đủ")
        size += len(piece)
        if size > budget:
            raise _Reject("zip-bomb", f"giải nén vượt {_mib(limits.MAX_TOTAL_UNCOMPRESSED)}")
        if size > limits.RATIO_MIN_BYTES and size > limits.MAX_MEMBER_RATIO * (pos - len(inflater.unconsumed_tail)):
            raise _Reject("zip-bomb", f"tỉ lệ nén thực tế trên {limits.MAX_MEMBER_RATIO}:1")
        crc = zlib.crc32(piece, crc)
        if keep < 0 or len(out) < keep:
            out += piece if keep < 0 else piece[:keep - len(out)]
    _check_declared(info, size, crc)
    return bytes(out), size


def _inflate(feed, limit: int, whole: bool, inflater=None) -> bytes:
    """Raw deflate, at most `limit` bytes; `whole`: the stream must end within them unless the limit is hit."""
    inflater = inflater or zlib.decompressobj(-15)
    try:
        piece = inflater.decompress(feed, limit)
    except zlib.error:
        raise _Reject("not-a-workbook", "tệp nén bị hỏng") from None
    if whole and not inflater.eof and len(piece) < limit:
        raise _Reject("not-a-workbook", "tệp nén không đầy đủ")
    return piece


def _check_declared(info: zipfile.ZipInfo, size: int, crc: int) -> None:
    if size > info.file_size:
        raise _Reject("zip-bomb", "kích thước giải nén thực tế lớn hơn kích thước khai báo")
    if size != info.file_size or crc != info.CRC:
        raise _Reject("not-a-workbook", "tệp nén bị hỏng (sai kích thước hoặc mã kiểm tra)")


def _check_prolog(head: bytes, part: str) -> None:
    """No DTD before the root element: entity declarations can only live there (predefined entities are fine)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", "replace").encode("utf-8")
    elif head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    rest = head[_PROLOG.match(head).end():]
    if rest.startswith(b"<!"):
        raise _Reject("xml-entities", f"khai báo DTD/ENTITY trong {part}")
    if not rest and len(head) >= limits.XML_PROLOG_BYTES:
        raise _Reject("xml-entities", f"phần đầu của {part} dài bất thường")


SHARED_XML = 65536        # bytes: parts up to this size are parsed once per content (`_parse_xml`)


def _parse_xml(xml: bytes, part: str):
    """Parse with defusedxml (no DTD, no entities). Small parts are cached by content: every file of a batch made
    from the same template carries the same workbook.xml and rels, and the tree is only ever read."""
    return _parse_cached(xml, part) if len(xml) <= SHARED_XML else _parse_any(xml, part)


def _parse_any(xml: bytes, part: str):
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring
    try:
        return fromstring(xml, forbid_dtd=True)
    except DefusedXmlException:
        raise _Reject("xml-entities", f"khai báo DTD/ENTITY trong {part}") from None
    except ParseError:
        raise _Reject("not-a-workbook", f"{part} bị hỏng") from None


_parse_cached = lru_cache(maxsize=64)(_parse_any)


@lru_cache(maxsize=64)
def _workbook_facts(root, rels_xml: bytes | None) -> tuple[int, dict[str, str]]:
    """(defined names, `_sheet_parts`) of a parsed workbook.xml and its rels. Cached for shared trees only (a batch's
    files share their template's parts; a big tree is never kept): the caller copies the dict."""
    names = root.find("{*}definedNames")
    return (0 if names is None else len(names)), _sheet_parts(root, rels_xml)


def _sheet_parts(root, rels_xml: bytes | None) -> dict[str, str]:
    """Sheet name -> zip member, resolved like calamine does (targets relative to xl/ unless absolute)."""
    targets = {}
    if rels_xml:
        for rel in _parse_xml(rels_xml, WORKBOOK_RELS):
            target = rel.get("Target", "")
            if rel.get("Type", "").endswith("/worksheet") and target:
                path = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
                targets[rel.get("Id")] = path
    parts = {}
    sheets = root.find("{*}sheets")
    for sheet in [] if sheets is None else sheets:
        rid = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
        if rid in targets:
            parts[sheet.get("name", "")] = targets[rid]
    return parts


def _check_area(xml: bytes, sheet: str) -> None:
    """Refuse a sheet whose cells span more than MAX_SHEET_CELLS from A1: calamine allocates that area densely.

    Fast path, one regex pass: every cell tag is exactly `<c r="` with one column letter and at most four row
    digits (so the area is < 26 x 10,000 cells, harmless; the reader enforces the exact limit after loading), and
    no tag has a namespace prefix. Otherwise every cell is scanned and the area bounded from above.
    """
    if not _ODD_CELL.search(xml) and b":c" not in xml:
        return
    tags = len(_CELL_TAG.findall(xml))
    if tags > limits.MAX_SHEET_CELLS:
        raise _Reject("too-large", f"trang «{sheet}» có {fmt_int(tags)} ô, tối đa {fmt_int(limits.MAX_SHEET_CELLS)}")
    refs = _CELL_REF.findall(xml)
    max_row = max((int(r) for _, r in refs), default=0)
    max_col = max((_col_number(c) for c in {c.upper() for c, _ in refs}), default=0)
    if tags > len(refs):                                   # cells without r= follow their neighbour
        max_row = max(max_row, len(_ROW_TAG.findall(xml)))
        max_col += tags - len(refs)
    if max_row * max_col > limits.MAX_SHEET_CELLS:
        raise _Reject("too-large", f"trang «{sheet}» trải trên {fmt_int(max_row)} dòng × {fmt_int(max_col)} cột, "
                                   f"tối đa {fmt_int(limits.MAX_SHEET_CELLS)} ô")


def fmt_int(number: int) -> str:
    """1.234.567: Vietnamese digit grouping."""
    return f"{number:,}".replace(",", ".")


def _col_number(letters: bytes) -> int:
    return sum((ch - 64) * 26 ** power for power, ch in enumerate(reversed(letters)))
