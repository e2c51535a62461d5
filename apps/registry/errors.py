from apps.common.errors import ConflictError, DomainError


class AlreadyRegisteredError(ConflictError):
    reason = "already_registered"
    default_message = "You already have a live registration of this number."


class NumberHeldByAnotherAttorneyError(ConflictError):
    reason = "verified_for_another_attorney"
    default_message = "This number is already verified for another attorney."


class IllegalTransitionError(ConflictError):
    reason = "illegal_transition"
    default_message = "The registration is not in a state that allows this."


class RateLimitedError(DomainError):
    status_code = 429
    reason = "rate_limited"
    default_message = "Too many requests; try again later."


class ClaimRateLimitedError(RateLimitedError):
    reason = "claim_rate_limited"
    default_message = "Too many inmate claims for this facility or inmate; try again later."


class FlagRateLimitedError(RateLimitedError):
    reason = "flag_rate_limited"
    default_message = "Too many flags in a short time; try again later or contact the registry."


class EffectiveUntilOutOfRangeError(DomainError):
    reason = "effective_until_out_of_range"
    default_message = "The end of the verification window is outside the allowed range."
