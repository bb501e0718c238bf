"""Forms of the consent portal pages: they check the shape of what a page posts.

The rules (which categories exist, what a notice needs, how long data may be
kept) stay in the services, which refuse with a domain error the page shows.
So most fields here are optional and only turn the posted text into the
values a service takes.
"""

from __future__ import annotations

from typing import Any

from django import forms

from consent.models import ConsentNotice, DataCategory

NO_NOTICE_VERSION = "The page did not say which notice you read; reload it and try again."


class ValuesField(forms.Field):
    """Every value posted under the field's name (checkboxes), as a list of strings.

    Not a ``MultipleChoiceField``: which values are valid is the service's
    rule, and its message names the unknown ones.
    """

    widget = forms.MultipleHiddenInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[str]:
        return [str(v) for v in value or []]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# --- Employee portal ---------------------------------------------------------------


class ChoicesForm(forms.Form):
    """The per-category opt-in toggles, and the notice version the page showed."""

    notice_version = forms.IntegerField(error_messages={"required": NO_NOTICE_VERSION, "invalid": NO_NOTICE_VERSION})
    categories = ValuesField()


class ReviewForm(forms.Form):
    """Confirm held categories under the notice version the page showed."""

    # Optional: without one, the service says there is no notice version 0 and names the current one.
    notice_version = forms.IntegerField(required=False, error_messages={"invalid": NO_NOTICE_VERSION})


class WithdrawForm(forms.Form):
    """Withdraw one category, or everything when none is named; optionally ask for erasure.

    With erasure, ``confirm`` says the employee saw the confirmation page and its numbers.
    """

    category = forms.CharField(required=False, max_length=32)
    erase = forms.BooleanField(required=False)
    confirm = forms.BooleanField(required=False)


ERASE_KEEP_RECORDING = "keep"
ERASE_AND_WITHDRAW = "withdraw"
ERASURE_MODES = [
    (ERASE_KEEP_RECORDING, "Erase what was recorded so far and keep recording"),
    (ERASE_AND_WITHDRAW, "Erase and stop recording (withdraw consent)"),
]
NO_ERASURE_MODE = "Choose whether recording should go on after the erasure, or stop."


class ErasureForm(forms.Form):
    """Ask for everything recorded to be erased, saying whether recording goes on; ``confirm`` after seeing the effect."""

    mode = forms.ChoiceField(
        choices=ERASURE_MODES,
        error_messages={"required": NO_ERASURE_MODE, "invalid_choice": NO_ERASURE_MODE},
    )
    confirm = forms.BooleanField(required=False)


class ExclusionsForm(forms.Form):
    """Applications excluded from capture: the allowlisted ones ticked, plus others typed one per line."""

    excluded_apps = ValuesField()
    other_apps = forms.CharField(required=False, widget=forms.Textarea)

    def excluded(self) -> list[str]:
        """Both lists together, sorted and without duplicates."""
        return sorted({*self.cleaned_data["excluded_apps"], *_lines(self.cleaned_data["other_apps"])})


# --- Officer console -------------------------------------------------------------


class NoticeForm(forms.Form):
    """A draft notice; purposes are typed one per line as ``id: description``."""

    title = forms.CharField(required=False, max_length=200)
    summary = forms.CharField(required=False, max_length=10000, widget=forms.Textarea)
    purposes = forms.CharField(required=False, widget=forms.Textarea)
    categories = ValuesField()
    access = forms.CharField(required=False, max_length=10000, widget=forms.Textarea)
    rights = forms.CharField(required=False, max_length=10000, widget=forms.Textarea)
    contact = forms.CharField(required=False, max_length=200)

    def clean_purposes(self) -> list[dict[str, str]]:
        # A line without a colon becomes a purpose without a description, which the service refuses by name.
        purposes = []
        for line in _lines(self.cleaned_data["purposes"]):
            pid, _, description = line.partition(":")
            purposes.append({"id": pid.strip(), "description": description.strip()})
        return purposes

    @classmethod
    def for_notice(cls, notice: ConsentNotice | None) -> NoticeForm:
        """An unbound form showing ``notice`` (or a blank one for a new draft)."""
        if notice is None:
            return cls()
        return cls(
            initial={
                "title": notice.title,
                "summary": notice.summary,
                "purposes": "\n".join(f"{p['id']}: {p['description']}" for p in notice.purposes),
                "categories": list(notice.categories),
                "access": notice.access,
                "rights": notice.rights,
                "contact": notice.contact,
            }
        )


class AllowlistAddForm(forms.Form):
    app_id = forms.CharField(required=False, max_length=200)
    display_name = forms.CharField(required=False, max_length=200)
    categories = ValuesField()


class AllowlistTableForm(forms.Form):
    """The whole allowlist table as one form: ``app`` lists the rows' ids in order; each row's
    fields are named after its id (``name:<id>``, ``categories:<id>``), since a checkbox
    group cannot be told apart by position."""

    app = ValuesField()

    def rows(self) -> list[tuple[str, str, list[str]]]:
        """``(app_id, display_name, categories)`` per row, as the service takes them."""
        return [
            (app_id, self.data.get(f"name:{app_id}", ""), [str(v) for v in self.data.getlist(f"categories:{app_id}")])
            for app_id in self.cleaned_data["app"]
        ]


class DaysField(forms.IntegerField):
    """A whole number of days; blank or only spaces is no value."""

    def to_python(self, value: Any) -> int | None:
        return super().to_python(value.strip() if isinstance(value, str) else value)


class RetentionForm(forms.Form):
    """One optional maximum age in days per data category; blank keeps the category's rule."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for value, label in DataCategory.choices:
            self.fields[value] = DaysField(
                required=False,
                label=label,
                error_messages={"invalid": f"{value}: the maximum age must be a whole number of days."},
            )

    def rules(self) -> dict[str, int]:
        """The categories given a value; the service checks the range."""
        return {category: days for category, days in self.cleaned_data.items() if days is not None}
