from apps.common.errors import ConflictError, DomainError


class PrivilegedCallError(DomainError):
    """I1: audio of a privileged call is refused before any byte reaches storage."""

    status_code = 403
    reason = "privileged"
    default_message = "This call is privileged; its audio is never stored."


class RecordingExistsError(ConflictError):
    reason = "recording_exists"
    default_message = "This call already has a recording."


class ChecksumMismatchError(DomainError):
    reason = "checksum_mismatch"
    default_message = "The body does not match the Content-SHA256 header."


class InvalidChecksumHeaderError(DomainError):
    reason = "invalid_checksum_header"
    default_message = "Content-SHA256 must be 64 hexadecimal characters."


class EmptyRecordingError(DomainError):
    reason = "empty_body"
    default_message = "The recording body is empty."


class IncompleteBodyError(DomainError):
    reason = "incomplete_body"
    default_message = "The body ended before Content-Length bytes arrived; nothing was stored. Send it again."


class InvalidContentLengthError(DomainError):
    reason = "invalid_content_length"
    default_message = "Content-Length must be a non-negative integer."


class ChecksumRequiredError(DomainError):
    reason = "checksum_required"
    default_message = (
        "Send the SHA-256 of the audio in the Content-SHA256 header (64 hexadecimal characters)."
    )


class RecordingTooLargeError(DomainError):
    status_code = 413
    reason = "too_large"
    default_message = "The recording is larger than the configured limit."


class UnsupportedAudioTypeError(DomainError):
    status_code = 415
    reason = "unsupported_media_type"
    default_message = "Recordings must be sent with an audio/* Content-Type."


class StorageUnavailableError(DomainError):
    status_code = 503
    reason = "storage_unavailable"
    default_message = "Recording storage is unavailable; retry later. Nothing was stored."


class RecordingIntegrityError(Exception):
    """Stored bytes do not authenticate or do not match their SHA-256: never served.

    Internal (its message names storage keys); answered as IntegrityFailedError."""


class IntegrityFailedError(DomainError):
    """A stored object failed verification before anything was sent: our side, not the
    caller's (502: storage answered with bytes that are not what we wrote)."""

    status_code = 502
    reason = "integrity_failed"
    default_message = (
        "The stored recording failed its integrity check; nothing was sent. Operators are alerted."
    )


class ReleaseRefusedError(ConflictError):
    reason = "privileged_number"
    default_message = "The call is to a verified attorney number: its recording can only be purged."
