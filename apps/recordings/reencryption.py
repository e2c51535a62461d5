"""Rewriting recordings stored before the chunked format (v1) as v2, one at a time.

v1 objects stay readable (``legacy`` verifies the whole object before releasing any byte), but
each read costs two reads of the object and a v1 object on S3 is vouched for only by our
SHA-256. ``manage.py reencrypt_recordings`` moves them to v2 for good. Each recording gets a new
storage key and a fresh data key (a data key never seals two objects); the row is switched to
the new object under its row lock, and the old object is deleted only after that commits. A
crash leaves at worst an object without a row, which ``reconcile_storage`` removes.
"""

from __future__ import annotations

import logging
import tempfile

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from apps.audit.services import record_event
from apps.recordings import crypto
from apps.recordings.models import Recording
from apps.recordings.services import new_storage_key, recording_plaintext
from apps.recordings.storage import CHUNK_SIZE, LocalDiskStorage, S3Storage, get_storage

logger = logging.getLogger(__name__)
LEGACY_FORMATS = (LocalDiskStorage.LEGACY_ENCRYPTION, S3Storage.LEGACY_ENCRYPTION)


def recordings_in_legacy_format() -> QuerySet[Recording]:
    """Every unpurged recording of the configured backend still in a v1 format."""
    return Recording.objects.filter(
        encryption__in=LEGACY_FORMATS, wrapped_key__isnull=False, storage_backend=get_storage().name
    ).order_by("pk")


def recording_reencrypt(*, recording: Recording, actor: User) -> bool:
    """Rewrite one v1 recording as v2; False if it changed meanwhile (purged, rewritten).

    The plaintext is verified (GCM tag or SHA-256) before it is sealed again, so a damaged
    object is never laundered into an authenticated one: it raises RecordingIntegrityError
    (audited as ``recording.integrity_failed``) and stays as it was.
    """
    storage = get_storage()
    old_key, old_format = recording.storage_key, recording.encryption
    new_key, data_key = new_storage_key(), crypto.new_data_key()
    with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK_SIZE) as spool:
        for chunk in recording_plaintext(recording=recording, actor=actor):
            spool.write(chunk)
        size = spool.tell()
        spool.seek(0)
        storage.put(new_key, spool, size=size, data_key=data_key)
    try:
        with transaction.atomic():
            current = Recording.objects.select_for_update().get(pk=recording.pk)
            if current.storage_key != old_key or current.wrapped_key is None:
                transaction.on_commit(lambda: storage.delete(new_key))
                return False
            current.storage_key = new_key
            current.encryption = storage.encryption
            current.wrapped_key = crypto.wrap_data_key(data_key, storage_key=new_key)
            current.save(update_fields=["storage_key", "encryption", "wrapped_key"])
            record_event(
                action="recording.reencrypted",
                actor=actor,
                target=current,
                facility_id=current.facility_id,
                details={"from": old_format, "to": storage.encryption, "sha256": current.sha256},
            )
            transaction.on_commit(lambda: storage.delete(old_key))
    except BaseException:
        storage.delete(new_key)
        raise
    return True
