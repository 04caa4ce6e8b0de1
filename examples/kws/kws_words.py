"""Synthetic spoken words for the keyword-spotting example: Debian's espeak-ng speaks each
word with a drawn voice (accent and variant), speed and pitch; the speech is resampled
to 16 kHz mono, placed at a random offset in a 1 s window, scaled, and mixed with noise
at a drawn signal-to-noise ratio. The words are synthetic: a model trained on them
recognises espeak-ng's voices, not necessarily a person's.

    from kws_words import CLASSES, make_clips
    x, y = make_clips(per_class=150, seed=1)   # float32 (n, 16000) in [-1, 1], int labels

Deterministic: the same seed gives the same clips (espeak-ng's output for given
arguments is fixed; the draws come from one seeded NumPy generator). Needs the
``espeak-ng`` program (apt-get install espeak-ng) and SciPy.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

RATE_HZ = 16000
WINDOW = RATE_HZ  # one second
ESPEAK_RATE_HZ = 22050  # what espeak-ng writes; 16000 / 22050 = 320 / 441

KEYWORDS = ("yes", "no", "up", "down", "left", "right")
SILENCE, UNKNOWN = "silence", "unknown"
CLASSES = (SILENCE, UNKNOWN) + KEYWORDS  # label i is CLASSES[i]
# Words that are none of the keywords; the held-out clips draw from the same list.
UNKNOWN_WORDS = ("go", "stop", "on", "off", "one", "two", "three", "four", "five", "six",
                 "seven", "eight", "nine", "zero", "cat", "dog", "bird", "bed", "house",
                 "tree", "wow", "happy", "learn", "follow", "forward", "backward", "visual",
                 "marvin", "sheila", "yesterday", "note", "upon", "light", "night", "town")

# espeak-ng's own English voices (not the mbrola ones, which need another package) and
# voice variants: male, female, and a few odd timbres.
VOICES = ("en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
          "en-029", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "croak", "klatt", "klatt2", "klatt3", "whisper", "Andy", "Annie", "grandma",
            "grandpa", "john", "linda", "max", "paul")
SPEEDS = (110, 200)  # words per minute, drawn uniformly (espeak-ng -s; its default 175)
PITCHES = (15, 85)  # 0..99 (espeak-ng -p; default 50)
SNR_DB = (None, 30.0, 20.0, 10.0, 5.0)  # None: no noise added


class MissingEspeak(RuntimeError):
    """espeak-ng is not installed."""


def espeak_path() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise MissingEspeak("espeak-ng is missing: apt-get install espeak-ng")
    return path


def espeak_version() -> str:
    """espeak-ng's version, e.g. "1.51" (its output can change between versions)."""
    out = subprocess.run([espeak_path(), "--version"], capture_output=True, text=True).stdout
    return out.split("text-to-speech:")[-1].split()[0] if "text-to-speech:" in out else out.strip()


@dataclass(frozen=True)
class Utterance:
    word: str
    voice: str
    variant: str
    speed: int
    pitch: int

    def args(self) -> list[str]:
        return ["-v", f"{self.voice}+{self.variant}", "-s", str(self.speed), "-p",
                str(self.pitch)]


def speak(u: Utterance) -> np.ndarray:
    """espeak-ng's speech of the word at 16 kHz, float32 in [-1, 1), silence trimmed."""
    from scipy.signal import resample_poly

    out = subprocess.run([espeak_path(), *u.args(), "--stdout", u.word], capture_output=True,
                         check=True).stdout
    with wave.open(io.BytesIO(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (ESPEAK_RATE_HZ, 1, 2)
    # espeak-ng writing to a pipe cannot seek back to fill in the sizes: the samples are
    # everything after the "data" chunk's header.
    start = out.index(b"data") + 8
    pcm = np.frombuffer(out[start:len(out) - (len(out) - start) % 2], "<i2")
    x = resample_poly(pcm.astype(np.float64) / 32768.0, 320, 441)
    loud = np.flatnonzero(np.abs(x) > 0.02 * np.max(np.abs(x)))
    return x[loud[0]:loud[-1] + 1] if len(loud) else x[:0]


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """White, pink (1/f power) or brown (1/f^2) noise, unit RMS."""
    kind = rng.integers(3)
    white = rng.standard_normal(n)
    if kind == 0:
        noise = white
    else:
        spectrum = np.fft.rfft(white)
        f = np.arange(len(spectrum), dtype=np.float64)
        f[0] = 1.0
        spectrum /= f ** (0.5 * kind)
        spectrum[0] = 0.0
        noise = np.fft.irfft(spectrum, n)
    return noise / np.sqrt(np.mean(noise ** 2))


def _place(rng: np.random.Generator, speech: np.ndarray) -> np.ndarray:
    """The speech at a random offset in a 1 s window (its middle second if longer)."""
    window = np.zeros(WINDOW)
    if len(speech) >= WINDOW:
        start = (len(speech) - WINDOW) // 2
        return speech[start:start + WINDOW].copy()
    offset = int(rng.integers(0, WINDOW - len(speech) + 1))
    window[offset:offset + len(speech)] = speech
    return window


def _clip(rng: np.random.Generator, speech: np.ndarray | None) -> np.ndarray:
    """One 1 s window: the speech placed, scaled to a drawn peak, plus noise at a drawn
    SNR; silence (speech None) is noise alone at a drawn level, sometimes none."""
    if speech is None:
        level = float(rng.choice([0.0, 0.001, 0.003, 0.01, 0.03, 0.1]))
        x = level * _noise(rng, WINDOW)
    else:
        x = _place(rng, speech)
        gain = rng.uniform(0.1, 0.9) / max(np.max(np.abs(x)), 1e-9)
        x *= gain
        snr = SNR_DB[rng.integers(len(SNR_DB))]
        if snr is not None:  # relative to the word's RMS (over the word, not the second)
            rms = gain * np.sqrt(np.mean(speech ** 2))
            x += rms * 10 ** (-snr / 20) * _noise(rng, WINDOW)
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def _draw_utterance(rng: np.random.Generator, word: str) -> Utterance:
    return Utterance(word, VOICES[rng.integers(len(VOICES))],
                     VARIANTS[rng.integers(len(VARIANTS))],
                     int(rng.integers(SPEEDS[0], SPEEDS[1] + 1)),
                     int(rng.integers(PITCHES[0], PITCHES[1] + 1)))


def make_clips(per_class: int, seed: int, threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` clips of each class of CLASSES: float32 ``(n, 16000)`` windows and
    their labels (indices into CLASSES), in a seeded random order."""
    rng = np.random.default_rng(seed)
    labels, utterances = [], []
    for label, name in enumerate(CLASSES):
        for _ in range(per_class):
            labels.append(label)
            if name == SILENCE:
                utterances.append(None)
            else:
                word = UNKNOWN_WORDS[rng.integers(len(UNKNOWN_WORDS))] if name == UNKNOWN else name
                utterances.append(_draw_utterance(rng, word))
    espeak_path()
    with ThreadPoolExecutor(threads) as pool:
        speech = list(pool.map(lambda u: None if u is None else speak(u), utterances))
    x = np.stack([_clip(rng, s) for s in speech])
    order = rng.permutation(len(x))
    return x[order], np.asarray(labels, np.int64)[order]
