"""The live page's JavaScript engine (adaviz/web/engine.js) in Chromium, against TensorFlow.

Every rule x built-in surface x at least three hyperparameter settings x two starts runs 500
steps in the page and in ``adaviz.simulate(..., dtype="float64")``; on three surfaces the
runs from the second start carry gradient noise (``noise``, ``seed``: the page draws it as
``adaviz.graphs.gradient_noise`` does, seeds up to 2**32 - 1 included):

* teacher-forced: from every recorded position and state of ``simulate``, one step in the
  page gives the same loss, gradient, new position, new state and step sizes within 1e-9
  (relative where values are large), and its divergence check fails exactly at the step
  ``simulate`` flags;
* free-running: the page's own 500 steps diverge at the same step as ``simulate``, and
  every record agrees within 1e-9 wherever float64 can hold that (see the test).

The surfaces' gradients equal TensorFlow's (``tf.GradientTape`` on ``surface.fn``, float64)
at 1,000 random points each within 1e-12 relative. One page load; each comparison is one
evaluate call, the runs travelling as float64 bytes.

Without Chromium or Playwright the tests skip with the reason, except under ``CI=true``.
"""

from __future__ import annotations

import base64
import json

import browser_harness as bh
import numpy as np
import pytest

import adaviz
from adaviz import web

pytestmark = pytest.mark.browser

tf = adaviz._tf.import_tensorflow()

STEPS = 500
POSITION_TOL = 1e-9
GRADIENT_TOL = 1e-12
GRADIENT_POINTS = 1000
#: the surfaces whose runs from the second start have gradient noise of this deviation
NOISY_SURFACES = ("rosenbrock", "booth", "himmelblau")
NOISE = 1.0

#: at least three settings per rule, covering every flag and Adadelta's decay
SETTINGS = {
    "adadelta": [
        {},
        {"lr": 0.5, "rho": 0.9, "epsilon": 1e-4, "decay": 0.01},
        {"rho": 0.99, "epsilon": 1e-6},
    ],
    "sgd": [{"lr": 1e-4}, {"lr": 1e-3}, {"lr": 1e-2}],
    "momentum": [
        {"lr": 1e-3, "momentum": 0.9},
        {"lr": 1e-4, "momentum": 0.5},
        {"lr": 1e-2, "momentum": 0.99},
    ],
    "nesterov": [
        {"lr": 1e-3, "momentum": 0.9},
        {"lr": 1e-4, "momentum": 0.5},
        {"lr": 1e-2, "momentum": 0.99},
    ],
    "adagrad": [
        {},
        {"lr": 0.1, "initial_accumulator_value": 0.1},
        {"lr": 1.0, "initial_accumulator_value": 0.01, "epsilon": 1e-5},
    ],
    "rmsprop": [
        {},
        {"lr": 0.01, "centered": True},
        {"lr": 0.001, "momentum": 0.9},
        {"lr": 0.001, "momentum": 0.5, "centered": True, "rho": 0.8},
    ],
    "adam": [
        {},
        {"lr": 0.05, "amsgrad": True},
        {"lr": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-4},
    ],
}


def second_start(surface):
    """A start other than the surface's own, inside its domain."""
    (xmin, xmax), (ymin, ymax) = surface.domain
    return (xmin + 0.71 * (xmax - xmin), ymin + 0.27 * (ymax - ymin))


def cases():
    """(surface name, rule name, hyperparameters, start, noise, seed) for every comparison."""
    out = []
    for surface_name in adaviz.surfaces.names():
        surface = adaviz.surfaces.get(surface_name)
        noise = NOISE if surface_name in NOISY_SURFACES else 0.0
        for rule_name, settings in SETTINGS.items():
            for hp in settings:
                # the noise seeds: small ones and ones near 2**32 (the hash's uint32 wrap)
                seed = len(out) if len(out) % 4 else 2**32 - 1 - len(out)
                out.append((surface_name, rule_name, hp, list(surface.start), 0.0, 0))
                start = [float(v) for v in second_start(surface)]
                out.append((surface_name, rule_name, hp, start, noise, seed))
    return out


@pytest.fixture(scope="module")
def engine_page(playwright):
    """A blank page with engine.js loaded, all network refused."""
    with bh.chromium(playwright) as context:
        context.route("**/*", lambda route: route.abort())
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_content("<!doctype html><title>engine</title>")
        page.add_script_tag(content=web.engine_js())
        page.adaviz_errors = errors
        yield page
        assert not errors, errors


def to_base64(arrays):
    return base64.b64encode(np.concatenate([np.ravel(a) for a in arrays]).tobytes()).decode()


def from_base64(text):
    return np.frombuffer(base64.b64decode(text), np.float64)


PAGE_HELPERS = """
  const fromBase64 = (text) => {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    return new Float64Array(bytes.buffer);
  };
  const toBase64 = (chunks) => {
    const all = new Float64Array(chunks.reduce((n, a) => n + a.length, 0));
    let offset = 0;
    for (const a of chunks) { all.set(a, offset); offset += a.length; }
    const bytes = new Uint8Array(all.buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i += 32768) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768));
    }
    return btoa(text);
  };
"""

# free-running: adaviz.simulate in the page, every record returned
RUN_IN_PAGE = """(cases) => {HELPERS
  const chunks = [];
  const diverged_at = [];
  const z = new Float64Array(2);
  for (const [surface, optimizer, hp, start, noise, seed] of cases) {
    const t = adaviz.simulate(surface, Object.assign({start, steps: STEPS, optimizer, noise, seed}, hp));
    chunks.push(t.positions, t.loss, t.grads, t.step_size, t.newton_step_size);
    for (const slot of adaviz.RULES[optimizer].state) chunks.push(t.state[slot]);
    diverged_at.push(t.diverged_at);
    // the same run with every new position nudged by one part in 2**52 (rounding noise):
    // how far it drifts from the run says how far rounding differences can grow
    const rule = adaviz.RULES[optimizer];
    const s = adaviz.SURFACES[surface];
    const settings = Object.assign({}, rule.defaults, hp);
    const slots = [new Float64Array(rule.state.length), new Float64Array(rule.state.length)];
    rule.init(slots[0], settings);
    rule.init(slots[1], settings);
    const values = new Float64Array(5);
    const out = new Float64Array(2);
    const nudged = new Float64Array(t.positions.length).fill(NaN);
    let x = start[0], y = start[1];
    for (let k = 0; k <= t.steps && isFinite(x) && isFinite(y); k++) {
      nudged[2 * k] = x;
      nudged[2 * k + 1] = y;
      s.evaluate(x, y, values);
      adaviz.gradient_noise(seed, k, z);
      rule.step(x, slots[0], values[1] + noise * z[0], k, settings, out);
      x = out[0] * (1 + 2 ** -52);
      rule.step(y, slots[1], values[2] + noise * z[1], k, settings, out);
      y = out[0] * (1 - 2 ** -52);
    }
    chunks.push(nudged);
  }
  return {data: toBase64(chunks), diverged_at};
}""".replace("HELPERS", PAGE_HELPERS).replace("STEPS", str(STEPS))

# teacher-forced: from each recorded (position, state) of simulate, one step in the page
STEP_IN_PAGE = """([cases, recorded]) => {HELPERS
  const data = fromBase64(recorded);
  const steps = STEPS;
  const chunks = [];
  let offset = 0;
  const take = (n) => { const a = data.subarray(offset, offset + n); offset += n; return a; };
  const values = new Float64Array(5);
  const out = new Float64Array(2);
  const z = new Float64Array(2);
  for (const [name, optimizer, given, noise, seed] of cases) {
    const surface = adaviz.SURFACES[name];
    const rule = adaviz.RULES[optimizer];
    const hp = Object.assign({}, rule.defaults, given);
    const positions = take((steps + 1) * 2);
    const state = rule.state.map(() => take((steps + 1) * 2));
    const [[xlo, xhi], [ylo, yhi]] = surface.bounds;
    const next = new Float64Array((steps + 1) * 2).fill(NaN);
    const nextState = rule.state.map(() => new Float64Array((steps + 1) * 2).fill(NaN));
    const loss = new Float64Array(steps + 1).fill(NaN);
    const grads = new Float64Array(steps * 2).fill(NaN);
    const stepSize = new Float64Array(steps * 2).fill(NaN);
    const newton = new Float64Array(steps * 2).fill(NaN);
    const ok = new Float64Array(steps + 1).fill(NaN);  // the divergence check of next[t]
    const slots = [new Float64Array(rule.state.length), new Float64Array(rule.state.length)];
    for (let t = 0; t <= steps; t++) {
      const x = positions[2 * t], y = positions[2 * t + 1];
      if (Number.isNaN(x)) break;
      surface.evaluate(x, y, values);
      loss[t] = values[0];
      if (t === steps) break;
      adaviz.gradient_noise(seed, t, z);
      for (let i = 0; i < 2; i++) {
        const grad = values[1 + i] + noise * z[i];
        rule.state.forEach((_, k) => { slots[i][k] = state[k][2 * t + i]; });
        rule.step(positions[2 * t + i], slots[i], grad, t, hp, out);
        next[2 * (t + 1) + i] = out[0];
        stepSize[2 * t + i] = out[1];
        grads[2 * t + i] = grad;
        newton[2 * t + i] = 1.0 / Math.abs(values[3 + i]);
        rule.state.forEach((_, k) => { nextState[k][2 * (t + 1) + i] = slots[i][k]; });
      }
      const nx = next[2 * (t + 1)], ny = next[2 * (t + 1) + 1];
      const f = surface.fn(nx, ny);
      ok[t + 1] = isFinite(f) && nx >= xlo && nx <= xhi && ny >= ylo && ny <= yhi ? 1 : 0;
    }
    chunks.push(next, loss, grads, stepSize, newton, ok, ...nextState);
  }
  return toBase64(chunks);
}""".replace("HELPERS", PAGE_HELPERS).replace("STEPS", str(STEPS))


def mismatches(name, case, got, want, tol):
    """Where ``got != want`` beyond ``tol`` (relative where |want| > 1; NaN and inf must
    match): a list with one message naming the first such index, or nothing."""
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    with np.errstate(invalid="ignore"):
        near = np.abs(got - want) <= tol * np.maximum(1.0, np.abs(want))
    bad = ~(same | near)
    if not bad.any():
        return []
    index = np.unravel_index(np.flatnonzero(bad.ravel())[0], got.shape)
    return [
        f"{name} of {case} differs at {tuple(int(i) for i in index)}: page {got[index]!r}, "
        f"simulate {want[index]!r} ({bad.sum()} of {bad.size} values)"
    ]


#: the rules whose step_size is move / grad (a velocity carries the move)
VELOCITY_RULES = ("momentum", "nesterov", "adam")


def step_size_mismatches(case, page, simulated, end=None, free_run=False):
    """The step sizes of the page against simulate's, as far as float64 defines them.

    ``newton_step_size`` is ``1 / |f_ii|`` and a velocity rule's ``step_size`` is
    ``move / grad``: where the curvature or the gradient is a rounding-level difference of
    large terms (an inflection line, a ripple's extremum) the quotient has no digits left to
    compare. So the curvature is compared everywhere and the quotients where their divisor
    is >= 1e-3. In a free run, a velocity rule's move is compared through the positions
    (its quotient amplifies the run's own rounding drift).
    """
    rule_name = case.split(" ")[0]
    (step_size, newton, grads), (want_step, want_newton, want_grads) = (
        [a[:end] for a in arrays] for arrays in (page, simulated)
    )
    velocity = rule_name in VELOCITY_RULES or (
        rule_name == "rmsprop" and " 'momentum': 0." in case and "'momentum': 0.0" not in case
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mismatches("|f_ii|", case, 1.0 / newton, 1.0 / want_newton, 1e-9)
        steady = 1.0 / want_newton >= 1e-3
        out += mismatches("newton_step_size", case, newton[steady], want_newton[steady], 1e-9)
        if free_run and velocity:
            return out
        steady = np.abs(want_grads) >= 1e-3 if velocity else np.ones_like(want_grads, bool)
        out += mismatches("step_size", case, step_size[steady], want_step[steady], 1e-9)
    return out


def report(failures, runs):
    if failures:
        pytest.fail(
            f"{len(failures)} mismatches in {runs} runs, the first 20:\n" + "\n".join(failures[:20])
        )


def label(case):
    surface_name, rule_name, hp, start, noise, seed = case
    noisy = f" with noise {noise} (seed {seed})" if noise else ""
    return f"{rule_name} on {surface_name} with {hp} from {start}{noisy}"


@pytest.fixture(scope="module")
def runs():
    """Every case run by ``adaviz.simulate(..., dtype="float64")``: ``[(case, trajectory,
    index in the trajectory)]``, one simulate call per surface and rule."""
    all_cases = cases()
    groups = {}
    for index, case in enumerate(all_cases):
        groups.setdefault(case[:2], []).append(index)
    out = [None] * len(all_cases)
    for (surface_name, rule_name), indices in groups.items():
        rule = adaviz._math.RULES[rule_name]
        group = [all_cases[i] for i in indices]
        hyper = {
            name: [case[2].get(name, rule.defaults[name]) for case in group]
            for name in rule.hyperparameters
        }
        trajectory = adaviz.simulate(
            surface_name,
            start=[case[3] for case in group],
            steps=STEPS,
            optimizer=rule_name,
            dtype="float64",
            noise=[case[4] for case in group],
            seed=[case[5] for case in group],
            **hyper,
        )
        for n, i in enumerate(indices):
            out[i] = (all_cases[i], trajectory, n)
    return out


def test_each_step_equals_tensorflow_float64(engine_page, runs):
    """Teacher-forced: from every recorded position and state of ``simulate``, the page's
    gradient, step, new state, step sizes and divergence check agree within 1e-9."""
    recorded = []
    for case, trajectory, n in runs:
        recorded.append(trajectory.positions[:, n])
        recorded.extend(trajectory.state[slot][:, n] for slot in adaviz._math.RULES[case[1]].state)
    data = from_base64(
        engine_page.evaluate(
            STEP_IN_PAGE, [[[*c[0][:3], *c[0][4:]] for c in runs], to_base64(recorded)]
        )
    )
    offset = 0
    checked_divergence = 0
    failures = []
    for case, trajectory, n in runs:
        slots = adaviz._math.RULES[case[1]].state
        sizes = [(STEPS + 1) * 2, STEPS + 1] + [STEPS * 2] * 3 + [STEPS + 1]
        sizes += [(STEPS + 1) * 2] * len(slots)
        parts = []
        for size in sizes:
            parts.append(data[offset : offset + size])
            offset += size
        nxt, loss, grads, step_size, newton, ok, *state = parts
        nxt = nxt.reshape(-1, 2)
        end = trajectory.diverged_at[n] if trajectory.diverged_at[n] >= 0 else STEPS + 1
        # the records up to the divergence index (NaN from there on)
        pairs = [
            ("position", nxt[1:end], trajectory.positions[1:end, n]),
            ("loss", loss[:end], trajectory.loss[:end, n]),
            ("grads", grads.reshape(-1, 2)[: end - 1], trajectory.grads[: end - 1, n]),
        ] + [
            (slot, array.reshape(-1, 2)[1:end], trajectory.state[slot][1:end, n])
            for slot, array in zip(slots, state, strict=True)
        ]
        for name, got, want in pairs:
            failures += mismatches(name, label(case), got, want, POSITION_TOL)
        failures += step_size_mismatches(
            label(case),
            (step_size.reshape(-1, 2), newton.reshape(-1, 2), grads.reshape(-1, 2)),
            (trajectory.step_size[:, n], trajectory.newton_step_size[:, n], trajectory.grads[:, n]),
            end - 1,
        )
        # the divergence check: passes before the recorded divergence, fails at it
        assert np.all(ok[1:end] == 1), f"{label(case)}: the page flags a step before {end}"
        if end <= STEPS:
            assert ok[end] == 0, f"{label(case)}: the page does not flag step {end}"
            checked_divergence += 1
    assert offset == data.size
    report(failures, len(runs))
    assert checked_divergence > 0  # some cases diverge, so the check is exercised


def test_free_runs_equal_tensorflow_float64(engine_page, runs):
    """500 steps run in the page from each start: divergence at the same step, and every
    record within 1e-9 of ``simulate`` wherever float64 can hold that.

    Rounding differs between any two implementations (XLA contracts ``a * b + c`` into fused
    multiply-adds and has its own ``exp`` and ``cos``); in a chaotic run such differences
    grow past any tolerance. The page measures each run's growth itself: the same run with
    every new position nudged by one part in 2**52. Runs whose nudged copy stays within
    1e-12 are held to 1e-9 here; every run is held to 1e-9 step by step by the
    teacher-forced test above.
    """
    result = engine_page.evaluate(RUN_IN_PAGE, [list(c[0]) for c in runs])
    data = from_base64(result["data"])
    offset = 0
    conditioned = noisy_conditioned = 0
    failures = []
    for index, (case, trajectory, n) in enumerate(runs):
        slots = adaviz._math.RULES[case[1]].state
        sizes = [(STEPS + 1) * 2, STEPS + 1] + [STEPS * 2] * 3 + [(STEPS + 1) * 2] * len(slots)
        sizes.append((STEPS + 1) * 2)
        parts = []
        for size in sizes:
            parts.append(data[offset : offset + size])
            offset += size
        positions, loss, grads, step_size, newton, *state, nudged = parts
        if result["diverged_at"][index] != trajectory.diverged_at[n]:
            failures.append(
                f"{label(case)}: page diverged at {result['diverged_at'][index]}, "
                f"simulate at {trajectory.diverged_at[n]}"
            )
            continue
        end = trajectory.diverged_at[n] if trajectory.diverged_at[n] >= 0 else STEPS + 1
        growth = np.abs(nudged - positions)[: 2 * end] / np.maximum(
            1.0, np.abs(positions[: 2 * end])
        )
        if not np.all(growth <= 1e-12):
            continue
        conditioned += 1
        noisy_conditioned += bool(case[4])
        pairs = [
            ("positions", positions, trajectory.positions[:, n]),
            ("loss", loss, trajectory.loss[:, n]),
            ("grads", grads, trajectory.grads[:, n]),
        ] + [
            (slot, array, trajectory.state[slot][:, n])
            for slot, array in zip(slots, state, strict=True)
        ]
        for name, got, want in pairs:
            failures += mismatches(name, label(case), got.reshape(want.shape), want, POSITION_TOL)
        failures += step_size_mismatches(
            label(case),
            (step_size.reshape(-1, 2), newton.reshape(-1, 2), grads.reshape(-1, 2)),
            (trajectory.step_size[:, n], trajectory.newton_step_size[:, n], trajectory.grads[:, n]),
            free_run=True,
        )
    assert offset == data.size
    report(failures, len(runs))
    assert len(runs) >= 7 * 12 * 3 * 2
    noisy = sum(bool(case[4]) for case, _, _ in runs)
    print(
        f"{conditioned} of {len(runs)} runs ({noisy_conditioned} of the {noisy} with noise) "
        f"are held to 1e-9 over all {STEPS} steps"
    )
    assert conditioned >= len(runs) // 2 and noisy_conditioned >= noisy // 2


def tensorflow_gradients(surface, x, y):
    tx, ty = tf.constant(x), tf.constant(y)
    with tf.GradientTape() as tape:
        tape.watch([tx, ty])
        z = surface.fn(tx, ty)
    gx, gy = tape.gradient(z, [tx, ty], unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return z.numpy(), gx.numpy(), gy.numpy()


def test_gradients_equal_tensorflow(engine_page):
    rng = np.random.default_rng(17)
    points = {}
    for name in adaviz.surfaces.names():
        (xmin, xmax), (ymin, ymax) = adaviz.surfaces.get(name).domain
        points[name] = (
            rng.uniform(xmin, xmax, GRADIENT_POINTS),
            rng.uniform(ymin, ymax, GRADIENT_POINTS),
        )
    got = engine_page.evaluate(
        """(points) => {
          const out = {};
          const values = new Float64Array(5);
          for (const [name, [xs, ys]] of Object.entries(points)) {
            const surface = adaviz.SURFACES[name];
            const rows = [];
            for (let i = 0; i < xs.length; i++) {
              surface.evaluate(xs[i], ys[i], values);
              rows.push([values[0], values[1], values[2], surface.fn(xs[i], ys[i])]);
            }
            out[name] = rows;
          }
          return out;
        }""",
        {name: [x.tolist(), y.tolist()] for name, (x, y) in points.items()},
    )
    for name, (x, y) in points.items():
        page = np.asarray(got[name])
        z, gx, gy = tensorflow_gradients(adaviz.surfaces.get(name), x, y)
        for what, column, want in (("f", 0, z), ("f_x", 1, gx), ("f_y", 2, gy), ("fn", 3, z)):
            error = np.abs(page[:, column] - want) / np.maximum(np.abs(want), 1e-300)
            worst = int(np.argmax(error))
            assert error[worst] <= GRADIENT_TOL, (
                f"{what} of {name} at ({x[worst]!r}, {y[worst]!r}): page "
                f"{page[worst, column]!r}, TensorFlow {want[worst]!r} "
                f"(relative error {error[worst]:.2e})"
            )


def test_names_and_defaults_mirror_python(engine_page):
    page = engine_page.evaluate(
        """() => ({
          surfaces: adaviz.names(),
          rules: Object.values(adaviz.RULES).map((r) => [r.name, r.hyperparameters,
            r.defaults, r.flags, r.state]),
          bounds: Object.fromEntries(adaviz.names().map((n) => [n, adaviz.SURFACES[n].bounds])),
          starts: Object.fromEntries(adaviz.names().map((n) => [n, adaviz.SURFACES[n].start])),
          minima: Object.fromEntries(adaviz.names().map((n) => [n, adaviz.SURFACES[n].minima])),
          min_value: Object.fromEntries(
            adaviz.names().map((n) => [n, adaviz.SURFACES[n].min_value])),
        })"""
    )
    assert page["surfaces"] == adaviz.surfaces.names()
    python_rules = [
        [r.name, list(r.hyperparameters), dict(r.defaults), list(r.flags), list(r.state)]
        for r in adaviz._math.RULES.values()
    ]
    assert json.loads(json.dumps(page["rules"])) == json.loads(json.dumps(python_rules))
    for name in adaviz.surfaces.names():
        surface = adaviz.surfaces.get(name)
        assert [tuple(b) for b in page["bounds"][name]] == list(surface.bounds)
        assert tuple(page["starts"][name]) == surface.start
        assert [tuple(m) for m in page["minima"][name]] == list(surface.minima)
        if surface.minima:
            assert page["min_value"][name] == pytest.approx(surface.min_value, rel=1e-12, abs=1e-12)


def test_bad_arguments_raise_named_errors(engine_page):
    messages = engine_page.evaluate(
        """() => [
          () => adaviz.simulate("nope"),
          () => adaviz.simulate("booth", {optimizer: "lbfgs"}),
          () => adaviz.simulate("booth", {steps: 0}),
          () => adaviz.simulate("booth", {rho: 0.9, optimizer: "sgd"}),
          () => adaviz.simulate("booth", {start: [1e6, 0]}),
          () => adaviz.simulate("booth", {noise: -1}),
          () => adaviz.simulate("booth", {noise: 1, seed: 2 ** 32}),
          () => adaviz.sweep("booth", {rho: [0.9], noise: 1, seeds: 0}),
        ].map((call) => { try { call(); return null; } catch (e) { return e.message; } })"""
    )
    assert messages[0].startswith('unknown surface "nope"')
    assert "optimizer must be one of adadelta, sgd" in messages[1]
    assert messages[2].startswith("steps must be an integer")
    assert "rho" in messages[3] and "lr" in messages[3]
    assert messages[4].startswith("start must lie within")
    assert messages[5] == "noise must be a finite number >= 0, got -1"
    assert messages[6] == "seed must be an integer in [0, 4294967295], got 4294967296"
    assert messages[7] == "seeds must be an integer in [1, 1024], got 0"


def test_sweep_on_workers_equals_the_sweep_in_the_page(engine_page):
    """adaviz.sweepAsync deals the grid's rows to Web Workers (one per core) and puts the
    cells back in grid order: every cell equals adaviz.sweep's to the last bit, a one- and a
    two-axis grid with an odd number of rows, and a noisy one (mean and spread over seeds); a
    bad argument rejects with sweep's message."""
    result = engine_page.evaluate(
        """async () => {
          const same = (a, b) => a.length === b.length &&
            a.every((v, i) => Object.is(v, b[i]));
          const grids = [
            {rho: [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0], epsilon: [1e-8, 1e-6, 1e-3],
             steps: 200},
            {optimizer: "adam", lr: [1e-3, 1e-2, 0.1, 0.3, 1.0], steps: 150, start: [-1.9, 2.9]},
            {rho: [0.5, 0.9, 0.95], epsilon: [1e-6, 1e-3], steps: 120, noise: 0.5, seeds: 3},
          ];
          const checks = [];
          for (const options of grids) {
            const page = adaviz.sweep("rosenbrock", options);
            const workers = await adaviz.sweepAsync("rosenbrock", options);
            checks.push(JSON.stringify(workers.shape) === JSON.stringify(page.shape) &&
              JSON.stringify(workers.axes) === JSON.stringify(page.axes) &&
              same(workers.diverged_at, page.diverged_at) &&
              same(workers.final_position, page.final_position) &&
              Object.keys(page.metrics).every((m) => same(workers.metrics[m], page.metrics[m])) &&
              Object.keys(page.spread).every((m) => same(workers.spread[m], page.spread[m])) &&
              same(workers.diverged_fraction, page.diverged_fraction));
          }
          let message = null;
          await adaviz.sweepAsync("booth", {rho: [0.5, 0.9], steps: 0})
            .catch((error) => { message = error.message; });
          return {checks, message, workers: adaviz.sweepWorkers(),
                  cores: navigator.hardwareConcurrency};
        }"""
    )
    assert result["checks"] == [True, True, True]
    assert result["message"].startswith("steps must be an integer")
    if result["cores"] >= 2:
        assert result["workers"] >= 2, result
