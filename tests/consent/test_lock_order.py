"""Consent changes and notice publication take their locks in one order, so they never deadlock.

PostgreSQL only: SQLite serialises writers at BEGIN and has no row locks.
"""

from __future__ import annotations

import threading
import time
from functools import partial

import pytest
from django.db import connection, connections

from consent import locks
from consent.models import ConsentEvent, ConsentNotice, ConsentState
from consent.services import consent_grant, consent_set_choices, notice_create, notice_publish, subject_for_employee

ROUNDS = 20
# A bound on how long one thread waits for the other at the rendezvous; reaching it is a failure, not a pass.
RENDEZVOUS_LIMIT = 30.0


class Rendezvous:
    """Both threads hold their first contended lock before either takes its second.

    Each thread, right after its first lock on the current notice or a consent
    state, waits until the other has also taken its first lock, or is blocked
    waiting for one (then the two locks are the same row, and waiting longer
    would hang), or has finished.  On code that locks in two orders, this
    makes the deadlock certain instead of a matter of timing.
    """

    def __init__(self) -> None:
        self.arrived = {"choices": threading.Event(), "publish": threading.Event()}
        self.done = {"choices": threading.Event(), "publish": threading.Event()}
        self.pids: dict[str, int] = {}
        self.local = threading.local()

    def start(self, role: str) -> None:
        self.local.role = role
        self.local.passed = False
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.pids[role] = cursor.fetchone()[0]

    def after_lock(self) -> None:
        if getattr(self.local, "passed", True):
            return
        self.local.passed = True
        me = self.local.role
        other = "publish" if me == "choices" else "choices"
        self.arrived[me].set()
        deadline = time.monotonic() + RENDEZVOUS_LIMIT
        while not (self.arrived[other].is_set() or self.done[other].is_set() or self._blocked(other)):
            if time.monotonic() > deadline:
                raise AssertionError(f"{other} neither took a lock nor waited for one")
            self.arrived[other].wait(0.005)

    def _blocked(self, role: str) -> bool:
        pid = self.pids.get(role)
        if pid is None:
            return False
        with connection.cursor() as cursor:
            cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [pid])
            return cursor.fetchone()[0]


@pytest.fixture
def rendezvous(monkeypatch):
    meeting = {"current": None}

    def wrap(helper):
        def locked(*args, **kwargs):
            result = helper(*args, **kwargs)
            if meeting["current"] is not None:
                meeting["current"].after_lock()
            return result

        return locked

    for name in ("notices_lock_published", "notice_lock_current", "consent_state_lock", "consent_states_lock_all"):
        monkeypatch.setattr(locks, name, wrap(getattr(locks, name)))

    def new_round() -> Rendezvous:
        meeting["current"] = Rendezvous()
        return meeting["current"]

    return new_round


def _run(role: str, meeting: Rendezvous, work, outcomes: dict) -> None:
    try:
        meeting.start(role)
        work()
        outcomes[role] = "done"
    except Exception as exc:  # reported by the test
        outcomes[role] = exc
    finally:
        meeting.done[role].set()
        connections.close_all()


def _race(meeting: Rendezvous, **work) -> dict:
    """Run each piece of ``work`` in its own thread and connection; return each one's outcome."""
    outcomes: dict = {}
    threads = [threading.Thread(target=_run, args=(role, meeting, fn, outcomes)) for role, fn in work.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["choices", "grant"])
def test_consent_changes_and_publication_at_once_never_deadlock(rendezvous, alice, olivia, notice, allowlist, change):
    """A grant that waited for a publication sees the new version (and is refused as stale), not "no notice"."""
    consent_set_choices(employee=alice, categories=["mouse"], notice_version=notice.version)
    body = {
        "summary": "s",
        "purposes": [{"id": "p", "description": "d"}],
        "categories": list(notice.categories),
        "access": "a",
        "rights": "r",
        "contact": "c",
    }
    state = ConsentState.objects.get(subject=subject_for_employee(alice))
    changed = 0
    for n in range(ROUNDS):
        draft = notice_create(actor=olivia, title=f"round {n}", **body)
        version = ConsentNotice.objects.get(status="published").version
        held = set(ConsentState.objects.get(pk=state.pk).granted)
        # Choices swap one category for the other: a withdrawal and a grant, so the notice is needed.
        wanted = ["clicks"] if "mouse" in held else ["mouse"]
        service = consent_set_choices if change == "choices" else consent_grant
        outcomes = _race(
            rendezvous(),
            choices=partial(service, employee=alice, categories=wanted, notice_version=version),
            publish=partial(notice_publish, actor=olivia, notice=draft),
        )
        assert outcomes["publish"] == "done", f"round {n}: {outcomes['publish']!r}"
        # The only refusal allowed: the publication committed first, so the page's version is stale.
        choices = outcomes["choices"]
        assert choices == "done" or getattr(choices, "code", None) == "notice_superseded", f"round {n}: {choices!r}"
        changed += choices == "done"

    assert ConsentNotice.objects.get(status="published").version == ROUNDS + 1
    assert ConsentNotice.objects.filter(status="superseded").count() == ROUNDS
    # Each change that went through is one grant (and, for choices, one withdrawal); a refused one left nothing.
    assert ConsentEvent.objects.filter(kind="granted").count() == 1 + changed
    assert ConsentEvent.objects.filter(kind="withdrawn").count() == (changed if change == "choices" else 0)
