"""Package-level behaviour: TensorFlow missing, quiet import, public names, metadata."""

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import adaviz

try:
    import tomllib
except ImportError:  # Python 3.10: the tomli backport (the test extra installs it)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _run(code, **env):
    full_env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=300
    )


@pytest.mark.subprocess
def test_missing_tensorflow_says_how_to_install_it():
    proc = _run("import sys; sys.modules['tensorflow'] = None; import adaviz")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: adaviz needs TensorFlow")
    assert "pip install 'adaviz[tensorflow-cpu]'" in last
    assert "pip install 'adaviz[tensorflow]'" in last


@pytest.mark.subprocess
def test_import_keeps_tensorflow_start_up_noise_out():
    code = (
        "import os, adaviz, tensorflow as tf\n"
        "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])\n"
        "print(float(tf.reduce_sum(tf.ones((3, 3)) @ tf.ones((3, 3)))))\n"
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["2", "27.0"]
    assert "oneDNN" not in proc.stderr
    assert "cpu_feature_guard" not in proc.stderr
    assert "absl::InitializeLog" not in proc.stderr


@pytest.mark.subprocess
def test_user_log_level_is_respected():
    proc = _run(
        "import os, adaviz; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])", TF_CPP_MIN_LOG_LEVEL="0"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"
    # the user asked for everything, so TensorFlow's own start-up messages come through
    # (which ones depends on the CPU: oneDNN's note only where its custom ops apply)
    assert "absl::InitializeLog" in proc.stderr
    assert any(word in proc.stderr for word in ("oneDNN", "cpu_feature_guard", "cuda"))


def test_public_names_resolve():
    for name in adaviz.__all__:
        assert getattr(adaviz, name) is not None, name
    assert callable(adaviz.simulate)
    assert callable(adaviz.surfaces.get)


def test_version_lives_in_one_place():
    """``adaviz.__version__`` is the version: pyproject reads it (hatch), metadata agrees."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["hatch"]["version"]["path"] == "adaviz/__init__.py"
    assert adaviz.__version__ == importlib.metadata.version("adaviz")
    assert re.fullmatch(r"\d+\.\d+\.\d+", adaviz.__version__), adaviz.__version__


def test_license_is_the_apache_2_text_pyproject_declares():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == {"text": "Apache-2.0"}
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert len(text) > 10_000  # the full text, not a pointer to it


def test_dependencies_and_extras():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = " ".join(meta["project"]["dependencies"])
    for needed in ("numpy", "ipywidgets>=8.1", "plotly>=6.3,<8", "anywidget"):
        assert needed in deps
    # TensorFlow is offered as extras, never a hard dependency
    assert "tensorflow" not in deps
    extras = meta["project"]["optional-dependencies"]
    assert extras["tensorflow"] == ["tensorflow>=2.16"]
    assert extras["tensorflow-cpu"] == ["tensorflow-cpu>=2.16"]
