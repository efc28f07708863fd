"""Test-wide set-up: two logical CPU devices (for tf.distribute tests), quiet TF."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import tensorflow as tf  # noqa: E402

import adaviz  # noqa: E402,F401  (imports TensorFlow quietly)

_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
except RuntimeError:  # devices already initialised by an earlier import
    pass


def pytest_configure(config):
    """Markers that sort the suite into tiers (``make test-fast`` deselects them all)."""
    for line in (
        "browser: drives a real Chromium against a Jupyter front-end",
        "notebook: executes notebooks in a real Jupyter kernel",
        "subprocess: starts a fresh Python interpreter (TensorFlow start-up each time)",
        "network: needs a package index (pip)",
        "binder: builds the Binder environment for real (make binder-test)",
    ):
        config.addinivalue_line("markers", line)
