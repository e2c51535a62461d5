from apps.common.errors import ConflictError, DomainError


class QuotaExceededError(DomainError):
    status_code = 429
    reason = "quota_exceeded"
    default_message = "You have reached your access quota; it is counted over a rolling window."


class SelfApprovalError(DomainError):
    status_code = 403
    reason = "self_approval"
    default_message = "An export must be approved by a different person."


class ExportStateError(ConflictError):
    reason = "export_state"
    default_message = "The export is not in a state that allows this."


class ExportTooLargeError(DomainError):
    reason = "export_too_large"
    default_message = "Too many recordings in one export request."


class ExportRevokedError(ConflictError):
    reason = "export_revoked"
    default_message = (
        "This export was revoked because your access to its recordings changed; its package was "
        "destroyed. Request the export again if you still need it."
    )


class ExportReasonRequiredError(DomainError):
    reason = "reason_required"
    default_message = "Write why the export is rejected; the requester reads it."
