from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.db.models import Q

from apps.common.querysets import Action
from apps.facilities.models import STATION_ID_FORMAT, Facility, FacilityScopedQuerySet
from apps.inmates.models import Inmate


class Decision(models.TextChoices):
    RECORD = "record"
    EXEMPT = "exempt"


class CallQuerySet(FacilityScopedQuerySet["Call"]):
    def scope(self, user: User | AnonymousUser, action: Action) -> Q:
        """A call record is ``view``-able where its facility's calls are (view_facility_calls).

        Synthetic calls (the nightly assurance run, apps/actions/assurance.py) are in no one's
        scope: every restricted list, count and export leaves them out by construction.
        """
        if action is not Action.VIEW:
            raise self.unsupported(action)
        return self.in_facilities(user, Action.VIEW_CALLS) & Q(synthetic=False)


class Call(models.Model):
    """One call placed by an inmate through a facility's switch.

    ``decision`` is what the switch was told at setup. ``privileged`` is the current truth:
    it becomes true at setup for a verified attorney number (or a call from a live privileged
    station, or of an inmate set "do not record": the most restrictive rule wins), and later if
    the number or station is registered before the audio arrives (the storage gate refuses it)
    or after (the recording is quarantined). An exempt call is always privileged (checked by
    the database).
    """

    # No single-column indexes on facility, inmate and number: the composite indexes below
    # lead with them, and every index is one more write on the hottest insert of the system.
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="calls", db_index=False)
    inmate = models.ForeignKey(Inmate, on_delete=models.PROTECT, related_name="calls", db_index=False)
    switch_call_id = models.CharField(max_length=64)
    dialed_number = models.CharField(max_length=16)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.CharField(max_length=64)
    privileged = models.BooleanField(default=False)
    exempt_number = models.ForeignKey(
        "registry.ExemptNumber", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A call set up by the nightly assurance run to prove the decision path (never a real
    # person's call): kept for its audit trail, left out of every list and figure.
    synthetic = models.BooleanField(default=False, db_default=False)
    # What the caller was told (issue 11, section 7). ``prompt`` is the version call setup named
    # to the switch, chosen in the very INSERT that decides the call (the recording notice for a
    # recorded call, the private-call notice otherwise); null only for calls set up before
    # prompts existed. ``prompt_played`` is what the switch reported at the end of the call;
    # null with ``prompt_reported_at`` null means "not reported" (an older switch). A played
    # prompt other than ``prompt`` is a mismatch, kept as it is and audited (call.prompt_mismatch).
    # No indexes: two more writes on the hottest insert, and nothing searches calls by prompt.
    prompt = models.ForeignKey(
        "facilities.PromptText",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    prompt_played = models.ForeignKey(
        "facilities.PromptText",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    prompt_reported_at = models.DateTimeField(null=True, blank=True)
    # The station the switch said the call was placed from (issue 11, section 6), normalised as
    # privileged stations are (apps.facilities.stations.normalize_station); blank when not sent.
    station = models.CharField(max_length=64, blank=True, default="", db_default="")

    objects = CallQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "switch_call_id"], name="call_switch_id_unique_per_facility"
            ),
            models.CheckConstraint(
                name="call_exempt_is_privileged",
                condition=~models.Q(decision="exempt") | models.Q(privileged=True),
            ),
            models.CheckConstraint(
                name="call_dialed_number_is_e164",
                condition=models.Q(dialed_number__regex=r"^\+[1-9][0-9]{1,14}$"),
            ),
            models.CheckConstraint(
                name="call_prompt_played_has_report_time",
                condition=models.Q(prompt_played__isnull=True, prompt_reported_at__isnull=True)
                | models.Q(prompt_played__isnull=False, prompt_reported_at__isnull=False),
            ),
            models.CheckConstraint(
                name="call_station_format",
                condition=models.Q(station="") | models.Q(station__regex=STATION_ID_FORMAT),
            ),
            models.CheckConstraint(
                name="call_end_after_start",
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
            ),
        ]
        indexes = [
            models.Index(fields=["facility", "-started_at"]),
            models.Index(fields=["inmate", "-started_at"]),
            models.Index(fields=["dialed_number"], name="call_dialed_number_idx"),  # exact match only
            # Registering a station finds the calls (and their audio) placed from it. Partial:
            # a switch that sends no station adds no index write to call setup.
            models.Index(
                fields=["facility", "station"], name="call_station_idx", condition=~models.Q(station="")
            ),
        ]

    def __str__(self) -> str:
        return f"call {self.switch_call_id} @ {self.facility_id}"

    @property
    def prompt_mismatch(self) -> bool:
        """The switch reported playing another prompt than the one call setup named."""
        return self.prompt_reported_at is not None and self.prompt_played_id != self.prompt_id
