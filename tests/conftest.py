"""Test-wide set-up: two logical CPU devices (for tf.distribute tests), quiet TF."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")


def _set_up_tensorflow():
    # adaviz first: it imports TensorFlow quietly and sets TF_CPP_MIN_LOG_LEVEL=2 unless the
    # developer set a level (then TensorFlow logs what they asked for).
    from adaviz._tf import import_tensorflow

    tf = import_tensorflow()
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
        )
    except RuntimeError:  # devices already initialised by an earlier import
        pass


def _is_xdist_controller(config):
    """Whether this process only hands tests to pytest-xdist workers (``-n 2``): it runs
    none itself, so it need not spend seconds of a shared CPU importing TensorFlow."""
    return (
        not hasattr(config, "workerinput")
        and config.getoption("dist", "no") != "no"
        and bool(config.getoption("tx", None))
        and not config.getoption("collectonly", False)
    )


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
    # before any test module is imported (collection comes after pytest_configure)
    if not _is_xdist_controller(config):
        _set_up_tensorflow()


# Tests in other files that start another interpreter (a fresh Python, or Dask worker
# processes through the ``client`` fixture): the ``subprocess`` tier, not ``make test-fast``.
SUBPROCESS_TESTS = {
    "tests/test_optimizer.py::test_import_adaviz_alone_is_enough_to_load_a_saved_model",
    "tests/test_training.py::test_core_modules_import_no_panel_and_no_widget",
}
SUBPROCESS_FIXTURES = {"client"}  # tests/sweeps/test_model_sweep.py: a Dask LocalCluster


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        nodeid = item.nodeid.split("[")[0]
        if nodeid in SUBPROCESS_TESTS or SUBPROCESS_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.subprocess)
