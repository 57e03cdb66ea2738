"""Benchmark harness for antt-batch (issue 7). Not a test: pytest never collects it (testpaths = tests).

    python bench/run.py [--tiers commune,stress-600,stress-10k,province,national,templates] [--repeat 3]
    python bench/run.py --quick                 # smoke run: 1 repeat, smaller tiers
    python bench/run.py --profile stress-10k    # cProfile of one tier (main process + in-process reader)

Every timed command is the real CLI started as a fresh process (interpreter start included), on a fresh copy of
the workspace state each repeat; peak memory is the sampled PSS sum of its process tree (main process, forkserver,
reader workers), with the RSS sum and the largest single process's max RSS from wait4(). An openpyxl reference
(bench/openpyxl_ref.py) reads the same files in a fresh process of its own. Synthetic inputs are built from the REAL
generated templates (antt_batch.templates.write_template), filled once per (unit type, variant, period) with
openpyxl and then cloned per unit by rewriting only the identity strings inside the zip, and cached under
bench/cache/ (git-ignored) keyed by the code they depend on. See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import random
import re
import shutil
import statistics
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / "cache"
PKG = ROOT / "antt_batch"
PY = sys.executable
GEN_VERSION = "3"                   # bump when the generators below change what they write

CODE_TOKEN = "QQUNITCODEQQ"         # placeholder identity strings inside the filled base files
NAME_TOKEN = "QQUNITNAMEQQ"
XA_CODE_TOKEN = "QQXACODEQQ"        # placeholder commune identity inside the base commune workbook
XA_NAME_TOKEN = "QQXANAMEQQ"

PERIOD = "2025-03"                  # the stress tiers' month
TODAY = "2025-04-10"

TIERS = ("commune", "stress-600", "stress-10k", "province", "national", "templates")
TARGETS = {                          # wall seconds, ratio vs openpyxl (x faster), peak memory MB
    "commune": {"wall": 0.3, "rss": 120},
    "stress-600": {"wall": 1.5, "ratio": 5, "rss": 200},
    "stress-10k": {"wall": 12, "rss": 400},
    "province": {"wall": 3},
    "national": {"wall": 60, "rss": 1024},
    "templates": {},
}
SIZES = {False: {"stress-600": 600, "stress-10k": 10_000, "province": 100, "national": (34, 100),
                 "ref-sample-10k": 300},
         True: {"stress-600": 100, "stress-10k": 1_000, "province": 20, "national": (4, 20),
                "ref-sample-10k": 100}}
UNITS_PER_COMMUNE = 24              # + the commune's own row = 25 data rows per commune workbook


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ cache keys
def _hash_files(paths) -> str:
    digest = hashlib.sha256(GEN_VERSION.encode())
    for path in sorted(paths):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def template_key() -> str:
    """What the synthetic unit files depend on: the template writer, the layout and the catalog."""
    return _hash_files([PKG / "templates.py", PKG / "layout.py", PKG / "text.py", *(PKG / "catalog").glob("*.toml")])


def package_key() -> str:
    """Everything in the package (for states produced by the real tool: replayed histories, output workbooks)."""
    return _hash_files([*PKG.rglob("*.py"), *PKG.rglob("*.toml")])


def contract_key() -> str:
    """What commune output workbooks depend on as roll-up inputs: the data/manifest contract and the catalog."""
    return _hash_files([PKG / "__init__.py", PKG / "report" / "data.py", PKG / "rollup.py",
                        *(PKG / "catalog").glob("*.toml")])


def prune_cache() -> None:
    """Drop cached inputs whose key no longer matches the code they were built with."""
    keys = {template_key(), package_key(), contract_key()}
    for path in CACHE.glob("*-*"):
        key = path.name.rsplit("-", 1)[-1]
        if path.is_dir() and re.fullmatch(r"[0-9a-f]{12}", key) and key not in keys:
            shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ zip cloning
class ZipTemplate:
    """A zip whose members are kept compressed; `render` rewrites only the members holding a token.

    Writing a clone is a few memcpy's plus deflating one or two small XML parts, so 10,000 unit files take seconds.
    """

    def __init__(self, data: bytes, tokens: list[bytes]):
        self.members = []                              # (name, crc, usize, compressed, text-or-None)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                raw = zf.read(info)
                patch = raw if any(t in raw for t in tokens) else None
                self.members.append((info.filename.encode(), zlib.crc32(raw), len(raw), _deflate(raw), patch))

    def render(self, replace: dict[bytes, bytes]) -> bytes:
        out, central = io.BytesIO(), []
        for name, crc, usize, comp, patch in self.members:
            if patch is not None:
                raw = patch
                for old, new in replace.items():
                    raw = raw.replace(old, new)
                crc, usize, comp = zlib.crc32(raw), len(raw), _deflate(raw)
            offset = out.tell()
            out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, 8, 0, 0x21, crc, len(comp), usize,
                                  len(name), 0))
            out.write(name)
            out.write(comp)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, 8, 0, 0x21, crc, len(comp),
                                       usize, len(name), 0, 0, 0, 0, 0, offset) + name)
        start = out.tell()
        for entry in central:
            out.write(entry)
        size = out.tell() - start
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), size, start, 0))
        return out.getvalue()


def _deflate(raw: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    return comp.compress(raw) + comp.flush()


def _xml(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8")


# ------------------------------------------------------------------------------------------------ unit files
VARIANTS = ("clean", "fail", "incident", "badnum")
BAD = ("empty", "pdf")
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >>"
       b" endobj\n" + b"% bao cao thang da ky so\n" * 80 + b"trailer << /Root 1 0 R >>\n%%EOF\n")


def _month_end(period: str) -> date:
    y, m = int(period[:4]), int(period[5:])
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def _next_period(period: str) -> str:
    y, m = int(period[:4]), int(period[5:])
    return f"{y + (m == 12)}-{m % 12 + 1:02d}"


def _values(catalog, unit_type: str, variant: str, period: str) -> tuple[dict, list[tuple]]:
    """Realistic cell values (as a clerk types them: dropdown texts, Có/Không, dates) and incident rows."""
    y, m = int(period[:4]), int(period[5:])
    in_q1_year = m <= 10                          # Jan..Oct: Q1 of this calendar year is past or current
    show = lambda cl, code: catalog.codelists[cl].display(code)    # noqa: E731
    cat = lambda code: f"{code} - {catalog.categories[code].label}" if hasattr(catalog, "categories") \
        else code                                                   # noqa: E731
    q1 = (lambda d: datetime(y, 1, d)) if in_q1_year else (lambda d: None)
    fail = variant == "fail"
    v: dict = {"nguoi_bao_cao": "Nguyễn Văn An", "dien_thoai": "0912 345 678",
               "ngay_bao_cao": datetime(y, m, min(28, _month_end(period).day))}
    if unit_type == "KDC":
        v.update(so_ho_cu_tru=320, so_ho_dang_ky=300 if fail else 320, ngay_nghi_quyet_chi_bo=q1(12),
                 ngay_dang_ky_phan_dau=None if fail else q1(20), trien_khai_day_du="Không" if fail else "Có",
                 quan_ly_doi_tuong_hieu_qua="Có")
    elif unit_type == "XA":
        v.update(ngay_nghi_quyet_dang_uy=q1(8), ngay_ke_hoach_ubnd=q1(15), ngay_dang_ky_phan_dau=q1(20),
                 so_mo_hinh_hieu_qua=0 if fail else 3, trien_khai_day_du="Có", quan_ly_doi_tuong_hieu_qua="Có",
                 cong_an_nam_chac_tinh_hinh="Không" if fail else "Có")
    elif unit_type == "CQDN":
        v.update(loai_hinh=show("LOAI_HINH", "DOANH_NGHIEP"), thuoc_llvt="Không",
                 linh_vuc=show("LINH_VUC", "CONG_NGHIEP_XAY_DUNG"), so_lao_dong_bhxh=250, doanh_thu_ty=320.5,
                 tong_nguon_von_ty=150, duoi_mot_nam="Không", co_to_chuc_dang="Có", du_dieu_kien_thi_dua="Có",
                 ngay_nghi_quyet=q1(10), ngay_ke_hoach=q1(17), ngay_dang_ky_phan_dau=q1(24),
                 noi_quy_bao_ve="Có", noi_quy_bi_mat="Có", noi_quy_chinh_tri_noi_bo="Có",
                 noi_quy_an_toan_lao_dong="Không" if fail else "Có", noi_quy_pccn="Có", noi_quy_moi_truong="Có",
                 so_nguoi=250, so_nguoi_quan_triet=231 if fail else 250, so_mo_hinh_hieu_qua=1,
                 trien_khai_day_du="Có", so_dau_moi=6)
    elif unit_type == "CSGD":
        v.update(cap_hoc=show("CAP_HOC", "THCS"), co_to_chuc_dang="Có", du_dieu_kien_thi_dua="Có",
                 ngay_nghi_quyet=q1(9), ngay_ke_hoach=q1(16), ngay_dang_ky_phan_dau=None if fail else q1(22),
                 noi_quy_bao_ve="Có", noi_quy_chinh_tri_noi_bo="Có", noi_quy_quan_ly_nguoi_hoc="Có",
                 noi_quy_pccn="Có", so_nguoi=940, so_nguoi_quan_triet=940, so_mo_hinh_hieu_qua=1,
                 trien_khai_day_du="Có", phoi_hop_cha_me_hoc_sinh="Không" if fail else "Có", so_dau_moi=32)
    if variant == "badnum":                       # text typed in a number cell -> type-error, file rejected
        key = {"KDC": "so_ho_cu_tru", "XA": "so_mo_hinh_hieu_qua"}.get(unit_type, "so_nguoi")
        v[key] = "ba trăm hai mươi"
    v = {k: x for k, x in v.items() if x is not None}
    incidents: list[tuple] = []
    if variant == "incident":
        level = lambda code: show("MUC_DO", code)                  # noqa: E731
        d1, d2 = datetime(y, m, 6), datetime(y, m, 19)
        kinds = {"KDC": [("VI_PHAM_PHAP_LUAT", None, "Gây rối trật tự công cộng tại chợ"),
                         ("TOI_PHAM", level("IT_NGHIEM_TRONG"), "Trộm cắp xe máy")],
                 "XA": [("TE_NAN_XA_HOI", None, "Đánh bạc, đã xử phạt hành chính")],
                 "CQDN": [("CHAY_NO", level("KHONG_NGHIEM_TRONG"), "Chập điện kho thành phẩm, dập tắt ngay"),
                          ("NLD_VI_PHAM_ANTT", None, "Công nhân bị xử phạt vì gây rối")],
                 "CSGD": [("BAO_LUC_HOC_DUONG", None, "Học sinh đánh nhau ngoài cổng trường")]}[unit_type]
        for i, (code, lvl, text) in enumerate(kinds, start=1):
            incidents.append((d1 if i == 1 else d2, cat(code), lvl, "Không", "Có", "Có", "Có",
                              f"{CODE_TOKEN}-{m:02d}{i}", text))
    return v, incidents


def _fill(template: Path, values: dict, incidents: list[tuple]) -> bytes:
    """tests/conftest.py's fill(): through the defined names, like a unit clerk in Excel would."""
    import openpyxl
    wb = openpyxl.load_workbook(template)
    for name, value in values.items():
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        wb[sheet][ref.replace("$", "")] = value
    sheet, ref = next(iter(wb.defined_names["vu_viec"].destinations))
    header_row = int("".join(ch for ch in ref.replace("$", "").split(":")[0] if ch.isdigit()))
    for i, row in enumerate(incidents, start=1):
        for j, value in enumerate(row):
            wb[sheet].cell(header_row + i, 1 + j, value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


class UnitFactory:
    """Filled base files per (type, variant, period), cached on disk; `render` clones one for a unit."""

    def __init__(self):
        from antt_batch.catalog import load_catalog
        self.catalog = load_catalog()
        self.dir = CACHE / f"base-{template_key()}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.bases: dict[tuple, ZipTemplate] = {}

    def base(self, unit_type: str, variant: str, period: str) -> ZipTemplate:
        key = (unit_type, variant, period)
        if key not in self.bases:
            path = self.dir / f"{unit_type}_{variant}_{period}.xlsx"
            if not path.exists():
                from antt_batch.templates import deadline_text, write_template
                blank = self.dir / f".blank_{unit_type}_{period}.xlsx"
                if not blank.exists():
                    write_template(blank, self.catalog, unit_type, CODE_TOKEN, NAME_TOKEN, period,
                                   send_to="congan.xa@example.vn", deadline=deadline_text(period, 5))
                values, incidents = _values(self.catalog, unit_type, variant, period)
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(_fill(blank, values, incidents))
                os.replace(tmp, path)
            self.bases[key] = ZipTemplate(path.read_bytes(), [CODE_TOKEN.encode(), NAME_TOKEN.encode()])
        return self.bases[key]

    def render(self, unit_type: str, variant: str, period: str, code: str, name: str) -> bytes:
        if variant == "empty":
            return b""
        if variant == "pdf":
            return PDF
        return self.base(unit_type, variant, period).render({CODE_TOKEN.encode(): _xml(code),
                                                             NAME_TOKEN.encode(): _xml(name)})


@dataclass
class UnitSpec:
    code: str
    name: str
    type: str


def make_units(count: int, rng: random.Random) -> list[UnitSpec]:
    """count registry units: ~55 % KDC, ~30 % CQDN, ~15 % CSGD (as in a commune's registry)."""
    units = []
    for i in range(1, count + 1):
        r = rng.random()
        if r < 0.55:
            units.append(UnitSpec(f"XOM{i:05d}", f"Xóm Đồng {i}", "KDC"))
        elif r < 0.85:
            units.append(UnitSpec(f"DN-{i:05d}", f"Công ty TNHH Sản xuất Thương mại {i}", "CQDN"))
        else:
            units.append(UnitSpec(f"TRUONG-{i:05d}", f"Trường THCS Hòa Bình {i}", "CSGD"))
    return units


def pick_variant(rng: random.Random) -> str:
    """Most units clean, some failures, a few incidents, ~3 % bad files (0-byte, renamed PDF, text in numbers)."""
    r = rng.random()
    for variant, share in (("empty", 0.01), ("pdf", 0.01), ("badnum", 0.01), ("incident", 0.08), ("fail", 0.17)):
        if r < share:
            return variant
        r -= share
    return "clean"


def write_toml(path: Path, code: str, name: str, units: list[UnitSpec], extra: str = "") -> None:
    lines = [extra,
             "[commune]", f'code = "{code}"', f'name = "{name}"', 'forward_to = "Ban Chỉ đạo 138 tỉnh"',
             'forward_to_email = "bcd138.tinh@example.vn"', "deadline_day = 5",
             'emails = ["congan.xa@example.vn"]', "",
             "[commune.baselines.2024]", "toi_pham = 9", "te_nan_xa_hoi = 3", "vi_pham_phap_luat = 10", ""]
    for u in units:
        lines += ["[[units]]", f'code = "{u.code}"', f'name = "{u.name}"', f'type = "{u.type}"']
        if u.type == "KDC":
            lines += ["[units.baselines.2024]", "toi_pham = 1", "te_nan_xa_hoi = 0", "vi_pham_phap_luat = 2"]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def write_month(factory: UnitFactory, inbox: Path, commune: UnitSpec, units: list[UnitSpec], period: str,
                rng: random.Random, variants: dict[str, str] | None = None) -> dict[str, int]:
    """One file per unit (and the commune) into `inbox`, received on the 3rd of the next month."""
    inbox.mkdir(parents=True, exist_ok=True)
    nxt = _next_period(period)
    stamp = datetime(int(nxt[:4]), int(nxt[5:]), 3, 9, 30).timestamp()
    counts: dict[str, int] = {}
    for unit in [commune, *units]:
        variant = (variants or {}).get(unit.code) or pick_variant(rng)
        if unit.type == "XA" and variant in BAD + ("badnum",):
            variant = "clean"
        path = inbox / f"{unit.code}_{period}.xlsx"
        path.write_bytes(factory.render(unit.type, variant, period, unit.code, unit.name))
        os.utime(path, (stamp, stamp))
        counts[variant] = counts.get(variant, 0) + 1
    return counts


# ------------------------------------------------------------------------------------------------ workspaces
def _ready(path: Path) -> bool:
    return (path / ".complete").exists()


def _mark(path: Path, info: dict | None = None) -> None:
    (path / ".complete").write_text(json.dumps(info or {}), encoding="utf-8")


def stress_workspace(count: int) -> Path:
    ws = CACHE / f"stress-{count}-{template_key()}"
    if _ready(ws):
        return ws
    shutil.rmtree(ws, ignore_errors=True)
    t0 = time.perf_counter()
    factory = UnitFactory()
    rng = random.Random(count)
    units = make_units(count, rng)
    ws.mkdir(parents=True)
    write_toml(ws / "antt.toml", f"BENCH{count}", f"xã Thử Tải {count}", units)
    counts = write_month(factory, ws / "inbox" / PERIOD, UnitSpec(f"BENCH{count}", f"xã Thử Tải {count}", "XA"),
                         units, PERIOD, rng)
    _mark(ws, {"files": count + 1, "variants": counts})
    log(f"built stress workspace of {count + 1} files in {time.perf_counter() - t0:.1f} s ({counts})")
    return ws


def example_source() -> Path | None:
    src = ROOT / "examples" / "phu-dinh"
    inbox = src / "inbox"
    if inbox.is_dir() and any(p.is_dir() and re.fullmatch(r"\d{4}-\d{2}", p.name) for p in inbox.iterdir()):
        return src
    return None


def synthetic_commune() -> Path:
    """A Phú Đình-sized stand-in (13 xóm, 6 CQDN, 5 CSGD, the commune; 11/2024-11/2025) when the example has no
    inbox; its busiest month (03/2025) also holds 3 re-submissions and 2 bad files."""
    ws = CACHE / f"commune-synthetic-{template_key()}"
    if _ready(ws):
        return ws
    shutil.rmtree(ws, ignore_errors=True)
    factory = UnitFactory()
    rng = random.Random(124)
    units = ([UnitSpec(f"XOM{i:02d}", f"Xóm {n}", "KDC") for i, n in enumerate(
        ("Đình", "Chùa", "Giữa", "Trại", "Đồng", "Bến", "Cầu", "Hạ", "Thượng", "Mới", "Đông", "Tây", "Nam"), 1)]
             + [UnitSpec(f"DN-{i}", f"Công ty {n}", "CQDN") for i, n in enumerate(
                 ("May Phú Đình", "Gạch Tuynel", "Chè Đồng Hỷ", "Cơ khí Hòa Bình", "Xây dựng số 3",
                  "Thức ăn chăn nuôi"), 1)]
             + [UnitSpec(f"TRUONG-{i}", f"Trường {n}", "CSGD") for i, n in enumerate(
                 ("THCS Phú Đình", "THPT Định Hóa", "THCS Bình Yên", "Trung tâm GDNN-GDTX", "THCS Sơn Phú"), 1)])
    ws.mkdir(parents=True)
    write_toml(ws / "antt.toml", "PHUDINH", "xã Phú Đình", units)
    commune = UnitSpec("PHUDINH", "xã Phú Đình", "XA")
    period = "2024-11"
    while period <= "2025-11":
        write_month(factory, ws / "inbox" / period, commune, units, period, rng,
                    variants={u.code: rng.choice(("clean",) * 6 + ("fail", "incident")) for u in units})
        period = _next_period(period)
    busy = ws / "inbox" / "2025-03" / "gui-lai"                  # re-submissions (later) and bad files
    busy.mkdir()
    stamp = datetime(2025, 4, 4, 16, 0).timestamp()
    for unit in units[:3]:
        path = busy / f"{unit.code}_2025-03.xlsx"
        path.write_bytes(factory.render(unit.type, "clean", "2025-03", unit.code, unit.name))
        os.utime(path, (stamp, stamp))
    (busy / f"{units[4].code}_2025-03 (1).xlsx").write_bytes(b"")
    (busy / "bao-cao-thang-3.xlsx").write_bytes(PDF)
    _mark(ws)
    return ws


def commune_months(ws: Path) -> tuple[list[str], str]:
    """Inbox months in order, and the busiest (most files, then most bytes)."""
    months = sorted(p.name for p in (ws / "inbox").iterdir() if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}", p.name))

    def weight(m):
        files = [p for p in (ws / "inbox" / m).rglob("*") if p.is_file()]
        return len(files), sum(p.stat().st_size for p in files)

    return months, max(months, key=weight)


def today_for(period: str) -> str:
    nxt = _next_period(period)
    return f"{nxt}-10"


def cli_cmd(*args: str) -> list[str]:
    exe = Path(PY).with_name("antt-batch")
    return [str(exe), *args] if exe.exists() else [PY, "-m", "antt_batch", *args]


def commune_state() -> tuple[Path, str, str, int]:
    """The commune workspace replayed (untimed) up to the month before its busiest one; (state, busiest, source,
    files in the busiest month)."""
    src = example_source()
    label = "examples/phu-dinh" if src else "synthetic Phú Đình-sized (examples/phu-dinh has no inbox yet)"
    if src is None:
        src = synthetic_commune()
    months, busiest = commune_months(src)
    listing = sorted(f"{p.relative_to(src)}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                     for p in (src / "inbox").rglob("*") if p.is_file())
    tag = hashlib.sha256("\n".join([str(src), (src / "antt.toml").read_text(encoding="utf-8"), *listing]).encode())
    state = CACHE / f"commune-replayed-{tag.hexdigest()[:6]}-{package_key()}"
    n_files = sum(1 for p in (src / "inbox" / busiest).rglob("*") if p.is_file())
    if _ready(state):
        return state, busiest, label, n_files
    shutil.rmtree(state, ignore_errors=True)
    shutil.copytree(src, state, ignore=shutil.ignore_patterns("antt.sqlite*", "store", "output", "templates",
                                                              "logs", "drafts", ".complete"))
    toml = (state / "antt.toml").read_text(encoding="utf-8")
    toml = re.sub(r'(?m)^output_dir\s*=.*$', 'output_dir = "output"', toml)
    (state / "antt.toml").write_text(toml, encoding="utf-8")
    t0 = time.perf_counter()
    for month in months[:months.index(busiest)]:
        proc = subprocess.run(cli_cmd("-w", str(state), "run", "--period", month, "--no-templates", "--today",
                                      today_for(month)), capture_output=True, text=True, env=CHILD_ENV)
        if proc.returncode not in (0, 3):
            log(f"replay of {month} exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-300:]}")
    log(f"replayed {months.index(busiest)} months before {busiest} in {time.perf_counter() - t0:.1f} s")
    _mark(state)
    return state, busiest, label, n_files


# ------------------------------------------------------------------------------------------------ roll-up inputs
def commune_workbook_base() -> Path:
    """One real commune output workbook (the real `run` over a 24-unit synthetic commune), with token identity."""
    ws = CACHE / f"rollup-base-{package_key()}"
    out = ws / "output" / PERIOD / f"BaoCao_ANTT_{XA_CODE_TOKEN}_{PERIOD}.xlsx"
    if _ready(ws):
        return out
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    factory = UnitFactory()
    rng = random.Random(7)
    units = ([UnitSpec(f"XOM{i:02d}", f"Xóm {i}", "KDC") for i in range(1, 14)]
             + [UnitSpec(f"DN-{i}", f"Công ty Cổ phần {i}", "CQDN") for i in range(1, 7)]
             + [UnitSpec(f"TRUONG-{i}", f"Trường THCS số {i}", "CSGD") for i in range(1, 6)])
    assert len(units) == UNITS_PER_COMMUNE
    write_toml(ws / "antt.toml", XA_CODE_TOKEN, f"xã {XA_NAME_TOKEN}", units)
    write_month(factory, ws / "inbox" / PERIOD, UnitSpec(XA_CODE_TOKEN, f"xã {XA_NAME_TOKEN}", "XA"), units,
                PERIOD, rng, variants={u.code: rng.choice(("clean",) * 5 + ("fail", "incident")) for u in units})
    proc = subprocess.run(cli_cmd("-w", str(ws), "run", "--period", PERIOD, "--no-templates", "--today", TODAY),
                          capture_output=True, text=True, env=CHILD_ENV)
    if proc.returncode not in (0, 3) or not out.exists():
        raise RuntimeError(f"the real run could not write the base commune workbook (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()[-800:]}")
    _mark(ws)
    return out


class CommuneCloner:
    """Copies of the base commune workbook under another commune code/name, with a matching data_sha256."""

    def __init__(self):
        from antt_batch.report.data import data_sha256
        from antt_batch.rollup import _read
        self.data_sha256 = data_sha256
        base = commune_workbook_base()
        item = _read(base)
        if item.problem is not None:
            raise RuntimeError(f"base commune workbook unreadable by rollup: {item.problem}")
        self.header, self.rows = item.header, item.rows
        self.old_sha = str(item.manifest["data_sha256"]).encode()
        self.zip = ZipTemplate(base.read_bytes(), [XA_CODE_TOKEN.encode(), XA_NAME_TOKEN.encode(), self.old_sha])

    def render(self, code: str, name: str) -> bytes:
        def sub(v):
            return v.replace(XA_CODE_TOKEN, code).replace(XA_NAME_TOKEN, name) if isinstance(v, str) else v
        sha = self.data_sha256(self.header, [[sub(v) for v in row] for row in self.rows])
        return self.zip.render({XA_CODE_TOKEN.encode(): _xml(code), XA_NAME_TOKEN.encode(): _xml(name),
                                self.old_sha: sha.encode()})

    def write_province(self, folder: Path, province: int, communes: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for c in range(1, communes + 1):
            code = f"P{province:02d}X{c:03d}"
            (folder / f"BaoCao_ANTT_{code}_{PERIOD}.xlsx").write_bytes(
                self.render(code, f"Mẫu {province:02d}-{c:03d}"))


def province_inputs(communes: int) -> Path:
    folder = CACHE / f"province-{communes}-{contract_key()}"
    if _ready(folder):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    cloner = CommuneCloner()
    cloner.write_province(folder, 0, communes)
    _verify_rollup_inputs(folder)
    _mark(folder)
    log(f"built {communes} commune workbooks in {time.perf_counter() - t0:.1f} s")
    return folder


def _verify_rollup_inputs(folder: Path) -> None:
    """The clones must pass the real roll-up's checks (readable, untampered, no duplicate units)."""
    from antt_batch.catalog import load_catalog
    from antt_batch.rollup import _check, _read
    files = sorted(folder.glob("*.xlsx"))[:3]
    items = [_read(p) for p in files]
    _check(items, "VERIFY", load_catalog())
    bad = [(i.display, i.problem.code) for i in items if i.problem is not None]
    if bad:
        raise RuntimeError(f"synthetic roll-up inputs rejected by antt_batch.rollup: {bad}")


def national_inputs(provinces: int, communes: int) -> Path:
    """`provinces` real province roll-ups (`antt-batch rollup` over `communes` cloned commune workbooks each)."""
    folder = CACHE / f"national-{provinces}x{communes}-{contract_key()}"
    if _ready(folder):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    cloner = CommuneCloner()
    scratch = CACHE / "scratch-national"
    shutil.rmtree(scratch, ignore_errors=True)
    running: list[tuple[subprocess.Popen, Path]] = []

    def reap(block: bool):
        for proc, src in list(running):
            if block or proc.poll() is not None:
                if proc.wait() not in (0, 3):
                    raise RuntimeError(f"rollup of {src.name} failed: {proc.stderr.read()[-800:]}")
                shutil.rmtree(src, ignore_errors=True)
                running.remove((proc, src))

    for p in range(1, provinces + 1):
        src = scratch / f"P{p:02d}"
        cloner.write_province(src, p, communes)
        while len(running) >= (os.cpu_count() or 1):
            time.sleep(0.05)
            reap(False)
        out = folder / f"BaoCao_ANTT_P{p:02d}_{PERIOD}.xlsx"
        running.append((subprocess.Popen(cli_cmd("rollup", "--code", f"P{p:02d}", "--name", f"tỉnh Mẫu {p:02d}",
                                                 "--out", str(out), str(src)),
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                         env=CHILD_ENV), src))
    reap(True)
    shutil.rmtree(scratch, ignore_errors=True)
    _mark(folder)
    log(f"built {provinces} province roll-ups with the real rollup in {time.perf_counter() - t0:.1f} s")
    return folder


# ------------------------------------------------------------------------------------------------ measuring
PAGE = os.sysconf("SC_PAGE_SIZE")
#: Child processes run as on an installed machine: with bytecode caching. This environment sets
#: PYTHONDONTWRITEBYTECODE=1, which makes every fresh process recompile antt_batch from source (~0.1-0.2 s here,
#: and again in the forkserver); the harness unsets it and keeps the .pyc files under bench/cache/pycache (so
#: nothing is written inside antt_batch/), warmed by `warm_up()` before anything is timed.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CHILD_ENV["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
QUIET = {"max_wait": 90.0}          # seconds to wait for other jobs (e.g. a test suite) before each repeat


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def busy_fraction(interval: float = 0.5) -> float:
    """Share of all CPUs busy over `interval` (the bench itself is idle meanwhile: this is other jobs' load)."""
    b0, t0 = _cpu_times()
    time.sleep(interval)
    b1, t1 = _cpu_times()
    return (b1 - b0) / max(t1 - t0, 1)


def cpu_probe() -> float:
    """Milliseconds for a fixed single-core workload (Python loop + zlib), best of 5. This kind of virtual machine
    runs up to 2x slower for minutes at a time (other tenants of the host, invisible in /proc/stat): the probe
    printed beside each tier tells runs made in a slow phase from runs made in a fast one."""
    import zlib
    data = bytes(range(256)) * 2048
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        total = 0
        for i in range(200_000):
            total += i * i % 7
        zlib.compress(data, 6)
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def wait_quiet(limit: float = 0.25) -> float:
    """Wait (up to QUIET['max_wait'] s) until other jobs use < `limit` of the machine; returns the last reading."""
    deadline = time.monotonic() + QUIET["max_wait"]
    busy = busy_fraction()
    while busy >= limit and time.monotonic() < deadline:
        time.sleep(2.0)
        busy = busy_fraction()
    return busy


def _children(pid: int) -> list[int]:
    """Child PIDs of a process, from each of its threads' `children` file (no scan of all of /proc)."""
    kids: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                kids += map(int, fh.read().split())
    except OSError:
        pass
    return kids


def _tree_sample(root: int, cpu: dict[int, int], with_pss: bool = False) -> tuple[int, int]:
    """(RSS, PSS) bytes summed over `root` and all its descendants; records each one's CPU ticks in `cpu`.

    Walks the tree through /proc/PID/task/TID/children, so a sample costs ~0.2 ms instead of the ~1.6 ms of
    reading every process's stat (the sampler shares the two cores with the timed run). RSS counts pages shared
    with a forked parent in every process; PSS divides them (the true total). PSS (smaps_rollup) is dearer to
    read, so only when `with_pss` (else 0)."""
    total = pss = 0
    todo, seen = [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        rest = data[data.rfind(b")") + 2:].split()
        total += int(rest[21]) * PAGE
        cpu[pid] = max(cpu.get(pid, 0), int(rest[11]) + int(rest[12]))
        if with_pss:
            try:
                with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
                    for line in fh:
                        if line.startswith(b"Pss:"):
                            pss += int(line.split()[1]) * 1024
                            break
            except OSError:
                pass
        todo += _children(pid)
    return total, pss


@dataclass
class Measure:
    wall: float
    rc: int
    tree_mb: float          # sampled peak PSS of the whole process tree (shared pages divided: the true total)
    proc_mb: float          # largest single process's max RSS (wait4: the child and its reaped descendants)
    rss_mb: float = 0.0     # sampled peak RSS sum of the tree (counts pages shared after fork() in every process)
    out: str = ""
    cpu_s: float = 0.0      # CPU seconds used by the process tree (sampled, so a lower bound)
    others: float = 0.0     # share of the machine's CPUs used by other jobs during the run


def measure(cmd: list[str], cwd: Path | None = None, log_to: Path | None = None) -> Measure:
    log_to = log_to or CACHE / "last-command.log"
    log_to.parent.mkdir(parents=True, exist_ok=True)
    hz = os.sysconf("SC_CLK_TCK")
    with open(log_to, "w", encoding="utf-8") as out:
        peak, peak_pss, cpu = [0], [0], {}
        done = threading.Event()
        busy0, all0 = _cpu_times()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=CHILD_ENV)

        def sample():
            n = 0
            while not done.is_set():
                rss, pss = _tree_sample(proc.pid, cpu, with_pss=n % 3 == 0)
                peak[0], peak_pss[0] = max(peak[0], rss), max(peak_pss[0], pss)
                n += 1
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        busy1, all1 = _cpu_times()
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = log_to.read_text(encoding="utf-8", errors="replace")
    proc_mb = usage.ru_maxrss / 1024
    own = max(sum(cpu.values()), round((usage.ru_utime + usage.ru_stime) * hz))
    others = max(0.0, (busy1 - busy0) - own) / max(all1 - all0, 1)
    return Measure(wall, proc.returncode, tree_mb=max(peak_pss[0] / 2**20, proc_mb), proc_mb=proc_mb,
                   rss_mb=max(peak[0] / 2**20, proc_mb), out=text, cpu_s=own / hz, others=others)


def openpyxl_reference(files: list[Path], mode: str, total: int | None = None) -> dict:
    """Wall of the openpyxl reference over `files` as a fresh process; extrapolated to `total` files if given."""
    wait_quiet()
    listfile = _listfile(files)
    m = measure([PY, str(BENCH / "openpyxl_ref.py"), mode, str(listfile)], log_to=CACHE / "ref.log")
    wall = m.wall
    extrapolated = total is not None and total != len(files)
    if extrapolated:
        wall = wall * total / len(files)
    return {"wall": wall, "extrapolated": extrapolated, "sample": len(files), "rc": m.rc, "rss": m.tree_mb}


TRASH = CACHE / "trash"


def _discard(path: Path) -> None:
    """Move a run's folder aside instead of deleting it now. Deleting a 10,000-file store just before a timed run
    made creating the next run's 10,000 copies three times dearer in the kernel (measured on this ext4, mounted with
    `discard`: 1.8 -> 5 s of system time, the same with a 15 s pause), a cost no monthly run pays. `empty_trash`
    deletes them when nothing is being timed."""
    if path.exists():
        TRASH.mkdir(parents=True, exist_ok=True)
        os.rename(path, TRASH / f"{path.name}-{time.time_ns()}")


def empty_trash() -> None:
    shutil.rmtree(TRASH, ignore_errors=True)


def _fresh(src: Path, dst: Path, keep_db: bool) -> None:
    """A fresh copy of a workspace state: inbox files hard-linked (the tool never writes inputs), no outputs."""
    _discard(dst)
    ignore = ["store", "output", "templates", "logs", "drafts", ".complete"] + ([] if keep_db else ["antt.sqlite*"])

    def link(s, d):
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*ignore), copy_function=link)
    if keep_db:                     # the database is written by the run: a real copy, never a link
        for db in dst.glob("antt.sqlite*"):
            db.unlink()
            shutil.copy2(src / db.name, db)


@dataclass
class Row:
    tier: str
    size: str
    walls: list[float] = field(default_factory=list)
    per: float | None = None       # ms per file (or per 1,000 rows)
    per_unit: str = "ms/file"
    tree_mb: float = 0.0
    proc_mb: float = 0.0
    rss_mb: float = 0.0
    ref: dict | None = None
    rcs: list[int] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)   # other jobs' CPU share just before each repeat
    others: list[float] = field(default_factory=list)  # other jobs' CPU share during each repeat
    cpu_s: list[float] = field(default_factory=list)   # CPU seconds of the timed process tree
    probe: float = 0.0                                 # `cpu_probe()` just before the tier
    note: str = ""
    quick: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.walls) if self.walls else float("nan")

    @property
    def ratio(self) -> float | None:
        return self.ref["wall"] / self.median if self.ref and self.walls else None

    def verdict(self) -> str:
        if any(rc not in (0, 3) for rc in self.rcs):
            return f"FAIL (exit {','.join(str(r) for r in sorted(set(self.rcs)))})"
        t = TARGETS.get(self.tier, {})
        if not t:
            return "—"
        if self.quick:
            return "n/a (quick)"
        misses = []
        if "wall" in t and self.median > t["wall"]:
            misses.append("time")
        if "rss" in t and self.tree_mb > t["rss"]:
            misses.append("memory")
        if "ratio" in t and (self.ratio or 0) < t["ratio"]:
            misses.append("ratio")
        return "pass" if not misses else "FAIL (" + ", ".join(misses) + ")"


CHEAP = ("commune", "stress-600", "province")      # tiers of a few seconds: at least 5 repeats (less noise)


def _repeat(row: Row, repeat: int, prepare, cmd_for, files: int, per_what: float | None = None) -> None:
    if row.tier in CHEAP and not row.quick:
        repeat = max(repeat, 5)
    for i in range(repeat):
        run_dir = prepare(i)
        os.sync()                       # the copy just made is written out now, not during the timed run
        row.busy.append(wait_quiet())
        m = measure(cmd_for(run_dir), cwd=run_dir, log_to=CACHE / "runs" / f"{row.tier}.log")
        row.walls.append(m.wall)
        row.rcs.append(m.rc)
        row.others.append(m.others)
        row.cpu_s.append(m.cpu_s)
        row.tree_mb = max(row.tree_mb, m.tree_mb)
        row.proc_mb = max(row.proc_mb, m.proc_mb)
        row.rss_mb = max(row.rss_mb, m.rss_mb)
        log(f"{row.tier} #{i + 1}: {m.wall:.3f} s (CPU {m.cpu_s:.2f} s), exit {m.rc}, tree PSS {m.tree_mb:.0f} MB "
            f"(RSS sum {m.rss_mb:.0f} MB, largest process {m.proc_mb:.0f} MB), other jobs {m.others:.0%} of the CPUs")
        if m.rc not in (0, 3):
            log(f"{row.tier}: command failed: {m.out.strip()[-600:]}")
    row.per = row.median * 1000 / (per_what or files)
    if all(rc in (0, 3) for rc in row.rcs):           # keep a failed run's folder (its logs/) for inspection
        _discard(run_dir)


def run_tier_stress(tier: str, count: int, repeat: int, quick: bool, ref_sample: int | None) -> Row:
    ws = stress_workspace(count)
    files = sorted((ws / "inbox" / PERIOD).iterdir())
    row = Row(tier, f"{len(files):,} files", quick=quick)
    run_dir = CACHE / "runs" / tier

    _repeat(row, repeat, lambda i: _fresh(ws, run_dir, keep_db=False) or run_dir,
            lambda d: cli_cmd("-w", str(d), "run", "--period", PERIOD, "--no-templates", "--today", TODAY),
            len(files))
    sample = files if not ref_sample or ref_sample >= len(files) else files[::max(1, len(files) // ref_sample)][
        :ref_sample]
    row.ref = openpyxl_reference(sample, "units", total=len(files))
    return row


def run_tier_commune(repeat: int, quick: bool) -> Row:
    state, busiest, label, n_files = commune_state()
    row = Row("commune", f"{n_files} files ({busiest})", quick=quick,
              note=f"{label}; months before {busiest} replayed untimed")
    run_dir = CACHE / "runs" / "commune"
    _repeat(row, repeat, lambda i: _fresh(state, run_dir, keep_db=True) or run_dir,
            lambda d: cli_cmd("-w", str(d), "run", "--period", busiest, "--no-templates", "--today",
                              today_for(busiest)), n_files)
    files = sorted(p for p in (state / "inbox" / busiest).rglob("*") if p.is_file())
    row.ref = openpyxl_reference(files, "units")
    return row


def run_tier_province(communes: int, repeat: int, quick: bool) -> Row:
    folder = province_inputs(communes)
    rows = communes * (UNITS_PER_COMMUNE + 1) + 1
    row = Row("province", f"{communes} workbooks, {rows:,} rows", quick=quick, per_unit="ms/workbook")
    run_dir = CACHE / "runs" / "province"

    def prepare(i):
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        return run_dir

    _repeat(row, repeat, prepare, lambda d: cli_cmd("rollup", "--code", "P00", "--name", "tỉnh Mẫu 00", "--out",
                                                    str(d / f"BaoCao_ANTT_P00_{PERIOD}.xlsx"), str(folder)),
            communes)
    row.ref = openpyxl_reference(sorted(folder.glob("*.xlsx")), "rollups")
    return row


def run_tier_national(provinces: int, communes: int, repeat: int, quick: bool) -> Row:
    folder = national_inputs(provinces, communes)
    rows = provinces * (communes * (UNITS_PER_COMMUNE + 1) + 1) + 1
    row = Row("national", f"{provinces} roll-ups, {rows:,} rows", quick=quick, per_unit="ms/1k rows")
    run_dir = CACHE / "runs" / "national"

    def prepare(i):
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        return run_dir

    _repeat(row, repeat, prepare, lambda d: cli_cmd("rollup", "--code", "VN", "--name", "Cả nước", "--out",
                                                    str(d / f"BaoCao_ANTT_VN_{PERIOD}.xlsx"), str(folder)),
            provinces, per_what=rows / 1000)
    files = sorted(folder.glob("*.xlsx"))
    sample = files if len(files) <= 4 else files[:4]
    row.ref = openpyxl_reference(sample, "rollups", total=len(files))
    return row


def run_tier_templates(count: int, repeat: int, quick: bool) -> Row:
    ws = stress_workspace(count)
    row = Row("templates", f"{count + 1} templates", quick=quick, per_unit="ms/template",
              note="`antt-batch templates` over the stress workspace")
    run_dir = CACHE / "runs" / "templates"

    def prepare(i):
        _fresh(ws, run_dir, keep_db=False)
        shutil.rmtree(run_dir / "inbox")
        return run_dir

    _repeat(row, repeat, prepare, lambda d: cli_cmd("-w", str(d), "templates", "--period", "2025-04", "--out",
                                                    str(d / "tpl")), count + 1)
    return row


def warm_up() -> None:
    """Untimed: one small run, roll-up, template and openpyxl read, so every module used is byte-compiled."""
    base = commune_workbook_base()                     # a real run over a 24-unit commune (cached)
    ws = base.parents[2]
    scratch = CACHE / "runs" / "warm-up"
    _fresh(ws, scratch, keep_db=False)
    env = dict(CHILD_ENV)
    for cmd in (cli_cmd("-w", str(scratch), "run", "--period", PERIOD, "--today", TODAY),
                cli_cmd("-w", str(scratch), "templates", "--period", PERIOD, "--out", str(scratch / "tpl")),
                cli_cmd("rollup", "--code", "W", "--name", "w", "--out", str(scratch / "r.xlsx"), str(base)),
                [PY, str(BENCH / "openpyxl_ref.py"), "units", str(_listfile([next((ws / "inbox" / PERIOD).iterdir())]))],
                [PY, str(BENCH / "openpyxl_ref.py"), "rollups", str(_listfile([base]))]):
        subprocess.run(cmd, capture_output=True, env=env)
    shutil.rmtree(scratch, ignore_errors=True)


def _listfile(files) -> Path:
    path = CACHE / "ref-files.txt"
    path.write_text("\n".join(str(p) for p in files), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------ reporting
def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
        mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        pass
    from importlib import metadata
    versions = {}
    for pkg in ("antt-batch", "python-calamine", "xlsxwriter", "openpyxl", "defusedxml", "click"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "-"
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "antt_batch"], capture_output=True,
                               text=True).stdout.strip()
        commit += " (+ uncommitted changes in antt_batch/)" if dirty else ""
    except OSError:
        commit = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "ram": mem, "os": platform.platform(),
            "python": platform.python_version(), "packages": versions, "commit": commit}


def _target_text(tier: str) -> str:
    t = TARGETS.get(tier, {})
    parts = []
    if "wall" in t:
        parts.append(f"≤ {t['wall']:g} s")
    if "ratio" in t:
        parts.append(f"≥ {t['ratio']}× openpyxl")
    if "rss" in t:
        parts.append(f"≤ {t['rss']:g} MB" if t["rss"] < 1024 else f"≤ {t['rss'] / 1024:g} GB")
    return ", ".join(parts) or "—"


HEAD = ("tier", "files/rows", "wall s: median (min–max)", "CPU s", "per item",
        "peak memory MB: tree PSS (RSS sum / largest proc)",
        "openpyxl ref s", "ratio", "target", "result")


def table(rows: list[Row]) -> list[list[str]]:
    out = []
    for r in rows:
        if r.walls:
            wall = f"{r.median:.3f} ({min(r.walls):.3f}–{max(r.walls):.3f})"
            per = f"{r.per:.2f} {r.per_unit}"
            cpu = f"{statistics.median(r.cpu_s):.2f}" if r.cpu_s else "—"
        else:
            wall = per = cpu = "—"
        ref = "—"
        if r.ref:
            ref = f"{r.ref['wall']:.2f}" + (f" (extrapolated from {r.ref['sample']})" if r.ref["extrapolated"] else "")
        ratio = f"{r.ratio:.1f}×" if r.ratio else "—"
        out.append([r.tier, r.size, wall, cpu, per, f"{r.tree_mb:.0f} ({r.rss_mb:.0f} / {r.proc_mb:.0f})", ref, ratio,
                    _target_text(r.tier), r.verdict()])
    return out


def render_text(rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEAD)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))   # noqa: E731
    return "\n".join([line(HEAD), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def render_md(rows: list[list[str]], info: dict, results: list[Row], args) -> str:
    pk = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    lines = ["# antt-batch benchmark results", "",
             f"Generated by `python bench/run.py {' '.join(args)}` on {datetime.now():%Y-%m-%d %H:%M}.", "",
             "## Machine", "",
             f"- CPU: {info['cpu']}, {info['cores']} cores; RAM {info['ram']}",
             f"- OS: {info['os']}",
             f"- Python {info['python']}; {pk}",
             f"- commit: {info['commit']}",
             "- CPU probe (`cpu_probe()`: a fixed single-core workload, best of 5, ms; lower is a faster phase of "
             "the machine) before each tier: " + ", ".join(f"{r.tier} {r.probe:.0f}" for r in results), "",
             "## Results", "",
             "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    notes = [f"- `{r.tier}`: {r.note}" for r in results if r.note]
    notes += [f"- `{r.tier}`: other jobs used up to {max(r.busy):.0%} of the CPUs just before a timed repeat "
              "(the harness waits up to 90 s for < 25 %); its wall times are inflated" for r in results
              if r.busy and max(r.busy) >= 0.25]
    notes += [f"- `{r.tier}`: other jobs used {statistics.median(r.others):.0%} of the CPUs during the median "
              f"repeat (max {max(r.others):.0%}): wall times are inflated" for r in results
              if r.others and max(r.others) >= 0.10]
    lines += ["", "Wall: the real CLI as a fresh process, interpreter start included, on a fresh copy of the "
              "workspace state each repeat. Peak memory: the process tree's (main process, forkserver, reader "
              "workers) summed PSS, sampled every 60 ms — the true total, and the pass/fail figure; in brackets the "
              "summed RSS (sampled every 20 ms; it counts pages a forked worker shares with its parent once per "
              "process, so it overstates) and the largest single process's max RSS from wait4(). CPU s: user + system seconds of that process tree in the median "
              "repeat (sampled; CPU s ÷ wall shows how much of the 2 cores is used). Ratio: openpyxl reference "
              "wall ÷ antt-batch median wall (higher is better).", *(["", "Notes:", *notes] if notes else [])]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ profiling
def profile(tier: str, quick: bool) -> None:
    """cProfile of the main process of one tier's command (fresh process), then of the same work in one process
    with the reader called in-process (the workers are not seen by the first profile)."""
    import pstats
    sizes = SIZES[quick]
    out_dir = CACHE / "profile"
    out_dir.mkdir(parents=True, exist_ok=True)
    run_dir = CACHE / "runs" / f"profile-{tier}"
    if tier.startswith("stress"):
        ws = stress_workspace(sizes[tier])
        _fresh(ws, run_dir, keep_db=False)
        args = ["-w", str(run_dir), "run", "--period", PERIOD, "--no-templates", "--today", TODAY]
    elif tier == "commune":
        state, busiest, _, _ = commune_state()
        _fresh(state, run_dir, keep_db=True)
        args = ["-w", str(run_dir), "run", "--period", busiest, "--no-templates", "--today", today_for(busiest)]
    elif tier == "province":
        folder = province_inputs(sizes["province"])
        run_dir.mkdir(parents=True, exist_ok=True)
        args = ["rollup", "--code", "P00", "--name", "tỉnh Mẫu", "--out", str(run_dir / "out.xlsx"), str(folder)]
    elif tier == "national":
        folder = national_inputs(*sizes["national"])
        run_dir.mkdir(parents=True, exist_ok=True)
        args = ["rollup", "--code", "VN", "--name", "Cả nước", "--out", str(run_dir / "out.xlsx"), str(folder)]
    else:
        raise SystemExit(f"no profile for {tier}")
    prof = out_dir / f"{tier}-main.prof"
    t0 = time.perf_counter()
    warm_up()
    # `antt-batch` ends with os._exit (no teardown), which would lose a `python -m cProfile` dump: profile the
    # click group itself, with the entry point's settings, and dump on its SystemExit.
    main_code = (
        "import cProfile, gc, sys\n"
        "from antt_batch import cli\n"
        "gc.set_threshold(*cli.GC_THRESHOLD)\n"
        "profiler, code = cProfile.Profile(), 0\n"
        "try:\n"
        f"    profiler.runcall(cli.cli, {args!r}, prog_name='antt-batch')\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        f"profiler.dump_stats({str(prof)!r})\n"
        "sys.exit(code)\n")
    done = subprocess.run([PY, "-c", main_code], capture_output=True, text=True, env=CHILD_ENV)
    if done.returncode not in (0, 3):           # 3: written beside a locked file, still a full run
        raise SystemExit(f"profiled command failed: {done.stderr[-1500:]}")
    log(f"profiled main process in {time.perf_counter() - t0:.2f} s -> {prof}")
    report = io.StringIO()
    for title, path in [("main process (fresh CLI process; reader workers not included)", prof)]:
        stats = pstats.Stats(str(path), stream=report)
        report.write(f"\n=== {tier}: {title} — by tottime\n")
        stats.sort_stats("tottime").print_stats(25)
        report.write(f"\n=== {tier}: {title} — by cumulative\n")
        stats.sort_stats("cumulative").print_stats(40)
    if tier.startswith("stress") or tier == "commune":
        inproc = out_dir / f"{tier}-inprocess.prof"
        if tier.startswith("stress"):
            _fresh(ws, run_dir, keep_db=False)
        else:
            _fresh(state, run_dir, keep_db=True)
        code = (
            "import cProfile, sys, datetime\n"
            "import antt_batch.worker as W\n"
            "from antt_batch.reader import read_workbook\n"
            "W.read_many = lambda items, progress=None, task=None: [task(i, d, n) if task else read_workbook(d, n)\n"
            "                                                     for i, (d, n) in enumerate(items)]\n"
            "from antt_batch import api\n"
            f"ws = api.open_workspace({str(run_dir)!r})\n"
            f"period, today = {args[4]!r}, datetime.date.fromisoformat({args[-1]!r})\n"
            "cProfile.run('api.run_month(ws, period, today=today, next_templates=False, drafts=False)', "
            f"{str(inproc)!r})\n")
        done = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=CHILD_ENV)
        if done.returncode:
            raise SystemExit(f"in-process profile failed: {done.stderr[-1500:]}")
        stats = pstats.Stats(str(inproc), stream=report)
        report.write(f"\n=== {tier}: whole run in ONE process (reader called in-process) — by tottime\n")
        stats.sort_stats("tottime").print_stats(30)
        report.write(f"\n=== {tier}: whole run in ONE process — by cumulative\n")
        stats.sort_stats("cumulative").print_stats(50)
    text = report.getvalue().replace(str(ROOT) + "/", "")
    (out_dir / f"{tier}.txt").write_text(text, encoding="utf-8")
    print(text)


# ------------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiers", default=",".join(TIERS), help=f"comma-separated, from {', '.join(TIERS)}")
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats per tier (median reported; ≥ 3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, smaller tiers, no targets")
    parser.add_argument("--profile", metavar="TIER", help="profile one tier with cProfile instead of timing")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/results.md")
    parser.add_argument("--rebuild", action="store_true", help="drop bench/cache/ first")
    parser.add_argument("--max-wait", type=float, default=90.0,
                        help="seconds to wait for other jobs to go quiet before each repeat (default 90)")
    args = parser.parse_args(argv)
    raw_args = argv if argv is not None else sys.argv[1:]
    QUIET["max_wait"] = args.max_wait
    CACHE.mkdir(parents=True, exist_ok=True)
    prune_cache()
    if args.rebuild:
        shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.profile:
        profile(args.profile, args.quick)
        return 0
    tiers = [t.strip() for t in args.tiers.split(",") if t.strip()]
    unknown = [t for t in tiers if t not in TIERS]
    if unknown:
        parser.error(f"unknown tier(s): {', '.join(unknown)}")
    repeat = 1 if args.quick else max(1, args.repeat)
    sizes = SIZES[args.quick]
    results: list[Row] = []
    empty_trash()                                      # what an interrupted bench left, before anything is timed
    log("warm-up (byte-compiles every module the timed commands use)")
    warm_up()
    for tier in [t for t in TIERS if t in tiers]:
        probe = cpu_probe()
        log(f"tier {tier} (CPU probe {probe:.0f} ms)")
        try:
            if tier == "commune":
                results.append(run_tier_commune(repeat, args.quick))
            elif tier in ("stress-600", "stress-10k"):
                results.append(run_tier_stress(tier, sizes[tier], repeat, args.quick,
                                               sizes["ref-sample-10k"] if tier == "stress-10k" else None))
            elif tier == "province":
                results.append(run_tier_province(sizes["province"], repeat, args.quick))
            elif tier == "national":
                results.append(run_tier_national(*sizes["national"], repeat, args.quick))
            elif tier == "templates":
                results.append(run_tier_templates(sizes["stress-600"], repeat, args.quick))
        except Exception as exc:       # a tier that cannot even be set up is reported, the others still run
            log(f"tier {tier} could not run: {type(exc).__name__}: {exc}")
            results.append(Row(tier, "—", rcs=[-1], note=f"could not run: {type(exc).__name__}: "
                                                          f"{str(exc).splitlines()[0][:200] if str(exc) else ''}"))
        results[-1].probe = probe
    empty_trash()
    rows = table(results)
    info = machine()
    print()
    print(f"{info['cpu']}, {info['cores']} cores, {info['ram']} RAM, Python {info['python']}")
    print(render_text(rows))
    for r in results:
        if r.note:
            print(f"  {r.tier}: {r.note}")
    if not args.no_write and not args.quick:
        (BENCH / "results.md").write_text(render_md(rows, info, results, raw_args), encoding="utf-8")
        log("wrote bench/results.md")
    return 0 if all(r.verdict() in ("pass", "—", "n/a (quick)") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
