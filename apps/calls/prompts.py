"""What the caller was told, for evidence (issue 11, section 7): the one function the exposure
report (section 4) and any other account of a call use, so "told" and "played" are read the
same way everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from apps.calls.models import Call
from apps.facilities.models import PromptText


@dataclass(frozen=True)
class PromptSeen:
    id: int
    kind: str
    version: int
    text: str

    @classmethod
    def of(cls, prompt: PromptText) -> PromptSeen:
        return cls(id=prompt.pk, kind=prompt.kind, version=prompt.version, text=prompt.text)

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "version": self.version, "text": self.text}


@dataclass(frozen=True)
class CallPrompt:
    """``told``: the prompt call setup named (None for calls older than prompts). ``played``:
    what the switch reported at the end (None when ``reported`` is false: not reported, which
    is not the same as "nothing played"). ``mismatch``: reported, and not what was named."""

    told: PromptSeen | None
    played: PromptSeen | None
    reported: bool
    reported_at: datetime | None
    mismatch: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "told": self.told.as_dict() if self.told else None,
            "played": self.played.as_dict() if self.played else None,
            "reported": self.reported,
            "reported_at": self.reported_at.isoformat() if self.reported_at else None,
            "mismatch": self.mismatch,
        }


def prompt_for_call(call: Call) -> CallPrompt:
    """The prompt ``call``'s caller was told to hear and the one the switch says played, with
    the exact text of each version (versions are append-only, so the text is the one heard).

    No permission check and no audit here: the caller (a report, a page) has already fetched
    ``call`` through ``restrict()`` and audits its own read. Select ``prompt`` and
    ``prompt_played`` related when calling this in a loop.
    """
    return CallPrompt(
        told=PromptSeen.of(call.prompt) if call.prompt is not None else None,
        played=PromptSeen.of(call.prompt_played) if call.prompt_played is not None else None,
        reported=call.prompt_reported_at is not None,
        reported_at=call.prompt_reported_at,
        mismatch=call.prompt_mismatch,
    )


# What a call row shows (list, detail, download): the prompt as "kind vN", no text. The kind is
# implied by the decision every row already shows, so this reveals nothing masked.
PROMPT_RELATED = ("prompt", "prompt_played")


def prompt_label(prompt: PromptText | None) -> str | None:
    return f"{prompt.kind} v{prompt.version}" if prompt is not None else None
