"""Demo consent data for ``manage.py seed_demo``: it goes through the services, so audit entries and receipts are real."""

from __future__ import annotations

import random

from accounts.models import Role, User
from consent import services
from consent.models import AllowedApplication, ConsentEvent, ConsentNotice, DataCategory, RetentionRule, Subject
from consent.selectors import current_notice
from consent.stats import consent_rates_release_make

ALL = list(DataCategory.values)

APPS = [
    ("com.microsoft.VSCode", "Visual Studio Code", ALL),
    ("org.mozilla.firefox", "Firefox", ["keystroke_timing", "mouse", "clicks", "app_focus"]),
    ("com.apple.Terminal", "Terminal", ["keystrokes", "keystroke_timing", "app_focus"]),
    ("com.tinyspeck.slackmacgap", "Slack", ["mouse", "clicks", "app_focus"]),
]

RETENTION = {"keystrokes": 30, "keystroke_timing": 90, "mouse": 180, "clicks": 180, "app_focus": 365}

NOTICE = {
    "title": "Recording how you use your computer, to train AI agents",
    "summary": (
        "With your permission, we record how you use a few work applications (keys, mouse, clicks, which "
        "application is active) to teach AI agents to operate computers the way people do. Nothing is "
        "recorded unless you switch it on, and you can switch it off at any time."
    ),
    "purposes": [
        {"id": "agent-training", "description": "Train AI agents that operate computers the way people do."},
        {"id": "agent-evaluation", "description": "Measure how well those agents perform on real work patterns."},
    ],
    "categories": ALL,
    "access": (
        "Only members of the machine-learning team, for a stated purpose, after a privacy officer approves "
        "their request (two officers for typed characters). Every access is logged and shown to you."
    ),
    "rights": (
        "Withdraw any category, or everything, on this page with one click; ask for erasure at the same time. "
        "Download your data and your signed consent receipts whenever you like."
    ),
    "contact": "privacy@example.com",
}

# (probability of opting in) per category, so the aggregates look like a real workforce.
UPTAKE = {"app_focus": 0.7, "mouse": 0.6, "clicks": 0.6, "keystroke_timing": 0.45, "keystrokes": 0.2}


def seed_consent_demo(*, stdout) -> None:
    officer = User.objects.filter(username="olivia").first()
    if officer is None or not officer.has_role(Role.PRIVACY_OFFICER):
        stdout.write("consent: no privacy officer 'olivia'; skipping demo consent data.")
        return

    missing = {c: d for c, d in RETENTION.items() if not RetentionRule.objects.filter(category=c).exists()}
    if missing:
        services.retention_set(actor=officer, rules=missing)
    for app_id, name, categories in APPS:
        if not AllowedApplication.objects.filter(app_id=app_id).exists():
            services.allowlist_add(actor=officer, app_id=app_id, display_name=name, categories=categories)

    notice = current_notice()
    if notice is None:
        draft = ConsentNotice.objects.filter(status=ConsentNotice.Status.DRAFT, title=NOTICE["title"]).first()
        draft = draft or services.notice_create(actor=officer, **NOTICE)
        notice = services.notice_publish(actor=officer, notice=draft)

    granted = 0
    employees = User.objects.filter(roles__role=Role.EMPLOYEE, is_active=True).order_by("username")
    for employee in employees:
        subject = Subject.objects.filter(employee=employee).first()
        if subject is not None and ConsentEvent.objects.filter(subject=subject).exists():
            continue
        if employee.username == "alice":
            chosen = ["app_focus", "clicks", "keystroke_timing", "mouse"]
        else:
            rng = random.Random(f"consent-demo-{employee.username}")
            if rng.random() < 0.25:  # some people simply never opt in
                continue
            chosen = [c for c, p in UPTAKE.items() if c in notice.categories and rng.random() < p]
        if chosen:
            services.consent_grant(employee=employee, categories=chosen, notice_version=notice.version)
            granted += 1
    alice = employees.filter(username="alice").first()
    if (
        granted
        and alice is not None
        and not ConsentEvent.objects.filter(subject__employee=alice, kind=ConsentEvent.Kind.EXCLUSIONS_CHANGED).exists()
    ):
        services.consent_set_exclusions(employee=alice, excluded_apps=["com.tinyspeck.slackmacgap"])
    # The officer console shows only scheduled releases; make this period's now so `make run` has figures.
    release = consent_rates_release_make()
    stdout.write(
        f"consent: notice v{notice.version} published, {len(APPS)} allowed applications, {granted} employees opted in"
        + (
            ", consent rates released."
            if release is not None
            else "; this period's consent rates are released already."
        )
    )
