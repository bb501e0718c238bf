"""The consent history and its derived state, through the services."""

import pytest

from audit.models import AuditEntry
from config.errors import ApplicationError
from consent.models import ConsentEvent, ConsentState
from consent.selectors import capture_policy_for_subject
from consent.services import consent_grant, consent_set_exclusions, consent_withdraw, subject_for_employee
from consent.state import derive

pytestmark = pytest.mark.django_db


def test_grant_then_withdraw_moves_the_epoch_and_the_derived_state(alice, notice, allowlist):
    consent_grant(employee=alice, categories=["mouse", "clicks"], notice_version=1)
    consent_withdraw(employee=alice, categories=["mouse"])
    subject = subject_for_employee(alice)
    state = ConsentState.objects.get(subject=subject)
    assert state.epoch == 2
    assert sorted(state.granted) == ["clicks"]
    history = derive(ConsentEvent.objects.filter(subject=subject).order_by("epoch"))
    assert history.granted == state.granted and history.epoch == state.epoch


def test_policy_intersects_allowlist_consent_and_exclusions(alice, notice, allowlist):
    consent_grant(employee=alice, categories=["keystrokes", "mouse"], notice_version=1)
    consent_set_exclusions(employee=alice, excluded_apps=["org.mozilla.firefox"])
    policy = capture_policy_for_subject(subject=subject_for_employee(alice))
    assert policy.apps == {"com.microsoft.VSCode": frozenset({"keystrokes", "mouse"})}
    assert policy.epoch == 2


def test_audit_entries_name_the_pseudonym_not_the_username(alice, notice):
    consent_grant(employee=alice, categories=["mouse"], notice_version=1)
    entry = AuditEntry.objects.filter(action="consent.granted").get()
    assert "alice" not in entry.leaf
    assert entry.target == f"subject:{subject_for_employee(alice).pseudonym}"


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda a: consent_grant(employee=a, categories=["mouse"], notice_version=2), "unknown_notice_version"),
        (lambda a: consent_grant(employee=a, categories=["telepathy"], notice_version=1), "unknown_category"),
        (lambda a: consent_withdraw(employee=a, categories=["mouse"]), "not_granted"),
        (lambda a: consent_withdraw(employee=a), "nothing_to_withdraw"),
    ],
)
def test_it_refuses_bad_consent_changes_and_writes_nothing(alice, notice, call, code):
    with pytest.raises(ApplicationError) as raised:
        call(alice)
    assert raised.value.code == code
    assert not ConsentEvent.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="consent.").exists()
