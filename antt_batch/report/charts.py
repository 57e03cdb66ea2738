"""Native Excel charts of `Tổng hợp`, drawn from the visible helper tables beside them.

Every series points at cells of a labelled table on the same sheet, so a reviewer can read and check the numbers
behind each chart, and LibreOffice/Excel redraw it from the cells (no hidden data, no pictures).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from antt_batch.report.styles import FONT, PCT_FORMAT

CHART_WIDTH = 640
MIN_HEIGHT, MAX_HEIGHT, BAR_HEIGHT = 300, 1600, 22
TOP_OFFSET = 6      # px below the anchor row: a chart starting exactly on a page break leaves a border sliver above it


@dataclass(frozen=True)
class ChartSpec:
    """How to chart a helper table: column 0 holds the categories, `series` and `lines` are value columns."""

    kind: str                                  # column | stacked | bar | line
    title: str
    series: tuple[int, ...]
    lines: tuple[int, ...] = ()                # drawn as lines over the columns (e.g. the 70% threshold)
    colours: dict[int, str] = field(default_factory=dict)
    y_title: str = ""
    y_max: float | None = None
    major_unit: float | None = None            # counts: whole-number ticks (see `count_step`)
    label_format: str = PCT_FORMAT             # value labels of bar charts


def count_step(largest: float) -> int:
    """A whole-number tick step giving at most ~10 ticks up to `largest` (1, 2, 5, 10, 20, 50, ...)."""
    step, factors = 1, (2, 2.5, 2)          # 1, 2, 5, 10, 20, 50, ...
    while largest / step > 10:
        step = int(step * factors[0])
        factors = factors[1:] + factors[:1]
    return step


def _font(size: int = 10, bold: bool = False) -> dict:
    return {"name": FONT, "size": size, "bold": bold}


def chart_height(rows: int, kind: str) -> int:
    """Bar charts grow with their categories (one per xóm or commune) so labels stay legible."""
    if kind != "bar":
        return MIN_HEIGHT
    return max(MIN_HEIGHT, min(MAX_HEIGHT, rows * BAR_HEIGHT + 110))


def add_chart(workbook, ws, spec: ChartSpec, first_row: int, first_col: int, rows: int, anchor: tuple[int, int]):
    """Insert a chart whose series read the table whose header row is `first_row` and has `rows` data rows."""
    sheet = ws.get_name()
    last = first_row + rows
    main_type = {"stacked": ("column", "stacked"), "column": ("column", None), "bar": ("bar", None),
                 "line": ("line", None)}[spec.kind]
    chart = workbook.add_chart({"type": main_type[0], **({"subtype": main_type[1]} if main_type[1] else {})})
    _add_series(chart, spec, spec.series, sheet, first_row, first_col, last, line=spec.kind == "line")
    if spec.lines:
        overlay = workbook.add_chart({"type": "line"})
        _add_series(overlay, spec, spec.lines, sheet, first_row, first_col, last, line=True, dash=True)
        chart.combine(overlay)
    chart.set_title({"name": spec.title, "name_font": _font(12, True)})
    value_axis = {"num_font": _font(), "name_font": _font(10), "major_gridlines": {"visible": True}, "min": 0,
                  "num_format": "0"}
    if spec.y_title:
        value_axis["name"] = spec.y_title
    if spec.y_max is not None:
        value_axis["max"] = spec.y_max
    if spec.major_unit is not None:
        value_axis["major_unit"] = spec.major_unit
    # interval 1: every category (xóm, month) is labelled, none skipped to save room
    category_axis = {"num_font": _font(9), "reverse": spec.kind == "bar", "interval_unit": 1, "interval_tick": 1}
    # In an xlsxwriter bar chart the x axis is the horizontal one, i.e. the value axis.
    chart.set_x_axis(value_axis if spec.kind == "bar" else category_axis)
    chart.set_y_axis(category_axis if spec.kind == "bar" else value_axis)
    chart.set_legend({"position": "bottom", "font": _font(9)})
    chart.set_size({"width": CHART_WIDTH, "height": chart_height(rows, spec.kind)})
    chart.set_chartarea({"border": {"color": "#BFBFBF"}})
    ws.insert_chart(anchor[0], anchor[1], chart, {"object_position": 1, "y_offset": TOP_OFFSET})
    return chart


def _add_series(chart, spec: ChartSpec, columns, sheet, first_row, first_col, last, line=False, dash=False):
    for col in columns:
        colour = spec.colours.get(col)
        series = {
            "name": [sheet, first_row, first_col + col],
            "categories": [sheet, first_row + 1, first_col, last, first_col],
            "values": [sheet, first_row + 1, first_col + col, last, first_col + col],
        }
        if line:
            series["line"] = {"width": 2.25, **({"color": colour} if colour else {}),
                              **({"dash_type": "dash"} if dash else {})}
            series["marker"] = {"type": "none" if dash else "circle"}
        elif colour:
            series["fill"] = {"color": colour}
            series["border"] = {"color": colour}
        if spec.kind == "column":
            series["data_labels"] = {"value": True, "position": "outside_end", "num_format": spec.label_format,
                                     "font": _font(9, True)}
        if spec.kind == "bar":   # inside the bar's end, so a 100% label stays inside the plot area
            series["gap"] = 40
            series["data_labels"] = {"value": True, "position": "inside_end", "num_format": spec.label_format,
                                     "font": {**_font(9, True), "color": "#FFFFFF"}}
        chart.add_series(series)
