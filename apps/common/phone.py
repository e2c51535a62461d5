"""Phone numbers: the one place where user-, attorney- and switch-supplied numbers become E.164.

Every comparison of numbers in the platform happens between E.164 strings produced here, so
"(212) 555-0101", "212.555.0101", "+1 212 555 0101", "1-212-555-0101" and "+12125550101" are
one number. Defined behaviour for the edge cases:

* National formats are read in the caller's region (the facility's, or the default region).
* Vanity letters are translated with the standard keypad ("1-800-FLOWERS" is +18003569377),
  because that is what the switch actually dials.
* An extension ("ext. 23", "x23", "#7") is dropped: the exemption covers the whole line. The
  switch dials the line, extensions are keyed afterwards, so a privileged call to any
  extension must still be matched. Over-exempting a law office is the safe side.
* Anything that is not a *possible* number for its country is refused with a reason, never
  guessed. We check "possible" (length and country code), not "valid" (number ranges in the
  library's metadata), so that a newly issued mobile range is never refused.
"""

from __future__ import annotations

import phonenumbers

from apps.common.errors import InvalidPhoneNumberError

MAX_INPUT_LENGTH = 40


def normalize_phone_number(raw: str, region: str = "US") -> str:
    """Return ``raw`` in E.164, or raise InvalidPhoneNumberError with a reason."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhoneNumberError("A phone number is required.")
    text = raw.strip()
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidPhoneNumberError(f"A phone number has at most {MAX_INPUT_LENGTH} characters.")
    if not text.isprintable():
        raise InvalidPhoneNumberError("The phone number contains control characters.")
    try:
        parsed = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumberError(f"'{text}' is not a phone number: {exc._msg}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumberError(f"'{text}' is not a possible phone number for region {region.upper()}.")
    parsed.extension = None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_supported_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


def display_phone_number(number: str, region: str = "US") -> str:
    """An E.164 number as people of ``region`` write it: national format for a number of that
    region ("(212) 555-0101"), international for any other ("+44 20 7946 0958"). Anything
    that does not parse (a masked value, a keyed reference) is returned unchanged."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    own = phonenumbers.region_code_for_number(parsed) == region.upper()
    style = phonenumbers.PhoneNumberFormat.NATIONAL if own else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return str(phonenumbers.format_number(parsed, style))
