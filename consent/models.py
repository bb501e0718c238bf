"""Consent: notices, the append-only consent history, and the capture rules.

The employee ↔ subject mapping lives only here.  Captured data elsewhere is
keyed by ``Subject.pseudonym``; nothing outside this app may store usernames
next to captured data.

``ConsentEvent`` is the record of truth and is never edited.  ``ConsentState``
is the state derived from it, kept in the same transaction so that token
issuance and ingestion read one row; ``consent.state.derive`` rebuilds it from
the history and the tests hold the two equal.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models


class DataCategory(models.TextChoices):
    KEYSTROKES = "keystrokes", "Keystrokes (the characters typed)"
    KEYSTROKE_TIMING = "keystroke_timing", "Keystroke timing (key events without characters)"
    MOUSE = "mouse", "Mouse movement"
    CLICKS = "clicks", "Clicks and scrolling"
    APP_FOCUS = "app_focus", "Application focus (which application and window is active)"


def category_short_label(value: str) -> str:
    """The category's name without its explanation ("Keystrokes"), for legends and tight spaces."""
    label = dict(DataCategory.choices).get(value, value)
    return label.split(" (", 1)[0]


def new_pseudonym() -> str:
    # 130 bits of randomness; carries nothing about the person.
    return "sub_" + secrets.token_hex(16)


class Subject(models.Model):
    """The pseudonymous identity under which an employee's captured data is stored."""

    employee = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subject")
    pseudonym = models.CharField(max_length=40, unique=True, default=new_pseudonym, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.pseudonym


class ConsentNotice(models.Model):
    """A versioned statement of what is collected, why, for how long, and the employee's rights.

    A draft is editable; publishing gives it the next version number and makes it
    immutable; publishing a newer version marks it superseded.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        SUPERSEDED = "superseded", "Superseded"

    version = models.PositiveIntegerField(unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField(max_length=200)
    summary = models.TextField(help_text="Plain-language summary shown first to employees.")
    # [{"id": "train-computer-use-agents", "description": "..."}]
    purposes = models.JSONField(default=list)
    categories = models.JSONField(default=list)
    # {category: max age in days} as stated to employees when published.
    retention_days = models.JSONField(default=dict)
    access = models.TextField(help_text="Who may access the data and under which approvals.")
    rights = models.TextField(help_text="How to withdraw, request erasure, and download one's data.")
    contact = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="draft", version__isnull=True)
                | (~models.Q(status="draft") & models.Q(version__isnull=False, published_at__isnull=False)),
                name="notice_version_iff_published",
            )
        ]

    def __str__(self) -> str:
        return f"v{self.version}" if self.version else f"draft {self.pk}"

    @property
    def purpose_ids(self) -> list[str]:
        return [p["id"] for p in self.purposes]


class ConsentEvent(models.Model):
    """One entry of an employee's consent history. Append-only."""

    class Kind(models.TextChoices):
        GRANTED = "granted", "Granted"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"
        SUPERSEDED = "superseded", "Superseded"
        EXCLUSIONS_CHANGED = "exclusions_changed", "Excluded applications changed"

    class Channel(models.TextChoices):
        PORTAL = "portal", "Portal"
        API = "api", "API"
        SYSTEM = "system", "System"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="consent_events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    notice = models.ForeignKey(ConsentNotice, on_delete=models.PROTECT, related_name="consent_events")
    # The categories this event grants, withdraws, expires or supersedes.
    categories = models.JSONField(default=list)
    # The employee's full exclusion list after this event.
    excluded_apps = models.JSONField(default=list)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    erasure_requested = models.BooleanField(default=False)
    # The subject's consent epoch after this event: 1, 2, 3, ... without gaps.
    epoch = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["subject_id", "epoch"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "epoch"], name="consent_event_epoch_unique"),
            models.CheckConstraint(condition=models.Q(epoch__gte=1), name="consent_event_epoch_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.subject_id}#{self.epoch} {self.kind}"


class ConsentState(models.Model):
    """The current consent of a subject, derived from its history (see ``consent.state``)."""

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, primary_key=True, related_name="state")
    # Grows with every consent change; collection tokens carry it as ``cep``.
    epoch = models.PositiveBigIntegerField(default=0)
    # {category: {"since": RFC 3339, "notice_version": int, "event_id": str}}
    granted = models.JSONField(default=dict)
    excluded_apps = models.JSONField(default=list)
    last_event = models.ForeignKey(ConsentEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.subject_id} at epoch {self.epoch}"

    @property
    def active(self) -> bool:
        return bool(self.granted)


class AllowedApplication(models.Model):
    """An application on which capture is permitted, and which categories may be captured there."""

    app_id = models.CharField(max_length=200, unique=True, help_text="Bundle id (com.example.App) or executable name.")
    display_name = models.CharField(max_length=200)
    categories = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.app_id


class RetentionRule(models.Model):
    """How long captured data of one category may be kept."""

    category = models.CharField(max_length=32, choices=DataCategory.choices, unique=True)
    max_age_days = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category"]
        constraints = [models.CheckConstraint(condition=models.Q(max_age_days__gte=1), name="retention_positive")]

    def __str__(self) -> str:
        return f"{self.category}: {self.max_age_days} days"


class ConsentReceipt(models.Model):
    """The signed consent receipt issued for one grant or withdrawal.

    ``jws`` holds the compact serialization exactly as issued, so every
    download returns the same bytes the signature covers.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.OneToOneField(ConsentEvent, on_delete=models.PROTECT, related_name="receipt")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="consent_receipts")
    kid = models.CharField(max_length=100)
    jws = models.TextField()
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"receipt {self.id}"


class ConsentRatesRelease(models.Model):
    """One scheduled, noised release of consent rates: what officers see until the next one.

    Made at most once per period by ``consent.stats.consent_rates_release_make``
    (the unique ``period_start`` enforces it); officers never see a live
    computation, so looking again after an account changes shows nothing new.
    ``figures`` holds only noised counts (``consent.noise``), never exact ones.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    period_start = models.DateTimeField(unique=True)
    period_end = models.DateTimeField()
    created_at = models.DateTimeField()
    # The privacy budget this release spends, and the L1 sensitivity its noise was calibrated to.
    epsilon = models.FloatField()
    sensitivity = models.PositiveIntegerField()
    min_group = models.PositiveIntegerField()
    # 95% of released counts lie within this many of the truth (a property of the noise, not of the data).
    halfwidth_95 = models.PositiveIntegerField()
    # {"overall": group, "departments": [group, ...]}; group = {"name", "suppressed", "employees",
    # "granted": {category: int | None}, "any_granted": int | None}, noised, None where suppressed.
    figures = models.JSONField()

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(epsilon__gt=0), name="rates_release_epsilon_positive"),
            models.CheckConstraint(
                condition=models.Q(period_end__gt=models.F("period_start")), name="rates_release_period"
            ),
        ]

    def __str__(self) -> str:
        return f"consent rates for {self.period_start:%Y-%m-%d %H:%M}"
