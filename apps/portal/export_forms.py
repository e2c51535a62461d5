"""The export screens' forms: what the requester and the approver type. Scope is not checked
here: the ids go to apps.access.exports, which refuses (404, audited) any recording the
requester may not play, the same answer the API gives."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings


class RecordingIdsField(forms.Field):
    """Several ``recording`` values (ticked boxes or hidden inputs) as a list of ids."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        try:
            ids = sorted({int(v) for v in values})
        except (TypeError, ValueError):
            raise forms.ValidationError("Recordings are named by their number.") from None
        if not ids:
            raise forms.ValidationError(
                "Choose at least one recording: tick it on the Calls page or press "
                "\u201cRequest an export\u201d on the recording's page."
            )
        if len(ids) > settings.EXPORT_MAX_RECORDINGS:
            raise forms.ValidationError(
                f"At most {settings.EXPORT_MAX_RECORDINGS} recordings fit in one export request."
            )
        if any(i < 1 for i in ids):
            raise forms.ValidationError("Recordings are named by their number.")
        return ids


class ExportRequestForm(forms.Form):
    recording = RecordingIdsField()
    case_reference = forms.CharField(
        label="Case reference",
        max_length=64,
        help_text="The case, warrant or court order this export serves (as your agency files it).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. CASE-2026-0142"}),
    )
    justification = forms.CharField(
        label="Justification",
        max_length=2000,
        min_length=20,
        help_text="Why these recordings must leave the platform; the approver reads this before deciding.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ExportApproveForm(forms.Form):
    confirm = forms.BooleanField(
        label="I have read the justification and checked the recordings: release them to the requester.",
        error_messages={"required": "Tick the box to confirm the approval."},
    )


class ExportRejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason for rejecting",
        max_length=2000,
        help_text="The requester reads it.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write why the export is rejected; the requester reads it."},
    )
