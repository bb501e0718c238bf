"""Every server-side safeguard, one table row each, through the upload endpoint.

Time stands at T0 + 120 s when uploading; ``ev(..., at)`` places an event
``at`` seconds after T0, when alice opted in.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from collection.services import subject_events
from consent.models import RetentionRule
from consent.services import consent_set_exclusions, consent_withdraw
from tests.collection.conftest import BROWSER, EDITOR, T0, batch, ev, fetch_token, typed, upload

pytestmark = pytest.mark.django_db

SECURE = {"role": "AXSecureTextField", "secure": True}
TEXT = {"role": "AXTextField", "secure": False}


def _exclude_browser(alice):
    consent_set_exclusions(employee=alice, excluded_apps=[BROWSER])


def _withdraw(*categories):
    return lambda alice: consent_withdraw(employee=alice, categories=list(categories))


def _short_mouse_retention(alice):
    RetentionRule.objects.filter(category="mouse").update(max_age_days=1)


DROPS = [
    # (name, setup, upload at (s after T0), events, dropped, accepted)
    ("app not on the allowlist", None, 120, [ev("mouse.move", app="com.apple.Terminal")], {"app_not_allowed": 1}, 0),
    (
        "app excluded by the employee",
        _exclude_browser,
        120,
        [ev("mouse.move", app=BROWSER), ev("mouse.move")],
        {"app_excluded": 1},
        1,
    ),
    (
        "category withdrawn",
        _withdraw("mouse"),
        120,
        [ev("mouse.move"), ev("mouse.down")],
        {"category_not_consented": 1},
        1,
    ),
    (
        "category not allowed in that app",
        None,
        120,
        [ev("key.type", app=BROWSER, text="hello")],
        {"category_not_allowed": 1},
        0,
    ),
    (
        "no key category consented",
        _withdraw("keystrokes", "keystroke_timing"),
        120,
        [ev("key.down", key_char="a")],
        {"category_not_consented": 1},
        0,
    ),
    (
        "key.type needs keystrokes",
        _withdraw("keystrokes"),
        120,
        [ev("key.type", text="hello")],
        {"category_not_consented": 1},
        0,
    ),
    ("secure field", None, 120, typed("hunter2", field=SECURE), {"secure_field": 14}, 0),
    (
        "password-like role without the secure flag",
        None,
        120,
        typed("pw", field={"role": "password", "secure": False}),
        {"secure_field": 4},
        0,
    ),
    (
        "Windows PasswordBox role",
        None,
        120,
        typed("pw", field={"role": "PasswordBox", "secure": False}),
        {"secure_field": 4},
        0,
    ),
    ("typed text in a secure field", None, 120, [ev("key.type", text="hunter2", field=SECURE)], {"secure_field": 1}, 0),
    (
        "field seen secure later in the batch",
        None,
        120,
        [
            *typed("ab", at=60, field={"role": "pin-entry", "secure": False}),
            ev("key.down", 62, key_char="c", field={"role": "pin-entry", "secure": True}),
            *typed("ok", at=63, field=TEXT),
        ],
        {"secure_field": 5},
        4,
    ),
    (
        "the release of a key pressed in a secure field, sent without its field",
        None,
        120,
        [
            ev("key.down", 60, key_char="p", key_vk=80, field=SECURE),
            ev("key.up", 60.05, key_vk=80),
            # The focused field stays secure until focus changes (tests/collection/test_hostile_clients.py).
            ev("window.focus", 60.5, title="notes.md"),
            ev("key.down", 61, key_name="enter"),
            ev("key.up", 61.05, key_name="enter"),
        ],
        {"secure_field": 2},
        3,
    ),
    (
        "private window and what follows in it",
        None,
        120,
        [
            ev("window.focus", 60, BROWSER, private=True),
            ev("mouse.move", 61, BROWSER),
            ev("mouse.move", 61, EDITOR),
            ev("window.focus", 62, BROWSER, private=False),
            ev("mouse.move", 63, BROWSER),
        ],
        {"private_window": 2},
        3,
    ),
    (
        "more than 5 minutes in the future",
        None,
        120,
        [ev("mouse.move", 120 + 301), ev("mouse.move", 120 + 299)],
        {"future_timestamp": 1},
        1,
    ),
    ("before consent was given", None, 120, [ev("mouse.move", -1), ev("mouse.move", 1)], {"before_consent": 1}, 1),
    (
        "older than retention",
        _short_mouse_retention,
        2 * 86400,
        [ev("mouse.move", 60), ev("mouse.move", 86400 + 60), ev("mouse.down", 60)],
        {"retention_expired": 1},
        2,
    ),
]


@pytest.fixture
def upload_as_alice(consenting, device, frozen):
    def run(setup, at, events):
        if setup:
            setup(consenting)
        frozen.move_to(T0 + timedelta(seconds=at), tick=False)
        token = fetch_token(device["device_secret"]).json()["token"]
        return upload(token, batch(events))

    return run


@pytest.mark.parametrize(("name", "setup", "at", "events", "dropped", "accepted"), DROPS, ids=[d[0] for d in DROPS])
def test_each_safeguard_drops_and_counts_under_its_reason(
    upload_as_alice, subject, name, setup, at, events, dropped, accepted
):
    response = upload_as_alice(setup, at, events)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["dropped"] == dropped
    assert body["accepted"] == accepted
    assert sum(len(evs) for _, _, evs in subject_events(subject)) == accepted


def _stored(subject, category=None):
    return [e for c, _, evs in subject_events(subject) for e in evs if category is None or c == category]


def test_with_timing_consent_only_key_events_lose_their_characters(upload_as_alice, subject):
    events = [
        ev("key.down", key_name="shift"),
        ev("key.down", key_char="A", key_name="a", key_vk=65),
        ev("key.up", key_char="A", key_vk=65),
        ev("key.down", key_name="space", key_char=" "),
    ]
    response = upload_as_alice(_withdraw("keystrokes"), 120, events)
    assert response.json()["accepted"] == 4
    stored = _stored(subject, "keystroke_timing")
    assert [(e.key_name, e.key_char, e.key_vk) for e in stored] == [
        ("shift", None, None),
        (None, None, None),
        (None, None, None),
        (None, None, None),
    ]
    assert [e.timestamp for e in stored] == [e["timestamp"] for e in events]
    assert not _stored(subject, "keystrokes")


def test_key_events_in_an_app_without_keystrokes_are_kept_as_timing(upload_as_alice, subject):
    response = upload_as_alice(None, 120, typed("hi", app=BROWSER))
    assert response.json() == {**response.json(), "accepted": 4, "dropped": {}}
    assert all(e.key_char is None and e.key_vk is None for e in _stored(subject, "keystroke_timing"))


URLS = [
    ("https://user:pw@mail.example.com:8443/inbox?token=abc#msg-1", "https://mail.example.com:8443/inbox", 0),
    ("https://example.com/users/jane.doe@example.com/profile?q=1", "https://example.com/users/[EMAIL]/profile", 1),
    ("http://192.168.1.20:8080/admin?x=1", "http://[IP]:8080/admin", 1),
    ("about:blank", "about:blank", 0),
    ("http://[::1", None, 0),
]


@pytest.mark.parametrize(("url", "cleaned", "redacted"), URLS)
def test_urls_lose_credentials_query_and_fragment(upload_as_alice, subject, url, cleaned, redacted):
    response = upload_as_alice(None, 120, [ev("window.focus", app=BROWSER, url=url, title="Inbox")])
    assert response.json()["redacted"] == redacted
    assert _stored(subject, "app_focus")[0].url == cleaned


def test_titles_are_redacted(upload_as_alice, subject):
    title = "Re: card 4111 1111 1111 1111 from jane@example.com - Mail"
    response = upload_as_alice(None, 120, [ev("window.focus", app=BROWSER, title=title)])
    assert response.json()["redacted"] == 1
    assert _stored(subject, "app_focus")[0].title == "Re: card [CARD] from [EMAIL] - Mail"


def test_typed_text_is_redacted(upload_as_alice, subject):
    # Consecutive key.type texts are one text (split secrets are found), so the
    # second one starts with the space that ends the password.
    response = upload_as_alice(
        None,
        120,
        [ev("key.type", text="call me on +44 20 7946 0958, password: hunter2"), ev("key.type", text=" plain")],
    )
    assert response.json()["redacted"] == 1
    assert [e.text for e in _stored(subject, "keystrokes")] == ["call me on [PHONE], password: [SECRET]", " plain"]


def _chars(subject):
    return [(type(e).__name__, e.key_char, e.key_vk, e.key_name) for e in _stored(subject, "keystrokes")]


def test_pii_typed_key_by_key_is_found_and_every_key_event_in_it_masked(upload_as_alice, subject):
    events = typed("to a@b.io ok")
    response = upload_as_alice(None, 120, events)
    body = response.json()
    assert body["accepted"] == 24 and body["redacted"] == 12  # 6 characters, down and up
    chars = _chars(subject)
    downs = "".join(c[1] or "" for c in chars if c[0] == "KeyDown")
    assert downs == "to [EMAIL] ok"
    masked = [c for c in chars if c[1] in (None, "[EMAIL]")]
    assert len(masked) == 12 and all(c[2] is None and c[3] is None for c in masked)


def test_reconstruction_honours_backspace_and_masks_the_erased_keys_too(upload_as_alice, subject):
    events = [
        *typed("jo@exampel", ups=False),
        ev("key.down", 62, key_name="backspace"),
        ev("key.down", 62.1, key_name="backspace"),
        *typed("le.com", at=63, ups=False),
    ]
    response = upload_as_alice(None, 120, events)
    assert response.json()["redacted"] == len(events)
    assert "".join(c[1] or "" for c in _chars(subject)) == "[EMAIL]"


def test_reconstruction_is_per_application(upload_as_alice, subject):
    events = []
    for i, char in enumerate("x@y.org"):
        events.append(ev("key.down", 60 + i, EDITOR, key_char=char))
        events.append(ev("key.down", 60 + i + 0.5, BROWSER, key_name="shift"))
        events.append(ev("mouse.move", 60 + i + 0.6, BROWSER))
    response = upload_as_alice(None, 120, events)
    assert response.json()["redacted"] == 7
    assert "".join(c[1] or "" for c in _chars(subject)) == "[EMAIL]"


def test_passwords_typed_after_a_label_are_masked(upload_as_alice, subject):
    response = upload_as_alice(None, 120, typed("password: hunter2\n", ups=False))
    assert response.json()["redacted"] == 7
    assert "".join(c[1] or "" for c in _chars(subject)) == "password: [SECRET]\n"
