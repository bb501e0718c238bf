"""Buggy and hostile capture clients (issue 11): each case must hold, through the upload endpoint.

Each row uploads one or more batches from alice's device, in order, and states
exactly what is stored afterwards (read back decrypted) and what each upload
counted as dropped.  Time stands at T0 + 120 s; ``ev(..., at)`` places an event
``at`` seconds after T0.
"""

from __future__ import annotations

import pytest

from collection.services import subject_events
from consent.services import consent_withdraw
from tests.collection.conftest import BROWSER, EDITOR, TS0, batch, ev, fetch_token, typed, upload

pytestmark = pytest.mark.django_db

SECURE = {"role": "AXSecureTextField", "secure": True}
TEXT = {"role": "AXTextField", "secure": False}
LOGIN = {"role": "LoginBox", "secure": False}
LOGIN_SECURE = {"role": "LoginBox", "secure": True}


@pytest.fixture
def send(consenting, device, frozen):
    """Upload ``batches`` in order with a fresh token (after ``setup``); the ``dropped`` of each."""

    def run(batches, setup=None):
        if setup:
            setup(consenting)
        frozen.move_to(TS0 + 120, tick=False)
        token = fetch_token(device["device_secret"]).json()["token"]
        out = []
        for events in batches:
            response = upload(token, batch(events))
            assert response.status_code == 202, response.content
            out.append(response.json()["dropped"])
        return out

    return run


def _summary(event) -> tuple:
    kind = type(event).__name__
    if kind in ("KeyDown", "KeyUp"):
        return (kind, event.app, event.key_char, event.key_vk, event.key_name)
    if kind == "KeyType":
        return (kind, event.app, event.text)
    if kind == "WindowFocus":
        return (kind, event.app, event.title, event.url)
    return (kind, event.app)


def stored(subject) -> list[tuple]:
    events = [e for _, _, evs in subject_events(subject) for e in evs]
    return [_summary(e) for e in sorted(events, key=lambda e: e.timestamp)]


def key(kind, at, char, app=EDITOR, field=None, **extra):
    fields = {"key_char": char, "key_vk": ord(char.lower()) % 256, **extra}
    if field is not None:
        fields["field"] = field
    return ev(f"key.{kind}", at, app, **fields)


def kept_keys(text, app=EDITOR):
    """What ``typed(text)`` is stored as when nothing in it is masked."""
    out = []
    for char in text:
        out += [
            ("KeyDown", app, char, ord(char.lower()) % 256, None),
            ("KeyUp", app, char, ord(char.lower()) % 256, None),
        ]
    return out


FOCUS = ("WindowFocus", EDITOR, "notes.md", None)

# 1. A secure field marked only on key.up, or only on some events of a key press.
PARTIAL_MARKING = [
    (
        "secure only on the release: the press goes too",
        [[key("down", 60, "x"), key("up", 60.05, "x", field=SECURE), ev("window.focus", 61, title="notes.md")]],
        [{"secure_field": 2}],
        [FOCUS],
    ),
    (
        "secure only on the release, role seen plain elsewhere: every key event of that field goes",
        [
            [
                key("down", 60, "x", field=LOGIN),
                key("up", 60.05, "x", field=LOGIN_SECURE),
                key("down", 60.1, "y", field=LOGIN),
                key("up", 60.15, "y", field=LOGIN),
                *typed("ok", at=61, field=TEXT),
            ]
        ],
        [{"secure_field": 4}],
        kept_keys("ok"),
    ),
    (
        "secure only on the press, the release names a plain field",
        [[key("down", 60, "x", field=SECURE), key("up", 60.05, "x", field=TEXT), *typed("ok", at=61, field=TEXT)]],
        [{"secure_field": 2}],
        kept_keys("ok"),
    ),
]

# 2. The secure state follows the keystroke sequence, within a batch and across batches.
SEQUENCE = [
    (
        "a release reported under another application",
        [[key("down", 60, "p", field=SECURE), key("up", 60.05, "p", app=BROWSER), ev("mouse.move", 61, BROWSER)]],
        [{"secure_field": 2}],
        [("MouseMove", BROWSER)],
    ),
    (
        "the next batch omits field: held keys and the focused field stay secure until focus changes",
        [
            [
                ev("window.focus", 59, title="notes.md"),
                key("down", 60, "s", field=SECURE),
                key("up", 60.05, "s", field=SECURE),
                key("down", 60.1, "e", field=SECURE),
            ],
            [
                key("up", 60.15, "e"),
                key("down", 60.2, "c"),
                key("up", 60.25, "c"),
                ev("key.type", 60.3, text="cret"),
                ev("window.focus", 61, title="notes.md"),
                *typed("ok", at=62),
            ],
        ],
        [{"secure_field": 3}, {"secure_field": 4}],
        [("WindowFocus", EDITOR, "notes.md", None), FOCUS, *kept_keys("ok")],
    ),
    (
        "a release in the next batch, under another application and without field",
        [[key("down", 60, "p", field=SECURE)], [key("up", 60.05, "p", app=BROWSER), ev("mouse.move", 61, BROWSER)]],
        [{"secure_field": 1}, {"secure_field": 1}],
        [("MouseMove", BROWSER)],
    ),
    (
        "a plain field named again ends the secure state",
        [[*typed("pw", at=60, field=SECURE)], [*typed("ok", at=61, field=TEXT), *typed("!", at=62)]],
        [{"secure_field": 4}, {}],
        kept_keys("ok!"),
    ),
]

CASES = [*PARTIAL_MARKING, *SEQUENCE]


@pytest.mark.parametrize(("name", "batches", "dropped", "kept"), CASES, ids=[c[0] for c in CASES])
def test_secure_fields_hold_whatever_the_client_marks(send, subject, name, batches, dropped, kept):
    assert send(batches) == dropped
    assert stored(subject) == kept


# 3. Field roles that name secrets in other words.
SECRET_ROLES = ["passphrase", "pincode", "PassField", "PIN", "password", "secret", "otp", "cvv", "userPIN"]
SECRET_ROLES += ["AXSecureTextField", "card-cvc", "totpInput", "ApiTokenBox", "Kennwort", "mfa_code", "2fa"]
PLAIN_ROLES = ["AXTextField", "text", "typing-area", "shipping-address", "search", "AXTextArea", "comment"]


@pytest.mark.parametrize("role", SECRET_ROLES)
def test_roles_that_name_a_secret_count_as_secure(send, subject, role):
    field = {"role": role, "secure": False}
    assert send([[*typed("12", field=field), ev("key.type", 61, text="34", field=field)]]) == [{"secure_field": 5}]
    assert stored(subject) == []


@pytest.mark.parametrize("role", PLAIN_ROLES)
def test_plain_roles_are_kept(send, subject, role):
    assert send([typed("12", field={"role": role, "secure": False})]) == [{}]
    assert stored(subject) == kept_keys("12")


# 4. Text split across events or batches: detection runs across the boundary;
# only what is in the current batch is masked (what was stored stays as it was).
def _masked_keys(text, placeholder, app=EDITOR):
    """``typed(text)`` all masked: the placeholder on the first press, nothing else left."""
    out = []
    for i, _ in enumerate(text):
        out += [("KeyDown", app, placeholder if i == 0 else None, None, None), ("KeyUp", app, None, None, None)]
    return out


SPLIT_TEXT = [
    (
        "a label in one key.type, the password in the next",
        [[ev("key.type", 60, text="password: "), ev("key.type", 61, text="hunter2")]],
        [1],
        [("KeyType", EDITOR, "password: "), ("KeyType", EDITOR, "[SECRET]")],
    ),
    (
        "a label in one batch, the password in the next",
        [[ev("key.type", 60, text="password: ")], [ev("key.type", 61, text="hunter2 and more")]],
        [0, 1],
        [("KeyType", EDITOR, "password: "), ("KeyType", EDITOR, "[SECRET] and more")],
    ),
    (
        "a card in two key.type texts of two batches",
        [[ev("key.type", 60, text="card 4111 1111 ")], [ev("key.type", 61, text="1111 1111 thanks")]],
        [0, 1],
        [("KeyType", EDITOR, "card 4111 1111 "), ("KeyType", EDITOR, "[CARD] thanks")],
    ),
    (
        "a card typed key by key over two batches",
        [typed("4111 1111 ", at=60), typed("1111 1111", at=62)],
        [0, 18],
        [*kept_keys("4111 1111 "), *_masked_keys("1111 1111", "[CARD]")],
    ),
    (
        "a label typed key by key, the password pasted as key.type in the next batch",
        [typed("password: ", at=60), [ev("key.type", 62, text="s3cr3t-Pass")]],
        [0, 1],
        [*kept_keys("password: "), ("KeyType", EDITOR, "[SECRET]")],
    ),
    (
        "the tail is per application",
        [[ev("key.type", 60, text="password: ")], [ev("key.type", 61, BROWSER, text="hello")]],
        [0, 0],
        [("KeyType", EDITOR, "password: ")],  # the browser is not allowed key.type (category_not_allowed)
    ),
]


@pytest.mark.parametrize(("name", "batches", "redacted", "kept"), SPLIT_TEXT, ids=[c[0] for c in SPLIT_TEXT])
def test_detection_runs_across_event_and_batch_boundaries(send_full, subject, name, batches, redacted, kept):
    assert [body["redacted"] for body in send_full(batches)] == redacted
    assert stored(subject) == kept


def test_the_tail_kept_between_batches_holds_no_detected_data(send, subject, device):
    from django.core.cache import cache

    send([[ev("key.type", 60, text="card 4111 1111 1111 1111 and "), *typed("a@b.io x", at=61)]])
    state = cache.get(f"collection:device-state:{device['device_id']}")
    assert state["tails"] == {EDITOR: "card [CARD] and [EMAIL] x"}


@pytest.fixture
def send_full(consenting, device, frozen):
    """Like ``send``, the whole response bodies."""

    def run(batches):
        frozen.move_to(TS0 + 120, tick=False)
        token = fetch_token(device["device_secret"]).json()["token"]
        return [upload(token, batch(events)).json() for events in batches]

    return run


def test_without_the_cache_the_state_is_unknown_and_fails_closed(send, subject, monkeypatch):
    from django.core.cache import cache

    def broken(real):
        def call(key, *args, **kwargs):
            if key.startswith("collection:device-state:"):
                raise ConnectionError("cache down")
            return real(key, *args, **kwargs)

        return call

    monkeypatch.setattr(cache, "get", broken(cache.get))
    monkeypatch.setattr(cache, "set", broken(cache.set))
    events = [
        # Neither a private window nor a secure field left by an earlier batch can be
        # ruled out (private takes precedence in the counts).
        key("down", 60, "a"),
        ev("mouse.move", 60.5, BROWSER),
        ev("window.focus", 61, BROWSER, title="Start"),
        ev("mouse.move", 61.5, BROWSER),
        ev("window.focus", 62, title="notes.md"),
        *typed("ok", at=63),
    ]
    assert send([events]) == [{"private_window": 2}]
    assert stored(subject) == [("WindowFocus", BROWSER, "Start", None), ("MouseMove", BROWSER), FOCUS, *kept_keys("ok")]


# 5. Window titles and URLs.
TITLES = [
    ("Re: jane@example.com - Mail", "Re: [EMAIL] - Mail"),
    ("Call +44 20 7946 0958 - Phone", "Call [PHONE] - Phone"),
    ("Transfer to DE89 3704 0044 0532 0130 00 - Bank", "Transfer to [IBAN] - Bank"),
    ("Card 4111 1111 1111 1111", "Card [CARD]"),
    ("ssh 203.0.113.7 - Terminal", "ssh [IP] - Terminal"),
    ("notes.md - Visual Studio Code", "notes.md - Visual Studio Code"),
]
URLS = [
    ("https://example.com/reset/9f86d081884c7d659a2feaa0c55ad015", "https://example.com/reset/[TOKEN]"),
    (
        "https://example.com/password/reset/3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "https://example.com/password/reset/[TOKEN]",
    ),
    (
        "https://hooks.slack.com/services/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",
        "https://hooks.slack.com/[TOKEN]",
    ),
    ("https://discord.com/api/webhooks/123456/abcDEF-ghi", "https://discord.com/api/webhooks/[TOKEN]"),
    ("https://shop.example.com/cart;jsessionid=ABC123DEF?x=1", "https://shop.example.com/cart"),
    ("https://example.com/users/jane.doe%40example.com/profile", "https://example.com/users/[EMAIL]/profile"),
    ("https://example.com/invite/eyJhbGciOiJIUzI1NiJ9xyzABC123", "https://example.com/invite/[TOKEN]"),
    (
        "https://example.com/docs/getting-started-with-python-3",
        "https://example.com/docs/getting-started-with-python-3",
    ),
    ("https://github.com/django/django/pull/18000", "https://github.com/django/django/pull/18000"),
]


@pytest.mark.parametrize(("title", "cleaned"), TITLES)
def test_titles_lose_personal_data(send, subject, title, cleaned):
    assert send([[ev("window.focus", 60, BROWSER, title=title)]]) == [{}]
    assert stored(subject) == [("WindowFocus", BROWSER, cleaned, None)]


@pytest.mark.parametrize(("url", "cleaned"), URLS)
def test_url_paths_lose_tokens(send, subject, url, cleaned):
    assert send([[ev("window.focus", 60, BROWSER, url=url)]]) == [{}]
    assert stored(subject) == [("WindowFocus", BROWSER, None, cleaned)]


# 6. A private window stays private until a normal focus in that application,
# across batches and whatever the order of the events in a batch.
PRIVATE = [
    (
        "events sent before the private focus that precedes them",
        [
            [
                ev("mouse.move", 61, BROWSER),
                ev("window.focus", 60, BROWSER, private=True),
                ev("mouse.move", 64, BROWSER),
                ev("window.focus", 63, BROWSER, title="Start", private=False),
                ev("mouse.move", 62, BROWSER),
            ]
        ],
        [{"private_window": 3}],
        [("WindowFocus", BROWSER, "Start", None), ("MouseMove", BROWSER)],
    ),
    (
        "across batches, through a focus on another application",
        [
            [ev("window.focus", 60, BROWSER, private=True)],
            [
                ev("mouse.move", 61, BROWSER),
                ev("window.focus", 62, title="notes.md"),
                ev("mouse.move", 62.5),
                ev("mouse.move", 63, BROWSER),
            ],
            [ev("window.focus", 64, BROWSER, title="Start"), ev("mouse.move", 65, BROWSER)],
        ],
        [{"private_window": 1}, {"private_window": 2}, {}],
        [FOCUS, ("MouseMove", EDITOR), ("WindowFocus", BROWSER, "Start", None), ("MouseMove", BROWSER)],
    ),
]


@pytest.mark.parametrize(("name", "batches", "dropped", "kept"), PRIVATE, ids=[c[0] for c in PRIVATE])
def test_private_windows_stay_private(send, subject, name, batches, dropped, kept):
    assert send(batches) == dropped
    assert stored(subject) == kept


# 7. Timing-only consent: nothing that names a character is kept.
TIMING_KEYS = [
    ({"key_name": "Digit4", "key_vk": 52}, None),
    ({"key_name": "KeyA", "key_char": "a"}, None),
    ({"key_name": "Numpad1"}, None),
    ({"key_name": "q"}, None),
    ({"key_name": "space", "key_char": " "}, None),
    ({"key_vk": 65}, None),
    ({"key_name": "Semicolon"}, None),
    ({"key_name": "Shift"}, "Shift"),
    ({"key_name": "Enter"}, "Enter"),
    ({"key_name": "Backspace"}, "Backspace"),
    ({"key_name": "ArrowLeft"}, "ArrowLeft"),
]


def _withdraw_keystrokes(alice):
    consent_withdraw(employee=alice, categories=["keystrokes"])


@pytest.mark.parametrize(("fields", "name"), TIMING_KEYS)
def test_timing_only_keeps_no_key_that_types_something(send, subject, fields, name):
    assert send([[ev("key.down", 60, **fields), ev("key.up", 60.05, **fields)]], setup=_withdraw_keystrokes) == [{}]
    assert stored(subject) == [("KeyDown", EDITOR, None, None, name), ("KeyUp", EDITOR, None, None, name)]


def test_shift_pressed_inside_a_masked_span_is_masked_too(send, subject):
    events = [
        *typed("to ", at=60),
        *typed("jo@", at=61),
        ev("key.down", 62, key_name="Shift"),
        *typed("E", at=62.1),
        ev("key.up", 62.3, key_name="Shift"),
        *typed("xample.com", at=63),
        ev("key.down", 65, key_name="Shift"),
        ev("key.up", 65.1, key_name="Shift"),
    ]
    send([events])
    masked = [e for e in stored(subject) if e[2] != "[EMAIL]" and e[2:] == (None, None, None)]
    assert len(masked) == 2 * len("jo@Example.com") - 1 + 2  # every key of the e-mail, and the shift press
    assert stored(subject)[:6] == kept_keys("to ")
    assert stored(subject)[-2:] == [("KeyDown", EDITOR, None, None, "Shift"), ("KeyUp", EDITOR, None, None, "Shift")]
    assert [e[2] for e in stored(subject) if e[0] == "KeyDown"] == ["t", "o", " ", "[EMAIL]", *[None] * 14, None]


def test_the_private_assumption_of_an_unknown_state_is_not_carried(send, subject, monkeypatch):
    from django.core.cache import cache

    real = cache.get
    down = [True]

    def get(key, *args, **kwargs):
        if down[0] and key.startswith("collection:device-state:"):
            raise ConnectionError("cache down")
        return real(key, *args, **kwargs)

    monkeypatch.setattr(cache, "get", get)
    assert send([[ev("mouse.move", 60)]]) == [{"private_window": 1}]
    down[0] = False
    assert send([[ev("mouse.move", 61)]]) == [{}]
    assert stored(subject) == [("MouseMove", EDITOR)]
