"""Helpers for the portal tests: stored events from chunk metadata, visible page text, the message list."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from html import unescape

from collection.models import Batch, Device, EventChunk
from consent.services import subject_for_employee


def store_events(employee, device: Device, *, at: datetime, counts: dict[str, int]) -> None:
    """Record one accepted upload from ``device`` holding ``counts`` events per category, starting ``at``.

    Only the metadata matters to what the portal counts; the ciphertext is never read here.
    """
    subject = subject_for_employee(employee)
    batch = Batch.objects.create(
        batch_id=uuid.uuid4(), subject=subject, device=device, body_digest="0" * 64, response={}, received_at=at
    )
    for category, count in counts.items():
        EventChunk.objects.create(
            subject=subject,
            batch=batch,
            category=category,
            app_id="com.microsoft.VSCode",
            count=count,
            first_ts=at,
            last_ts=at + timedelta(minutes=5),
            nonce=b"\0" * 12,
            ciphertext=b"\0",
        )


def visible_text(response) -> str:
    """What a person reads on the page: the HTML without its tags, attributes and form values."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def messages_on(response) -> str:
    return response.content.decode().split('class="messages"')[1].split("</ul>")[0]
