"""Prints the API fuzz's counts at the end of any session that ran it."""

from __future__ import annotations

import sys


def pytest_terminal_summary(terminalreporter):
    fuzz = sys.modules.get("tests.api.test_fuzz")
    if fuzz is None or not fuzz.TALLY.runs:
        return
    terminalreporter.section("API fuzz")
    for line in fuzz.summary_lines():
        terminalreporter.write_line(line)
