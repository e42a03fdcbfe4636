"""recgym: recommendation and product search as text-action Gymnasium environments (the Rec-R1 setting).

``import recgym`` registers the env ids (``RecR1/Shop-BM25-v0``, ``RecR1/ESCI-BM25-v0``, ...) with Gymnasium.
"""

from recgym.envs.registration import register_envs

__version__ = "0.1.0"

register_envs()

__all__ = ["__version__", "register_envs"]
