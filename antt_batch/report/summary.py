"""What `Tổng hợp` shows, as plain tables: built from a commune's `ReportInput` or from roll-up `data` rows.

The sheet writer only lays these out, so the commune report and the roll-up share one layout and one set of charts,
and every charted number sits in a visible helper table (spec §7 item 1).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

from antt_batch.model import (CHUA_DAT, DANG_DAT, DAT, NGOAI_PHAM_VI, PROGRESS_VI, THIEU_DU_LIEU,
                              VERDICT_VI, ReportInput)
from antt_batch.report.charts import ChartSpec, count_step
from antt_batch.report.data import round_half_up
from antt_batch.report.styles import PROGRESS_CHART, VERDICT_CHART
from antt_batch.text import vn_date

VERDICT_ORDER = (DAT, DANG_DAT, CHUA_DAT, THIEU_DU_LIEU, NGOAI_PHAM_VI)
TYPE_ORDER = ("KDC", "CQDN", "CSGD", "XA")
PROGRESS_ORDER = ("DUNG_HAN", "TRE_HAN", "THIEU", "CHUA_DEN_HAN")
THRESHOLD_PCT = 70
TITLE = ("BÁO CÁO KẾT QUẢ XÂY DỰNG PHONG TRÀO KHU DÂN CƯ, XÃ, CƠ QUAN, DOANH NGHIỆP, CƠ SỞ GIÁO DỤC\n"
         "ĐẠT TIÊU CHUẨN “AN TOÀN VỀ AN NINH, TRẬT TỰ”")
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
SCORE_CHART_MAX = 60    # bars a chart shows legibly on A4 (a commune has up to ~50 hamlets)


@dataclass
class Table:
    """A labelled helper table; `chart` says how to chart it (column 0 = categories)."""

    title: str
    header: list[str]
    rows: list[list]
    chart: ChartSpec | None = None
    note: str = ""


@dataclass
class Summary:
    agency: str                   # issuing body, top left (e.g. "BAN CHỈ ĐẠO 138")
    unit_name: str                # commune or roll-up name, top left below the agency
    place_date: str               # "Phú Đình, ngày 05 tháng 07 năm 2025"
    title: str
    period_line: str
    recipient: str
    verdict: tuple[str, str] | None   # (sentence, verdict code) of the commune; None for a roll-up
    notes: list[str]
    kpis: list[tuple[str, object]]
    tables: list[Table]
    signers: tuple[str, str]
    caption: str = ""             # page header of every sheet


def period_label(period: str) -> str:
    """'2025-06' -> 'Tháng 06/2025'; '2025' -> 'Năm 2025'."""
    return f"Tháng {period[5:7]}/{period[:4]}" if len(period) == 7 else f"Năm {period}"


def place_date(name: str, day: date) -> str:
    place = re.sub(r"^(xã|phường|thị trấn|đặc khu|tỉnh|thành phố)\s+", "", name.strip(), flags=re.IGNORECASE)
    return f"{place}, ngày {day:%d} tháng {day:%m} năm {day:%Y}"


def pct(part: int, whole: int) -> float | None:
    return round_half_up(part * 100 / whole) if whole else None


def vn_number(value: float | None) -> str:
    """66.7 -> '66,7' (Vietnamese decimal comma) for numbers inside sentences."""
    return "—" if value is None else f"{value:.1f}".replace(".", ",")


def type_label(catalog, code: str) -> str:
    info = catalog.unit_types.get(code)
    return info.label if info is not None else code


def verdict_table(catalog, pairs) -> Table:
    """Units by verdict and type: the KPI block and the stacked-column chart."""
    counts = Counter(pairs)
    rows = [[type_label(catalog, t), *(counts[(t, v)] for v in VERDICT_ORDER),
             sum(counts[(t, v)] for v in VERDICT_ORDER)] for t in TYPE_ORDER]
    title = "Đơn vị theo kết quả đánh giá và loại đơn vị"
    spec = ChartSpec("stacked", title, tuple(range(1, 6)),
                     colours={i + 1: VERDICT_CHART[v] for i, v in enumerate(VERDICT_ORDER)}, y_title="Số đơn vị",
                     major_unit=count_step(max((r[-1] for r in rows), default=0)))
    return Table(title, ["Loại đơn vị", *(VERDICT_VI[v] for v in VERDICT_ORDER), "Tổng"], rows, spec)


def share_table(verdicts: list[str], population: str, *, final: bool, decision: str = "") -> Table:
    """XA-4.2-style share of units rated Đạt vs the 70% line (plus Đạt + Đang đạt while the year still runs).

    The shares come from the units' own verdicts, never from a recognition decision (the report does not hold
    one), so the labels say so; `decision` is the XA-4.2 line quoting the recorded decision, when there is one.
    """
    total = len(verdicts)
    passed, running = verdicts.count(DAT), verdicts.count(DANG_DAT)
    rows = [["Đạt (theo kết quả đánh giá)", pct(passed, total), THRESHOLD_PCT]]
    if not final:
        rows.append(["Đạt + Đang đạt (dự kiến)", pct(passed + running, total), THRESHOLD_PCT])
    title = f"Tỷ lệ đơn vị đạt so với ngưỡng {THRESHOLD_PCT}%"
    # the threshold is a column beside the share (a line needs two categories; the annual table has one row)
    spec = ChartSpec("column", title, (1, 2), colours={1: VERDICT_CHART[DAT], 2: VERDICT_CHART[THIEU_DU_LIEU]},
                     y_title="%", y_max=100)
    note = (f"{population}: {total} đơn vị; đạt {passed}" + ("" if final else f", đang đạt {running}") + ". "
            f"Ngưỡng: từ {THRESHOLD_PCT}% trở lên (khoản 4 Điều 5 Thông tư 124/2021/TT-BCA).")
    note += f" {decision}" if decision else " Chưa có quyết định công nhận: tỷ lệ theo kết quả tự đánh giá."
    return Table(title, ["Chỉ tiêu", "Tỷ lệ (%)", f"Ngưỡng {THRESHOLD_PCT}%"], rows, spec, note)


def score_table(title: str, first: str, rows: list[list]) -> Table:
    spec = ChartSpec("bar", title, (1,), colours={1: VERDICT_CHART[DANG_DAT]}, y_title="%", y_max=100)
    return Table(title, [first, "Tỷ lệ tiêu chí đạt (%)", "Kết quả"], rows, spec)


def trend_table(trend) -> Table:
    """Distinct incidents per month against the same month a year earlier (that column dropped without history)."""
    title = "Số vụ việc theo tháng so với cùng kỳ năm trước"
    rows = [list(t) for t in trend]
    previous = any(r[2] is not None for r in rows)
    if not previous:
        rows = [r[:2] for r in rows]
    spec = ChartSpec("line", title, (1, 2) if previous else (1,), colours={1: "#C62828", 2: "#8C8C8C"},
                     y_title="Số vụ việc", major_unit=count_step(max((v or 0 for r in rows for v in r[1:]),
                                                                      default=0)))
    return Table(title, ["Tháng", "Năm nay", "Năm trước"] if previous else ["Tháng", "Năm nay"], rows, spec,
                 "" if previous else "Năm trước: chưa có dữ liệu năm trước.")


def case_count(incidents) -> int:
    """Distinct cases: rows sharing a `ma_vu_viec` are one case (the rule of the monthly trend, `assemble.trend`)."""
    return len({i.ma_vu_viec or (i.unit_code, i.loai, i.ngay, i.mo_ta) for i in incidents})


def all_problems(inp: ReportInput) -> list:
    """The period's file problems, then the scoring warnings not already among them (the `Lỗi dữ liệu` rows)."""
    scoring = [w for r in (inp.score.commune, *inp.score.units) for w in r.warnings]
    return list(dict.fromkeys([*inp.problems, *scoring]))


def commune_summary(inp: ReportInput, catalog) -> Summary:
    """`Tổng hợp` of one commune's monthly or annual report."""
    score, commune = inp.score, inp.score.commune
    units = score.units
    kdc = [[u.unit.name, round_half_up(u.score_pct), VERDICT_VI.get(u.verdict_code, u.verdict_code)]
           for u in units if u.unit.type == "KDC"]
    kdc_title = "Tỷ lệ tiêu chí đạt của từng khu dân cư (%)"
    if len(kdc) > SCORE_CHART_MAX:      # more bars than a printed chart can show: the ones that need attention
        kdc_title = (f"{SCORE_CHART_MAX} khu dân cư có tỷ lệ tiêu chí đạt thấp nhất (trong {len(kdc)}; "
                     "đủ cả ở trang KDC) (%)")
        kdc = sorted(kdc, key=lambda row: (row[1] is None, row[1] or 0))[:SCORE_CHART_MAX]
    population = [u.verdict_code for u in units if u.unit.recognised_by == "xa" and u.in_scope is not False
                  and u.unit.active_on(commune.period_end)]
    status = Counter(cell.status for cell in inp.progress)
    by_month = Counter((cell.month, cell.status) for cell in inp.progress)
    progress_rows = [[f"{m[5:7]}/{m[:4]}", *(by_month[(m, s)] for s in PROGRESS_ORDER)] for m in inp.months]
    title = "Tình hình nộp báo cáo theo tháng"
    completeness = Table(title, ["Tháng", *(PROGRESS_VI[s] for s in PROGRESS_ORDER)], progress_rows,
                         ChartSpec("stacked", title, (1, 2, 3, 4),
                                   colours={i + 1: PROGRESS_CHART[s] for i, s in enumerate(PROGRESS_ORDER)},
                                   y_title="Số báo cáo",
                                   major_unit=count_step(max((sum(r[1:]) for r in progress_rows), default=0))))
    received = status["DUNG_HAN"] + status["TRE_HAN"]
    expected = received + status["THIEU"]
    problems = all_problems(inp)
    errors = sum(1 for p in problems if p.is_error)
    kpis = [("Số đơn vị báo cáo (không kể xã)", sum(1 for u in units if u.unit.in_scope is not False)),
            ("Báo cáo đã nhận", received), ("Báo cáo phải nộp (đã đến hạn)", expected),
            ("Trong đó nộp trễ hạn", status["TRE_HAN"]), ("Chưa nộp (đã quá hạn)", status["THIEU"]),
            ("Chưa đến hạn nộp", status["CHUA_DEN_HAN"]), ("Tỷ lệ nộp đủ (%)", pct(received, expected)),
            ("Tệp bị từ chối", sum(1 for e in inp.ledger if e.decision == "rejected")),
            ("Số lỗi dữ liệu", errors), ("Số cảnh báo", len(problems) - errors),
            ("Số vụ việc trong năm đánh giá", case_count(inp.incidents))]
    notes = []
    xa42 = commune.results.get("XA-4.2")
    projected = xa42 is not None and xa42.projected
    if commune.provisional and inp.as_of < commune.period_end:
        notes.append(f"Kết quả tạm tính: kỳ đánh giá của xã kết thúc ngày {vn_date(commune.period_end)}.")
    elif commune.provisional and projected:
        notes.append("XA-4.2 tính theo kết quả dự kiến của các đơn vị: chưa có quyết định công nhận "
                     f"(mục [recognition.{commune.evaluation_year}] trong antt.toml).")
    if commune.failed_criteria:
        notes.append("Tiêu chí chưa đạt của xã: " + ", ".join(commune.failed_criteria) + ".")
    if xa42 is not None and xa42.reason:
        notes.append(f"XA-4.2{' (dự kiến)' if projected else ''}: {xa42.reason}")
    decision = f"XA-4.2: {xa42.reason}" if xa42 is not None and not projected and xa42.reason else ""
    sentence = (f"Kết quả của {inp.commune_name}: {VERDICT_VI.get(commune.verdict_code, commune.verdict_code)} — "
                f"tỷ lệ tiêu chí đạt {vn_number(round_half_up(commune.score_pct))}%")
    return Summary(
        agency=inp.committee_name.upper(), unit_name=inp.commune_name.upper(),
        place_date=place_date(inp.commune_name, inp.today), title=TITLE,
        period_line=f"{period_label(inp.period)} (số liệu tính đến ngày {vn_date(inp.as_of)})",
        recipient=inp.forward_to, verdict=(sentence, commune.verdict_code), notes=notes, kpis=kpis,
        tables=[verdict_table(catalog, [(u.unit.type, u.verdict_code) for u in [commune, *units]]),
                score_table(kdc_title, "Khu dân cư", kdc),
                share_table(population, "Đơn vị thuộc diện xã công nhận (XA-4)", final=score.final,
                            decision=decision),
                trend_table(inp.trend), completeness],
        signers=("CÔNG AN XÃ", "TRƯỞNG BAN CHỈ ĐẠO"),
        caption=report_caption(inp))


def report_caption(inp: ReportInput) -> str:
    """The page header of every sheet of a commune's workbook."""
    return f"{inp.commune_name} — Báo cáo ANTT {period_label(inp.period).lower()}"


def failed_counts_table(rows: list[dict], limit: int = 15) -> Table:
    """The roll-up's stand-in for the incident trend (incidents are not in the upward contract): top failures."""
    counts = Counter(cid for row in rows for cid in (row.get("failed_criteria") or "").split(", ") if cid)
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    spec = ChartSpec("bar", "Tiêu chí có nhiều đơn vị không đạt nhất", (1,), colours={1: VERDICT_CHART[CHUA_DAT]},
                     y_title="Số đơn vị", major_unit=count_step(max((n for _, n in top), default=0)),
                     label_format="0")
    return Table("Tiêu chí có nhiều đơn vị không đạt nhất", ["Tiêu chí", "Số đơn vị không đạt"],
                 [list(item) for item in top], spec)


def rollup_summary(catalog, *, code: str, name: str, period: str, as_of, today, rows: list[dict],
                   children: list[dict], accepted: int, rejected: int, problems: list) -> Summary:
    """`Tổng hợp` of a roll-up: the same blocks over every row beneath it, with one score per direct child."""
    typed = [r for r in rows if r["unit_type"] in TYPE_ORDER]
    population = [r["verdict_code"] for r in typed if r["unit_type"] != "XA" and r["in_scope"] is not False]
    child_rows = [[c["unit_name"], c["score"], c["result"]] for c in children]
    files = Table("Tệp báo cáo của cấp dưới", ["Kết quả", "Số tệp"],
                  [["Được tổng hợp", accepted], ["Bị loại", rejected]],
                  ChartSpec("column", "Tệp báo cáo của cấp dưới", (1,), colours={1: VERDICT_CHART[DAT]},
                            y_title="Số tệp", major_unit=count_step(max(accepted, rejected)), label_format="0"))
    errors = sum(1 for p in problems if p.is_error)
    kpis = [("Tệp báo cáo được tổng hợp", accepted), ("Tệp báo cáo bị loại", rejected),
            ("Số xã, phường, đặc khu", sum(1 for r in typed if r["unit_type"] == "XA")),
            ("Số đơn vị cơ sở (khu dân cư, cơ quan, doanh nghiệp, cơ sở giáo dục)",
             sum(1 for r in typed if r["unit_type"] != "XA")),
            ("Số tiêu chí không đạt (lượt)", sum(len((r.get("failed_criteria") or "").split(", "))
                                                for r in typed if r.get("failed_criteria"))),
            ("Số lỗi", errors), ("Số cảnh báo", len(problems) - errors)]
    return Summary(
        agency=name.upper(), unit_name="", place_date=place_date(name, today), title="TỔNG HỢP " + TITLE,
        period_line=f"{period_label(period)} (số liệu tính đến ngày {vn_date(as_of)})", recipient="",
        verdict=None, notes=[], kpis=kpis,
        tables=[verdict_table(catalog, [(r["unit_type"], r["verdict_code"]) for r in typed]),
                score_table("Tỷ lệ tiêu chí đạt theo đơn vị cấp dưới (%)", "Đơn vị", child_rows),
                share_table(population, "Đơn vị cơ sở thuộc phạm vi", final=len(period) == 4),
                failed_counts_table(typed), files],
        signers=("NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ"),
        caption=f"{name} — Tổng hợp báo cáo ANTT {period_label(period).lower()}")
