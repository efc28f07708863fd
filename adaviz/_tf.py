"""Import TensorFlow once, quietly, with an install hint when it is missing."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys

INSTALL_HINT = (
    "adaviz needs TensorFlow >= 2.16 (Keras 3): install it with "
    "`pip install 'adaviz[tensorflow-cpu]'` (CPU only, smaller) or "
    "`pip install 'adaviz[tensorflow]'`."
)

_quiet_done = False  # the noisy start-up (import + device discovery) has happened


@contextlib.contextmanager
def _stderr_silenced():
    """Send the process-level stderr (fd 2) to /dev/null for the duration."""
    try:
        saved = os.dup(2)
    except OSError:  # no real fd 2 (embedded interpreters): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            sys.stderr.flush()
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _start_up():
    """Import Keras and TensorFlow and discover the devices; return ``tensorflow``.

    Device discovery is where the full ``tensorflow`` wheel probes CUDA (on a machine
    without a GPU it logs ``failed call to cuInit`` at ERROR level, which
    ``TF_CPP_MIN_LOG_LEVEL=2`` does not hide); doing it here keeps it inside the silenced
    start-up instead of at the user's first op. Listing the physical devices does not
    create the runtime context, so logical devices can still be configured afterwards.
    """
    import keras  # noqa: F401
    import tensorflow as tf

    tf.config.list_physical_devices()
    return tf


#: Set next to ``TF_CPP_MIN_LOG_LEVEL`` when adaviz chose the level, not the user.
_OURS = "ADAVIZ_QUIET_TF"


def import_tensorflow():
    """Return the ``tensorflow`` module, importing it without C++ start-up noise.

    When the user has not set ``TF_CPP_MIN_LOG_LEVEL``, it is set to 2 (warnings and
    info off) and the start-up — import and device discovery, which log before that
    level takes effect or at ERROR level — runs with fd 2 sent to /dev/null. Only the
    start-up is silenced: everything written to stderr afterwards reaches the user. A
    user who set ``TF_CPP_MIN_LOG_LEVEL`` gets exactly what they asked for.

    Raises:
        ImportError: TensorFlow is not installed (the message says how to install it).
    """
    global _quiet_done
    if _quiet_done:
        return sys.modules["tensorflow"]
    if importlib.util.find_spec("tensorflow") is None:
        raise ImportError(INSTALL_HINT)
    # A level adaviz set itself (inherited by spawned workers, Dask processes) is not the
    # user's choice: those children start up quietly too.
    ours = os.environ.get(_OURS) == "1" and os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "2"
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ and not ours:
        tf = _start_up()
    else:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        os.environ[_OURS] = "1"
        with _stderr_silenced():
            tf = _start_up()
    _quiet_done = True
    return tf


def tf_variable(variable):
    """The ``tf.Variable`` behind a Keras variable (or the variable itself)."""
    import keras

    return variable.value if isinstance(variable, keras.Variable) else variable
