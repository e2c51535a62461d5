"""What each registration category must prove (issue 11, section 6), as data.

Every category is exempt: the privilege decision (apps.registry.privilege) never reads
``category``. The category decides only what the registrant states at registration (the
credential and who issued it, checked here: 400 ``category_credential_invalid``) and what a
registry clerk must have in front of them before verifying (a document, the attorney's claimed
bar number: 409 ``category_evidence_missing``). A rule is one ``EvidenceRule``; the two moments
read it through ``credential_clean`` and ``evidence_missing``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from apps.common.errors import ConflictError, DomainError
from apps.registry.models import Attorney, ExemptNumber, RegistrationCategory
from apps.registry.profiles import US_STATES, validate_bar

# A licence, accreditation or ordination reference: letters and digits, with - / . and spaces.
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]{1,47}$")
_ISSUER_TEXT = re.compile(r"^\S.{1,98}\S$")


class CategoryCredentialError(DomainError):
    reason = "category_credential_invalid"
    default_message = "The credential does not fit the registration's category."


class CategoryEvidenceMissingError(ConflictError):
    reason = "category_evidence_missing"
    default_message = "The evidence this category requires is missing."


@dataclass(frozen=True)
class EvidenceRule:
    """What one category proves. ``credential``/``issuer`` are the labels of the two fields
    (empty: the category states none, the attorney's claimed bar number is the credential);
    ``issuer_is_state``: the issuer is a US state or territory (two letters);
    ``document``: the paper a clerk must see (empty: none); ``check``: what the clerk checks."""

    category: str
    credential: str
    issuer: str
    issuer_is_state: bool
    document: str
    check: str
    credential_is_bar: bool = False


RULES: dict[str, EvidenceRule] = {
    RegistrationCategory.ATTORNEY: EvidenceRule(
        category=RegistrationCategory.ATTORNEY,
        credential="",
        issuer="",
        issuer_is_state=False,
        document="",
        check="The attorney's own bar number, claimed at sign-up: look it up with the state bar.",
    ),
    RegistrationCategory.DOCTOR: EvidenceRule(
        category=RegistrationCategory.DOCTOR,
        credential="Medical licence number",
        issuer="Issuing state",
        issuer_is_state=True,
        document="a copy of the medical licence, or a letter from the practice",
        check="Look the licence up with the issuing state's medical board; the name must match the letter.",
    ),
    RegistrationCategory.CLERGY: EvidenceRule(
        category=RegistrationCategory.CLERGY,
        credential="Ordination or endorsement reference",
        issuer="Endorsing body",
        issuer_is_state=False,
        document="a letter from the endorsing body",
        check="The letter must come from the endorsing body named and cite the reference.",
    ),
    RegistrationCategory.CONSULAR_OFFICER: EvidenceRule(
        category=RegistrationCategory.CONSULAR_OFFICER,
        credential="Consular accreditation id",
        issuer="Mission",
        issuer_is_state=False,
        document="a letter from the mission",
        check="Check the accreditation id with the State Department's consular list; the letter "
        "must be on the mission's letterhead.",
    ),
    RegistrationCategory.DEFENCE_SOCIAL_WORKER: EvidenceRule(
        category=RegistrationCategory.DEFENCE_SOCIAL_WORKER,
        credential="Bar number of the defence counsel of record",
        issuer="Counsel's bar state",
        issuer_is_state=True,
        document="the engagement letter from defence counsel",
        check="The engagement letter must be signed by the counsel of record whose bar number is "
        "given; check that bar number with the state bar.",
        credential_is_bar=True,
    ),
}


def rule_for(category: str) -> EvidenceRule:
    try:
        return RULES[category]
    except KeyError:
        raise CategoryCredentialError(
            f"Unknown category {category!r}; one of {', '.join(RegistrationCategory.values)}.",
            field="category",
        ) from None


def credential_clean(category: str, credential: str, issuer: str) -> tuple[str, str]:
    """The credential and issuer a registration of ``category`` stores, in canonical form, or
    CategoryCredentialError (400) naming what is wrong. An attorney states none: their claimed
    bar number is the credential, and a stray value is refused rather than stored unchecked."""
    rule = rule_for(category)
    credential, issuer = credential.strip(), issuer.strip()
    if not rule.credential:
        if credential or issuer:
            raise CategoryCredentialError(
                "An attorney's registration takes no credential: the bar number on the account is it.",
                field="credential",
            )
        return "", ""
    if not credential:
        raise CategoryCredentialError(f"{rule.credential} is required for this category.", field="credential")
    if not issuer:
        raise CategoryCredentialError(
            f"{rule.issuer} is required for this category.", field="credential_issuer"
        )
    if rule.credential_is_bar:
        try:
            issuer, credential = validate_bar(issuer, credential)
        except ValidationError as exc:
            message = "; ".join(m for ms in exc.message_dict.values() for m in ms)
            raise CategoryCredentialError(f"{rule.credential}: {message}", field="credential") from exc
        return credential, issuer
    if rule.issuer_is_state:
        issuer = issuer.upper()
        if issuer not in US_STATES:
            raise CategoryCredentialError(
                f"{rule.issuer} must be a US state or territory (two letters).", field="credential_issuer"
            )
    elif not _ISSUER_TEXT.match(issuer) or not issuer.isprintable():
        raise CategoryCredentialError(f"{rule.issuer}: 3 to 100 characters.", field="credential_issuer")
    if not _REFERENCE.match(credential):
        raise CategoryCredentialError(
            f"{rule.credential}: 2 to 48 letters, digits, spaces, dots, dashes or slashes.",
            field="credential",
        )
    return credential.upper(), issuer


def evidence_missing(exempt: ExemptNumber) -> list[str]:
    """What a clerk still lacks to verify ``exempt`` (empty: it may be verified)."""
    rule = rule_for(exempt.category)
    missing: list[str] = []
    if rule.credential and not (exempt.credential and exempt.credential_issuer):
        missing.append(rule.credential.lower())
    if not rule.credential and not exempt.attorney.bar_number:
        missing.append("the attorney's claimed bar number")
    if rule.document and not exempt.evidence.all():  # the clerk queue prefetches it
        missing.append(rule.document)
    return missing


def counsel_of_record(exempt: ExemptNumber) -> Attorney | None:
    """The registered attorney holding the bar number a defence social worker names, if any
    (shown to the clerk: counsel on the platform is one more thing to check against)."""
    if not rule_for(exempt.category).credential_is_bar or not exempt.credential:
        return None
    return Attorney.objects.filter(bar_state=exempt.credential_issuer, bar_number=exempt.credential).first()


def evidence_require(exempt: ExemptNumber) -> None:
    """Refuse (409) to verify a registration whose category's evidence is missing."""
    missing = evidence_missing(exempt)
    if missing:
        raise CategoryEvidenceMissingError(
            f"Cannot verify a {exempt.get_category_display().lower()} registration without "
            f"{' and '.join(missing)}.",
            category=exempt.category,
            missing=missing,
        )
