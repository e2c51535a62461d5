"""Models of the switches' decision list (issue 11, section 2: "switches that must decide
without us"). The service is apps/registry/decision_list.py; drift is apps/registry/drift.py.

- ``DecisionListVersion``: one published state of the covered set. A new version exists exactly
  when the set changed (``decision_list_publish``), so versions are comparable across switches.
- ``DecisionListEntry``: one (number, scope) the list covers, alive from ``added_in`` until
  ``removed_in``; a version's list is the entries alive at it, so a delta between two versions
  is a range query. The number is in clear because the per-version, per-facility HMAC of each
  entry is computed when a switch fetches; the table is the registry's own (like
  ``ExemptNumber.number``) and its rows never leave it except as those HMACs.
- ``SwitchListHolding``: what each switch last fetched and the version it says it holds, and
  the drift alarm of its current stale episode (None when it is current or not yet alarmed).

Imported by ``apps.registry.models`` so Django registers them with the registry app.
"""

from __future__ import annotations

from django.db import models

from apps.facilities.models import Facility, SwitchAccount


class DecisionListVersion(models.Model):
    """Version ``number`` of the decision list, published at ``created_at``."""

    number = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField()
    # Entries (number, scope) alive at this version, and how many it added and removed.
    count = models.PositiveIntegerField()
    added = models.PositiveIntegerField()
    removed = models.PositiveIntegerField()

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"decision list v{self.number} ({self.count} entries)"


class DecisionListEntry(models.Model):
    """A number the list covers, globally (``facility`` NULL) or for one facility, from version
    ``added_in`` (inclusive) to ``removed_in`` (exclusive; NULL: still covered)."""

    number = models.CharField(max_length=20)
    facility = models.ForeignKey(Facility, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    added_in = models.PositiveIntegerField()
    removed_in = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            # One live entry per number and scope (NULL never equals NULL, hence two).
            models.UniqueConstraint(
                fields=["number"],
                condition=models.Q(removed_in__isnull=True, facility__isnull=True),
                name="decision_entry_one_live_global",
            ),
            models.UniqueConstraint(
                fields=["number", "facility"],
                condition=models.Q(removed_in__isnull=True, facility__isnull=False),
                name="decision_entry_one_live_per_facility",
            ),
            models.CheckConstraint(
                name="decision_entry_removed_after_added",
                condition=models.Q(removed_in__isnull=True) | models.Q(removed_in__gt=models.F("added_in")),
            ),
        ]
        indexes = [
            models.Index(fields=["added_in"], name="decision_entry_added_idx"),
            models.Index(fields=["removed_in"], name="decision_entry_removed_idx"),
            models.Index(fields=["number"], name="decision_entry_number_idx"),
        ]

    def __str__(self) -> str:
        return f"decision entry {self.pk} (v{self.added_in}..{self.removed_in or ''})"


class SwitchListHolding(models.Model):
    """The decision list a switch has: the version it last fetched (what we sent) and the one it
    reports holding (what it installed). Drift is judged on the reported one: a fetch proves
    delivery, not installation (the 2015 failure was an installed list that silently shrank)."""

    switch = models.OneToOneField(SwitchAccount, on_delete=models.CASCADE, related_name="decision_list")
    held_version = models.PositiveIntegerField(null=True, blank=True)
    held_reported_at = models.DateTimeField(null=True, blank=True)
    fetched_version = models.PositiveIntegerField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    # The alarm of the current stale episode; cleared when the switch reports a current version.
    drift_alarm = models.ForeignKey(
        "registry.ListAlarm", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"switch {self.switch_id} holds v{self.held_version}"
