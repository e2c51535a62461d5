"""Token authentication for the API, in one SQL query: the token, its user and, for a switch,
its service account and facility.

It lives in ``facilities`` (not ``common``) because it joins the switch account and facility
tables and records rejected tokens in the audit trail: the lowest layer that may import both.
Call setup, the hot path of every switch, authenticates through it on each request.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import connection, models, transaction
from rest_framework.authentication import TokenAuthentication as DRFTokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from apps.audit.floods import auth_rejection_record
from apps.audit.models import Outcome
from apps.audit.services import record_event
from apps.common import context
from apps.common.db import fetchone_prepared
from apps.facilities.models import Facility, SwitchAccount

# The token, its user and, for a switch, its service account and facility, in one row.
_JOINED: list[tuple[type[models.Model], str]] = [
    (Token, "t"),
    (User, "u"),
    (SwitchAccount, "s"),
    (Facility, "f"),
]


@functools.cache
def _lookup_sql() -> str:
    """The lookup as SQL, built once from the models' fields.

    Django recompiles a select_related query on every call (~1 ms here, more than the round
    trip), and every API request pays it, including each call setup of every switch.
    """
    qn = connection.ops.quote_name
    columns = ", ".join(
        f"{alias}.{qn(field.column)}" for model, alias in _JOINED for field in model._meta.concrete_fields
    )
    token, user, account, facility = (model._meta.db_table for model, _ in _JOINED)
    return (
        f"SELECT {columns} FROM {qn(token)} t "  # noqa: S608 - names from model metadata
        f"JOIN {qn(user)} u ON u.id = t.user_id "
        f"LEFT JOIN {qn(account)} s ON s.user_id = u.id "
        f"LEFT JOIN {qn(facility)} f ON f.id = s.facility_id "
        "WHERE t.key = %(key)s"
    )


@functools.cache
def _row_plan(model: type[models.Model], alias: str) -> tuple[list[str], list[tuple[Any, list[Any]]], int]:
    """(attnames, [(column expression, database converters)], index of the pk) of a model."""
    fields = model._meta.concrete_fields
    converters = []
    for field in fields:
        expression = field.get_col(alias)
        own = cast(Any, field).get_db_converters(connection)
        converters.append((expression, connection.ops.get_db_converters(expression) + own))
    return [f.attname for f in fields], converters, list(fields).index(model._meta.pk)


def _instance(model: type[models.Model], alias: str, values: list[Any]) -> Any:
    """A model instance from its slice of the row, through the fields' database converters
    (SQLite returns datetimes as text, for instance), as the ORM would build it."""
    attnames, converters, pk_index = _row_plan(model, alias)
    if values[pk_index] is None:  # LEFT JOIN found nothing
        return None
    for i, (expression, field_converters) in enumerate(converters):
        for converter in field_converters:
            values[i] = converter(values[i], expression, connection)
    return model.from_db(connection.alias, attnames, values)


def load_token(key: str) -> Token | None:
    """The token with its user (and switch account and facility, or None) in one query."""
    row = fetchone_prepared(_lookup_sql(), {"key": key})
    if row is None:
        return None
    instances, start = [], 0
    for model, alias in _JOINED:
        width = len(model._meta.concrete_fields)
        instances.append(_instance(model, alias, list(row[start : start + width])))
        start += width
    token, user, account, facility = instances
    token.user = user
    if account is not None:
        account.facility = facility
        account.user = user
    # Cache the reverse one-to-one too (None included): no second query for `switch_account`.
    cast(Any, User._meta.get_field("switch_account")).set_cached_value(user, account)
    return cast(Token, token)


class TokenAuthentication(DRFTokenAuthentication):
    """DRF's token authentication in one query: the user and, for a switch, its service
    account and facility come with the token (call setup is on the hot path)."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        token = load_token(key)
        if token is None:
            # Counted per source and minute, not one event each: a flood must not flood the trail.
            with transaction.atomic():
                auth_rejection_record(
                    source=context.client_ip.get() or "unknown",
                    reason="unknown_token",
                    details={
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
