"""MusicGen through transformers: any checkpoint in transformers' layout (HF cache snapshot or ``--model-dir``).

``generate_musicgen`` runs, in order::

    1. check inputs     melody only for melody checkpoints; uploads decoded with clear errors
    2. plan chunks      the model's window (≤ 30 s); longer pieces continue from the last ``CONTEXT_S`` seconds
    3. generate         processor → ``model.generate`` per chunk, progress and Stop at every decoding step
    4. stitch + export  chunks joined (the audio prompt's echo dropped), WAV

Sampling inside ``generate`` draws from torch's global generator (transformers takes no generator argument), so
each call runs under ``torch.random.fork_rng`` seeded with the request's seed: repeatable, and the global state
is restored afterwards.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from studio.generators.base import Artifact, Context, Output
from studio.generators.music.files import read_audio, wav_bytes
from studio.generators.music.params import MUSICGEN_MAX_S
from studio.params import ParamError

log = logging.getLogger(__name__)

WINDOW_S = 30.0  # what MusicGen was trained on
CONTEXT_S = 10.0  # audio kept as the prompt of the next chunk


class MusicGenModel:
    """A loaded MusicGen: the transformers model, its tokenizer, and (melody checkpoints) the chroma settings.

    ``processor`` is the checkpoint's own processor for plain MusicGen. Melody checkpoints' feature extractor
    needs torchaudio, which has no wheel for this torch, so their chroma is computed by ``melody_chroma`` (the
    same recipe in torch.stft) from the settings in ``preprocessor_config.json``.
    """

    def __init__(self, model: Any, tokenizer: Any, processor: Any, chroma: dict[str, Any] | None, folder: Path) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.processor = processor
        self.chroma = chroma
        self.folder = folder

    @property
    def melody(self) -> bool:
        return self.chroma is not None

    @property
    def sampling_rate(self) -> int:
        return int(self.model.config.audio_encoder.sampling_rate)

    @property
    def frame_rate(self) -> float:
        return float(self.model.config.audio_encoder.frame_rate)

    @property
    def num_codebooks(self) -> int:
        return int(self.model.config.decoder.num_codebooks)

    @property
    def window_s(self) -> float:
        """Seconds one ``generate`` call may produce: the training window or the position table, if smaller."""
        positions = int(self.model.config.decoder.max_position_embeddings)
        return min(WINDOW_S, (positions - self.num_codebooks - 1) / self.frame_rate)


CHROMA_DEFAULTS = {"sampling_rate": 32000, "hop_length": 4096, "n_fft": 16384, "chunk_length": 30, "num_chroma": 12}


def load_musicgen(folder: Path, melody: bool = False) -> MusicGenModel:
    """Load a MusicGen (or MusicGen-melody) folder with its tokenizer, on the CPU, from safetensors."""
    import json

    from transformers import (
        AutoProcessor,
        AutoTokenizer,
        MusicgenForConditionalGeneration,
        MusicgenMelodyForConditionalGeneration,
    )

    cls = MusicgenMelodyForConditionalGeneration if melody else MusicgenForConditionalGeneration
    model = cls.from_pretrained(folder, use_safetensors=True)
    model.eval()
    try:
        if melody:
            tokenizer, processor = AutoTokenizer.from_pretrained(folder), None
            cfg = folder / "preprocessor_config.json"
            saved = json.loads(cfg.read_text(encoding="utf-8")) if cfg.is_file() else {}
            chroma: dict[str, Any] | None = {k: saved.get(k, v) for k, v in CHROMA_DEFAULTS.items()}
        else:
            processor = AutoProcessor.from_pretrained(folder)
            tokenizer, chroma = processor.tokenizer, None
    except (OSError, ValueError) as exc:
        raise ParamError("model", f"{folder.name}: no usable tokenizer/processor files ({exc})") from None
    return MusicGenModel(model, tokenizer, processor, chroma, folder)


def melody_chroma(audio: np.ndarray, settings: dict[str, Any]) -> Any:
    """One-hot chroma (1, T, 12) of mono audio at the model's rate, as MusicgenMelodyFeatureExtractor computes it."""
    import torch
    from transformers.audio_utils import chroma_filter_bank

    sr, hop, n_fft = int(settings["sampling_rate"]), int(settings["hop_length"]), int(settings["n_fft"])
    wav = torch.from_numpy(np.ascontiguousarray(audio[: int(settings["chunk_length"]) * sr], dtype=np.float32))
    if wav.numel() < n_fft:
        pad = n_fft - wav.numel()
        wav = torch.nn.functional.pad(wav, (pad // 2, pad - pad // 2))
    window = torch.hann_window(n_fft)
    spec = torch.stft(wav, n_fft, hop, n_fft, window, center=True, pad_mode="reflect", return_complex=True)
    power = spec.abs() ** 2 / window.pow(2).sum()  # torchaudio's normalized=True, power=2
    filters = torch.from_numpy(
        chroma_filter_bank(num_frequency_bins=n_fft, sampling_rate=sr, tuning=0, num_chroma=int(settings["num_chroma"]))
    ).float()
    chroma = (filters @ power).T  # (T, 12)
    onehot = torch.zeros_like(chroma)
    onehot[torch.arange(chroma.shape[0]), chroma.argmax(dim=-1)] = 1.0
    return onehot.unsqueeze(0)


def _progress_criteria(ctx: Context, done: int, total: int, desc: str) -> Any:
    """A generate() stopping criterion that never stops: it reports each decoding step to ``ctx`` and so raises
    ``Cancelled`` at the next step after Stop (MusicGen's generate calls a streamer only once, criteria every step).
    """
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Progress(StoppingCriteria):
        def __init__(self) -> None:
            self.step = done

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            self.step += 1
            if self.step % 10 == 0:
                ctx.progress(min(self.step, total), total, desc)
            else:
                ctx.check()
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([Progress()])


def _resample(audio: np.ndarray, sr: int, target: int) -> np.ndarray:
    if sr == target:
        return audio
    from scipy.signal import resample_poly

    g = math.gcd(sr, target)
    return resample_poly(audio, target // g, sr // g).astype(np.float32)


def generate_chunk(
    mg: MusicGenModel,
    params: Any,
    seconds: float,
    prompt_audio: np.ndarray | None,
    melody: np.ndarray | None,
    criteria: Any,
) -> np.ndarray:
    """One ``generate`` call: ``seconds`` of new audio (mono float32), after ``prompt_audio`` when given."""
    import torch

    sr = mg.sampling_rate
    if mg.chroma is not None:
        inputs = dict(mg.tokenizer([params.prompt], padding=True, return_tensors="pt"))
        if melody is not None:
            inputs["input_features"] = melody_chroma(melody, mg.chroma)
    elif prompt_audio is not None:
        inputs = mg.processor(
            text=[params.prompt], audio=[prompt_audio], sampling_rate=sr, padding=True, return_tensors="pt"
        )
    else:
        inputs = mg.processor(text=[params.prompt], padding=True, return_tensors="pt")
    device = next(mg.model.parameters()).device
    inputs = {k: v.to(device) if hasattr(v, "to") else v for k, v in inputs.items()}
    new_frames = max(1, math.ceil(seconds * mg.frame_rate))
    with torch.inference_mode():
        out = mg.model.generate(
            **inputs,
            do_sample=True,
            max_new_tokens=new_frames + mg.num_codebooks - 1,
            guidance_scale=params.guidance_scale if params.guidance_scale > 1.0 else None,
            temperature=params.temperature,
            top_k=params.top_k,
            top_p=params.top_p,
            stopping_criteria=criteria,
        )
    audio = out[0].float().mean(dim=0).cpu().numpy()  # (channels, n) → mono
    skip = 0 if prompt_audio is None or mg.melody else len(prompt_audio)
    return audio[skip : skip + round(seconds * sr)]


def generate_musicgen(mg: MusicGenModel, params: Any, ctx: Context) -> Output:
    """Text (and melody) to music, continued chunk by chunk past the model's window; returns a WAV."""
    import torch

    t0 = time.perf_counter()
    sr = mg.sampling_rate
    # 1. check inputs
    melody = None
    if params.melody_audio:
        if not mg.melody:
            raise ParamError("melody_audio", f"{mg.folder.name} is not a melody checkpoint; clear the melody upload")
        audio, rate = read_audio(params.melody_audio, "melody_audio")
        melody = _resample(audio, rate, sr)
    previous = np.zeros(0, dtype=np.float32)
    if params.extend_from:
        # the piece so far and the music added together stay within what one request may make
        room = MUSICGEN_MAX_S - params.duration_s
        if room < 1.0:
            raise ParamError(
                "extend_from", f"leaves no room: {params.duration_s:g} s more is the {MUSICGEN_MAX_S:.0f} s maximum"
            )
        audio, rate = read_audio(params.extend_from, "extend_from", max_seconds=room)
        previous = _resample(audio, rate, sr)
    # 2. plan chunks
    window = mg.window_s
    if mg.melody and (params.duration_s > window or previous.size):
        raise ParamError("duration_s", f"melody checkpoints make one window here: at most {window:.0f} s, no extend")
    chunks: list[float] = []
    left = params.duration_s
    context = min(CONTEXT_S, window / 3)
    first = window if not previous.size else window - context
    while left > 1e-6:
        step = min(left, first if not chunks else window - context)
        chunks.append(step)
        left -= step
    total_frames = sum(math.ceil(c * mg.frame_rate) for c in chunks)
    # 3. generate
    pieces = [previous] if previous.size else []
    done = 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(params.seed))
        for i, seconds in enumerate(chunks):
            so_far = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
            prompt = so_far[-int(context * sr) :] if so_far.size else None
            criteria = _progress_criteria(ctx, done, total_frames, f"chunk {i + 1}/{len(chunks)}")
            pieces.append(generate_chunk(mg, params, seconds, prompt, melody, criteria))
            done += math.ceil(seconds * mg.frame_rate)
            ctx.progress(done, total_frames, f"chunk {i + 1}/{len(chunks)}")
    # 4. stitch + export
    audio = np.concatenate(pieces).astype(np.float32)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 1.0:
        audio = audio / peak
    elapsed = time.perf_counter() - t0
    seconds_out = audio.size / sr
    info = {
        "kind": "musicgen-melody" if mg.melody else "musicgen",
        "chunks": len(chunks),
        "window_s": round(window, 2),
        "context_s": round(context, 2),
        "sampling_rate": sr,
        "audio_seconds": round(seconds_out, 2),
        "extended": bool(previous.size),
        "melody": melody is not None,
        "seconds": round(elapsed, 3),
        "realtime_factor": round(seconds_out / elapsed, 2) if elapsed > 0 else None,
        "used_params": [
            "prompt",
            "duration_s",
            "temperature",
            "top_k",
            "top_p",
            "guidance_scale",
            "seed",
            "melody_audio",
            "extend_from",
        ],
    }
    log.info("musicgen %s: %.1f s of audio in %d chunk(s), %.2f s", mg.folder.name, seconds_out, len(chunks), elapsed)
    return Output(artifacts=[Artifact("music.wav", wav_bytes(audio[:, None], sr), "audio")], text=None, info=info)
