"""Native Excel charts of `Tổng hợp`, drawn from the visible helper tables beside them.

Every series points at cells of a labelled table on the same sheet, so a reviewer can read and check the numbers
behind each chart, and LibreOffice/Excel redraw it from the cells (no hidden data, no pictures).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from antt_batch.report.styles import FONT

CHART_WIDTH = 640
MIN_HEIGHT, MAX_HEIGHT, BAR_HEIGHT = 300, 1600, 18


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


def _font(size: int = 10, bold: bool = False) -> dict:
    return {"name": FONT, "size": size, "bold": bold}


def chart_height(rows: int, kind: str) -> int:
    """Bar charts grow with their categories (one per xóm or commune) so labels stay legible."""
    if kind != "bar":
        return MIN_HEIGHT
    return max(MIN_HEIGHT, min(MAX_HEIGHT, rows * BAR_HEIGHT + 100))


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
    value_axis = {"num_font": _font(), "name_font": _font(10), "major_gridlines": {"visible": True}, "min": 0}
    if spec.y_title:
        value_axis["name"] = spec.y_title
    if spec.y_max is not None:
        value_axis["max"] = spec.y_max
    category_axis = {"num_font": _font(9), "reverse": spec.kind == "bar"}
    # In an xlsxwriter bar chart the x axis is the horizontal one, i.e. the value axis.
    chart.set_x_axis(value_axis if spec.kind == "bar" else category_axis)
    chart.set_y_axis(category_axis if spec.kind == "bar" else value_axis)
    chart.set_legend({"position": "bottom", "font": _font(9)})
    chart.set_size({"width": CHART_WIDTH, "height": chart_height(rows, spec.kind)})
    chart.set_chartarea({"border": {"color": "#BFBFBF"}})
    ws.insert_chart(anchor[0], anchor[1], chart, {"object_position": 1})
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
        if spec.kind == "bar":
            series["data_labels"] = {"value": True, "font": _font(8)}
        chart.add_series(series)
