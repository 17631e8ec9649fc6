"""Train the built-in symbolic music model: a small GPT-2 over the REMI-like vocabulary in music_tokens.

Reproducible::

    python -m studio.training.music_corpus --out /tmp/music_corpus.jsonl        # parse once (~3-5 min)
    python -m studio.training.train_music --corpus /tmp/music_corpus.jsonl \\
        --steps 1500 --seed 0 --out assets/models/folk-chorale-gpt2

Objective: next-token cross-entropy on style-balanced, randomly transposed windows of the corpus, with the
control header (style, key, mode, metre, tempo) always in front, so generation can be steered by it.
AdamW, linear warm-up then cosine decay, gradient clipping, one CPU thread (the machine is shared).
Checkpoints are written every ``--ckpt-every`` steps, so a stopped run still leaves usable weights; the run
also stops itself after ``--max-minutes``. ``--init-from`` starts a second stage from saved weights (the
built-in model's cool-down: a short schedule decaying from a lower peak), recording the first stage's facts.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from studio.generators.music.tokens import Vocab
from studio.training.music_corpus import load_pieces
from studio.training.music_data import Batcher, split_pieces

log = logging.getLogger(__name__)


def model_config(vocab: Vocab, size: str = "small", n_positions: int = 256) -> Any:
    """The GPT-2 config of the built-in model (``tiny`` is for tests); ``n_positions`` is the training window."""
    from transformers import GPT2Config

    dims = {"tiny": (2, 64, 2), "small": (4, 192, 4)}[size]
    n_layer, n_embd, n_head = dims
    return GPT2Config(
        vocab_size=len(vocab),
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        resid_pdrop=0.1,
        embd_pdrop=0.1,
        attn_pdrop=0.1,
        bos_token_id=vocab.bos,
        eos_token_id=vocab.eos,
        pad_token_id=vocab.pad,
    )


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up to ``peak``, then cosine decay to a tenth of it."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def save(model: Any, vocab: Vocab, out: Path, info: dict[str, Any]) -> None:
    """Weights (safetensors), vocabulary and training facts, written atomically enough for a checkpoint."""
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    (out / "vocab.json").write_text(json.dumps(vocab.to_json(), indent=1), encoding="utf-8")
    (out / "training.json").write_text(json.dumps(info, indent=1), encoding="utf-8")


def evaluate_loss(model: Any, batches: list[tuple[Any, Any]]) -> float:
    """Mean cross-entropy over fixed held-out batches."""
    import torch

    model.eval()
    total = 0.0
    with torch.no_grad():
        for x, y in batches:
            total += float(model(input_ids=torch.from_numpy(x), labels=torch.from_numpy(y)).loss)
    model.train()
    return total / len(batches)


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Run training; returns the facts recorded in training.json."""
    import torch
    from transformers import GPT2LMHeadModel

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    vocab = Vocab()
    pieces = load_pieces(args.corpus)
    split = split_pieces(pieces)
    counts: dict[str, int] = {}
    for p in split.train:
        counts[p.style] = counts.get(p.style, 0) + 1
    log.info("train pieces %s, held out %d", counts, len(split.held_out))
    train_batches = Batcher(vocab, split.train, args.seq_len, args.seed)
    held = Batcher(vocab, split.held_out, args.seq_len, args.seed + 1)
    val_batches = [held.batch(args.batch_size) for _ in range(4)]

    previous: dict[str, Any] | None = None
    if args.init_from is not None:
        # a second stage (e.g. a cool-down with a short, decaying schedule) continues from saved weights
        model = GPT2LMHeadModel.from_pretrained(args.init_from, use_safetensors=True)
        prev_file = args.init_from / "training.json"
        previous = json.loads(prev_file.read_text(encoding="utf-8")) if prev_file.is_file() else None
    else:
        model = GPT2LMHeadModel(model_config(vocab, args.size, args.seq_len))
    n_params = sum(p.numel() for p in model.parameters())
    log.info("model: %.2fM parameters", n_params / 1e6)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.98),
    )
    info: dict[str, Any] = {
        "command": "python -m studio.training.train_music " + " ".join(args.argv),
        "seed": args.seed,
        "parameters": n_params,
        "train_pieces": counts,
        "held_out_pieces": len(split.held_out),
        "seq_len": args.seq_len,
        "batch_size": args.batch_size,
        "peak_lr": args.lr,
        "threads": args.threads,
        "history": [],
    }
    if previous is not None:
        info["previous_stage"] = previous
    t0 = time.time()
    step = 0
    model.train()
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        x, y = train_batches.batch(args.batch_size)
        loss = model(input_ids=torch.from_numpy(x), labels=torch.from_numpy(y)).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        elapsed = time.time() - t0
        if step % 25 == 0:
            log.info(
                "step %d loss %.4f lr %.2e %.1f s/step",
                step,
                loss.item(),
                opt.param_groups[0]["lr"],
                elapsed / (step + 1),
            )
        last = step == args.steps - 1 or elapsed > args.max_minutes * 60
        if (step + 1) % args.ckpt_every == 0 or last:
            val = evaluate_loss(model, val_batches)
            info["history"].append(
                {"step": step + 1, "train_loss": loss.item(), "val_loss": val, "minutes": elapsed / 60}
            )
            info.update(steps=step + 1, wall_minutes=round(elapsed / 60, 1), final_val_loss=val)
            save(model, vocab, args.out, info)
            log.info("checkpoint at step %d: val loss %.4f -> %s", step + 1, val, args.out)
        if last:
            break
    return info


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    import sys

    ap = argparse.ArgumentParser(description="Train the built-in music model.")
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/music_corpus.jsonl"))
    ap.add_argument("--out", type=Path, default=Path("assets/models/folk-chorale-gpt2"))
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", choices=("tiny", "small"), default="small")
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=24)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--max-minutes", type=float, default=55.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--init-from", type=Path, default=None, help="start from these saved weights (a second stage)")
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    info = train(parse_args(argv))
    log.info("done: %d steps in %.1f min, val loss %.4f", info["steps"], info["wall_minutes"], info["final_val_loss"])


if __name__ == "__main__":
    main()
