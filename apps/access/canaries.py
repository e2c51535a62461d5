"""Canary records: planted calls and recordings that look ordinary and that no legitimate
workflow ever touches (no case is ever opened on their inmate). Any access is a hit."""

from __future__ import annotations

import io
import os
import uuid
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.access.models import Canary
from apps.calls.models import Call, Decision
from apps.facilities.models import Facility
from apps.inmates.models import Inmate
from apps.recordings.models import Recording
from apps.recordings.services import recording_store


def canaries_plant(*, facility: Facility, count: int, actor: User) -> list[Recording]:
    planted = []
    for _ in range(count):
        token = uuid.uuid4().hex[:8]
        with transaction.atomic():
            inmate = Inmate.objects.create(
                facility=facility, booking_number=f"C{token.upper()}", first_name="Jordan", last_name="Hale"
            )
            call = Call.objects.create(
                facility=facility,
                inmate=inmate,
                switch_call_id=f"cnry-{token}",
                dialed_number=f"+1555{int(token[:7], 16) % 10_000_000:07d}",
                started_at=timezone.now() - timedelta(days=3),
                decision=Decision.RECORD,
                reason="not_exempt",
            )
        audio = os.urandom(4096)
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
