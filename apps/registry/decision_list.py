"""The switches' signed, versioned decision list (issue 11, section 2: "switches that must decide
without us"). The format is pinned in the README ("Switches: the decision list").

What a list covers is the registry's one rule, not a second one: every registration
``REGISTRATION_COVERS_SQL`` says covers now, global or for one facility, and every inmate claim
``CLAIM_COVERS_SQL`` says makes its number privileged for its facility (apps/registry/
privilege.py), exactly the two halves of ``DECISION_SQL`` that make a call privileged. A
facility's switch gets the global entries and its own facility's.

Versions: ``decision_list_publish`` compares the covered set with the entries alive at the
latest version and publishes a new version only if it differs (beat runs it every minute, and
every fetch runs it first, so a fetch never serves a set older than the registry).

Entries are ``HMAC-SHA256(key, E.164)``, never numbers: a leaked list alone names nobody. The
key is derived with HKDF from DECISION_LIST_KEY, the version and the facility, and travels with
the list over the switch's authenticated channel. Honest limit: whoever holds a list *and* its
key can test guesses (E.164 numbers are few enough to try them all), so the key is as secret as
the switch's token; the per-version, per-facility key only keeps one leak from opening other
versions or other facilities' lists, and keeps lists from being linked across facilities.

A full list is hashed under its own version's key. A delta since N is hashed under the key the
switch already holds (``key_version``, by default N), so it applies to the switch's copy without
re-hashing; its key then rotates at the next full fetch, which DECISION_LIST_DELTA_MAX_AGE_SECONDS
forces (older bases answer 410 ``full_required``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit import signing
from apps.audit.canonical import canonical_bytes, format_time
from apps.audit.services import record_event
from apps.common.errors import DomainError
from apps.common.locks import advisory_xact_lock
from apps.facilities.models import Facility
from apps.registry.models import DecisionListEntry, DecisionListVersion
from apps.registry.privilege import CLAIM_COVERS_SQL, REGISTRATION_COVERS_SQL

FORMAT = "callplatform.decision-list/1"
FALLBACK = "do_not_record"
HASH = "HMAC-SHA256(key, UTF-8 E.164 number), lowercase hex"
# Left out of the signed bytes: the HMAC key (so a verifier needs only the public key, and a
# switch may keep the key apart from the list) and the signature itself.
UNSIGNED_FIELDS = ("hmac_key", "signature")

# (number, facility id or NULL) of everything that makes a call privileged right now.
COVERED_SQL = (
    "SELECT e.number, e.facility_id FROM registry_exemptnumber e WHERE "  # noqa: S608 - constant SQL
    + REGISTRATION_COVERS_SQL.format(at="%(at)s")
    + " UNION SELECT c.number, c.facility_id FROM registry_inmateclaim c WHERE "
    + CLAIM_COVERS_SQL
)


class BadSinceError(DomainError):
    reason = "bad_since"
    default_message = "since must be a published list version (a positive integer)."


class UnknownVersionError(DomainError):
    reason = "unknown_version"
    default_message = "That list version has not been published."


class FullRequiredError(DomainError):
    """The delta cannot be produced (base or key too old): fetch the full list."""

    status_code = 410
    reason = "full_required"
    default_message = "This version is too old for a delta; fetch the full list (no since)."


Entry = tuple[str, int | None]


def covered_now(at: datetime) -> set[Entry]:
    with connection.cursor() as cursor:
        cursor.execute(COVERED_SQL, {"at": connection.ops.adapt_datetimefield_value(at)})
        return {(number, facility_id) for number, facility_id in cursor.fetchall()}


def latest_version() -> DecisionListVersion | None:
    return DecisionListVersion.objects.order_by("-number").first()


def decision_list_publish(*, now: datetime | None = None) -> DecisionListVersion:
    """Publish a new version if the covered set changed since the latest one; return the
    latest version either way (the first call publishes version 1, empty or not)."""
    with transaction.atomic():
        # Two publishers (beat and a fetch) must not both number the same change.
        advisory_xact_lock("decision-list", "publish")
        now = now or timezone.now()
        latest = latest_version()
        alive = {
            (number, facility_id): pk
            for pk, number, facility_id in DecisionListEntry.objects.filter(
                removed_in__isnull=True
            ).values_list("pk", "number", "facility_id")
        }
        covered = covered_now(now)
        if latest is not None and covered == set(alive):
            return latest
        number = (latest.number if latest else 0) + 1
        removed = [pk for entry, pk in alive.items() if entry not in covered]
        added = sorted(covered - set(alive), key=lambda e: (e[0], e[1] or 0))
        for start in range(0, len(removed), 500):
            DecisionListEntry.objects.filter(pk__in=removed[start : start + 500]).update(removed_in=number)
        DecisionListEntry.objects.bulk_create(
            [DecisionListEntry(number=n, facility_id=f, added_in=number) for n, f in added], batch_size=1000
        )
        version = DecisionListVersion.objects.create(
            number=number, created_at=now, count=len(covered), added=len(added), removed=len(removed)
        )
        record_event(
            action="registry.decision_list_published",
            target=version,
            details={"version": number, "count": len(covered), "added": len(added), "removed": len(removed)},
        )
    return version


def version_key(*, version: int, facility_id: int) -> bytes:
    """The HMAC key of ``version``'s list for one facility (HKDF-SHA256 of DECISION_LIST_KEY)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"callplatform decision list v{version} facility {facility_id}".encode(),
    ).derive(settings.DECISION_LIST_KEY)


def entry_hash(key: bytes, number: str) -> str:
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def key_fingerprint(key: bytes) -> str:
    """Names a key without revealing it (the switch checks it holds the key a delta needs)."""
    return hashlib.sha256(b"decision-list-key-id:" + key).hexdigest()[:16]


def _in_scope(facility_id: int) -> Q:
    return Q(facility__isnull=True) | Q(facility_id=facility_id)


def _alive_at(version: int) -> Q:
    return Q(added_in__lte=version) & (Q(removed_in__isnull=True) | Q(removed_in__gt=version))


def numbers_at(*, version: int, facility_id: int) -> set[str]:
    """The numbers a facility's switch must not record at ``version``."""
    return set(
        DecisionListEntry.objects.filter(_in_scope(facility_id), _alive_at(version)).values_list(
            "number", flat=True
        )
    )


def changes_between(*, since: int, version: int, facility_id: int) -> tuple[set[str], set[str]]:
    """(added, removed) numbers of a facility's list from ``since`` to ``version``.

    Only numbers with an entry that changed in between can differ; a number covered both
    globally and for the facility stays on the list while either entry lives.
    """
    changed = Q(added_in__gt=since, added_in__lte=version) | Q(removed_in__gt=since, removed_in__lte=version)
    touched = set(
        DecisionListEntry.objects.filter(_in_scope(facility_id), changed).values_list("number", flat=True)
    )
    before: set[str] = set()
    after: set[str] = set()
    rows = DecisionListEntry.objects.filter(_in_scope(facility_id), number__in=touched).values_list(
        "number", "added_in", "removed_in"
    )
    for number, added_in, removed_in in rows:
        if added_in <= since and (removed_in is None or removed_in > since):
            before.add(number)
        if added_in <= version and (removed_in is None or removed_in > version):
            after.add(number)
    return after - before, before - after


def first_change_after(*, held: int, facility_id: int) -> int | None:
    """The first version after ``held`` that changed the facility's entries (None: the list
    at ``held`` is still current). Drift is measured from it (apps/registry/drift.py)."""
    firsts = [
        DecisionListEntry.objects.filter(_in_scope(facility_id), **{f"{field}__gt": held})
        .order_by(field)
        .values_list(field, flat=True)
        .first()
        for field in ("added_in", "removed_in")
    ]
    candidates = [v for v in firsts if v is not None]
    return min(candidates) if candidates else None


@dataclass(frozen=True)
class ListRequest:
    """A switch's request: full (``since`` None) or a delta from ``since`` under ``key_version``."""

    since: int | None = None
    key_version: int | None = None


def _base(version_number: int, *, latest: DecisionListVersion, now: datetime, what: str) -> None:
    """Refuse a delta base (or key) that is unknown or too old."""
    if version_number > latest.number:
        raise UnknownVersionError(
            f"{what} {version_number} is newer than the latest version {latest.number}."
        )
    created = (
        DecisionListVersion.objects.filter(number=version_number).values_list("created_at", flat=True).first()
    )
    if created is None:
        raise UnknownVersionError(f"{what} {version_number} was never published.")
    if now - created > timedelta(seconds=settings.DECISION_LIST_DELTA_MAX_AGE_SECONDS):
        raise FullRequiredError(
            f"{what} {version_number} is older than DECISION_LIST_DELTA_MAX_AGE_SECONDS; fetch the full list."
        )


def decision_list_body(*, facility: Facility, request: ListRequest, now: datetime) -> dict[str, Any]:
    """The signed answer for one facility's switch (the README pins every field)."""
    latest = decision_list_publish(now=now)
    since, key_version = request.since, request.key_version
    if since is None and key_version is not None:
        raise BadSinceError("key_version only goes with since (a delta).")
    if since is not None:
        _base(since, latest=latest, now=now, what="since")
        key_version = since if key_version is None else key_version
        if key_version > since:
            raise BadSinceError("key_version must not be newer than since (the key you already hold).")
        if key_version != since:
            _base(key_version, latest=latest, now=now, what="key_version")
    else:
        key_version = latest.number
    key = version_key(version=key_version, facility_id=facility.pk)
    current = numbers_at(version=latest.number, facility_id=facility.pk)
    hashes_now = sorted(entry_hash(key, number) for number in current)
    body: dict[str, Any] = {
        "format": FORMAT,
        "kind": "full" if since is None else "delta",
        "facility": facility.code,
        "version": latest.number,
        "published_at": format_time(latest.created_at),
        "since": since,
        "key_version": key_version,
        "key_id": key_fingerprint(key),
        "hash": HASH,
        "issued_at": format_time(now),
        "expires_at": format_time(now + timedelta(seconds=settings.DECISION_LIST_VALID_FOR_SECONDS)),
        "fallback": FALLBACK,
        "count": len(hashes_now),
        "entries_sha256": hashlib.sha256("\n".join(hashes_now).encode()).hexdigest(),
        "signing_key_id": signing.key_id(signing.public_key_bytes()),
    }
    if since is None:
        body["entries"] = hashes_now
    else:
        added, removed = changes_between(since=since, version=latest.number, facility_id=facility.pk)
        body["added"] = sorted(entry_hash(key, number) for number in added)
        body["removed"] = sorted(entry_hash(key, number) for number in removed)
    body["signature"] = signing.sign(signed_bytes(body))
    body["hmac_key"] = base64.b64encode(key).decode()
    return body


def signed_bytes(body: dict[str, Any]) -> bytes:
    """The exact bytes the signature covers: the compact, key-sorted ASCII JSON of the body
    without ``hmac_key`` and ``signature``."""
    return canonical_bytes({k: v for k, v in body.items() if k not in UNSIGNED_FIELDS})


def decision_list_signature_valid(body: dict[str, Any], *, public_key: bytes) -> bool:
    """Offline check a switch (or anyone) can run with the public key alone."""
    return signing.verify_signature(
        public_key=public_key, payload=signed_bytes(body), signature_b64=str(body.get("signature", ""))
    )
