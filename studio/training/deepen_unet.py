"""A deeper copy of a trained diffusers UNet that computes exactly what the original computes, to fine-tune further.

A fine-tune that has plateaued at its network's capacity (the four-style built-in UNet: the same drawings missed at
every checkpoint) needs more network, and training a bigger one from scratch costs what this CPU does not have. So
the trained UNet is *deepened* in place of being replaced (Net2Net's idea, Chen et al. 2016, in the zero-init form
ControlNet and most adapter methods use):

- each level gets ``layers_per_block`` resnet+attention pairs on the way down (and one more on the way up, as diffusers
  lays them out); every added resnet has its last convolution zeroed and every added attention its output
  projection, so each is an identity when it starts;
- each attention gets ``transformer_layers`` transformer blocks; the added ones have their three residual outputs
  (self-attention, cross-attention, feed-forward) zeroed, so they add nothing until trained.

Where a new up-path resnet receives a skip connection it did not have before, its 1×1 shortcut passes the hidden
state through and ignores the skip, so the old resnets still see exactly the skips they were trained on. The old
weights go where they were; ``deepen`` returns the new network, which gives the old one's output to float precision
(``tests/training/test_deepen_unet.py`` checks it) and trains on from there.

    python -m studio.training.deepen_unet --from assets/models/emoji-diffusion/unet --out RUN/unet-deep \
        --layers-per-block 2 --transformer-layers 2
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any


def deeper_config(config: dict[str, Any], layers_per_block: int, transformer_layers: int) -> dict[str, Any]:
    """The UNet's config with more resnets per level and more transformer blocks per attention."""
    old_layers = int(config["layers_per_block"])
    old_tf = config.get("transformer_layers_per_block") or 1
    if not isinstance(old_tf, int):
        raise ValueError("only a UNet with one transformer depth for every level can be deepened")
    if layers_per_block < old_layers or transformer_layers < old_tf:
        raise ValueError(f"deepening goes up: {old_layers}→{layers_per_block} layers, {old_tf}→{transformer_layers}")
    out = {k: v for k, v in config.items() if not k.startswith("_")}
    out["layers_per_block"] = layers_per_block
    out["transformer_layers_per_block"] = transformer_layers
    return out


def _up_index(j: int, added: int) -> int:
    """Where old up-path resnet ``j`` sits in the deeper block: the first keeps its place (it eats the same skip);
    the rest move past the ``added`` new ones, which eat the copies the new down-path identities make."""
    return j if j == 0 else j + added


def _renamed(key: str, added: int) -> str:
    match = re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key)
    if match is None:
        return key
    block, kind, j, rest = match.groups()
    return f"up_blocks.{block}.{kind}.{_up_index(int(j), added)}.{rest}"


def _zero_new_layers(new: Any, old_layers: int, added: int, old_tf: int) -> None:
    import torch
    from diffusers import Transformer2DModel

    def zero(module: Any) -> None:
        torch.nn.init.zeros_(module.weight)
        if module.bias is not None:
            torch.nn.init.zeros_(module.bias)

    for block in new.down_blocks:
        for resnet in block.resnets[old_layers:]:
            zero(resnet.conv2)
        for attention in getattr(block, "attentions", [])[old_layers:]:
            zero(attention.proj_out)
    for block in new.up_blocks:
        for i in range(1, 1 + added):
            resnet = block.resnets[i]
            zero(resnet.conv2)
            _pass_hidden_through(resnet.conv_shortcut)
            if hasattr(block, "attentions"):
                zero(block.attentions[i].proj_out)
    for module in new.modules():  # added transformer blocks inside every (old or new) attention
        if isinstance(module, Transformer2DModel):
            for tb in module.transformer_blocks[old_tf:]:
                zero(tb.attn1.to_out[0])
                zero(tb.attn2.to_out[0])
                zero(tb.ff.net[2])


def _pass_hidden_through(shortcut: Any) -> None:
    """A 1×1 shortcut over ``cat([hidden, skip])`` that returns ``hidden`` and ignores the skip."""
    import torch

    weight = torch.zeros_like(shortcut.weight)
    out_channels = weight.shape[0]
    weight[:, :out_channels, 0, 0] = torch.eye(out_channels)
    with torch.no_grad():
        shortcut.weight.copy_(weight)
        shortcut.bias.zero_()


def deepen(unet: Any, layers_per_block: int, transformer_layers: int) -> Any:
    """A deeper ``UNet2DConditionModel`` holding ``unet``'s weights that computes the same function."""
    from diffusers import UNet2DConditionModel

    old_layers = int(unet.config.layers_per_block)
    old_tf = int(unet.config.transformer_layers_per_block or 1)
    config = deeper_config(dict(unet.config), layers_per_block, transformer_layers)
    new = UNet2DConditionModel(**config)
    added = layers_per_block - old_layers
    _zero_new_layers(new, old_layers, added, old_tf)
    state = {_renamed(k, added): v for k, v in unet.state_dict().items()}
    target = new.state_dict()
    unknown = [k for k in state if k not in target or target[k].shape != state[k].shape]
    if unknown:
        raise ValueError(f"weights that have no place in the deeper UNet: {unknown[:5]}")
    new.load_state_dict(state, strict=False)
    return new


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--from", dest="source", type=Path, required=True, help="a diffusers unet/ folder")
    p.add_argument("--out", type=Path, required=True, help="where the deeper unet/ folder goes")
    p.add_argument("--layers-per-block", type=int, default=2)
    p.add_argument("--transformer-layers", type=int, default=2)
    args = p.parse_args(argv)
    from diffusers import UNet2DConditionModel

    old = UNet2DConditionModel.from_pretrained(args.source, use_safetensors=True)
    new = deepen(old, args.layers_per_block, args.transformer_layers)
    new.save_pretrained(args.out, safe_serialization=True)
    count = sum(t.numel() for t in new.parameters()) / 1e6
    print(f"{args.out}: {count:.2f} M parameters (from {sum(t.numel() for t in old.parameters()) / 1e6:.2f} M)")


if __name__ == "__main__":
    main()
