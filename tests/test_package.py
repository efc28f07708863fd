"""Package-level behaviour: TensorFlow missing, quiet import, public names, metadata."""

import os
import subprocess
import sys
from pathlib import Path

import tomllib

import adaviz

ROOT = Path(__file__).resolve().parents[1]


def _run(code, **env):
    full_env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=300
    )


def test_missing_tensorflow_says_how_to_install_it():
    proc = _run("import sys; sys.modules['tensorflow'] = None; import adaviz")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: adaviz needs TensorFlow")
    assert "pip install 'adaviz[tensorflow-cpu]'" in last
    assert "pip install 'adaviz[tensorflow]'" in last


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


def test_user_log_level_is_respected():
    proc = _run(
        "import os, adaviz; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])", TF_CPP_MIN_LOG_LEVEL="0"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"
    # the user asked for everything, so TensorFlow's own start-up messages come through
    assert "oneDNN" in proc.stderr


def test_public_names_resolve():
    for name in adaviz.__all__:
        assert getattr(adaviz, name) is not None, name
    assert callable(adaviz.simulate)
    assert callable(adaviz.surfaces.get)


def test_version_matches_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert adaviz.__version__ == meta["project"]["version"]
    deps = " ".join(meta["project"]["dependencies"])
    for needed in ("numpy", "ipywidgets>=8.1", "plotly>=6.1", "anywidget"):
        assert needed in deps
    # TensorFlow is offered as extras, never a hard dependency
    assert "tensorflow" not in deps
    extras = meta["project"]["optional-dependencies"]
    assert extras["tensorflow"] == ["tensorflow>=2.16"]
    assert extras["tensorflow-cpu"] == ["tensorflow-cpu>=2.16"]
