"""The allowlist table is one form, saved all or nothing; removing an application is confirmed."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from consent.models import AllowedApplication

pytestmark = pytest.mark.django_db

EDITOR, BROWSER = "com.microsoft.VSCode", "org.mozilla.firefox"


def _table(**overrides):
    body = {
        "app": [EDITOR, BROWSER],
        f"name:{EDITOR}": "VS Code",
        f"categories:{EDITOR}": ["keystrokes", "keystroke_timing", "mouse", "clicks", "app_focus"],
        f"name:{BROWSER}": "Firefox",
        f"categories:{BROWSER}": ["app_focus", "clicks", "mouse", "keystroke_timing"],
    }
    return {**body, **overrides}


def test_the_console_renders_the_table_as_one_form_without_forms_in_rows(portal_as, olivia, allowlist):
    page = portal_as(olivia).get("/officer").content.decode()
    section = page[page.index('id="allowlist"') : page.index('id="erasure"')]
    assert section.count("<form") == 2, "one form for the table, one for adding"
    assert "<tr>\\n      <form" not in section and 'name="categories:org.mozilla.firefox"' in section
    assert "Keystroke timing" in section and ">keystroke_timing<" not in section


def test_saving_writes_only_the_rows_that_changed(portal_as, olivia, allowlist):
    before = AuditEntry.objects.count()

    response = portal_as(olivia).post("/officer/allowlist/save", _table(**{f"name:{BROWSER}": "Firefox ESR"}))

    assert response.status_code == 302 and response["Location"] == "/officer#allowlist"
    assert AllowedApplication.objects.get(app_id=BROWSER).display_name == "Firefox ESR"
    entries = list(AuditEntry.objects.order_by("seq")[before:])
    assert [(e.action, e.target) for e in entries] == [("allowlist.updated", f"app:{BROWSER}")]


def test_one_bad_row_saves_nothing(portal_as, olivia, allowlist):
    page = portal_as(olivia).post(
        "/officer/allowlist/save",
        _table(**{f"name:{BROWSER}": "Firefox ESR", f"categories:{EDITOR}": ["keystrokes", "telepathy"]}),
        follow=True,
    )

    assert "telepathy" in page.content.decode()
    assert AllowedApplication.objects.get(app_id=BROWSER).display_name == "Firefox", "no partial write"


def test_a_row_removed_meanwhile_refuses_the_save_by_name(portal_as, olivia, allowlist):
    AllowedApplication.objects.filter(app_id=EDITOR).delete()

    page = portal_as(olivia).post("/officer/allowlist/save", _table(**{f"name:{BROWSER}": "Firefox ESR"}), follow=True)

    assert f"No longer on the allowlist: {EDITOR}" in page.content.decode()
    assert AllowedApplication.objects.get(app_id=BROWSER).display_name == "Firefox"


def test_removal_is_confirmed_with_what_stops_and_what_stays(portal_as, olivia, allowlist):
    client = portal_as(olivia)

    confirm = client.get(f"/officer/allowlist/{BROWSER}/remove").content.decode()

    assert "Remove Firefox from the allowlist?" in confirm
    assert "uploads of its events are refused" in confirm and "removing the application deletes nothing" in confirm
    assert "The 0 events already stored from it are kept" in confirm
    assert client.post(f"/officer/allowlist/{BROWSER}/remove").status_code == 302
    assert not AllowedApplication.objects.filter(app_id=BROWSER).exists()
    assert client.get(f"/officer/allowlist/{BROWSER}/remove").status_code == 404


def test_only_officers_edit_the_allowlist(portal_as, alice, allowlist):
    client = portal_as(alice)
    assert client.post("/officer/allowlist/save", _table(**{f"name:{BROWSER}": "x"})).status_code == 403
    assert client.get(f"/officer/allowlist/{BROWSER}/remove").status_code == 403
    assert AllowedApplication.objects.get(app_id=BROWSER).display_name == "Firefox"
