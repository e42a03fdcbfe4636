"""Checkpoint plumbing for the GRPO trainer: atomic directories, RNG state capture, policy weights in and out.

A checkpoint folder ``checkpoints/step-NNNNNN/`` holds a loadable agent (``agent.json`` + ``policy/``, the HF
``save_pretrained`` output: full weights, or the LoRA adapter) plus ``optimizer.pt``, ``rng.pt`` and
``trainer_state.json``. It is written under a temporary name and renamed, so a crash never leaves a half checkpoint
that ``resume`` would pick up.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForCausalLM, PreTrainedModel

CHECKPOINTS_DIR = "checkpoints"
POLICY_DIR = "policy"
OPTIMIZER_FILE = "optimizer.pt"
RNG_FILE = "rng.pt"
STATE_FILE = "trainer_state.json"
_STEP_DIR = re.compile(r"^step-(\d+)$")


def checkpoint_dir(output_dir: str | os.PathLike[str], step: int) -> Path:
    return Path(output_dir) / CHECKPOINTS_DIR / f"step-{step:06d}"


def latest_checkpoint(output_dir: str | os.PathLike[str]) -> Path | None:
    """The highest-step complete checkpoint under ``output_dir`` (temporary folders never match)."""
    root = Path(output_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return None
    steps = [(int(m.group(1)), p) for p in root.iterdir() if (m := _STEP_DIR.match(p.name)) and p.is_dir()]
    return max(steps)[1] if steps else None


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary sibling of ``target``; on success it replaces ``target`` by rename."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        yield tmp
        if target.exists():  # re-saving the same step: the old copy goes only once the new one is complete
            old = target.with_name(f".old-{target.name}-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------------------------- RNG
def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng() -> dict[str, Any]:
    """Python, NumPy and torch RNG states as plain lists/tensors (loadable with ``weights_only=True``)."""
    version, mt_state, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(mt_state), gauss],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    version, mt_state, gauss = state["python"]
    random.setstate((version, tuple(mt_state), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --------------------------------------------------------------------------------------------------- weights
def is_peft(model: torch.nn.Module) -> bool:
    return hasattr(model, "peft_config") and hasattr(model, "disable_adapter")


def load_policy_weights(model: torch.nn.Module, folder: str | os.PathLike[str]) -> torch.nn.Module:
    """Weights saved by ``save_pretrained`` into ``model``'s architecture: LoRA adapters are loaded into the live
    PEFT model (its base stays as is); full models are read afresh in ``model``'s dtype and device. Returns the
    model to use from now on."""
    if is_peft(model):
        from peft import set_peft_model_state_dict
        from peft.utils import load_peft_weights

        set_peft_model_state_dict(model, load_peft_weights(str(folder), device=str(model.device)))
        return model
    param = next(model.parameters())
    loaded: PreTrainedModel = AutoModelForCausalLM.from_pretrained(folder, dtype=param.dtype)
    return loaded.to(param.device)


def write_training_state(
    folder: Path, optimizer: torch.optim.Optimizer, step: int, extra: dict[str, Any] | None = None
) -> None:
    torch.save(optimizer.state_dict(), folder / OPTIMIZER_FILE)
    torch.save(capture_rng(), folder / RNG_FILE)
    (folder / STATE_FILE).write_text(json.dumps({"step": step, **(extra or {})}, indent=2) + "\n")


def read_training_state(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(optimizer state, rng state, trainer state)`` of a checkpoint."""
    folder = Path(folder)
    missing = [f for f in (OPTIMIZER_FILE, RNG_FILE, STATE_FILE) if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} is not a training checkpoint (missing {missing})")
    optimizer_state = torch.load(folder / OPTIMIZER_FILE, weights_only=True)
    rng_state = torch.load(folder / RNG_FILE, weights_only=True)
    return optimizer_state, rng_state, json.loads((folder / STATE_FILE).read_text())
