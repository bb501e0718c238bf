"""Forms of the data-access portal pages: they check the shape of what a page posts.

The rules (known categories and applications, the time range, the purpose,
the length of a justification or reason, who may decide) stay in the
services, whose refusals the pages show on the form.
"""

from __future__ import annotations

from django import forms

from consent.forms import DaysField, ValuesField

TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class RequestForm(forms.Form):
    """A data request; times are read in UTC (the service's clock)."""

    categories = ValuesField()
    apps = ValuesField()
    since = forms.DateTimeField(
        input_formats=TIME_FORMATS,
        error_messages={
            "required": "Give the start of the time range.",
            "invalid": "Give the start as a date and time.",
        },
    )
    until = forms.DateTimeField(
        input_formats=TIME_FORMATS,
        error_messages={"required": "Give the end of the time range.", "invalid": "Give the end as a date and time."},
    )
    purpose = forms.CharField(required=False, max_length=64)
    justification = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)


class DecisionForm(forms.Form):
    """An officer's review: approve or reject, a reason, and for approvals an optional shorter grant."""

    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject")],
        error_messages={"required": "Choose approve or reject.", "invalid_choice": "Choose approve or reject."},
    )
    reason = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)
    grant_days = DaysField(
        required=False, error_messages={"invalid": "The grant length must be a whole number of days."}
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)
