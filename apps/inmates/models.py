from __future__ import annotations

from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.facilities.models import Facility


class Inmate(models.Model):
    """A person in custody. The booking number is unique within a facility only."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="inmates")
    booking_number = models.CharField(max_length=32)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    account_number = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["facility_id", "booking_number"]
        permissions = [("play_inmate_recordings", "Can play recordings of the inmate")]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "booking_number"], name="inmate_booking_unique_per_facility"
            ),
            models.CheckConstraint(name="inmate_booking_not_blank", condition=~models.Q(booking_number="")),
        ]

    def __str__(self) -> str:
        return f"{self.booking_number} {self.last_name}, {self.first_name}"


class InmateUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Inmate, on_delete=models.CASCADE)


class InmateGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Inmate, on_delete=models.CASCADE)
