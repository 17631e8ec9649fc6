"""Optimisers (SGD with momentum, Adam, AdamW) and their state as flat tensors, so a checkpoint is safetensors
plus JSON and never a pickle.

``state_tensors(opt, prefix)`` flattens ``opt.state_dict()`` into ``{name: tensor}`` and a JSON-ready description
of the rest (hyper-parameters, which parameter each state belongs to); ``load_state`` rebuilds it.
"""

from __future__ import annotations

from typing import Any

MOMENTUM = 0.9
ADAM_BETAS = (0.9, 0.999)


def build_optimiser(name: str, params: Any, lr: float, betas: tuple[float, float] | None = None) -> Any:
    """A torch optimiser called ``name`` ("sgd", "adam", "adamw") over ``params`` at learning rate ``lr``.

    ``betas`` overrides Adam's (a GAN uses (0, 0.9)); AdamW has weight decay 0.01.
    """
    import torch

    params = list(params)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=MOMENTUM)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas or ADAM_BETAS)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas or ADAM_BETAS, weight_decay=0.01)
    raise ValueError(f"optimizer {name!r} is not one of: sgd, adam, adamw")


def set_lr(opt: Any, lr: float) -> None:
    """Set every parameter group's learning rate."""
    for group in opt.param_groups:
        group["lr"] = lr


def state_tensors(opt: Any, prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensors, description) of ``opt``'s state: tensors named ``prefix.<param index>.<key>``."""
    import torch

    sd = opt.state_dict()
    tensors: dict[str, Any] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def load_state(opt: Any, prefix: str, tensors: dict[str, Any], description: dict[str, Any]) -> None:
    """Restore ``opt`` from what ``state_tensors`` gave."""
    state: dict[int, dict[str, Any]] = {}
    head = prefix + "."
    for name, value in tensors.items():
        if not name.startswith(head):
            continue
        index, key = name[len(head) :].split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for index, extra in description.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(extra)
    opt.load_state_dict({"state": state, "param_groups": description["param_groups"]})
