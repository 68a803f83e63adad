"""Bar charts for the console: pygal SVG rendered on the server, inlined, with a table of numbers.

The SVG is self-contained: no scripts (pygal's tooltips would come from a CDN), no comments
naming pygal's web site, no stylesheet links; each bar carries a native `<title>` tooltip.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pygal
from markupsafe import Markup
from pygal.etree import etree
from pygal.style import Style

# pygal appends an import hook for its map plugins that lacks find_spec: every later import
# that reaches it warns (an error under the test suite). The console draws no maps.
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

Number = int | Decimal
NO_DATA = "No data yet"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
PALETTE = ("#206bc4", "#2fb344", "#f59f00", "#d63939", "#ae3ec9", "#17a2b8", "#667382")


@dataclass(frozen=True)
class Series:
    """One named row of values, one per x label, drawn in one colour."""

    name: str
    values: Sequence[Number]
    color: str | None = None


@dataclass(frozen=True)
class Cell:
    """One number of a chart's table: its series and its text."""

    series: str
    value: Number
    text: str


@dataclass(frozen=True)
class Row:
    """The numbers of one x label, one per series, and their total."""

    x: str
    cells: list[Cell]
    total: str


@dataclass
class Chart:
    """A titled bar chart (grouped or stacked) and the numbers it shows."""

    key: str
    title: str
    x_title: str
    y_title: str
    labels: Sequence[str]
    series: list[Series]
    stacked: bool = False
    decimals: int = 0  # of the values as shown (money: the currency's minor digits)
    note: str = ""
    # Per x label, when labels differ in unit (the loan book's currencies).
    label_decimals: Mapping[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Whether every value is zero (nothing to draw)."""
        return not any(value for s in self.series for value in s.values)

    @property
    def totals(self) -> bool:
        """Whether the table shows a total column (several series of one unit)."""
        return self.stacked and len(self.series) > 1

    def text(self, value: Number | float, label: str | None = None) -> str:
        """A value as the table (and, without a label, the axis and tooltips) show it."""
        places = self.label_decimals.get(label, self.decimals) if label else self.decimals
        return f"{value:,.{places}f}"

    @property
    def rows(self) -> list[Row]:
        """The table: one row per x label."""
        rows = []
        for i, label in enumerate(self.labels):
            cells = [Cell(s.name, s.values[i], self.text(s.values[i], label)) for s in self.series]
            total = sum((cell.value for cell in cells), start=Decimal(0))
            rows.append(Row(label, cells, self.text(total, label)))
        return rows

    def axis_text(self, value: float) -> str:
        """A value on the axis or in a tooltip: the finest precision any label needs, trimmed
        of trailing zeros down to `decimals`."""
        places = max((self.decimals, *self.label_decimals.values()))
        text = f"{value:,.{places}f}"
        if places > self.decimals:
            text = text.rstrip("0")
            whole, _, fraction = text.partition(".")
            fraction = fraction.ljust(self.decimals, "0")
            text = f"{whole}.{fraction}" if fraction else whole
        return text

    def svg(self) -> Markup:
        """The chart as inline SVG markup (pygal escapes every text it draws).

        A method, not a property: Jinja would turn an AttributeError raised while drawing
        into an undefined value and show nothing.
        """
        return Markup(render(self))


def _style(colors: Sequence[str]) -> Style:
    return Style(
        background="transparent",
        plot_background="#ffffff",
        foreground="#1d273b",
        foreground_strong="#1d273b",
        foreground_subtle="#667382",
        font_family=FONT,
        title_font_family=FONT,
        label_font_family=FONT,
        major_label_font_family=FONT,
        legend_font_family=FONT,
        value_font_family=FONT,
        tooltip_font_family=FONT,
        no_data_font_family=FONT,
        title_font_size=20,
        label_font_size=14,
        major_label_font_size=14,
        legend_font_size=15,
        tooltip_font_size=14,
        no_data_font_size=26,
        colors=tuple(colors) or PALETTE,
    )


def _integer_ticks(top: Number) -> list[int]:
    """Whole-number y labels from 0 to at least `top`, at most about 8 of them."""
    step = 1
    while top / step > 8:
        step *= 5 if str(step).startswith("2") else 2
    last = int(-(-top // step)) * step if top else step
    return list(range(0, last + 1, step))


def _stack_top(chart: Chart) -> Number:
    if chart.stacked:
        return max(
            (sum(s.values[i] for s in chart.series) for i in range(len(chart.labels))), default=0
        )
    return max((v for s in chart.series for v in s.values), default=0)


def _self_contained(chart: Chart) -> Callable[[Any], Any]:
    """An XML filter: drop scripts, comments and inner ids; add bar tooltips and ARIA."""
    names = [s.name for s in chart.series]

    def apply(root: Any) -> Any:
        root.set("role", "img")
        root.set("aria-label", chart.title)
        root.set("aria-describedby", f"chart-{chart.key}-table")
        for parent in list(root.iter()):
            for child in list(parent):
                if child.tag is etree.Comment or child.tag == "script":
                    parent.remove(child)
            if parent is not root:
                parent.attrib.pop("id", None)  # pygal's legend ids repeat in every chart
        for group in root.iter("g"):
            classes = (group.get("class") or "").split()
            if "series" not in classes or "serie-" not in group.get("class", ""):
                continue
            index = int(next(c for c in classes if c.startswith("serie-"))[len("serie-") :])
            for bar in group.iter("g"):
                if bar.get("class") == "bar":
                    _add_tooltip(bar, names[index] if index < len(names) else "")
        return root

    return apply


def _add_tooltip(bar: Any, series: str) -> None:
    """A native tooltip on a bar: its x label, series and value."""
    found = {desc.get("class"): desc.text for desc in bar.findall("desc")}
    tip = etree.Element("title")
    where = " · ".join(part for part in (found.get("x_label"), series) if part)
    tip.text = f"{where}: {found.get('value', '')}"
    bar.insert(0, tip)


def render(chart: Chart) -> str:
    """Render the chart to a self-contained SVG string."""
    shown = [] if chart.empty else chart.series
    kind = pygal.StackedBar if chart.stacked else pygal.Bar
    colors = [s.color or PALETTE[i % len(PALETTE)] for i, s in enumerate(shown)]
    config: dict[str, Any] = {
        "js": [],
        "css": ["file://style.css", "file://graph.css"],
        "disable_xml_declaration": True,
        "force_uri_protocol": None,
        "title": chart.title,
        "x_title": chart.x_title,
        "y_title": chart.y_title,
        "width": 800,
        "height": 420,
        "style": _style(colors),
        "legend_at_bottom": True,
        "legend_at_bottom_columns": min(max(len(shown), 1), 6),
        "show_legend": bool(shown),
        "show_y_labels": bool(shown),  # (an empty chart's default 0..1 scale means nothing)
        "x_label_rotation": 35 if len(chart.labels) > 6 else 0,
        "truncate_legend": -1,
        "truncate_label": -1,
        "no_data_text": NO_DATA,
        "print_values": False,
        "margin_bottom": 8,
        "value_formatter": chart.axis_text,
    }
    if chart.decimals == 0 and shown:  # (pygal fails on y labels without series)
        config["y_labels"] = _integer_ticks(_stack_top(chart))
    drawn = kind(**config)
    drawn.x_labels = list(chart.labels)
    for series in shown:
        drawn.add(series.name, [float(v) for v in series.values])
    drawn.add_xml_filter(_self_contained(chart))
    return str(drawn.render(is_unicode=True))
