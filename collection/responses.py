"""HTTP responses shared by the collection API and the portal: the employee's data download."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import StreamingHttpResponse


def export_response(lines: Iterable[bytes]) -> StreamingHttpResponse:
    """The employee's own data as a JSON Lines attachment, never cached."""
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson")
    response["Content-Disposition"] = 'attachment; filename="my-captured-data.jsonl"'
    response["Cache-Control"] = "no-store"
    return response
