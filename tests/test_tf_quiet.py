"""TensorFlow's C++ logging stays out of the user's stderr (fd 2) unless the user asks for it.

With the full ``tensorflow`` wheel on a machine without a GPU, device discovery logs
``failed call to cuInit`` at ERROR level at the first op after import; ``tensorflow-cpu``
does not. Each test runs a fresh Python (or a real Jupyter kernel) with fd 2 captured.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap

import pytest

# A line TensorFlow's C++ logging writes: "I0000 00:00:... file.cc:12] ..." and friends.
TF_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\]", re.MULTILINE)

# Everything a new user does first: import, simulate, an optimizer step, both panels.
FIRST_STEPS = textwrap.dedent(
    """
    import os, sys
    import adaviz
    import tensorflow as tf

    traj = adaviz.simulate("rosenbrock", steps=50)
    assert traj.positions.shape[0] == 51, traj.positions.shape
    var = tf.Variable([1.0, 2.0])
    adaviz.Adadelta(learning_rate=1.0).apply_gradients([(tf.constant([0.5, -0.5]), var)])
    surface_panel = adaviz.SurfacePanel("rosenbrock", steps=200)
    model_panel = adaviz.ModelPanel(data="moons")
    model_panel.step(5)
    print("level", os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
    """
)

# After the first steps: the user's own output to stderr, then an error of theirs.
USER_ERRORS = textwrap.dedent(
    """
    os.write(2, b"USER-FD2\\n")
    print("USER-PY", file=sys.stderr, flush=True)
    tf.debugging.assert_positive(tf.constant([-1.0]), message="USER-TF")
    """
)


def full_wheel_installed():
    """True when the full ``tensorflow`` distribution (not only ``tensorflow-cpu``) is here."""
    try:
        importlib.metadata.distribution("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def run_python(code, level=None, **extra_env):
    env = {
        k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ADAVIZ_QUIET_TF")
    }
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )


def test_ci_runs_these_tests_with_the_full_tensorflow_wheel():
    """The cuInit noise exists only with the full wheel, so CI must have it."""
    if full_wheel_installed():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            "CI must test with the full `tensorflow` wheel (pip install 'adaviz[tensorflow]')"
        )
    pytest.skip("only tensorflow-cpu is installed here; the cuInit check needs the full wheel")


@pytest.mark.subprocess
def test_first_steps_write_nothing_to_stderr_and_user_errors_still_show():
    proc = run_python(FIRST_STEPS + USER_ERRORS)
    assert proc.returncode != 0, "the user's failing assertion must fail the script"
    assert "level 2" in proc.stdout, proc.stdout
    before_user, marker, after = proc.stderr.partition("USER-FD2\n")
    assert marker, f"the user's own fd-2 write is missing from stderr:\n{proc.stderr[-3000:]}"
    assert before_user == "", f"TensorFlow wrote to stderr before the user did:\n{before_user}"
    assert after.startswith("USER-PY\n"), after[:500]
    assert "Traceback (most recent call last)" in after
    assert "InvalidArgumentError" in after and "USER-TF" in after, after[-2000:]


@pytest.mark.subprocess
def test_worker_processes_inherit_adaviz_level_and_start_quietly():
    """A spawned worker (process pool, Dask) inherits the level adaviz set, not the user's."""
    code = FIRST_STEPS.split("surface_panel")[0]  # import, simulate, an optimizer step
    proc = run_python(code, level="2", ADAVIZ_QUIET_TF="1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == "", f"a worker's TensorFlow start-up reached stderr:\n{proc.stderr}"


@pytest.mark.subprocess
def test_user_log_level_zero_shows_everything():
    proc = run_python(FIRST_STEPS, level="0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "level 0" in proc.stdout
    assert TF_LOG_LINE.search(proc.stderr), proc.stderr[-3000:]
    # (oneDNN's start-up note is printed only on CPUs where its custom ops apply)
    assert "absl::InitializeLog" in proc.stderr
    if full_wheel_installed():
        assert "cuInit" in proc.stderr or "cuda" in proc.stderr.lower(), proc.stderr[-3000:]


@pytest.mark.subprocess
def test_full_wheel_probes_cuda_and_the_probe_is_silenced():
    """Without adaviz the full wheel prints its CUDA probe at the first op; with it, never."""
    if not full_wheel_installed():
        pytest.skip("needs the full tensorflow wheel")
    bare = run_python("import tensorflow as tf; tf.constant(1.0) + 1")
    assert "cuInit" in bare.stderr or "cuda" in bare.stderr.lower(), bare.stderr[-2000:]
    quiet = run_python("import adaviz, tensorflow as tf; tf.constant(1.0) + 1")
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr[-2000:]


@pytest.mark.notebook
def test_first_panel_in_a_kernel_has_no_stderr_output(monkeypatch):
    """The red box under the first panel: a real kernel, stderr streams collected."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import adaviz"),
        nbformat.v4.new_code_cell('adaviz.SurfacePanel("rosenbrock", steps=200)'),
        nbformat.v4.new_code_cell('panel = adaviz.ModelPanel(data="moons")\npanel.step(5)\npanel'),
        nbformat.v4.new_code_cell("import sys; print('USER-PY', file=sys.stderr)"),
    ]
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # the kernel starts as a user's
    # ipykernel forwards fd 2 to the notebook (the red box) except under pytest
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    streams = [
        (i, out.get("text", ""))
        for i, cell in enumerate(nb.cells)
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stderr"
    ]
    assert streams == [(3, "USER-PY\n")], streams
