"""The bundled example workspace (examples/phu-dinh): the committed inbox is what examples/build_example.py makes,
and the files it is made of keep what readers rely on (defined names, dropdowns) through openpyxl and LibreOffice.

Workbooks are compared by their defined names and cell values (python-calamine), never by bytes: zip compression
may differ between zlib versions while the content is the same.
"""

from __future__ import annotations

import importlib
import sys
import zipfile
from datetime import datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
INBOX = EXAMPLES / "phu-dinh" / "inbox"
FIXTURES = EXAMPLES / "phu-dinh" / "fixtures"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
STALE = "examples/phu-dinh/inbox is stale: run `python examples/build_example.py` and commit the result"


def load_build():
    """examples/build_example.py as a module importable by name (its worker processes import it too)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return importlib.import_module("build_example")


@pytest.fixture(scope="module")
def build():
    return load_build()


@pytest.fixture(scope="module")
def rebuilt(build, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("example") / "inbox"
    build.build(out)
    return out


# --- reading workbooks without trusting any one library ---------------------------------------------------------

def is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def workbook_xml(source):
    """xl/workbook.xml parsed with an XML parser (LibreOffice writes names as &apos;Sheet&apos;!$B$4)."""
    from defusedxml import ElementTree
    with zipfile.ZipFile(source) as zf:
        return ElementTree.fromstring(zf.read("xl/workbook.xml"))


def defined_names(source) -> dict[str, str]:
    """Workbook-level defined names (print titles and other sheet-local names excluded)."""
    root = workbook_xml(source)
    return {n.get("name"): n.text for n in root.iter(f"{MAIN}definedName")
            if n.get("localSheetId") is None and not n.get("name", "").startswith("_xlnm.")}


def sheet_parts(source) -> dict[str, str]:
    """Sheet name -> its part in the zip, through the workbook relationships."""
    from defusedxml import ElementTree
    with zipfile.ZipFile(source) as zf:
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels}
        root = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    out = {}
    for sheet in root.iter(f"{MAIN}sheet"):
        target = targets[sheet.get(f"{REL}id")].lstrip("/")
        out[sheet.get("name")] = target if target.startswith("xl/") else f"xl/{target}"
    return out


def validations(source) -> dict[str, set[tuple[str, str, str]]]:
    """Sheet name -> {(type, sqref, formula1)} of its data validations, standard or x14 extension."""
    from defusedxml import ElementTree
    x14 = "{http://schemas.microsoft.com/office/spreadsheetml/2009/9/main}"
    xm = "{http://schemas.microsoft.com/office/excel/2006/main}"
    out = {}
    with zipfile.ZipFile(source) as zf:
        for name, part in sheet_parts(source).items():
            root = ElementTree.fromstring(zf.read(part))
            found = set()
            for dv in root.iter(f"{MAIN}dataValidation"):
                formula = dv.find(f"{MAIN}formula1")
                found.add((dv.get("type", ""), " ".join(sorted(dv.get("sqref", "").split())),
                           normalise_formula(formula.text if formula is not None else "")))
            for dv in root.iter(f"{x14}dataValidation"):
                formula = dv.find(f"{x14}formula1/{xm}f")
                sqref = dv.find(f"{xm}sqref")
                found.add((dv.get("type", ""), " ".join(sorted((sqref.text or "").split())),
                           normalise_formula(formula.text if formula is not None else "")))
            out[name] = found
    return out


def normalise_formula(text: str | None) -> str:
    """Formula text as both writers mean it: no leading '=', list items without quotes, no spaces."""
    return (text or "").lstrip("=").replace('"', "").replace(" ", "")


def normalise(value):
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def cell_values(source) -> dict[str, list[tuple]]:
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_filelike(source) if not isinstance(source, (str, Path)) else \
        CalamineWorkbook.from_path(str(source))
    return {sheet: [tuple(normalise(v) for v in row) for row in wb.get_sheet_by_name(sheet).to_python()]
            for sheet in wb.sheet_names}


def named_values(source) -> dict[str, object]:
    """The value behind every single-cell defined name, and the register rows (vu_viec) below its header."""
    import re
    values = cell_values(source)
    out = {}
    for name, ref in defined_names(source).items():
        m = re.fullmatch(r"'?(.+?)'?!\$([A-Z]+)\$(\d+)(?::\$([A-Z]+)\$(\d+))?", ref)
        sheet, col, row = m.group(1).replace("''", "'"), m.group(2), int(m.group(3))
        rows = values[sheet]
        c = sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(col))) - 1
        if m.group(4):
            last_row, last_col = int(m.group(5)), sum((ord(ch) - 64) * 26 ** i
                                                      for i, ch in enumerate(reversed(m.group(4)))) - 1
            body = [tuple(r[c:last_col + 1]) for r in rows[row:last_row]]
            out[name] = [r for r in body if any(v not in ("", None) for v in r)]
        else:
            out[name] = rows[row - 1][c] if row - 1 < len(rows) and c < len(rows[row - 1]) else ""
    return out


def fingerprint(data: bytes):
    import io
    return defined_names(io.BytesIO(data)), cell_values(io.BytesIO(data))


def message_fingerprint(data: bytes):
    """Headers that matter to intake and the content of every attachment."""
    msg = BytesParser(policy=policy.default).parsebytes(data)
    headers = tuple((k, str(msg[k])) for k in ("From", "To", "Subject", "Date", "Message-ID"))
    parts = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        parts.append((part.get_filename(), fingerprint(payload) if is_zip(payload) else payload))
    return headers, parts


def mbox_fingerprint(data: bytes):
    messages, current = [], []
    for line in data.splitlines(keepends=True):
        if line.startswith(b"From ") and (not current or current[-1].strip() == b""):
            if current:
                messages.append(b"".join(current))
            current = []
            continue
        current.append(line)
    if current:
        messages.append(b"".join(current))
    return [message_fingerprint(m) for m in messages]


def file_fingerprint(path: Path):
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".eml":
        return message_fingerprint(data)
    if suffix == ".mbox":
        return mbox_fingerprint(data)
    if is_zip(data) and suffix == ".xlsx":
        return fingerprint(data)
    return data                      # 0-byte file, PDF, legacy .xls: exact bytes


# --- the committed inbox is the script's output -------------------------------------------------------------------

def relative_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_committed_inbox_has_the_files_the_script_writes(rebuilt):
    assert INBOX.is_dir(), STALE
    assert relative_files(INBOX) == relative_files(rebuilt), STALE


def test_committed_inbox_has_the_content_the_script_writes(rebuilt):
    stale = [rel for rel in relative_files(rebuilt)
             if (INBOX / rel).is_file() and file_fingerprint(INBOX / rel) != file_fingerprint(rebuilt / rel)]
    assert not stale, f"{STALE}; differing files: {stale[:10]}"


def test_the_script_sets_received_times_deterministically(build, rebuilt):
    late = rebuilt / "2025-04" / "XOM10_2025-03.xlsx"
    assert datetime.fromtimestamp(late.stat().st_mtime, build.VN) == build.at(2025, 4, 9, 10, 20)
    eml = rebuilt / "2025-08" / "2025-09-08_xomkhuontat.eml"
    msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert msg["Date"].datetime == build.at(2025, 9, 8, 19, 5)


def test_the_inbox_stays_small(rebuilt):
    files = [p for p in rebuilt.rglob("*") if p.is_file()]
    assert len(files) < 13 * 30
    workbooks = [p for p in files if p.suffix == ".xlsx" and is_zip(p.read_bytes())]
    assert all(5_000 < p.stat().st_size < 25_000 for p in workbooks)


# --- what the example's files must keep ---------------------------------------------------------------------------

def fresh_template(tmp_path: Path, unit_type: str) -> Path:
    from antt_batch.catalog import load_catalog
    from antt_batch.templates import write_template
    return write_template(tmp_path / f"{unit_type}.xlsx", load_catalog(), unit_type, "U1", "Đơn vị", "2025-03")


@pytest.mark.parametrize("code", ["XOM12", "PHUDINH", "CQ-UBND", "DN-LAMSAN", "TRUONG-THCS"])
def test_a_template_filled_with_openpyxl_keeps_names_and_dropdowns(build, tmp_path, code):
    sub = build.submission(code, "2025-03")
    unit_type = build.unit_of(code).type
    template = fresh_template(tmp_path, unit_type)
    filled = build.write_submission(tmp_path / f"{code}.xlsx", sub)
    assert defined_names(filled) == defined_names(template)
    assert validations(filled) == validations(template)
    assert any(kind == "list" for kind, _, _ in validations(filled)["Báo cáo"])
    values = named_values(filled)
    assert values["antt_unit_code"] == code and values["antt_period"] == "2025-03"
    assert values["ngay_bao_cao"] in (sub.values["ngay_bao_cao"], sub.values["ngay_bao_cao"].strftime("%d/%m/%Y"))


def test_the_libreoffice_resaved_file_keeps_every_name_and_dropdown(build, tmp_path):
    lo = FIXTURES / "TRUONG-THPT_2025-03.xlsx"
    root = workbook_xml(lo)
    assert root.find(f"{MAIN}definedNames") is not None
    template = fresh_template(tmp_path, "CSGD")
    assert defined_names(lo) == defined_names(template)
    assert validations(lo) == validations(template)
    # ... and holds what the script's own openpyxl-filled workbook holds (the fixture is not stale).
    source = build.write_submission(tmp_path / "source.xlsx", build.fixture_submission("TRUONG-THPT_2025-03.xlsx"))
    assert named_values(lo) == named_values(source)
    assert (INBOX / "2025-03" / "TRUONG-THPT_2025-03.xlsx").read_bytes() == lo.read_bytes()


@pytest.mark.parametrize("name", ["XOM04_2025-01.xls", "DN-CHE_2025-08.xls"])
def test_the_legacy_fixtures_are_real_excel_97_files(name):
    data = (FIXTURES / name).read_bytes()
    assert data[:8] == bytes.fromhex("D0CF11E0A1B11AE1")      # OLE2 compound file
    assert b"W\x00o\x00r\x00k\x00b\x00o\x00o\x00k\x00" in data  # with a "Workbook" stream: an .xls


def test_registry_matches_the_scenarios(build):
    from antt_batch import api
    ws = api.open_workspace(EXAMPLES / "phu-dinh")
    codes = {u.code for u in ws.units}
    assert {f"XOM{i:02d}" for i in range(1, 14)} <= codes
    assert ws.commune.code == "PHUDINH" and ws.forward_to == "Ban Chỉ đạo 138 tỉnh" and ws.deadline_day == 5
    assert set(build.REPORTERS) == {u.code for u in ws.all_units() if u.in_scope is not False}
    assert sum(u.type == "CQDN" for u in ws.units) >= 4 and sum(u.type == "CSGD" for u in ws.units) >= 3
    assert not ws.warnings
