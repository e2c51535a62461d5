from apps.common.errors import ConflictError, DomainError


class UnknownInmateError(DomainError):
    reason = "unknown_inmate"
    default_message = "No inmate with that booking number at this facility."


class CallConflictError(ConflictError):
    reason = "switch_call_id_conflict"
    default_message = "This switch_call_id was already used for a different call."


class InvalidCallEndError(DomainError):
    reason = "invalid_end"
    default_message = "ended_at must not be before started_at."


class TooManyCallRowsError(DomainError):
    reason = "too_many_rows"
    default_message = "The search matches more calls than one download may hold; narrow it."


class UnknownPromptError(DomainError):
    """A prompt the facility does not have (another facility's is the same: not one of ours)."""

    reason = "unknown_prompt"
    default_message = "prompt_played names no prompt of this facility."


class PromptVersionError(DomainError):
    reason = "prompt_version_mismatch"
    default_message = "prompt_played.version is not the version of that prompt id."
