"""Server-side SVG charts: accessible, escaped, and with their numbers as a table."""

import xml.etree.ElementTree as ET

import pytest

from charts import BarChart, LineChart, Series

SVG = "{http://www.w3.org/2000/svg}"


def _parse(chart):
    return ET.fromstring(str(chart.svg))  # noqa: S314 - our own output, parsed to check its shape


def test_a_line_chart_is_an_accessible_image_with_a_title_and_description():
    chart = LineChart(
        title="Events per day",
        labels=["11-28", "11-29", "11-30"],
        series=[Series("Keystrokes", [3, 0, 12]), Series("Mouse", [40, 55, 61])],
        unit="events",
    ).render()

    root = _parse(chart)
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Events per day"
    assert (
        root.find(f"{SVG}desc").text == "Events per day, 11-28 to 11-30; latest: Keystrokes 12 events, Mouse 61 events."
    )
    assert len(root.findall(f"{SVG}polyline")) == 2
    # The same figures, readable without the picture.
    assert chart.columns == ["", "Keystrokes", "Mouse"]
    assert chart.rows == [["11-28", "3", "40"], ["11-29", "0", "55"], ["11-30", "12", "61"]]


def test_a_gap_breaks_the_line_and_shows_as_a_dash_in_the_table():
    chart = LineChart(
        title="Rate", labels=["a", "b", "c", "d"], series=[Series("s", [0.5, None, 0.25, 0.75])], percent=True
    ).render()

    root = _parse(chart)
    assert len(root.findall(f"{SVG}polyline")) == 1  # c-d; "a" stands alone as a dot
    assert len(root.findall(f"{SVG}circle")) == 1
    assert chart.rows[1] == ["b", "–"]
    assert chart.rows[0] == ["a", "50%"]


def test_text_is_escaped():
    chart = LineChart(title="<script>x</script>", labels=["<b>"], series=[Series("a&b", [1])]).render()

    assert "<script>" not in str(chart.svg)
    assert "&lt;script&gt;" in str(chart.svg)
    _parse(chart)  # still well-formed XML


def test_series_and_labels_must_line_up():
    with pytest.raises(ValueError, match="has 2 values for 3 labels"):
        LineChart(title="t", labels=["a", "b", "c"], series=[Series("s", [1, 2])]).render()


def test_a_bar_chart_labels_each_bar_with_its_value():
    chart = BarChart(
        title="Erasure deadlines",
        bars=[("Pending", 4), ("Due within a day", 1), ("Overdue", 0)],
        colours={"Overdue": "#b00020"},
    ).render()

    root = _parse(chart)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["Pending", "4", "Due within a day", "1", "Overdue", "0"]
    assert root.find(f"{SVG}desc").text == "Erasure deadlines: Pending 4, Due within a day 1, Overdue 0."
    assert chart.rows == [["Pending", "4"], ["Due within a day", "1"], ["Overdue", "0"]]


@pytest.mark.parametrize(
    ("largest", "ticks"),
    [(0, "0 1 2 3 4"), (2, "0 1 2 3 4"), (13, "0 5 10 15 20"), (4024, "0 2,000 4,000 6,000 8,000")],
)
def test_count_axes_tick_at_whole_round_numbers(largest, ticks):
    chart = LineChart(title="t", labels=["a", "b"], series=[Series("s", [0, largest])]).render()

    root = _parse(chart)
    labels = [t.text for t in root.iter(f"{SVG}text")][:5]
    assert " ".join(labels) == ticks
