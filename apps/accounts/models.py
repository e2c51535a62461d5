from __future__ import annotations

from django.db import models


class EmailRequestHit(models.Model):
    """One e-mail the account flows (sign-up, password reset, e-mail change) agreed to send,
    counted per source address and per recipient to rate-limit them (apps.accounts.throttle).

    ``key`` is a keyed hash of the IP address or e-mail address, never the address itself: the
    table says how often, not who.
    """

    scope = models.CharField(max_length=16)
    key = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["scope", "key", "at"]), models.Index(fields=["at"])]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:8]} at {self.at:%Y-%m-%d %H:%M}"
