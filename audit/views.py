"""The auditor console: browse and filter the log, see the latest checkpoint and whether the log verifies."""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.decorators import auditor_required
from accounts.throttling import CACHE_ERRORS
from audit.ledger import describe
from audit.selectors import EntryFilter, checkpoints_for_actor, entries_for_actor, family_choices, log_size
from audit.services import CheckpointRefused, checkpoint_create
from audit.verification import audit_log_verify, trusted_checkpoint_parse
from config.errors import ApplicationError, InvalidInput

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
# Logs up to this size are verified when the console opens; larger ones on request.
INLINE_VERIFY_MAX = 20_000
VERIFICATION_CACHE_KEY = "audit:console:verification"
VERIFICATION_CACHE_SECONDS = 600
# The last verification against a checkpoint the auditor supplied, per session.
TRUSTED_SESSION_KEY = "audit:console:trusted-verification"
# A checkpoint is a few hundred bytes; anything much larger is not one.
TRUSTED_CHECKPOINT_MAX_BYTES = 16 * 1024


def _is_bare_date(raw: object) -> bool:
    return isinstance(raw, str) and len(raw.strip()) == 10


class FilterForm(forms.Form):
    # A date picker gives a bare date: "since" is the start of that day and "until" the end of
    # it (both UTC), so picking the same day twice selects that whole day.  A full RFC 3339
    # moment (from a download link or typed) is taken as it is.
    family = forms.ChoiceField(required=False, label="Kind of action", choices=[("", "All kinds")])
    since = forms.DateTimeField(required=False, label="From day (UTC)", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateTimeField(
        required=False, label="To day, inclusive (UTC)", widget=forms.DateInput(attrs={"type": "date"})
    )
    actor = forms.CharField(required=False, max_length=200)
    action = forms.CharField(required=False, max_length=100)
    target = forms.CharField(required=False, max_length=300)
    from_seq = forms.IntegerField(required=False, min_value=0, max_value=2**63 - 1)
    to_seq = forms.IntegerField(required=False, min_value=0, max_value=2**63 - 1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["family"].choices = [("", "All kinds"), *family_choices()]  # type: ignore[attr-defined]

    def _day(self, name: str, *, end: bool) -> datetime | None:
        value = self.cleaned_data.get(name)
        if value is None or not _is_bare_date(self.data.get(name)):
            return value
        start = datetime.combine(value.date(), time.min, tzinfo=UTC)
        return start + timedelta(days=1) if end else start

    def clean_since(self):
        return self._day("since", end=False)

    def clean_until(self):
        return self._day("until", end=True)


def _verification(*, size: int, refresh: bool = False) -> dict | None:
    # The cache only saves repeating the work: with Redis down the console verifies afresh (or waits
    # for "Verify now" on a large log) instead of failing.
    try:
        report = None if refresh else cache.get(VERIFICATION_CACHE_KEY)
    except CACHE_ERRORS:
        logger.warning("audit console: the cache is unavailable; verification results are not reused")
        report = None
    if report is None and (refresh or size <= INLINE_VERIFY_MAX):
        report = audit_log_verify().as_dict()
        # Not kept when the cache is down; the report is shown all the same.
        with contextlib.suppress(CACHE_ERRORS):
            cache.set(VERIFICATION_CACHE_KEY, report, VERIFICATION_CACHE_SECONDS)
    return report


def _trusted_document(request) -> object:
    """The checkpoint JSON the auditor pasted or uploaded; ``InvalidInput`` names what is wrong."""
    upload = request.FILES.get("checkpoint_file")
    if upload is not None:
        if upload.size > TRUSTED_CHECKPOINT_MAX_BYTES:
            raise InvalidInput("invalid_checkpoint", "the uploaded file is too large to be a checkpoint")
        raw = upload.read()
    else:
        raw = request.POST.get("checkpoint", "").strip().encode("utf-8")
        if len(raw) > TRUSTED_CHECKPOINT_MAX_BYTES:
            raise InvalidInput("invalid_checkpoint", "the pasted text is too large to be a checkpoint")
    if not raw:
        raise InvalidInput("invalid_checkpoint", "paste or upload a checkpoint (GET /api/v1/audit/checkpoints/latest)")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("invalid_checkpoint", "the checkpoint is not valid JSON") from None


def _verify_against_trusted(request) -> None:
    try:
        trusted = trusted_checkpoint_parse(_trusted_document(request))
    except InvalidInput as exc:
        messages.error(request, f"Checkpoint refused: {exc.detail}")
        return
    report = audit_log_verify(trusted=trusted).as_dict()
    request.session[TRUSTED_SESSION_KEY] = report
    if report["ok"]:
        messages.success(request, f"The stored log extends your checkpoint (size {trusted.size}).")
    else:
        messages.error(request, f"The stored log does NOT match your checkpoint (size {trusted.size}).")


@auditor_required
@require_http_methods(["GET", "POST"])
def console(request):
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "checkpoint":
            try:
                checkpoint = checkpoint_create()
                messages.success(request, f"Checkpoint signed at size {checkpoint.size}.")
            except CheckpointRefused as exc:
                messages.error(request, f"No checkpoint signed: {exc}")
        elif action == "verify":
            report = _verification(size=log_size(), refresh=True)
            if report and report["ok"]:
                messages.success(request, f"The stored log verifies ({report['entries_checked']} entries).")
            elif report and report["problems"] and all(p.startswith("no checkpoint") for p in report["problems"]):
                # Nothing is wrong, but nothing signed vouches for the entries yet.
                messages.warning(
                    request,
                    "Nothing to vouch against yet: no signed checkpoint covers the log. "
                    "Sign a checkpoint now, then verify again.",
                )
            else:
                first = report["problems"][0] if report and report["problems"] else "see the verification panel"
                messages.error(request, f"The stored log does NOT verify: {first}")
        elif action == "verify_trusted":
            _verify_against_trusted(request)
        else:
            messages.error(request, "Unknown action.")
        return redirect(f"{reverse('audit:console')}?{request.GET.urlencode()}" if request.GET else "audit:console")

    form = FilterForm(request.GET or None)
    selection = EntryFilter()
    if form.is_bound and form.is_valid():
        selection = EntryFilter(**{k: v for k, v in form.cleaned_data.items() if v not in (None, "")})
    entries, error, size = [], None, log_size()
    older = None
    if not form.is_bound or form.is_valid():
        try:
            qs, size = entries_for_actor(actor=request.user, selection=selection, size=size)
            before = request.GET.get("before", "")
            if before.isascii() and before.isdigit():  # "²" is a digit to isdigit() but not to int()
                qs = qs.filter(seq__lt=int(before))
            entries = list(qs.order_by("-seq")[: PAGE_SIZE + 1])
        except ApplicationError as exc:
            error = exc.detail
        if len(entries) > PAGE_SIZE:
            entries = entries[:PAGE_SIZE]
            # The filter as the auditor typed it (a date stays a date for the picker), one page further back.
            typed = {key: value for key, value in request.GET.items() if key != "before" and value}
            older = urlencode({**typed, "before": entries[-1].seq})
    query = selection.as_query()
    api_entries = reverse("audit-entries")
    verification = _verification(size=size)
    context = {
        "form": form,
        "entries": [
            (entry, describe(entry), json.dumps(entry.detail, ensure_ascii=False, sort_keys=True, indent=2))
            for entry in entries
        ],
        "error": error,
        "size": size,
        "older_query": older,
        "latest_checkpoint": checkpoints_for_actor(actor=request.user).first(),
        "verification": verification,
        # The report is cached: say how far the log has grown past what it checked.
        "since_verification": max(size - verification["size"], 0) if verification else 0,
        "download_proofs": f"{api_entries}?{urlencode({**query, 'format': 'proofs'})}",
        "trusted_verification": request.session.get(TRUSTED_SESSION_KEY),
        "download_jsonl": f"{api_entries}?{urlencode({**query, 'format': 'jsonl'})}",
        "download_csv": f"{api_entries}?{urlencode({**query, 'format': 'csv'})}",
        "checkpoint_url": reverse("audit-checkpoint-latest"),
        "jwks_url": reverse("jwks"),
    }
    return render(request, "audit/console.html", context)
