"""Canary records: planted calls and recordings that no legitimate workflow ever touches (no
case is ever opened on their inmate). Any access is a hit, whether the record is opened on its
own or served as a row of a list, a table or a download (``apps.access.anomaly``).

A canary is worth only what it costs an insider to avoid it, so it must look like the
facility's own rows (issue 9): its booking number, account number and switch call id take the
shape of a recent real one with fresh digits, its inmate gets a name from a varied list, its
number is a valid number in an area the facility's calls really go to (never a 555 number), its
times and audio size are those of an ordinary call that has just ended. Its ids are whatever
the database gives at the moment of planting: planting at random moments between real calls
(``simulate_calls`` does; ``plant_canaries`` run at random times from cron does) puts them
among the real ids, not at the bottom.
"""

from __future__ import annotations

import io
import random
import re
import string
import struct
from collections.abc import Callable
from datetime import timedelta

import phonenumbers
from django.contrib.auth.models import User
from django.db import models, transaction
from django.utils import timezone

from apps.access.models import Canary
from apps.calls.models import Call, Decision
from apps.facilities.models import Facility
from apps.inmates.models import Inmate
from apps.recordings.models import Recording
from apps.recordings.services import recording_store
from apps.registry.models import ExemptNumber

FIRST_NAMES = (
    "Aaron Adriana Alicia Andre Angela Anthony Brandon Brenda Carlos Carmen Christopher Crystal "
    "Darnell Deborah Derek Diana Eduardo Erica Francisco Gloria Gregory Hector Isaac Jamal Janet "
    "Jerome Jorge Kenneth Keisha Latoya Luis Marcus Melissa Miguel Monique Nathan Omar Pamela "
    "Rafael Raymond Renee Ricardo Ronald Sandra Shawn Sonia Terrence Tyrone Vanessa Victor Wanda"
).split()
LAST_NAMES = (
    "Adams Alvarez Bailey Banks Bennett Brooks Bryant Campbell Castillo Coleman Cruz Diaz Edwards "
    "Ellis Evans Fisher Flores Ford Foster Gomez Graham Griffin Hayes Henderson Howard Jackson "
    "James Jenkins Kelly Kennedy Lewis Long Marshall Mendoza Mitchell Morales Murphy Myers Nguyen "
    "Ortiz Owens Parker Perez Powell Ramirez Reed Reyes Rivera Robinson Ross Russell Sanders "
    "Simmons Stewart Sullivan Torres Turner Vasquez Wallace Washington Watson Woods"
).split()
CANARY_MIN_AGE_DAYS, CANARY_MAX_AGE_DAYS = 21, 120
TEMPLATES = 50  # how many recent real rows a canary may take its shape from
ATTEMPTS = 100  # fresh values tried before giving up on uniqueness (a full number space)
_RUN = re.compile(r"[0-9A-Za-z]+")
_PREFIXED = re.compile(r"[A-Za-z]+[0-9]+")


class CanaryPlantingError(RuntimeError):
    pass


def canaries_plant(
    *, facility: Facility, count: int, actor: User, rng: random.Random | None = None
) -> list[Recording]:
    """Plant ``count`` canaries (inmate, call, recording) at ``facility``, through the same
    models and storage gate as real ones."""
    rng = rng or random.SystemRandom()
    planted = []
    for _ in range(count):
        duration = rng.randint(90, 900)
        # Weeks old, not just ended: a list ordered newest first (every default search) never
        # opens on a canary, so an honest first search cannot trip the rule; paging or a date
        # range reaching back in bulk does.
        ended_at = timezone.now() - timedelta(
            days=rng.randint(CANARY_MIN_AGE_DAYS, CANARY_MAX_AGE_DAYS), seconds=rng.randint(5, 86400)
        )
        with transaction.atomic():
            inmate = Inmate.objects.create(
                facility=facility,
                booking_number=_fresh(facility, Inmate, "booking_number", rng, _random_digits(8)),
                account_number=_shaped(facility, Inmate, "account_number", rng, default=""),
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
            )
            call = Call.objects.create(
                facility=facility,
                inmate=inmate,
                switch_call_id=_past_call_id(facility, rng),
                dialed_number=_dialed_number(facility, rng),
                started_at=ended_at - timedelta(seconds=duration),
                ended_at=ended_at,
                duration_seconds=duration,
                decision=Decision.RECORD,
                reason="not_exempt",
            )
        audio = _wav(_audio_size(facility, rng), rng)
        recording = recording_store(
            call=call,
            body=io.BytesIO(audio),
            content_type="audio/wav",
            content_length=len(audio),
            expected_sha256=None,
            actor=actor,
        )
        Canary.objects.bulk_create(
            [
                Canary(target_type="recordings.recording", target_id=str(recording.pk)),
                Canary(target_type="calls.call", target_id=str(call.pk)),
                Canary(target_type="inmates.inmate", target_id=str(inmate.pk)),
            ]
        )
        planted.append(recording)
    return planted


def mimic(template: str, rng: random.Random) -> str:
    """The same shape with fresh digits: letters that name a series ("HM", "sim", "ACCT") stay,
    digits are drawn anew (a leading non-zero stays non-zero), hex runs become fresh hex."""

    def fresh(match: re.Match[str]) -> str:
        run = match.group()
        if run.isalpha():
            return run
        if run.isdigit() or _PREFIXED.fullmatch(run) or not all(c in string.hexdigits for c in run):
            return _fresh_digits(run, rng)
        alphabet = string.hexdigits[:16] if run.lower() == run else "0123456789ABCDEF"
        return "".join(rng.choice(alphabet) for _ in run)

    return _RUN.sub(fresh, template)


def _fresh_digits(run: str, rng: random.Random) -> str:
    out, first = [], True
    for char in run:
        if char.isdigit():
            out.append(rng.choice("123456789" if first and char != "0" else "0123456789"))
            first = False
        else:
            out.append(char)
    return "".join(out)


def _random_digits(length: int) -> Callable[[random.Random], str]:
    return lambda rng: str(rng.randint(10 ** (length - 1), 10**length - 1))


def _templates(facility: Facility, model: type[models.Model], field: str) -> list[str]:
    planted = Canary.objects.filter(target_type=model._meta.label_lower).values_list("target_id", flat=True)
    rows = (
        model._default_manager.filter(facility=facility)
        .exclude(pk__in=[int(pk) for pk in planted])
        .exclude(**{field: ""})
        .order_by("-pk")
        .values_list(field, flat=True)[:TEMPLATES]
    )
    return [str(value) for value in rows]


def _shaped(
    facility: Facility, model: type[models.Model], field: str, rng: random.Random, default: str
) -> str:
    templates = _templates(facility, model, field)
    return mimic(rng.choice(templates), rng) if templates else default


def _fresh(
    facility: Facility,
    model: type[models.Model],
    field: str,
    rng: random.Random,
    fallback: Callable[[random.Random], str],
) -> str:
    """A value of the shape of the facility's own, unused at the facility (the field is unique
    per facility, and a switch must never meet a canary's id with a real call)."""
    templates = _templates(facility, model, field)
    for _ in range(ATTEMPTS):
        value = mimic(rng.choice(templates), rng) if templates else fallback(rng)
        if not model._default_manager.filter(facility=facility, **{field: value}).exists():
            return value
    raise CanaryPlantingError(f"no unused {field} of the facility's shape could be found")


def _digits_key(value: str) -> int:
    return int("".join(ch for ch in value if ch.isdigit()) or "0")


def _past_call_id(facility: Facility, rng: random.Random) -> str:
    """A switch call id of the facility's shape that the switch will not send next.

    Switches number their calls upward, so an id shaped like the recent ones but above them is
    one a real call may soon carry: the switch would meet the canary (a 409 on a real call, and
    a canary revealed). A canary therefore takes an id below all the recent ones (the switch's
    past), unused; when the shape leaves no room there (a short sequence), a random hex id."""
    templates = _templates(facility, Call, "switch_call_id")
    floor = min((_digits_key(t) for t in templates), default=0)
    for _ in range(ATTEMPTS):
        if not templates:
            break
        value = mimic(rng.choice(templates), rng)
        if (
            _digits_key(value) < floor
            and not Call.objects.filter(facility=facility, switch_call_id=value).exists()
        ):
            return value
    for _ in range(ATTEMPTS):
        value = f"{rng.getrandbits(64):016x}"
        if not Call.objects.filter(facility=facility, switch_call_id=value).exists():
            return value
    raise CanaryPlantingError("no unused switch call id could be found")


def _dialed_number(facility: Facility, rng: random.Random) -> str:
    """A valid number in an area the facility's calls go to, with a fresh subscriber part;
    never a fictional 555 exchange, never a registered number."""
    recent = list(
        Call.objects.filter(facility=facility, privileged=False, synthetic=False)
        .order_by("-pk")
        .values_list("dialed_number", flat=True)[:TEMPLATES]
    )
    region = facility.phone_region or "US"
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    templates = recent or (
        [phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)] if example else []
    )
    for _ in range(ATTEMPTS):
        template = phonenumbers.parse(rng.choice(templates))
        national = phonenumbers.national_significant_number(template)
        keep = 3 if template.country_code == 1 else len(national) // 2
        tail = "".join(rng.choice("0123456789") for _ in national[keep:])
        if template.country_code == 1:
            tail = rng.choice("23456789") + tail[1:]
            if tail.startswith("555"):
                continue
        number = phonenumbers.parse(f"+{template.country_code}{national[:keep]}{tail}")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number) and not ExemptNumber.objects.filter(number=e164).exists():
            return e164
    raise CanaryPlantingError("no valid number could be drawn for the facility")


def _audio_size(facility: Facility, rng: random.Random) -> int:
    sizes = list(
        Recording.objects.filter(call__facility=facility)
        .order_by("-pk")
        .values_list("size_bytes", flat=True)[:TEMPLATES]
    )
    size = rng.choice(sizes) if sizes else rng.randint(8, 64) * 1024
    return max(1024, int(size * rng.uniform(0.8, 1.2)))


def _wav(size: int, rng: random.Random) -> bytes:
    """A WAV file of ``size`` bytes (8 kHz, 16-bit mono, low noise): what a switch uploads."""
    frames = bytes(b & 0x0F for b in rng.randbytes(max(0, size - 44)))
    header = b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", len(frames))
    return header + frames
