"""Line and bar charts as SVG strings; see the package docstring for the principles."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe (Okabe-Ito) colours, each paired with a dash pattern.
_PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
_DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4"]

WIDTH = 640
HEIGHT = 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 16, 48


def _nice_ceiling(value: float, divisions: int = 4) -> float:
    """An axis top at or above ``value`` whose ``divisions`` ticks are whole 1/2/5×10ⁿ steps (at least 1 each)."""
    wanted = max(value / divisions, 1.0)
    exponent = math.floor(math.log10(wanted))
    step = next(m * 10**exponent for m in (1, 2, 5, 10) if m * 10**exponent >= wanted)
    return float(step * divisions)


def _format(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


@dataclass(frozen=True)
class Series:
    name: str
    # One value per label of the chart; None where there is no figure (a gap).
    values: list[float | None]


@dataclass(frozen=True)
class Chart:
    """What a template shows: the SVG, and the same numbers as a table."""

    title: str
    description: str
    svg: SafeString
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class LineChart:
    """Values over time (or any ordered labels), one line per series."""

    title: str
    labels: list[str]
    series: list[Series]
    unit: str = ""
    percent: bool = False

    def render(self) -> Chart:
        for s in self.series:
            if len(s.values) != len(self.labels):
                raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(self.labels)} labels")
        present = [v for s in self.series for v in s.values if v is not None]
        top = 1.0 if self.percent else _nice_ceiling(max(present, default=0.0))
        plot_w = WIDTH - _LEFT - _RIGHT
        plot_h = HEIGHT - _TOP - _BOTTOM
        n = len(self.labels)

        def x(i: int) -> float:
            return _LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

        def y(v: float) -> float:
            return _TOP + plot_h * (1 - v / top)

        parts = [self._open()]
        for k in range(5):  # horizontal grid lines and y ticks
            tick = top * k / 4
            parts.append(
                f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#d0d7de"/>'
                f'<text x="{_LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11">'
                f"{escape(_format(tick, self.percent))}</text>"
            )
        step = max(1, math.ceil(n / 8))  # at most ~8 x labels
        for i in range(0, n, step):
            parts.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - _BOTTOM + 16}" text-anchor="middle" font-size="11">'
                f"{escape(self.labels[i])}</text>"
            )
        for index, s in enumerate(self.series):
            colour, dash = _PALETTE[index % len(_PALETTE)], _DASHES[index % len(_DASHES)]
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            # A gap (None) breaks the line rather than drawing it to zero.
            runs: list[list[str]] = [[]]
            for i, v in enumerate(s.values):
                if v is None:
                    runs.append([])
                else:
                    runs[-1].append(f"{x(i):.1f},{y(v):.1f}")
            for run in runs:
                if len(run) > 1:
                    parts.append(
                        f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash_attr} points="{" ".join(run)}"/>'
                    )
                elif run:
                    cx, cy = run[0].split(",")
                    parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
        parts.append(self._legend())
        parts.append("</svg>")
        rows = [[label] + [self._cell(s.values[i]) for s in self.series] for i, label in enumerate(self.labels)]
        return Chart(
            title=self.title,
            description=self._description(),
            svg=mark_safe("".join(parts)),  # noqa: S308 - every text in it went through escape()
            columns=["", *[s.name for s in self.series]],
            rows=rows,
        )

    def _cell(self, value: float | None) -> str:
        return "–" if value is None else _format(value, self.percent)

    def _open(self) -> str:
        return (
            f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
            f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">'
            f"<title>{escape(self.title)}</title><desc>{escape(self._description())}</desc>"
        )

    def _legend(self) -> str:
        parts = []
        for index, s in enumerate(self.series):
            colour, dash = _PALETTE[index % len(_PALETTE)], _DASHES[index % len(_DASHES)]
            lx = _LEFT + (index % 4) * 140
            ly = HEIGHT - 18 + (index // 4) * 14 - (14 if len(self.series) > 4 else 0)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<line x1="{lx}" x2="{lx + 22}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash_attr}/>'
                f'<text x="{lx + 26}" y="{ly + 4}" font-size="11">{escape(s.name)}</text>'
            )
        return "".join(parts)

    def _description(self) -> str:
        if not self.labels:
            return f"{self.title}: no figures yet."
        span = self.labels[0] if len(self.labels) == 1 else f"{self.labels[0]} to {self.labels[-1]}"
        latest = []
        for s in self.series:
            last = next((v for v in reversed(s.values) if v is not None), None)
            if last is not None:
                latest.append(f"{s.name} {_format(last, self.percent)}{(' ' + self.unit) if self.unit else ''}")
        summary = f"; latest: {', '.join(latest)}" if latest else ""
        return f"{self.title}, {span}{summary}."


@dataclass(frozen=True)
class BarChart:
    """One horizontal bar per label; for a few counts that are compared, not followed over time."""

    title: str
    bars: list[tuple[str, float]]
    unit: str = ""
    # Optional colour per bar label (e.g. red for overdue); bars are labelled with their value, so colour is a second cue.
    colours: dict[str, str] = field(default_factory=dict)

    def render(self) -> Chart:
        top = _nice_ceiling(max((v for _, v in self.bars), default=0.0))
        row_h = 28
        label_w = 150
        height = _TOP + row_h * max(1, len(self.bars)) + 8
        plot_w = WIDTH - label_w - _RIGHT - 60
        description = (
            f"{self.title}: " + ", ".join(f"{label} {_format(v, False)}" for label, v in self.bars) + "."
            if self.bars
            else f"{self.title}: no figures yet."
        )
        parts = [
            f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(self.title)}</title><desc>{escape(description)}</desc>'
        ]
        for index, (label, value) in enumerate(self.bars):
            top_y = _TOP + index * row_h
            bar_w = plot_w * value / top
            colour = self.colours.get(label, _PALETTE[0])
            parts.append(
                f'<text x="{label_w - 8}" y="{top_y + 16}" text-anchor="end" font-size="12">{escape(label)}</text>'
                f'<rect x="{label_w}" y="{top_y + 4}" width="{bar_w:.1f}" height="{row_h - 10}" fill="{colour}"/>'
                f'<text x="{label_w + bar_w + 6:.1f}" y="{top_y + 16}" font-size="12">'
                f"{escape(_format(value, False))}{(' ' + escape(self.unit)) if self.unit else ''}</text>"
            )
        parts.append("</svg>")
        return Chart(
            title=self.title,
            description=description,
            svg=mark_safe("".join(parts)),  # noqa: S308 - every text in it went through escape()
            columns=["", self.unit or "count"],
            rows=[[label, _format(v, False)] for label, v in self.bars],
        )
