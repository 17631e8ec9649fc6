#!/usr/bin/env bash
# Issue 17's recipe in one command: the four-style emoji set, a 128 px autoencoder that speaks the first built-in
# autoencoder's latents, the first built-in UNet fine-tuned on all four styles in those latents, then the folders
# assembled (GAN and VAE draw at 128 px through the same autoencoder) and evaluated beside the previous built-ins.
# The same command runs on this CPU (what shipped: 2 threads, about 80 minutes) or a GPU (--device auto picks it).
#   bash scripts/train_image_styles.sh OUT                       # the real run; OUT/models is the new assets folder
#   LIMIT=20 AE_STEPS=2 UNET_STEPS=2 bash scripts/train_image_styles.sh /tmp/slice   # a tiny slice, minutes on a CPU
# The starting point is the previous built-ins (commit b045627, themselves reproduced by the commands in
# docs/image.md), taken from git unless PREVIOUS names a models folder that holds them.
# DEEPEN="LAYERS TRANSFORMER" starts the fine-tune from a deeper copy of that UNet (studio/training/deepen_unet.py:
# more resnet+attention pairs per level, more transformer blocks per attention, added as identities), for a machine
# with the compute to train the extra capacity (DEEPEN="2 1" gives 6.8 M parameters from 4.6 M).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: train_image_styles.sh OUT}
AE_STEPS=${AE_STEPS:-20000}
UNET_STEPS=${UNET_STEPS:-60000}
AE_MIN=${AE_MIN:-75}      # each stage stops (and saves) at its time limit; the stages run side by side,
UNET_MIN=${UNET_MIN:-75}  # one thread each, so the whole recipe takes about the longer of the two
LIMIT_FLAG=()
[ -n "${LIMIT:-}" ] && LIMIT_FLAG=(--limit "$LIMIT")
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if [ -z "${PREVIOUS:-}" ]; then
  PREVIOUS="$OUT/previous/assets/models"
  mkdir -p "$OUT/previous"
  git archive b045627 assets/models/emoji-diffusion assets/models/emoji-gan assets/models/emoji-vae | tar -x -C "$OUT/previous"
fi
python -m studio.training.emoji_styles --size 128 --out "$OUT/data" "${LIMIT_FLAG[@]}"
mkdir -p "$OUT/unet-run" && cp -r "$PREVIOUS/emoji-diffusion/vae" "$OUT/unet-run/"  # the latents the UNet knows
START="$PREVIOUS/emoji-diffusion/unet"
if [ -n "${DEEPEN:-}" ]; then
  read -r layers transformer <<<"$DEEPEN"
  python -m studio.training.deepen_unet --from "$START" --out "$OUT/unet-deep" \
    --layers-per-block "$layers" --transformer-layers "$transformer"
  START="$OUT/unet-deep"
fi
python -m studio.training.upscale_autoencoder --from "$PREVIOUS/emoji-diffusion/vae" --out "$OUT/ae128" \
  --steps "$AE_STEPS" --batch-size 32 --lr 3e-4 --time-limit-min "$AE_MIN" "${LIMIT_FLAG[@]}" &
ae=$!
python -m studio.training.train_diffusion --stage unet --data styles --size 64 --init-from "$START" \
  --out "$OUT/unet-run" --steps "$UNET_STEPS" --time-limit-min "$UNET_MIN" --batch-size 64 --lr 2e-4 \
  --warmup-steps 100 --decay-frac 0.3 --prompt-tokens 16 "${LIMIT_FLAG[@]}"
wait "$ae"
python -m studio.training.assemble_builtins --previous "$PREVIOUS" --unet-run "$OUT/unet-run" --autoencoder "$OUT/ae128/vae" \
  --data-card "$OUT/data/data_card.json" --out "$OUT/models"
python -m studio.training.evaluate_image --assets "$OUT/models" --baseline "$PREVIOUS" --out "$OUT/eval" --threads "$(nproc)"
python -m studio.training.model_card "$OUT/models/emoji-diffusion" "$OUT/models/emoji-gan" "$OUT/models/emoji-vae" --eval "$OUT/eval/image_eval.json"
