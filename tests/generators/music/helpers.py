"""Tiny music models built from configs (random weights, fixed seed), saved like real checkpoints; MIDI bytes."""

from __future__ import annotations

import io
import json
from pathlib import Path


def make_tiny_symbolic(folder: Path, seed: int = 0) -> Path:
    """A 2-layer GPT-2 over the studio's music vocabulary, saved with ``vocab.json`` like the built-in model."""
    import torch
    from transformers import GPT2LMHeadModel

    from studio.generators.music.tokens import Vocab
    from studio.training.train_music import model_config

    torch.manual_seed(seed)
    vocab = Vocab()
    model = GPT2LMHeadModel(model_config(vocab, "tiny", n_positions=64)).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "vocab.json").write_text(json.dumps(vocab.to_json()), encoding="utf-8")
    return folder


def midi_bytes(*, late_tick: int = 0, ticks_per_beat: int = 480, text: str | None = None) -> bytes:
    """Two short notes; with ``late_tick`` the second starts that many ticks after the first ends."""
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat or 480)
    track = mido.MidiTrack()
    if text is not None:
        track.append(mido.MetaMessage("text", text=text, time=0))
    track.append(mido.Message("note_on", note=60, velocity=90, time=0))
    track.append(mido.Message("note_off", note=60, velocity=0, time=480))
    step = 0x0FFFFFFF  # the largest delta time a MIDI file can hold
    left = late_tick
    while left > step:  # a far-away note needs a few empty events on the way
        track.append(mido.Message("control_change", control=1, value=0, time=step))
        left -= step
    track.append(mido.Message("note_on", note=62, velocity=90, time=left))
    track.append(mido.Message("note_off", note=62, velocity=0, time=480))
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    data = buf.getvalue()
    if ticks_per_beat == 0:
        data = data[:12] + b"\0\0" + data[14:]  # the division field of MThd
    return data


MELODY_PREPROCESSOR = {
    "feature_extractor_type": "MusicgenMelodyFeatureExtractor",
    "processor_class": "MusicgenMelodyProcessor",
    "feature_size": 12,
    "sampling_rate": 32000,
    "hop_length": 4096,
    "chunk_length": 30,
    "n_fft": 16384,
    "num_chroma": 12,
    "padding_value": 0.0,
    "return_attention_mask": False,
    "stem_indices": [3, 2],
}


def _words(text: str) -> list[str]:
    return text.split()


def _tokenizer() -> object:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import T5TokenizerFast

    words = [
        "<pad>",
        "</s>",
        "<unk>",
        *[
            "a",
            "calm",
            "folk",
            "melody",
            "in",
            "d",
            "minor",
            "joyful",
            "chorale",
            "fast",
            "dance",
            "6/8",
            "with",
            "drums",
        ],
    ]
    tk = Tokenizer(models.Unigram([(w, -1.0) for w in words], unk_id=2))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    return T5TokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", extra_ids=0)


def make_tiny_musicgen(folder: Path, melody: bool = False, positions: int = 128, seed: int = 0) -> Path:
    """A tiny MusicGen (or MusicGen-melody) at 32 kHz, 50 frames/s, 4 codebooks, with a processor."""
    import torch
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenMelodyConfig,
        MusicgenMelodyDecoderConfig,
        MusicgenMelodyForConditionalGeneration,
        MusicgenProcessor,
        T5Config,
    )

    tok = _tokenizer()
    text = T5Config(vocab_size=len(tok), d_model=16, d_ff=32, num_layers=1, num_decoder_layers=1, num_heads=2, d_kv=8)
    audio = EncodecConfig(
        hidden_size=16,
        num_filters=4,
        upsampling_ratios=[8, 5, 4, 4],
        codebook_size=64,
        sampling_rate=32000,
        target_bandwidths=[1.2],
        num_lstm_layers=1,
        use_causal_conv=False,
    )
    dec_kwargs = dict(
        vocab_size=64,
        max_position_embeddings=positions,
        num_hidden_layers=1,
        ffn_dim=32,
        num_attention_heads=2,
        hidden_size=16,
        num_codebooks=4,
        pad_token_id=64,
        bos_token_id=64,
    )
    torch.manual_seed(seed)
    if melody:
        cfg = MusicgenMelodyConfig(
            text_encoder=text, audio_encoder=audio, decoder=MusicgenMelodyDecoderConfig(**dec_kwargs)
        )
        model = MusicgenMelodyForConditionalGeneration(cfg)
        processor = None  # its feature extractor needs torchaudio; the studio computes chroma itself
    else:
        cfg = MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=MusicgenDecoderConfig(**dec_kwargs))
        model = MusicgenForConditionalGeneration(cfg)
        processor = MusicgenProcessor(
            feature_extractor=EncodecFeatureExtractor(feature_size=1, sampling_rate=32000), tokenizer=tok
        )
    # EnCodec's codebooks start as zeros (they are learned by k-means): give them values, or every code decodes
    # to the same sound and seeds could not be told apart
    with torch.no_grad():
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
    folder.mkdir(parents=True, exist_ok=True)
    model.eval().save_pretrained(folder, safe_serialization=True)
    if processor is not None:
        processor.save_pretrained(folder)
    else:
        tok.save_pretrained(folder)
        (folder / "preprocessor_config.json").write_text(json.dumps(MELODY_PREPROCESSOR), encoding="utf-8")
    return folder
