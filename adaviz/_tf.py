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


def import_tensorflow():
    """Return the ``tensorflow`` module, importing it without C++ start-up noise.

    The noise is only hidden when the user has not set ``TF_CPP_MIN_LOG_LEVEL``
    themselves; a user who set it gets exactly what they asked for.

    Raises:
        ImportError: TensorFlow is not installed (the message says how to install it).
    """
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    if importlib.util.find_spec("tensorflow") is None:
        raise ImportError(INSTALL_HINT)
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        import keras  # noqa: F401
        import tensorflow as tf

        return tf
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    with _stderr_silenced():
        import keras  # noqa: F401
        import tensorflow as tf
    return tf
