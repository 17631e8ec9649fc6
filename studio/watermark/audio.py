"""The audio watermark: two quiet noise patterns in the speech band, their offset carrying the payload.

Method (spread spectrum, in numpy/scipy):

- At a working rate of 16 kHz, two pseudo-random patterns of ``PERIOD`` samples (0.512 s), band-limited to
  300-3,400 Hz (what survives resampling to any common rate and lossy codecs), repeat for the whole clip: the
  sync pattern, and the payload pattern shifted against it by ``2 * payload`` samples. They are resampled to the
  clip's own rate and added under the music's own loudness (``STRENGTH_DB`` below its local RMS, following it
  every 32 ms), so quiet passages get a quieter mark.
- Reading resamples to 16 kHz, evens out the spectrum and the loudness (so gain and the music's colour do not
  matter), folds the clip onto one period (any 10 s excerpt holds 19 periods) and correlates circularly with each
  pattern: the peaks' heights say whether a mark is there; the distance between them is the payload, whatever
  excerpt was cut.
"""

from __future__ import annotations

import numpy as np

from studio.watermark.payload import PAYLOADS, Reading, seed_of

RATE = 16000
PERIOD = 8192  # samples at RATE; 2 * PAYLOADS fits in it
BAND_HZ = (300.0, 3400.0)
STRENGTH_DB = -26.0
FRAME = 512  # samples at RATE over which the loudness is followed
MIN_SECONDS = 2.0  # shorter clips hold too few periods to read back
LOOKS = 2 * PERIOD  # peak positions searched, for both patterns


def _patterns() -> tuple[np.ndarray, np.ndarray]:
    """The sync and payload patterns, (PERIOD,) each, band-limited, unit RMS."""
    rng = np.random.default_rng(seed_of("audio-spread-spectrum"))
    freqs = np.fft.rfftfreq(PERIOD, 1 / RATE)
    keep = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    out = []
    for _ in range(2):
        spec = np.zeros(len(freqs), complex)
        spec[keep] = np.exp(2j * np.pi * rng.random(int(keep.sum())))  # flat in the band, random phases
        pat = np.fft.irfft(spec, PERIOD)
        out.append(pat / np.sqrt(np.mean(pat**2)))
    return out[0], out[1]


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    if src == dst:
        return x
    g = gcd(src, dst)
    return resample_poly(x, dst // g, src // g, axis=0)


def _envelope(x: np.ndarray, frame: int) -> np.ndarray:
    """Local RMS of (n,) ``x`` over ``frame`` samples, per sample, smoothed across frames."""
    n = len(x)
    frames = -(-n // frame)
    padded = np.zeros(frames * frame)
    padded[:n] = x
    rms = np.sqrt(np.mean(padded.reshape(frames, frame) ** 2, axis=1))
    rms = np.convolve(np.pad(rms, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    return np.repeat(rms, frame)[:n]


def mark_samples(audio: np.ndarray, rate: int, payload: int) -> np.ndarray:
    """(n, channels) float audio in [-1, 1] with ``payload`` marked in (deterministic)."""
    sync, data = _patterns()
    n16 = int(np.ceil(len(audio) * RATE / rate)) + PERIOD
    reps = -(-n16 // PERIOD)
    pattern = np.tile(sync, reps) + np.tile(np.roll(data, 2 * payload), reps)
    mark = _resample(pattern, RATE, rate)[: len(audio)] / np.sqrt(2)
    if len(mark) < len(audio):
        mark = np.pad(mark, (0, len(audio) - len(mark)))
    mono = audio.mean(axis=1)
    level = _envelope(mono, max(1, FRAME * rate // RATE)) * 10 ** (STRENGTH_DB / 20)
    return np.clip(audio + (mark * level)[:, None], -1.0, 1.0)


def read_samples(audio: np.ndarray, rate: int) -> Reading:
    """The payload and score of (n, channels) float audio at ``rate``."""
    x = _resample(audio.mean(axis=1).astype(np.float64), rate, RATE)
    if len(x) < PERIOD * 2:
        return Reading(0, 0.0, LOOKS)
    spec = np.fft.rfft(x)
    x = np.fft.irfft(spec / (np.abs(spec) + 1e-12), len(x))  # a flat spectrum: the music's colour is gone
    x = x / (_envelope(x, FRAME) + 1e-12)  # an even loudness: quiet passages count as much as loud ones
    periods = len(x) // PERIOD
    folded = x[: periods * PERIOD].reshape(periods, PERIOD).sum(axis=0)
    f = np.fft.rfft(folded)
    sync, data = _patterns()
    scores = []
    for pat in (sync, data):
        corr = np.fft.irfft(f * np.conj(np.fft.rfft(pat)), PERIOD)
        z = (corr - corr.mean()) / (corr.std() + 1e-12)
        scores.append((_peak(z), float(z.max())))
    (at_sync, z_sync), (at_data, z_data) = scores
    shift = (at_data - at_sync) % PERIOD  # an excerpt cut mid-sample delays both peaks alike
    payload = round(shift / 2) % PAYLOADS
    return Reading(payload, min(z_sync, z_data), LOOKS)


def _peak(z: np.ndarray) -> float:
    """The position of the highest point of circular ``z``, to a fraction of a sample (a parabola through three)."""
    i = int(np.argmax(z))
    left, mid, right = z[i - 1], z[i], z[(i + 1) % len(z)]
    bend = left - 2 * mid + right
    return i + (0.5 * (left - right) / bend if bend < 0 else 0.0)
