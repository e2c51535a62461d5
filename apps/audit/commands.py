"""Management commands act for a named person: ``--as USERNAME`` (required), checked for the
role the command needs, and recorded in the trail like any other act (I3).

A command that reads or changes protected data has no request and no login, so without this
its acts would be anonymous. Demo commands act as the named system actor ``system-demo``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from apps.audit.models import Outcome
from apps.audit.services import record_event

DEMO_ACTOR = "system-demo"


def add_actor_argument(parser: CommandParser, *, role: str) -> None:
    parser.add_argument(
        "--as",
        dest="actor",
        required=True,
        metavar="USERNAME",
        help=f"who runs the command ({role}); recorded in the audit trail",
    )


def command_actor(username: str, *, role: str, allowed: Callable[[User], bool]) -> User:
    """The active user named by ``--as``, if ``allowed``; a clear CommandError otherwise."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"no active user {username!r}: --as must name the person running the command")
    if not allowed(user):
        raise CommandError(f"{username!r} may not run this command: it needs a {role}")
    return user


def holds_role(user: User, role: str) -> bool:
    """Membership of the role's group itself (no superuser shortcut, as for unmasking)."""
    return user.groups.filter(name=role).exists()


def demo_actor() -> User:
    """The named system actor of the demo commands (cannot log in)."""
    user, _ = User.objects.get_or_create(username=DEMO_ACTOR, defaults={"is_active": False})
    return user


def record_command(
    *,
    command: str,
    actor: User,
    facility_id: int | None = None,
    outcome: str = Outcome.SUCCESS,
    **details: Any,
) -> None:
    """One ``command.run`` event for a command's act, in its own transaction."""
    with transaction.atomic():
        record_event(
            action="command.run",
            actor=actor,
            outcome=outcome,
            target_type="command",
            target_id=command,
            facility_id=facility_id,
            details={"command": command, **details},
        )
