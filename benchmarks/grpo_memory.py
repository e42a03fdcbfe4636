"""Where a recgym GRPO step's peak memory goes: resident memory sampled through the step, attributed to its phase.

    python benchmarks/grpo_memory.py --prompts 1 --beta 0.001 --steps 2   # ~3-6 min on 2 cores
    python benchmarks/grpo_memory.py --model tiny --steps 1                # smoke run

benchmarks/grpo_step.py reports each trainer's peak RSS (the kernel's high-water mark) as one number. This script
runs the same recgym configuration (``grpo_step_workers.recgym_config``: SmolLM2-135M-Instruct, fp32, full fine-tuning,
G=8 completions of at most 64 tokens, no reply prefix, ``skip_zero_std_groups`` off) and samples the process's RSS
every ``--interval`` seconds in a thread, labelled by the phase the step is in: ``generate`` (sampling the group),
``env`` (reset + step), ``backward``, ``optimizer`` (AdamW), or ``other`` (log-prob forwards, the loss, glue). It
prints the highest RSS seen in each phase and the RSS the process holds before the first step (model, reference
model, tokenizer, libraries). The sampler can miss a spike shorter than the interval; the kernel's high-water mark
(``ru_maxrss``) is printed beside it as the bound.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from collections.abc import Sequence

from grpo_step import mmap_threshold  # sibling modules: scripts run from benchmarks/
from grpo_step_workers import Settings, make_venv, recgym_config

GIB = 2**30


class PhaseMemory:
    """Labels the current phase (``wrap`` a function to make its calls one) and keeps each phase's highest RSS."""

    def __init__(self, interval: float) -> None:
        import psutil

        self.process, self.interval = psutil.Process(), interval
        self.phase, self.peaks = "other", {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _record(self, phase: str) -> None:
        self.peaks[phase] = max(self.peaks.get(phase, 0), self.process.memory_info().rss)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._record(self.phase)
            time.sleep(self.interval)

    def wrap(self, name: str, fn):
        def labelled(*args, **kwargs):
            outer, self.phase = self.phase, name
            try:
                return fn(*args, **kwargs)
            finally:  # one sample at the end too, before the phase frees anything: short phases get one
                self._record(name)
                self.phase = outer

        return labelled

    def __enter__(self) -> PhaseMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=1, help="prompts per step (P)")
    ap.add_argument("--beta", type=float, default=0.0, help="KL coefficient; > 0 adds a frozen reference model")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--model", default=None, help="policy folder or 'tiny' (smoke run); default SmolLM2-135M")
    ap.add_argument("--interval", type=float, default=0.005, help="seconds between RSS samples")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mmap-threshold-kib", type=mmap_threshold, default=None,
                    help="GRPOConfig.mmap_threshold_kib, e.g. 128 (default: 'none', glibc's adaptive threshold)")
    args = ap.parse_args(argv)

    import torch

    import recgym  # noqa: F401  (registers the env ids)
    from recgym.agents import make_agent

    torch.set_num_threads(args.threads)
    settings = Settings(prompts_per_step=args.prompts, beta=args.beta, max_new_tokens=args.max_new_tokens,
                        total_steps=args.steps, mmap_threshold_kib=args.mmap_threshold_kib,
                        log_dir=tempfile.mkdtemp(prefix="grpo-memory-"))  # fmt: skip
    cfg = recgym_config(settings)  # grpo_step.py's recgym configuration, field for field
    venv = make_venv(settings)
    agent = make_agent("grpo", venv, config=cfg, model=args.model)
    memory = PhaseMemory(args.interval)
    torch.autograd.backward = memory.wrap("backward", torch.autograd.backward)
    torch.optim.AdamW.step = memory.wrap("optimizer", torch.optim.AdamW.step)
    agent.policy.model.generate = memory.wrap("generate", agent.policy.model.generate)
    env = venv.unwrapped
    env.reset, env.step = memory.wrap("env", env.reset), memory.wrap("env", env.step)
    loaded = memory.process.memory_info().rss
    seconds = []
    with memory:
        for _ in range(args.steps):
            start = time.perf_counter()
            agent.train_step(venv)
            seconds.append(time.perf_counter() - start)
    high_water = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    result = {"loaded": loaded / GIB, "ru_maxrss": high_water / GIB, **{k: v / GIB for k, v in memory.peaks.items()},
              "sec_per_step": seconds}  # fmt: skip
    print(f"P={args.prompts} beta={args.beta:g} G={cfg.num_generations} max_new_tokens={args.max_new_tokens}, "
          f"mmap threshold {args.mmap_threshold_kib} KiB, "
          f"{args.steps} steps ({', '.join(f'{t:.1f}' for t in seconds)} s); RSS in GiB: loaded {result['loaded']:.2f}, "
          f"high-water mark {result['ru_maxrss']:.2f}")
    for phase in sorted(memory.peaks, key=memory.peaks.get, reverse=True):
        print(f"  peak during {phase:<9} {memory.peaks[phase] / GIB:.2f}")
    return result


if __name__ == "__main__":
    main()
