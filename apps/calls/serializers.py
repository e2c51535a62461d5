"""Call serializers shared by more than one API module (the call API and the recordings API
nest the same staff view of a call), so no API module is imported as a library."""

from __future__ import annotations

from rest_framework import serializers

from apps.calls.downloads import COLUMNS
from apps.calls.masking import shown_attorney, shown_number
from apps.calls.models import Call
from apps.calls.prompts import prompt_label
from apps.common.visibility import can_see_privileged_details


class StaffCallOutput(serializers.ModelSerializer[Call]):
    """Call metadata for staff, masked by the one rule of apps.calls.masking (privileged or
    quarantined: only registry clerks and privilege officers see the number and attorney)."""

    facility = serializers.SlugRelatedField(slug_field="code", read_only=True)  # type: ignore[var-annotated]
    inmate = serializers.SlugRelatedField(slug_field="booking_number", read_only=True)  # type: ignore[var-annotated]
    dialed_number = serializers.SerializerMethodField()
    attorney = serializers.SerializerMethodField()
    prompt = serializers.SerializerMethodField(help_text="The prompt call setup named, as 'kind vN'.")
    prompt_played = serializers.SerializerMethodField(
        help_text="The prompt the switch reported playing, as 'kind vN'; null when not reported."
    )

    class Meta:
        model = Call
        fields = COLUMNS  # the same record as a call-list download

    def _unmasked(self) -> bool:
        if "unmasked" not in self.context:
            request = self.context.get("request")
            self.context["unmasked"] = request is not None and can_see_privileged_details(request.user)
        return bool(self.context["unmasked"])

    def get_dialed_number(self, call: Call) -> str | None:
        return shown_number(call, unmasked=self._unmasked())

    def get_attorney(self, call: Call) -> str | None:
        return shown_attorney(call, unmasked=self._unmasked())

    def get_prompt(self, call: Call) -> str | None:
        return prompt_label(call.prompt)

    def get_prompt_played(self, call: Call) -> str | None:
        return prompt_label(call.prompt_played)
