"""Supervised fine-tuning (SFT) of an LLM policy: the baseline Rec-R1 compares RL against."""

from recgym.agents.sft.config import SFTConfig
from recgym.agents.sft.pairs import SFTPair, load_pairs_jsonl, pairs_from_env
from recgym.agents.sft.trainer import SFTAgent
from recgym.agents.sft.transcripts import transcripts_from_agent

__all__ = ["SFTAgent", "SFTConfig", "SFTPair", "load_pairs_jsonl", "pairs_from_env", "transcripts_from_agent"]
