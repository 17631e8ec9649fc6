"""Checkpoints for Stop/Resume: weights, optimiser state, step and every RNG state, as safetensors + JSON.

No pickle anywhere: tensors go into ``checkpoint/state.safetensors`` (module weights as ``module.<name>.<param>``,
optimiser state as ``opt.<name>.<index>.<key>``, the torch generator's state as ``rng.torch``), the rest into
``checkpoint/state.json`` (step, optimiser hyper-parameters, the numpy generator's state). The pair is written to
a temp folder and swapped in, so a crash mid-save leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from typing import Any

from studio.training.optimisers import load_state, state_tensors
from studio.training.run_folder import RunFolder


@dataclass
class TrainState:
    """What a run needs to continue exactly: its modules, optimisers, step, and random generators."""

    modules: dict[str, Any]  # name -> nn.Module (trained, saved)
    optimisers: dict[str, Any]  # name -> torch optimiser
    step: int
    torch_gen: Any  # torch.Generator
    np_rng: Any  # numpy.random.Generator


def save_checkpoint(run: RunFolder, state: TrainState) -> None:
    """Write ``state`` into ``run``'s ``checkpoint/`` (atomically replacing the previous one)."""
    from safetensors.torch import save_file

    tensors: dict[str, Any] = {}
    for name, module in state.modules.items():
        for key, value in module.state_dict().items():
            tensors[f"module.{name}.{key}"] = value.detach().cpu().contiguous()
    opts: dict[str, Any] = {}
    for name, opt in state.optimisers.items():
        t, description = state_tensors(opt, f"opt.{name}")
        tensors.update(t)
        opts[name] = description
    tensors["rng.torch"] = state.torch_gen.get_state()
    meta = {"step": state.step, "optimisers": opts, "numpy": state.np_rng.bit_generator.state}
    tmp = run.path("checkpoint.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(_unshared(tensors), str(tmp / "state.safetensors"))
    (tmp / "state.json").write_text(json.dumps(meta, sort_keys=True) + "\n")
    final, old = run.path("checkpoint"), run.path("checkpoint.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def has_checkpoint(run: RunFolder) -> bool:
    return run.path("checkpoint/state.json").is_file()


def load_checkpoint(run: RunFolder, state: TrainState) -> None:
    """Fill ``state`` (modules, optimisers, step, generators) in place from ``run``'s checkpoint."""
    from safetensors.torch import load_file

    tensors = load_file(str(run.path("checkpoint/state.safetensors")))
    meta = json.loads(run.path("checkpoint/state.json").read_text())
    for name, module in state.modules.items():
        head = f"module.{name}."
        module.load_state_dict({k[len(head) :]: v for k, v in tensors.items() if k.startswith(head)})
    for name, opt in state.optimisers.items():
        load_state(opt, f"opt.{name}", tensors, meta["optimisers"][name])
    state.torch_gen.set_state(tensors["rng.torch"])
    state.np_rng.bit_generator.state = meta["numpy"]
    state.step = int(meta["step"])


def _unshared(tensors: dict[str, Any]) -> dict[str, Any]:
    """safetensors refuses tensors that share memory (tied weights): give each its own copy."""
    seen: set[int] = set()
    out = {}
    for k, v in tensors.items():
        ptr = v.untyped_storage().data_ptr() if v.numel() else -1
        out[k] = v.clone() if ptr in seen else v
        seen.add(ptr)
    return out
