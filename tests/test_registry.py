"""Every registered id: gym.make + check_env, gym.make_vec, and the real-data ids' refusal to run without data."""

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from test_recommenders import BagOfWordsEncoder

import recgym  # noqa: F401
from recgym.envs import DatasetNotFoundError, registered_ids

SMALL_SHOP = {"num_products": 400, "num_queries": 200}
SMALL_SHOPSEQ = {"num_products": 400, "num_users": 200}
# real-data ids -> the folder of ../shared/data holding their files
REAL_DATA = {"ESCI": "esci_sample", "C4": "amazon_c4_closed", "SeqRec": "amazon_seqrec_video_games"}


def kwargs_for(env_id, shared_data=None):
    task = env_id.split("/")[1].split("-")[0]
    if task == "Shop":
        return {"dataset_kwargs": SMALL_SHOP}
    if task == "ShopSeq":
        return {"dataset_kwargs": SMALL_SHOPSEQ}
    return {"data_dir": str(shared_data / REAL_DATA[task])}


def first_split(env_id, kwargs):
    """The first split with examples (the one-query ESCI sample has only a test split)."""
    ds = recgym.envs.load_task_dataset(
        gym.spec(env_id).kwargs["task"], kwargs.get("data_dir"), kwargs.get("dataset_kwargs")
    )
    return next(s for s in ("train", "val", "test") if ds.splits.get(s))


def test_expected_ids_are_registered():
    ids = set(registered_ids())
    for env_id in [
        "RecR1/Shop-BM25-v0",
        "RecR1/Shop-Dense-v0",
        "RecR1/ShopSeq-BM25-v0",
        "RecR1/ESCI-BM25-v0",
        "RecR1/ESCI-Dense-v0",
        "RecR1/C4-BM25-v0",
        "RecR1/SeqRec-BM25-v0",
        "RecR1/SeqRec-Dense-v0",
    ]:
        assert env_id in ids and env_id in gym.registry


# -Postgres- ids need a server: tests/test_postgres_recommender.py starts one and runs check_env there
@pytest.mark.parametrize(
    "env_id", [i for i in registered_ids() if not any(r in i for r in ("-Dense-", "-Hybrid-", "-Postgres-"))]
)
def test_check_env_bm25_ids(env_id, request):
    real = env_id.split("/")[1].split("-")[0] in REAL_DATA
    kwargs = kwargs_for(env_id, request.getfixturevalue("shared_data") if real else None)
    env = gym.make(env_id, split=first_split(env_id, kwargs), **kwargs)
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=0)
    _, reward, terminated, _, step_info = env.step(info["raw_action"])
    assert terminated and reward > -2 and step_info["format_ok"]


@pytest.mark.slow
@pytest.mark.parametrize("env_id", [i for i in registered_ids() if "-Dense-" in i or "-Hybrid-" in i])
def test_check_env_dense_ids(env_id, request):
    """The dense ids with the real offline all-MiniLM-L6-v2 (embeddings cached on disk for the session), except
    C4, whose 13,412 titles take ~45 s to embed on 2 cores: it gets a hashed bag-of-words encoder instead (the
    env path is the same; the real model is exercised by the other ids)."""
    real = env_id.split("/")[1].split("-")[0] in REAL_DATA
    kwargs = kwargs_for(env_id, request.getfixturevalue("shared_data") if real else None)
    if env_id.startswith("RecR1/C4-"):
        kwargs["recommender_kwargs"] = {"model": BagOfWordsEncoder()}
    env = gym.make(env_id, split=first_split(env_id, kwargs), **kwargs)
    check_env(env.unwrapped, skip_render_check=True)


def test_make_vec_uses_the_batched_env():
    venv = gym.make_vec("RecR1/Shop-BM25-v0", num_envs=4, reward="plain", dataset_kwargs=SMALL_SHOP)
    assert isinstance(venv.unwrapped, recgym.envs.RecTextVectorEnv)
    obs, infos = venv.reset(seed=0, options={"index": 0})
    _, rewards, terminated, _, infos = venv.step([infos["raw_action"][0]] * 4)
    assert terminated.all() and len(set(rewards.tolist())) == 1


@pytest.mark.parametrize("env_id", ["RecR1/ESCI-BM25-v0", "RecR1/C4-BM25-v0", "RecR1/SeqRec-Dense-v0"])
def test_real_ids_refuse_to_run_without_data(env_id, tmp_path):
    with pytest.raises(DatasetNotFoundError, match="RecR1/Shop-BM25-v0") as err:
        gym.make(env_id)  # the test cache is empty
    assert "real" in str(err.value) and "data_dir" in str(err.value)
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path / "missing")):
        gym.make(env_id, data_dir=tmp_path / "missing")


def test_shop_takes_no_data_dir(tmp_path):
    with pytest.raises(ValueError, match="synthetic shop and takes no data_dir"):
        gym.make("RecR1/Shop-BM25-v0", data_dir=tmp_path)
