"""Charts for portal pages, drawn on the server as SVG with their numbers as a table.

No JavaScript: each chart is an inline ``<svg role="img">`` with a title and a
text description, and the same figures are given as a table under it, so the
chart serves people who look and the table serves people who read (or listen).
Colours come with a second cue (dashes, labels) so no figure depends on colour.
"""

from charts.svg import BarChart, Chart, LineChart, Series

__all__ = ["BarChart", "Chart", "LineChart", "Series"]
