"""Portal forms. Every choice list is built from the caller's restricted querysets, so a form
can neither show nor accept an object outside the caller's scope."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.roles import ROLE_FACILITY_PERMISSIONS
from apps.common.querysets import Action
from apps.facilities.models import Facility, FacilityUserObjectPermission
from apps.facilities.services import assignable_roles
from apps.inmates.models import Inmate

DATE_WIDGET = forms.DateInput(attrs={"type": "date"})


class FacilityChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Facility) -> str:
        return obj.name


def _day_start(day: date, tz_name: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zoneinfo.ZoneInfo(tz_name))


class InmateSearchForm(forms.Form):
    q = forms.CharField(
        label="Booking number or last name",
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. A1001 or Smith", "autocomplete": "off"}),
    )
    facility = FacilityChoiceField(queryset=Facility.objects.none(), required=False, empty_label="All")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = Facility.objects.restrict(user, Action.VIEW)  # type: ignore[attr-defined]


class CallSearchForm(forms.Form):
    inmate = forms.CharField(label="Booking number", max_length=32, required=False)
    facility = FacilityChoiceField(queryset=Facility.objects.none(), required=False, empty_label="All")
    number = forms.CharField(
        label="Dialed number",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "(212) 555-0101", "autocomplete": "off"}),
    )
    date_from = forms.DateField(label="From", required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label="To (inclusive)", required=False, widget=DATE_WIDGET)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = Facility.objects.restrict(user, Action.VIEW_CALLS)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def search_filters(self) -> dict[str, Any]:
        """Arguments for apps.calls.selectors.search_calls. Dates are days in the facility's
        time zone when one is chosen, else in UTC."""
        data = self.cleaned_data
        facility: Facility | None = data.get("facility")
        tz_name = facility.timezone if facility else "UTC"
        start, end = data.get("date_from"), data.get("date_to")
        return {
            "inmate": data.get("inmate", "").strip(),
            "facility": facility.code if facility else "",
            "number": data.get("number", "").strip(),
            "since": _day_start(start, tz_name) if start else None,
            "until": _day_start(end + timedelta(days=1), tz_name) if end else None,
            "region": facility.phone_region if facility else settings.DEFAULT_PHONE_REGION,
        }


def investigators_for(user: User) -> QuerySet[User]:
    """Active users who see call metadata at a facility ``user`` manages (the service checks
    the inmate's facility precisely)."""
    assigned = (
        FacilityUserObjectPermission.objects.restrict(user, Action.MANAGE)
        .filter(
            permission__codename="view_facility_calls",
            permission__content_type__app_label="facilities",
        )
        .values("user_id")
    )
    return User.objects.filter(is_active=True, pk__in=assigned).exclude(pk=user.pk).order_by("username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        full = obj.get_full_name()
        return f"{obj.username} ({full})" if full else obj.username


class GrantForm(forms.Form):
    facility = FacilityChoiceField(queryset=Facility.objects.none())
    booking_number = forms.CharField(max_length=32)
    investigator = UserChoiceField(queryset=User.objects.none())
    case_reference = forms.CharField(max_length=64, help_text="The case this access is needed for.")
    expires_on = forms.DateField(
        label="Expires on", widget=DATE_WIDGET, help_text="Access ends at the end of this day."
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["facility"].queryset = Facility.objects.restrict(user, Action.MANAGE)  # type: ignore[attr-defined]
        self.fields["investigator"].queryset = investigators_for(user)  # type: ignore[attr-defined]
        self.fields["expires_on"].help_text += f" At most {settings.GRANT_MAX_DAYS} days ahead."
        if not self.is_bound and "expires_on" not in self.initial:
            self.initial["expires_on"] = timezone.localdate() + timedelta(days=30)
        self.inmate: Inmate | None = None

    def clean_case_reference(self) -> str:
        value = str(self.cleaned_data["case_reference"]).strip()
        if not value:
            raise forms.ValidationError("A case reference is required.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        facility: Facility | None = data.get("facility")
        booking = str(data.get("booking_number", "")).strip()
        if facility and booking:
            self.inmate = (
                Inmate.objects.restrict(self.user, Action.MANAGE)
                .filter(facility=facility, booking_number=booking)
                .first()
            )
            if self.inmate is None:
                self.add_error("booking_number", "No inmate with this booking number at this facility.")
        expires_on: date | None = data.get("expires_on")
        if expires_on and facility:
            expires_at = _day_start(expires_on + timedelta(days=1), facility.timezone) - timedelta(seconds=1)
            now = timezone.now()
            if expires_at <= now:
                self.add_error("expires_on", "The expiry must be in the future.")
            elif expires_at > now + timedelta(days=settings.GRANT_MAX_DAYS):
                self.add_error("expires_on", f"A grant may run at most {settings.GRANT_MAX_DAYS} days.")
            data["expires_at"] = expires_at
        return data


class GrantFilterForm(forms.Form):
    investigator = forms.CharField(label="Investigator (username)", max_length=150, required=False)


ROLE_LABELS = {role: role.replace("_", " ").capitalize() for role in ROLE_FACILITY_PERMISSIONS}


class StaffAssignForm(forms.Form):
    username = forms.CharField(max_length=150)
    facility = FacilityChoiceField(queryset=Facility.objects.none())
    role = forms.ChoiceField(choices=())

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["facility"].queryset = Facility.objects.restrict(user, Action.MANAGE)  # type: ignore[attr-defined]
        self.fields["role"].choices = [("", "---------")] + [(r, ROLE_LABELS[r]) for r in assignable_roles()]  # type: ignore[attr-defined]
        self.member: User | None = None

    def clean_username(self) -> str:
        username = str(self.cleaned_data["username"]).strip()
        self.member = User.objects.filter(username=username, is_active=True).first()
        if self.member is None:
            raise forms.ValidationError("No active user with this username.")
        if self.member.pk == self.user.pk:
            raise forms.ValidationError("You cannot change your own membership.")
        return username


class StaffInviteForm(forms.Form):
    """Invite a new staff member by e-mail (apps.actions.staff.staff_invite)."""

    username = forms.RegexField(
        regex=r"^[\w.@+-]{3,150}$", max_length=150, help_text="Letters, digits and @.+-_"
    )
    email = forms.EmailField(max_length=254)
    facility = FacilityChoiceField(queryset=Facility.objects.none())
    role = forms.ChoiceField(choices=())

    prefix = "invite"  # its fields never collide with the assign form's on the same page

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = Facility.objects.restrict(user, Action.MANAGE)  # type: ignore[attr-defined]
        self.fields["role"].choices = [("", "---------")] + [(r, ROLE_LABELS[r]) for r in assignable_roles()]  # type: ignore[attr-defined]
