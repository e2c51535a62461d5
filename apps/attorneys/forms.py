from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.common.errors import DomainError
from apps.common.phone import normalize_phone_number
from apps.facilities.models import Facility
from apps.registry.models import ExemptStatus, RegistrationCategory
from apps.registry.profiles import US_STATES, validate_bar
from apps.registry.selectors import GLOBAL, RegistrationSearch

STATE_CHOICES = [("", "—")] + [(s, s) for s in US_STATES]


class BarFieldsMixin(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("bar_state") and data.get("bar_number"):
            try:
                data["bar_state"], data["bar_number"] = validate_bar(data["bar_state"], data["bar_number"])
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field, errors)
        return data


class SignupForm(BarFieldsMixin):
    full_name = forms.CharField(max_length=200)
    email = forms.EmailField(max_length=254)
    username = forms.RegexField(
        regex=r"^[\w.@+-]{3,150}$", max_length=150, help_text="Letters, digits and @.+-_"
    )
    # The rules, shown before the first attempt (issue 15, item 13): the validators' own words.
    password = forms.CharField(
        widget=forms.PasswordInput, min_length=12, help_text=password_validators_help_text_html()
    )
    bar_state = forms.ChoiceField(choices=STATE_CHOICES)
    bar_number = forms.CharField(max_length=32)
    firm = forms.CharField(max_length=200, required=False)

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        validate_password(password)
        return password


class ProfileForm(BarFieldsMixin):
    full_name = forms.CharField(
        max_length=200, help_text="Name and bar number change once a registry clerk approves."
    )
    bar_state = forms.ChoiceField(choices=STATE_CHOICES)
    bar_number = forms.CharField(max_length=32)
    firm = forms.CharField(max_length=200, required=False)
    contact_email = forms.EmailField(
        required=False, max_length=254, help_text="A new address takes effect once you confirm it from there."
    )
    contact_phone = forms.CharField(max_length=40, required=False)


class NumberForm(forms.Form):
    number = forms.CharField(
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        help_text="Any format; mobile numbers too.",
    )
    label = forms.CharField(max_length=100, required=False, help_text="e.g. office, direct line, mobile")
    # Optional so that a post without it (an older form, a script) registers an attorney line.
    category = forms.TypedChoiceField(
        choices=RegistrationCategory.choices,
        initial=RegistrationCategory.ATTORNEY,
        required=False,
        empty_value=RegistrationCategory.ATTORNEY,
        label="Whose number is it",
    )
    # Checked by the service against the category's rule (apps.registry.categories).
    credential = forms.CharField(max_length=48, required=False, label="Credential")
    credential_issuer = forms.CharField(max_length=100, required=False, label="Issued by")
    scope = forms.ChoiceField(
        choices=[("global", "Every facility (recommended)"), ("facility", "Only one facility")],
        initial="global",
        widget=forms.RadioSelect,
    )
    facility = forms.ModelChoiceField(
        queryset=Facility.objects.order_by("name"),
        required=False,
        to_field_name="code",
        help_text="Only for a facility-scoped registration.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == "facility" and not data.get("facility"):
            self.add_error("facility", "Choose the facility, or register the number for every facility.")
        if data.get("scope") != "facility":
            data["facility"] = None
        return data


class EvidenceForm(forms.Form):
    file = forms.FileField(help_text="Letterhead or bar card: PDF, PNG or JPEG.")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class WindowForm(forms.Form):
    """A clerk's choice of the end of a verification window; empty means the default length.
    The service checks it against the configured bounds (REGISTRY_WINDOW_MIN/MAX_DAYS)."""

    effective_until = forms.DateTimeField(
        required=False,
        label="Window ends",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class FlagForm(forms.Form):
    call_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    facility = forms.ModelChoiceField(queryset=Facility.objects.order_by("name"), to_field_name="code")
    booking_number = forms.CharField(max_length=32, label="Inmate booking number")
    number = forms.ChoiceField(label="Your number")

    def __init__(self, *args: Any, numbers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["number"].choices = [(n, n) for n in numbers]  # type: ignore[attr-defined]

    def clean_call_date(self) -> dt.date:
        # A call that has happened (a day's slack for time zones), and no date at the ends of
        # the calendar: 9999-12-31 plus a day overflowed into a 500 (found by fuzzing).
        value: dt.date = self.cleaned_data["call_date"]
        if not dt.date(1970, 1, 1) <= value <= timezone.localdate() + dt.timedelta(days=1):
            raise ValidationError("Enter the date of a call that has taken place.")
        return value


class ProposeForm(ReasonForm):
    action = forms.ChoiceField(choices=[("release", "Release"), ("purge", "Purge")])


ANY = [("", "Any")]


class RegistrySearchForm(forms.Form):
    """A registry clerk's search of every registration; the number in any spelling (read in
    the default region), parsed here so a bad one is a 400 with the parser's reason."""

    number = forms.CharField(
        max_length=40, required=False, widget=forms.TextInput(attrs={"inputmode": "tel", "type": "search"})
    )
    attorney = forms.CharField(
        max_length=100,
        required=False,
        label="Attorney name or bar number",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    status = forms.ChoiceField(choices=ANY + list(ExemptStatus.choices), required=False)
    category = forms.ChoiceField(choices=ANY + list(RegistrationCategory.choices), required=False)
    facility = forms.ChoiceField(choices=ANY, required=False)
    page = forms.IntegerField(min_value=1, max_value=100_000, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = [(f.code, f.name) for f in Facility.objects.order_by("name")]
        self.fields["facility"].choices = [*ANY, (GLOBAL, "Every facility (global)"), *codes]  # type: ignore[attr-defined]

    def clean_number(self) -> str:
        raw: str = self.cleaned_data["number"]
        if not raw.strip():
            return ""
        try:
            return normalize_phone_number(raw, settings.DEFAULT_PHONE_REGION)
        except DomainError as exc:
            raise ValidationError(exc.message) from exc

    def search(self) -> RegistrationSearch:
        data = self.cleaned_data
        return RegistrationSearch(
            number=data["number"],
            attorney=data["attorney"].strip(),
            status=data["status"],
            category=data["category"],
            facility=data["facility"],
        )
