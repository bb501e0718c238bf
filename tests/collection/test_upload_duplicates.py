"""Uploads whose JSON repeats a key, or nests too deeply, are refused with a 400 and nothing stored.

msgspec keeps the last of two equal keys without a word, so a batch sending
``"x"`` twice would be stored as whichever came last: ambiguous, so refused.
"""

from __future__ import annotations

import json
import uuid

import pytest

from collection.models import Batch, EventChunk
from tests.collection.conftest import EDITOR, TS0, batch, ev, upload

pytestmark = pytest.mark.django_db


def _nothing_stored() -> bool:
    return not Batch.objects.exists() and not EventChunk.objects.exists()


def _event(kind: str = "mouse.move", **fields) -> bytes:
    return json.dumps(ev(kind, **fields)).encode()


def _body(*events: bytes, head: bytes | None = None) -> bytes:
    """A batch written by hand, so keys can repeat; ``head`` replaces the batch_id/schema members."""
    head = head or b'"batch_id": "%s", "schema": "capture/v1"' % str(uuid.uuid4()).encode()
    return b"{" + head + b', "events": [' + b", ".join(events) + b"]}"


def _refused(response, *, index, field) -> None:
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["error"] == "duplicate_key"
    assert (answer["event_index"], answer["field"]) == (index, field)
    assert f'"{field}"' in answer["detail"]
    assert _nothing_stored()


def test_a_repeated_key_in_an_event_is_refused_naming_the_key_and_the_event(live_token):
    repeated = b'{"type": "mouse.move", "timestamp": %r, "app": "%s", "x": 1.0, "y": 2.0, "x": 3.0}' % (
        TS0 + 60,
        EDITOR.encode(),
    )
    response = upload(live_token, _body(_event(), _event(), repeated))
    _refused(response, index=2, field="x")


def test_a_repeated_batch_id_is_refused(live_token):
    head = b'"batch_id": "%s", "schema": "capture/v1", "batch_id": "%s"' % (
        str(uuid.uuid4()).encode(),
        str(uuid.uuid4()).encode(),
    )
    _refused(upload(live_token, _body(_event(), head=head)), index=None, field="batch_id")


def test_a_repeated_key_inside_an_events_field_object_is_refused(live_token):
    event = json.dumps(ev("key.down", key_char="a", field={"role": "text", "secure": False})).encode()
    event = event.replace(b'"secure": false', b'"secure": false, "secure": true')
    _refused(upload(live_token, _body(_event(), event)), index=1, field="secure")


def test_a_repeated_events_list_is_refused(live_token):
    body = _body(_event())[:-1] + b', "events": []}'
    _refused(upload(live_token, body), index=None, field="events")


def test_a_repeat_is_found_when_the_values_differ_only_in_colons(live_token):
    # The check counts colons; the overwritten value carries two more than the kept one.
    event = json.dumps(ev("window.focus", url="https://a.example:8443/x:y")).encode()
    event = event[:-1] + b', "url": "https://a.example/xy"}'
    _refused(upload(live_token, _body(event)), index=0, field="url")


def test_a_repeat_is_found_when_a_colon_is_written_as_an_escape(live_token):
    # "\u003a" decodes to ":" without a colon in the body: the exact path decides.
    event = _event("key.type", text="a\\u003ab")
    event = event.replace(b'"a\\\\u003ab"', b'"a\\u003ab"')
    assert b'"a\\u003ab"' in event
    event = event[:-1] + b', "app": "%s"}' % EDITOR.encode()
    _refused(upload(live_token, _body(event)), index=0, field="app")


@pytest.mark.parametrize(
    ("first", "second"),
    [(b"null", b'"notes.md"'), (b"null", b"null"), (b'"notes.md"', b"null")],
    ids=["null then a title", "null twice", "a title then null"],
)
def test_a_repeat_is_found_when_a_value_is_null(live_token, first, second):
    # Fields left at None are not encoded, so a repeat with a null needs the untyped path.
    event = _event("window.focus")[:-1] + b', "title": ' + first + b', "title": ' + second + b"}"
    _refused(upload(live_token, _body(_event(), event)), index=1, field="title")


def test_a_repeat_is_found_when_text_elsewhere_says_null(live_token):
    repeated = _event("mouse.move")[:-1] + b', "y": 5.0}'
    _refused(upload(live_token, _body(_event("key.type", text="x = null"), repeated)), index=1, field="y")


def test_explicit_nulls_without_repeats_are_accepted(live_token):
    events = [
        _event("window.focus")[:-1] + b', "title": null, "url": null, "private": null}',
        _event("key.type", text="null: not a key")[:-1] + b', "field": null}',
    ]
    response = upload(live_token, _body(*events))
    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == 2


def test_colons_and_escaped_colons_in_text_without_repeats_are_accepted(live_token):
    events = [
        _event("key.type", text='a: b "c": d'),
        _event("key.type", text="x").replace(b'"x"', b'"\\u003a\\u003A :"'),
        _event("window.focus", title="key: value", url="https://a.example:8443/"),
        # Whitespace between a key and its colon is still one key.
        b'{"type" : "mouse.move" , "timestamp" :%r, "app":"%s", "x" : 1, "y":2}' % (TS0 + 60, EDITOR.encode()),
    ]
    response = upload(live_token, _body(*events))
    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == 4


def test_the_same_key_in_different_objects_is_no_repeat(live_token):
    field = {"role": "text", "secure": False}
    response = upload(live_token, batch([ev("key.down", key_char="a", field=field), ev("key.up", field=field)]))
    assert response.status_code == 202, response.content


@pytest.mark.parametrize(
    "value",
    [b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, b'{"a": ' * 50_000 + b"1" + b"}" * 50_000],
    ids=["unclosed arrays", "closed arrays", "closed objects"],
)
def test_deep_nesting_before_an_events_type_is_a_400(live_token, value):
    # msgspec skips the members before the tag it needs, recursively; this used to be a 500.
    event = b'{"x": ' + value + b', "type": "mouse.move"}'
    response = upload(live_token, _body(event))
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["error"] == "too_deep"
    assert "at most 4 levels" in answer["detail"]
    assert _nothing_stored()


def test_a_deeply_nested_body_is_a_400(live_token):
    response = upload(live_token, b"[" * 100_000)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_batch"
    assert _nothing_stored()
