"""Group Relative Policy Optimisation (GRPO) for text-action envs: config, loss, trainer."""

from recgym.agents.grpo.config import GRPOConfig
from recgym.agents.grpo.loss import clipped_policy_loss, group_advantages, k3_kl
from recgym.agents.grpo.trainer import GRPOAgent

__all__ = ["GRPOAgent", "GRPOConfig", "clipped_policy_loss", "group_advantages", "k3_kl"]
