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

# Parametrized checks whose first case stays in ``make test-fast``; their other cases (the
# same check for another rule, surface or dtype) are marked ``slow``: ``make test`` runs them.
FIRST_CASE_FAST = {
    "tests/test_rules.py::test_batched_hyperparameters_equal_separate_calls_and_never_retrace",
    "tests/test_rules.py::test_every_rule_equals_stepping_keras_in_float64",
    "tests/test_rules.py::test_step_size_is_the_realized_multiplier_of_the_gradient",
    "tests/test_rules.py::test_loss_scale_runs_the_rule_on_the_scaled_function",
    "tests/test_engine.py::test_one_batched_call_equals_separate_calls",
    "tests/test_engine.py::test_simulate_equals_stepping_adaviz_adadelta_in_float64",
    "tests/test_engine.py::test_simulate_equals_stepping_adaviz_adadelta_in_float32",
    "tests/test_engine.py::test_float64_simulate_equals_the_numpy_reference",
    "tests/test_engine_noise.py::test_keras_stepped_with_the_recorded_noisy_gradients_reproduces_the_run",
    "tests/sweeps/test_metric_sweep.py::test_cells_equal_their_single_simulate_run_float64",
    "tests/panels/kit/test_lifecycle.py::test_close_closes_the_widget_tree_of_the_other_panels",
    "tests/test_callbacks.py::test_recorded_statistics_equal_the_slots",
    "tests/test_reference.py::test_float32_matches_reference_every_step",
    "tests/test_reference.py::test_float64_matches_reference_over_50_steps",
}


def pytest_collection_modifyitems(config, items):
    import pytest

    seen = set()
    for item in items:
        nodeid = item.nodeid.split("[")[0]
        if nodeid in SUBPROCESS_TESTS or SUBPROCESS_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.subprocess)
        if nodeid in FIRST_CASE_FAST:
            if nodeid in seen:
                item.add_marker(pytest.mark.slow)
            seen.add(nodeid)
