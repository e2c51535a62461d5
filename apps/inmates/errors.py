from apps.common.errors import DomainError


class GrantError(DomainError):
    reason = "invalid_grant"
    default_message = "The grant is invalid."


class InvestigatorNotAssignedError(GrantError):
    reason = "investigator_not_assigned"
    default_message = "The investigator is not assigned to this inmate's facility."


class SelfGrantError(GrantError):
    reason = "self_grant"
    default_message = "Nobody may grant themselves access."
