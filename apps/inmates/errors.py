from apps.common.errors import DomainError


class GrantError(DomainError):
    reason = "invalid_grant"
    default_message = "The grant is invalid."


class InvestigatorNotAssignedError(GrantError):
    """One answer for every username that cannot take a grant (unknown, suspended or inactive,
    not on this facility's staff), so grant creation reveals nothing about accounts."""

    reason = "investigator_not_assigned"
    default_message = "No grantable staff member with that username in this facility."


class SelfGrantError(GrantError):
    reason = "self_grant"
    default_message = "Nobody may grant themselves access."
