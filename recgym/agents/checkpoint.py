"""Checkpoint plumbing for every :class:`~recgym.agents.policy_trainer.PolicyTrainer` (GRPO and SFT alike): the
checkpoint folders' layout and checks, the trainer's own RNG stream, policy weights in and out.

A checkpoint folder ``checkpoints/step-NNNNNN/`` holds a loadable agent (``agent.json`` + ``policy/``, the HF
``save_pretrained`` output: full weights, or the LoRA adapter) plus ``optimizer.pt``, ``rng.pt``,
``trainer_state.json`` and, written last, ``manifest.json`` (the step and every file's size and sha256). It is built
under a temporary name and renamed (:func:`recgym.fileio.atomic_dir`), so a kill never leaves a half checkpoint under
a real name; the manifest makes a checkpoint checkable as a whole, so one damaged later (a disk error, a torn write
after a power loss, a hand edit) is detected before anything is loaded and resume falls back to the previous
complete one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForCausalLM, PreTrainedModel

from recgym.fileio import OLD_PREFIX, TEMP_PREFIX, sha256_file
from recgym.paths import POLICY_DIR as POLICY_DIR  # a checkpoint's policy folder (re-exported)
from recgym.tempdirs import remove_stale

log = logging.getLogger(__name__)
CHECKPOINTS_DIR = "checkpoints"
OPTIMIZER_FILE = "optimizer.pt"
RNG_FILE = "rng.pt"
STATE_FILE = "trainer_state.json"
MANIFEST_FILE = "manifest.json"
_STEP_DIR = re.compile(r"^step-(\d+)$")
_TEMP_PREFIXES = (TEMP_PREFIX, OLD_PREFIX)  # atomic_dir's build and swap-out folders


class CheckpointError(RuntimeError):
    """A checkpoint is incomplete, damaged or unloadable; the message names its folder."""


class CheckpointWarning(UserWarning):
    """Resume skipped a damaged checkpoint and continues from an earlier one (or from scratch)."""


def checkpoint_dir(output_dir: str | os.PathLike[str], step: int) -> Path:
    return Path(output_dir) / CHECKPOINTS_DIR / f"step-{step:06d}"


def checkpoint_steps(output_dir: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """``(step, folder)`` of every ``step-NNNNNN`` folder under ``output_dir``, newest first (unverified)."""
    root = Path(output_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    return sorted(
        ((int(m.group(1)), p) for p in root.iterdir() if (m := _STEP_DIR.match(p.name)) and p.is_dir()), reverse=True
    )


def latest_checkpoint(output_dir: str | os.PathLike[str]) -> Path | None:
    """The highest-step checkpoint under ``output_dir`` that verifies (:func:`verify_checkpoint`).

    Each newer one that does not is skipped with a :class:`CheckpointWarning` naming it and the reason, so a
    damaged newest checkpoint costs the steps since the previous one, not the run."""
    skipped: list[str] = []
    found = None
    for _, folder in checkpoint_steps(output_dir):
        try:
            verify_checkpoint(folder)
        except CheckpointError as err:
            skipped.append(str(err))
            continue
        found = folder
        break
    for reason in skipped:
        then = f"falling back to {found.name}" if found is not None else "no complete checkpoint left: starting afresh"
        warnings.warn(CheckpointWarning(f"skipping checkpoint {reason}; {then}"), stacklevel=2)
        log.warning("skipping checkpoint %s; %s", reason, then)
    return found


def remove_stale_temporaries(output_dir: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary checkpoint folders (and metrics-log rewrites) that killed writers left in ``output_dir``
    (only those of no live process: see :mod:`recgym.tempdirs`)."""
    root = Path(output_dir) / CHECKPOINTS_DIR
    return remove_stale(output_dir, TEMP_PREFIX) + [p for prefix in _TEMP_PREFIXES for p in remove_stale(root, prefix)]


# -------------------------------------------------------------------------------------------------- manifest
def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def write_manifest(folder: Path, step: int) -> None:
    """Record ``step`` and each file's size and sha256 in ``folder/manifest.json``; call it after every other file
    is written, so a manifest vouches for a finished checkpoint."""
    files = {
        name: {"size": path.stat().st_size, "sha256": sha256_file(path)}
        for name, path in _files(folder).items()
        if name != MANIFEST_FILE
    }
    (folder / MANIFEST_FILE).write_text(json.dumps({"step": step, "files": files}, indent=1) + "\n")


def verify_checkpoint(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of ``folder`` after checking the checkpoint against it as a whole: every listed file present
    with its size and hash, nothing unlisted, and one step in the folder name, manifest and trainer state.

    Raises:
        CheckpointError: naming ``folder`` and the first thing wrong.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such checkpoint folder")
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        listed, step = manifest["files"], int(manifest["step"])
    except FileNotFoundError:
        raise CheckpointError(f"{folder}: not a complete checkpoint (no {MANIFEST_FILE})") from None
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{folder}: unreadable {MANIFEST_FILE} ({type(err).__name__}: {err})") from None
    on_disk = _files(folder)
    on_disk.pop(MANIFEST_FILE, None)
    if missing := sorted(set(listed) - set(on_disk)):
        raise CheckpointError(f"{folder}: file(s) missing: {missing}")
    if extra := sorted(set(on_disk) - set(listed)):
        raise CheckpointError(f"{folder}: file(s) not in its manifest: {extra}")
    for name, entry in listed.items():  # sizes first: cheap, and what a truncation changes
        if (size := on_disk[name].stat().st_size) != entry["size"]:
            raise CheckpointError(f"{folder}: {name} has {size:,} bytes, the manifest says {entry['size']:,}")
    for name, entry in listed.items():
        if sha256_file(on_disk[name]) != entry["sha256"]:
            raise CheckpointError(f"{folder}: {name} does not match its sha256 in the manifest (damaged)")
    named = _STEP_DIR.match(folder.name)
    if named and int(named.group(1)) != step:
        raise CheckpointError(f"{folder}: the manifest is of step {step}, not {int(named.group(1))}")
    try:
        state_step = int(json.loads((folder / STATE_FILE).read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{folder}: unreadable {STATE_FILE} ({type(err).__name__}: {err})") from None
    if state_step != step:
        raise CheckpointError(f"{folder}: {STATE_FILE} says step {state_step}, the manifest {step}")
    return manifest


# ------------------------------------------------------------------------------------------------------- RNG
def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global RNGs. For entry points (a script's ``--seed``): trainers never touch
    the global RNGs, they draw from a :class:`TorchRNG` of their own, which starts where this leaves torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class TorchRNG:
    """A torch random stream of a trainer's own: the CPU generator's state and each CUDA device's.

    HF ``generate`` samples with torch's global generators and takes no ``torch.Generator``, so :meth:`active` swaps
    this stream into them for a block and the caller's back afterwards: training neither reseeds nor advances the
    caller's RNG, and nothing the caller draws shifts the trainer's samples. Python's and NumPy's RNGs are not part
    of it: training draws from neither (example orders come from their own seeded generators).

    ``TorchRNG(seed)`` starts where ``torch.manual_seed(seed)`` puts the global generators.
    """

    def __init__(self, seed: int) -> None:
        with _forked_rng():
            torch.manual_seed(seed)
            self._state = _global_torch_state()
        self._active = False

    def state(self) -> dict[str, Any]:
        """Where the stream is now (inside :meth:`active` too): plain tensors, loadable with ``weights_only=True``."""
        return _global_torch_state() if self._active else dict(self._state)

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (:meth:`state`'s, as a checkpoint's ``rng.pt`` holds it; the Python and NumPy
        states that older checkpoints also hold are ignored)."""
        self._state = {key: state[key] for key in ("torch", "cuda") if key in state}
        if self._active:
            _set_global_torch_state(self._state)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Run the block on this stream (torch's global generators hold it meanwhile); the caller's are restored."""
        with _forked_rng():
            _set_global_torch_state(self._state)
            self._active = True
            try:
                yield
            finally:
                self._active = False
                self._state = _global_torch_state()


def _forked_rng() -> contextlib.AbstractContextManager[None]:
    # every CUDA device named, so fork_rng neither warns about several devices nor leaves one of them out
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    return torch.random.fork_rng(devices=devices)


def _global_torch_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_global_torch_state(state: dict[str, Any]) -> None:
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
    folder: Path,
    optimizer: torch.optim.Optimizer,
    rng: TorchRNG,
    step: int,
    extra: dict[str, Any] | None = None,
) -> None:
    """``optimizer.pt``, ``rng.pt`` (the trainer's stream) and ``trainer_state.json`` (``step`` and ``extra``)."""
    torch.save(optimizer.state_dict(), folder / OPTIMIZER_FILE)
    torch.save(rng.state(), folder / RNG_FILE)
    (folder / STATE_FILE).write_text(json.dumps({"step": step, **(extra or {})}, indent=2) + "\n")


def read_training_state(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(optimizer state, rng state, trainer state)`` of a checkpoint."""
    folder = Path(folder)
    missing = [f for f in (OPTIMIZER_FILE, RNG_FILE, STATE_FILE) if not (folder / f).is_file()]
    if missing:
        raise CheckpointError(f"{folder}: not a training checkpoint (missing {missing})")
    try:
        optimizer_state = torch.load(folder / OPTIMIZER_FILE, weights_only=True)
        rng_state = torch.load(folder / RNG_FILE, weights_only=True)
        return optimizer_state, rng_state, json.loads((folder / STATE_FILE).read_text())
    except Exception as err:  # torch's zip/pickle errors say nothing about which checkpoint is at fault
        raise CheckpointError(f"{folder}: cannot read the training state ({type(err).__name__}: {err})") from None
