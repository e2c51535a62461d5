"""The demo uploads real audio (issue 15, demo trap 2): a WAV a player can decode."""

from __future__ import annotations

import io
import random
import wave

from apps.demo.audio import RATE, tone_pattern_wav


def test_the_demo_audio_is_a_decodable_wav_of_a_few_seconds() -> None:
    data = tone_pattern_wav(random.Random(3))
    with wave.open(io.BytesIO(data)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, RATE)
        frames = wav.readframes(wav.getnframes())
    assert 2.0 <= seconds <= 5.0
    assert any(frames[i] for i in range(0, 2000))  # not silence
    assert tone_pattern_wav(random.Random(3)) == data  # reproducible by its seed
    assert tone_pattern_wav(random.Random(4)) != data
