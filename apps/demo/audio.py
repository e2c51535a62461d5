"""Real, short, playable audio for the demo's uploads (issue 15, demo trap 2): a WAV of a
tone pattern made here, no download, so the portal's player plays what the demo recorded."""

from __future__ import annotations

import io
import math
import random
import struct
import wave

RATE = 8000  # telephone quality: 8 kHz, 16-bit mono (16 KiB a second)
# DTMF-like pairs, so that two recordings sound different and a listener hears a pattern.
TONES = ((697, 1209), (770, 1336), (852, 1477), (941, 1633), (697, 1477), (852, 1209))


def tone_pattern_wav(rng: random.Random, seconds: float | None = None) -> bytes:
    """A WAV of ``seconds`` (2 to 5 at random) of alternating tone pairs and short silences."""
    length = seconds if seconds is not None else rng.uniform(2.0, 5.0)
    pattern = [rng.choice(TONES) for _ in range(4)]
    beat = int(RATE * 0.25)
    frames = bytearray()
    for i in range(int(RATE * length)):
        low, high = pattern[(i // (2 * beat)) % len(pattern)]
        sounding = (i // beat) % 2 == 0
        value = 0.0
        if sounding:
            t = i / RATE
            value = 5000 * (math.sin(2 * math.pi * low * t) + math.sin(2 * math.pi * high * t))
        frames += struct.pack("<h", int(value))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(bytes(frames))
    return out.getvalue()
