"""Text-action Gymnasium envs over black-box recommenders."""

from recgym.envs.agent_env import SearchAgentEnv
from recgym.envs.factory import DatasetNotFoundError, load_task_dataset, make_env, make_recommender, make_vector_env
from recgym.envs.registration import register_envs, registered_ids
from recgym.envs.task import Task, TaskScorer, task_of
from recgym.envs.tasks import ProductSearchEnv, SequentialRecEnv
from recgym.envs.text_env import RecTextEnv
from recgym.envs.vector_env import RecTextVectorEnv, unbatch_infos

__all__ = [
    "DatasetNotFoundError",
    "ProductSearchEnv",
    "RecTextEnv",
    "RecTextVectorEnv",
    "SearchAgentEnv",
    "SequentialRecEnv",
    "Task",
    "TaskScorer",
    "load_task_dataset",
    "make_env",
    "make_recommender",
    "make_vector_env",
    "register_envs",
    "registered_ids",
    "task_of",
    "unbatch_infos",
]
