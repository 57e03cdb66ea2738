"""Shared fixtures: a small real workspace in tmp_path and real templates filled with openpyxl."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

SMALL_TOML = """
[commune]
code = "PHUDINH"
name = "xã Phú Đình"
forward_to = "Ban Chỉ đạo 138 tỉnh"
forward_to_email = "bcd138@example.vn"
deadline_day = 5
emails = ["congan@example.vn"]

[commune.baselines.2024]
toi_pham = 3
te_nan_xa_hoi = 1
vi_pham_phap_luat = 2

[[units]]
code = "XOM01"
name = "Xóm Đình"
type = "KDC"
emails = ["xom1@example.vn"]
[units.baselines.2024]
toi_pham = 1
te_nan_xa_hoi = 0
vi_pham_phap_luat = 1

[[units]]
code = "XOM02"
name = "Xóm Chùa"
type = "KDC"
emails = ["xom2@example.vn"]

[[units]]
code = "DN-MAY"
name = "Công ty May Phú Đình"
type = "CQDN"

[[units]]
code = "TRUONG-THCS"
name = "Trường THCS Phú Đình"
type = "CSGD"
"""


@pytest.fixture(scope="session")
def catalog():
    from antt_batch.catalog import load_catalog
    return load_catalog()


@pytest.fixture
def workspace(tmp_path):
    """A workspace with two xóm, one enterprise, one school and the commune."""
    from antt_batch.workspace import load_workspace
    root = tmp_path / "ws"
    root.mkdir()
    (root / "antt.toml").write_text(SMALL_TOML, encoding="utf-8")
    return load_workspace(root)


def fill(template: Path, target: Path, values: dict, incidents: list[tuple] = (), mtime: datetime | None = None
         ) -> Path:
    """Fill a real template through its defined names with openpyxl, like a unit clerk in Excel would."""
    import openpyxl
    wb = openpyxl.load_workbook(template)
    for name, value in values.items():
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        wb[sheet][ref.replace("$", "")] = value
    sheet, ref = next(iter(wb.defined_names["vu_viec"].destinations))
    first = ref.replace("$", "").split(":")[0]
    header_row = int("".join(ch for ch in first if ch.isdigit()))
    for i, row in enumerate(incidents, start=1):
        for j, value in enumerate(row):
            wb[sheet].cell(header_row + i, 1 + j, value)
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    if mtime:
        os.utime(target, (mtime.timestamp(), mtime.timestamp()))
    return target


@pytest.fixture
def make_file(workspace, tmp_path):
    """make_file(unit_code, period, values, incidents, name=..., folder=...) -> a filled template on disk."""
    from antt_batch.templates import template_filename, write_template

    def make(unit_code: str, period: str, values: dict | None = None, incidents=(), name: str | None = None,
             folder: Path | None = None, mtime: datetime | None = None) -> Path:
        from antt_batch.api import catalog_for
        unit = workspace.find(unit_code)
        blank = write_template(tmp_path / "blank" / template_filename(unit.code, period), catalog_for(workspace),
                               unit.type, unit.code, unit.name, period)
        folder = folder or workspace.inbox(period)
        return fill(blank, folder / (name or template_filename(unit_code, period)),
                    {"nguoi_bao_cao": "Nguyễn Văn A", "ngay_bao_cao": datetime(int(period[:4]), int(period[5:]), 28),
                     **(values or {})}, incidents, mtime)

    return make


@pytest.fixture
def example_copy(tmp_path):
    """A private copy of the bundled example workspace (its inbox included)."""
    src = Path(__file__).resolve().parent.parent / "examples" / "phu-dinh"
    dst = tmp_path / "phu-dinh"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("antt.sqlite*", "store", "output", "templates"))
    text = (dst / "antt.toml").read_text(encoding="utf-8").replace('output_dir = "../../output"',
                                                                   'output_dir = "output"')
    (dst / "antt.toml").write_text(text, encoding="utf-8")
    return dst
