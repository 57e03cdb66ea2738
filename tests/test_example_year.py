"""The bundled example year, replayed month by month through the real CLI path, gives the verdicts its README states."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from antt_batch import api

EXPECTED_2025 = {   # examples/phu-dinh/README.md, "Expected verdicts, evaluation year 2025"
    "PHUDINH": ("CHUA_DAT", "XA-2:KDC-4.b, XA-2:KDC-4.c.1, XA-2:KDC-4.c.2, XA-4.1, XA-4.2"),
    "XOM01": ("DAT", ""), "XOM02": ("CHUA_DAT", "KDC-4.b"), "XOM03": ("DAT", ""), "XOM04": ("DAT", ""),
    "XOM05": ("CHUA_DAT", "KDC-1.2"), "XOM06": ("CHUA_DAT", "KDC-1.3"), "XOM07": ("CHUA_DAT", "KDC-5.2"),
    "XOM08": ("CHUA_DAT", "KDC-4.a, KDC-4.c.1, KDC-4.c.2"), "XOM09": ("DAT", ""), "XOM10": ("DAT", ""),
    "XOM11": ("DAT", ""), "XOM12": ("DAT", ""), "XOM13": ("THIEU_DU_LIEU", ""),
    "CQ-UBND": ("DAT", ""), "DN-MAYTHEU": ("CHUA_DAT", "CQDN-3.h"), "DN-GACH": ("DAT", ""),
    "DN-LAMSAN": ("THIEU_DU_LIEU", ""), "DN-CHE": ("NGOAI_PHAM_VI", ""), "CQ-BCHQS": ("NGOAI_PHAM_VI", ""),
    "TRUONG-THCS": ("CHUA_DAT", "CSGD-4.1"), "TRUONG-THPT": ("DAT", ""), "TRUONG-TH": ("NGOAI_PHAM_VI", ""),
    "TRUONG-MN": ("NGOAI_PHAM_VI", ""),
}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """Thirteen monthly runs (11/2024 → 11/2025) over a private copy of the example, then the annual evaluation."""
    import shutil
    src = Path(__file__).resolve().parent.parent / "examples" / "phu-dinh"
    root = tmp_path_factory.mktemp("example") / "phu-dinh"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("antt.sqlite*", "store", "output", "templates"))
    config = root / "antt.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('"../../output"', '"output"'), encoding="utf-8")
    ws = api.open_workspace(root)
    runs = {m.name: api.run_month(ws, m.name, today=date(2025, 12, 10), next_templates=False, drafts=False)
            for m in sorted((root / "inbox").iterdir())}
    annual = api.write_report(ws, year=2025, today=date(2025, 12, 10))
    return ws, runs, annual


def data_rows(path: Path) -> dict[str, dict]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("data").to_python()
    return {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}


def test_annual_verdicts_match_the_example_readme(replayed):
    _, _, annual = replayed
    rows = data_rows(annual.path)
    got = {code: (row["verdict_code"], row["failed_criteria"]) for code, row in rows.items()}
    assert got == EXPECTED_2025


def test_every_month_wrote_a_workbook_and_bad_files_were_reported(replayed):
    ws, runs, _ = replayed
    assert len(runs) == 13
    assert all(run.report.path.exists() for run in runs.values())
    rejected = {o.display for run in runs.values() for o in run.ingest.outcomes if o.decision == "rejected"}
    assert "XOM07_2024-12.xlsx" in rejected                       # 0 bytes
    assert any(name.endswith(".xls") for name in rejected)       # legacy format
    assert sum(run.ingest.count("duplicate") for run in runs.values()) >= 1


def test_rerunning_a_month_is_idempotent(replayed):
    ws, runs, _ = replayed
    first = data_rows(runs["2025-11"].report.path)
    again = api.run_month(ws, "2025-11", today=date(2025, 12, 10), next_templates=False, drafts=False)
    assert {o.decision for o in again.ingest.outcomes} == {"seen"}
    assert data_rows(again.report.path) == first


def test_october_closes_the_kdc_year(replayed):
    _, runs, _ = replayed
    rows = data_rows(runs["2025-10"].report.path)
    assert rows["XOM02"]["verdict_code"] == "CHUA_DAT" and rows["XOM01"]["verdict_code"] == "DAT"
    assert rows["XOM12"]["verdict_code"] == "DANG_DAT"          # KDC-5.1 rating may still arrive in November
