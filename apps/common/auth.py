from __future__ import annotations

import hashlib
from typing import Any

from django.db import transaction
from rest_framework.authentication import TokenAuthentication as DRFTokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from apps.audit.models import Outcome
from apps.audit.services import record_event


class TokenAuthentication(DRFTokenAuthentication):
    """DRF's token authentication in one query: the user and, for a switch, its service
    account and facility come with the token (call setup is on the hot path)."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        token = Token.objects.select_related("user", "user__switch_account__facility").filter(key=key).first()
        if token is None:
            with transaction.atomic():
                record_event(
                    action="auth.rejected",
                    outcome=Outcome.DENIED,
                    details={
                        "reason": "unknown_token",
                        "method": "token",
                        "token_sha256_prefix": hashlib.sha256(key.encode()).hexdigest()[:12],
                    },
                )
            raise AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            # A suspended user still trying is exactly what the trail must show.
            with transaction.atomic():
                record_event(
                    action="auth.rejected",
                    actor=token.user,
                    outcome=Outcome.DENIED,
                    details={"reason": "inactive", "method": "token"},
                )
            raise AuthenticationFailed("User inactive or deleted.")
        return token.user, token
