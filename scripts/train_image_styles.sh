#!/usr/bin/env bash
# Issue 17's recipe in one command: the four-style emoji set at 128 px, then both stages of the built-in diffusion
# model, then its evaluation. The same command runs on this CPU (days) or a GPU (--device auto picks it).
#   bash scripts/train_image_styles.sh OUT                      # the real run
#   LIMIT=20 AE_STEPS=2 UNET_STEPS=2 bash scripts/train_image_styles.sh /tmp/slice   # a tiny slice, minutes on a CPU
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: train_image_styles.sh OUT}
THREADS=${THREADS:-$(nproc)}
AE_STEPS=${AE_STEPS:-6000}
UNET_STEPS=${UNET_STEPS:-60000}
# A lent GPU machine gives a task 15 minutes in all: each stage stops (and saves) at its time limit.
AE_MIN=${AE_MIN:-2}
UNET_MIN=${UNET_MIN:-8}
BATCH=${BATCH:-256}
LIMIT_FLAG=()
[ -n "${LIMIT:-}" ] && LIMIT_FLAG=(--limit "$LIMIT")
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python -m studio.training.emoji_styles --size 128 --out "$OUT/data" "${LIMIT_FLAG[@]}"
common=(--data styles --size 128 --threads "$THREADS" --batch-size "$BATCH" --out "$OUT/emoji-diffusion" "${LIMIT_FLAG[@]}")
python -m studio.training.train_diffusion --stage autoencoder --steps "$AE_STEPS" --time-limit-min "$AE_MIN" --lr 4e-4 "${common[@]}"
python -m studio.training.train_diffusion --stage unet --steps "$UNET_STEPS" --time-limit-min "$UNET_MIN" --lr 5e-4 --warmup-steps 500 \
  --decay-frac 0.3 --prompt-tokens 16 "${common[@]}"
python -m studio.training.variety --assets "$OUT" --model emoji-diffusion --threads "$THREADS"
