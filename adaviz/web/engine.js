/*
 * adaviz's engine in the page: the update rules of adaviz/_math.py and the built-in surfaces
 * of adaviz/surfaces.py, written once more in plain float64 JavaScript, name for name, for
 * the live pages that run without Python. CI checks it against adaviz.simulate(...,
 * dtype="float64") (tests/test_web_engine.py).
 *
 * A classic script (it works from a file:// page, where ES modules are refused): it defines
 * window.adaviz (or globalThis.adaviz) with
 *
 *   adaviz.RULES                 name -> rule {name, hyperparameters, defaults, flags, state,
 *                                init(hp) -> slots, step(x, slots, grad, iteration, hp, out)}
 *   adaviz.SURFACES              name -> surface {name, domain, minima, start, bounds,
 *                                min_value, fn(x, y), evaluate(x, y, out)}
 *   adaviz.simulate(surface, options) -> trajectory (flat Float64Arrays, see simulate)
 *   adaviz.sweep(surface, options)    -> metric grids of a one- or two-axis grid of runs
 *   adaviz.sweepAsync(surface, options) -> a Promise of the same, on Web Workers
 *                                (adaviz.sweepWorkers(): how many)
 *   adaviz.decayed_lr, adaviz.first_step
 *   adaviz.gradient_noise(seed, step, out)  the gradient noise of adaviz/graphs.py
 *
 * The equations are those of _math.py's docstring; one rule works on one coordinate (every
 * rule is element-wise), with its slots in a small Float64Array.
 */
(function (root) {
  "use strict";

  // ------------------------------------------------------------------------------- the rules

  /** Legacy time-based decay: lr / (1 + decay * iterations). */
  function decayed_lr(lr, decay, iterations) {
    return lr / (1.0 + decay * iterations);
  }

  /** Adadelta's first move per coordinate from zero accumulators: lr * sqrt(eps / (1 - rho)). */
  function first_step(lr, rho, epsilon) {
    return lr * Math.sqrt(epsilon / (1.0 - rho));
  }

  // Each step(x, slots, grad, iteration, hp, out) updates slots in place and writes
  // out[0] = the new x and out[1] = step_size, the realized multiplier of the gradient.

  function adadelta(x, slots, grad, iteration, hp, out) {
    // slots: accum_grad (E[g^2]), accum_delta (E[dx^2])
    const lr_t = decayed_lr(hp.lr, hp.decay, iteration);
    const rho = hp.rho;
    const one_minus_rho = 1.0 - rho;
    const accum_grad = rho * slots[0] + one_minus_rho * (grad * grad);
    const ratio = Math.sqrt(slots[1] + hp.epsilon) * (1.0 / Math.sqrt(accum_grad + hp.epsilon));
    const delta = ratio * grad;
    slots[0] = accum_grad;
    slots[1] = rho * slots[1] + one_minus_rho * (delta * delta);
    out[0] = x - lr_t * delta;
    out[1] = lr_t * ratio;
  }

  function sgd(x, slots, grad, iteration, hp, out) {
    out[0] = x - grad * hp.lr;
    out[1] = hp.lr;
  }

  function momentum(x, slots, grad, iteration, hp, out) {
    const velocity = slots[0] * hp.momentum - grad * hp.lr;
    slots[0] = velocity;
    out[0] = x + velocity;
    out[1] = -velocity / grad;
  }

  function nesterov(x, slots, grad, iteration, hp, out) {
    const velocity = slots[0] * hp.momentum - grad * hp.lr;
    const move = velocity * hp.momentum - grad * hp.lr;
    slots[0] = velocity;
    out[0] = x + move;
    out[1] = -move / grad;
  }

  function adagrad(x, slots, grad, iteration, hp, out) {
    const accumulator = slots[0] + grad * grad;
    const root = Math.sqrt(accumulator + hp.epsilon);
    slots[0] = accumulator;
    out[0] = x - (hp.lr * grad) / root;
    out[1] = hp.lr / root;
  }

  function rmsprop(x, slots, grad, iteration, hp, out) {
    // slots: velocity, average_gradient, momentum_buffer
    const rho = hp.rho;
    const one_minus_rho = 1.0 - rho;
    const velocity = rho * slots[0] + one_minus_rho * (grad * grad);
    const average_gradient = rho * slots[1] + one_minus_rho * grad;
    const denominator = hp.centered
      ? velocity - average_gradient * average_gradient + hp.epsilon
      : velocity + hp.epsilon;
    const root = Math.sqrt(denominator);
    const momentum_buffer = hp.momentum * slots[2] + (hp.lr * grad) / root;
    slots[0] = velocity;
    slots[1] = average_gradient;
    slots[2] = momentum_buffer;
    out[0] = x - momentum_buffer;
    out[1] = hp.momentum > 0 ? momentum_buffer / grad : hp.lr / root;
  }

  function adam(x, slots, grad, iteration, hp, out) {
    // slots: m, v, v_hat
    const local_step = iteration + 1;
    const beta_1_power = Math.pow(hp.beta_1, local_step);
    const beta_2_power = Math.pow(hp.beta_2, local_step);
    const alpha = (hp.lr * Math.sqrt(1 - beta_2_power)) / (1 - beta_1_power);
    const m = slots[0] + (grad - slots[0]) * (1.0 - hp.beta_1);
    const v = slots[1] + (grad * grad - slots[1]) * (1.0 - hp.beta_2);
    const v_hat = Math.max(slots[2], v);
    const used = hp.amsgrad ? v_hat : v;
    const update = (m * alpha) / (Math.sqrt(used) + hp.epsilon);
    slots[0] = m;
    slots[1] = v;
    slots[2] = v_hat;
    out[0] = x - update;
    out[1] = update / grad;
  }

  function zeros(slots, hp) {
    slots.fill(0.0);
  }

  function makeRule(name, defaults, state, step, options) {
    options = options || {};
    return Object.freeze({
      name: name,
      hyperparameters: Object.freeze(Object.keys(defaults)),
      defaults: Object.freeze(Object.assign({}, defaults)),
      flags: Object.freeze(options.flags || []),
      state: Object.freeze(state),
      init: options.init || zeros,
      step: step,
    });
  }

  /** name -> rule, in the order the panels list them (adaviz._math.RULES). */
  const RULES = Object.freeze({
    adadelta: makeRule(
      "adadelta",
      { lr: 1.0, rho: 0.95, epsilon: 1e-7, decay: 0.0 },
      ["accum_grad", "accum_delta"],
      adadelta,
    ),
    sgd: makeRule("sgd", { lr: 0.01 }, [], sgd),
    momentum: makeRule("momentum", { lr: 0.01, momentum: 0.9 }, ["velocity"], momentum),
    nesterov: makeRule("nesterov", { lr: 0.01, momentum: 0.9 }, ["velocity"], nesterov),
    adagrad: makeRule(
      "adagrad",
      { lr: 0.001, initial_accumulator_value: 0.1, epsilon: 1e-7 },
      ["accumulator"],
      adagrad,
      {
        init: function (slots, hp) {
          slots[0] = hp.initial_accumulator_value;
        },
      },
    ),
    rmsprop: makeRule(
      "rmsprop",
      { lr: 0.001, rho: 0.9, momentum: 0.0, epsilon: 1e-7, centered: false },
      ["velocity", "average_gradient", "momentum_buffer"],
      rmsprop,
      { flags: ["centered"] },
    ),
    adam: makeRule(
      "adam",
      { lr: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false },
      ["m", "v", "v_hat"],
      adam,
      { flags: ["amsgrad"] },
    ),
  });

  function rule(name) {
    if (name && typeof name === "object" && name.step) return name;
    const found = typeof name === "string" ? RULES[name.toLowerCase()] : undefined;
    if (!found) {
      throw new Error(
        "optimizer must be one of " + Object.keys(RULES).join(", ") + ", got " + JSON.stringify(name),
      );
    }
    return found;
  }

  // ------------------------------------------------------------------------ gradient noise
  //
  // adaviz/graphs.py's gradient_noise, in uint32 arithmetic (Math.imul and >>> 0 wrap as
  // TensorFlow's uint32 does): two uniforms hashed from (seed, step) and a Box-Muller
  // transform, so a run's noise depends on its seed and the step only.

  const GOLDEN = 0x9e3779b9;
  const TWO_TO_32 = 4294967296.0;

  /** Wellons' "lowbias32" integer hash of a uint32. */
  function hash32(x) {
    x = (x ^ (x >>> 16)) >>> 0;
    x = Math.imul(x, 0x7feb352d) >>> 0;
    x = (x ^ (x >>> 15)) >>> 0;
    x = Math.imul(x, 0x846ca68b) >>> 0;
    return (x ^ (x >>> 16)) >>> 0;
  }

  /** Standard normal noise of step `step` (0: the first) of a run seeded `seed`:
   * out[0] for x, out[1] for y. seed and step are taken modulo 2**32. */
  function gradient_noise(seed, step, out) {
    const key = hash32(((seed >>> 0) + Math.imul(GOLDEN, hash32(((step >>> 0) + 1) >>> 0))) >>> 0);
    const u1 = (hash32((key ^ 1) >>> 0) + 0.5) / TWO_TO_32; // in (0, 1)
    const u2 = (hash32((key ^ 2) >>> 0) + 0.5) / TWO_TO_32;
    const radius = Math.sqrt(-2.0 * Math.log(u1));
    const angle = 2.0 * Math.PI * u2;
    out[0] = radius * Math.cos(angle);
    out[1] = radius * Math.sin(angle);
    return out;
  }

  // ---------------------------------------------------------------------------- the surfaces
  //
  // Each surface has fn(x, y) (the value) and evaluate(x, y, out), which writes
  // out = [f, f_x, f_y, f_xx, f_yy]: the value, the analytic gradient and the Hessian's
  // diagonal (Newton's step size per coordinate is 1 / |f_ii|). The gradients follow the
  // order of operations of TensorFlow's autodiff of surfaces.py's functions.

  const TWO_PI = 2.0 * Math.PI;
  const SQRT_HALF = Math.sqrt(0.5);
  const BOUND_MARGIN = 10.0;

  const FUNCTIONS = {
    rosenbrock: {
      fn: function (x, y) {
        const u = y - x * x;
        return (1.0 - x) * (1.0 - x) + 100.0 * (u * u);
      },
      evaluate: function (x, y, out) {
        const u = y - x * x;
        out[0] = (1.0 - x) * (1.0 - x) + 100.0 * (u * u);
        out[1] = -(2.0 * (1.0 - x)) + -(200.0 * u) * 2.0 * x;
        out[2] = 200.0 * u;
        out[3] = 2.0 - 400.0 * u + 800.0 * x * x;
        out[4] = 200.0;
      },
    },
    beale: {
      fn: function (x, y) {
        const a = 1.5 - x + x * y;
        const b = 2.25 - x + x * (y * y);
        const c = 2.625 - x + x * Math.pow(y, 3);
        return a * a + b * b + c * c;
      },
      evaluate: function (x, y, out) {
        const y2 = y * y;
        const y3 = Math.pow(y, 3);
        const a = 1.5 - x + x * y;
        const b = 2.25 - x + x * y2;
        const c = 2.625 - x + x * y3;
        const da = 2.0 * a;
        const db = 2.0 * b;
        const dc = 2.0 * c;
        out[0] = a * a + b * b + c * c;
        out[1] = -da + da * y + (-db + db * y2) + (-dc + dc * y3);
        out[2] = da * x + db * x * 2.0 * y + dc * x * 3.0 * y2;
        out[3] = 2.0 * (y - 1.0) * (y - 1.0) + 2.0 * (y2 - 1.0) * (y2 - 1.0) + 2.0 * (y3 - 1.0) * (y3 - 1.0);
        const bx = 2.0 * x * y;
        const cx = 3.0 * x * y2;
        out[4] = 2.0 * x * x + 2.0 * bx * bx + db * 2.0 * x + 2.0 * cx * cx + dc * 6.0 * x * y;
      },
    },
    himmelblau: {
      fn: function (x, y) {
        const a = x * x + y - 11.0;
        const b = x + y * y - 7.0;
        return a * a + b * b;
      },
      evaluate: function (x, y, out) {
        const a = x * x + y - 11.0;
        const b = x + y * y - 7.0;
        out[0] = a * a + b * b;
        out[1] = 2.0 * a * 2.0 * x + 2.0 * b;
        out[2] = 2.0 * a + 2.0 * b * 2.0 * y;
        out[3] = 4.0 * a + 8.0 * x * x + 2.0;
        out[4] = 2.0 + 4.0 * b + 8.0 * y * y;
      },
    },
    booth: {
      fn: function (x, y) {
        const a = x + 2.0 * y - 7.0;
        const b = 2.0 * x + y - 5.0;
        return a * a + b * b;
      },
      evaluate: function (x, y, out) {
        const a = x + 2.0 * y - 7.0;
        const b = 2.0 * x + y - 5.0;
        out[0] = a * a + b * b;
        out[1] = 2.0 * a + 2.0 * b * 2.0;
        out[2] = 2.0 * a * 2.0 + 2.0 * b;
        out[3] = 10.0;
        out[4] = 10.0;
      },
    },
    ill_conditioned: {
      fn: function (x, y) {
        return 0.5 * (x * x + 100.0 * (y * y));
      },
      evaluate: function (x, y, out) {
        out[0] = 0.5 * (x * x + 100.0 * (y * y));
        out[1] = x;
        out[2] = 100.0 * y;
        out[3] = 1.0;
        out[4] = 100.0;
      },
    },
    rotated_ill_conditioned: {
      fn: function (x, y) {
        const u = SQRT_HALF * (x + y);
        const v = SQRT_HALF * (x - y);
        return 0.5 * (u * u + 100.0 * (v * v));
      },
      evaluate: function (x, y, out) {
        const u = SQRT_HALF * (x + y);
        const v = SQRT_HALF * (x - y);
        out[0] = 0.5 * (u * u + 100.0 * (v * v));
        const du = u * SQRT_HALF;
        const dv = 100.0 * v * SQRT_HALF;
        out[1] = du + dv;
        out[2] = du - dv;
        out[3] = 50.5;
        out[4] = 50.5;
      },
    },
    saddle: {
      fn: function (x, y) {
        return x * x - y * y;
      },
      evaluate: function (x, y, out) {
        out[0] = x * x - y * y;
        out[1] = 2.0 * x;
        out[2] = -(2.0 * y);
        out[3] = 2.0;
        out[4] = -2.0;
      },
    },
    rastrigin: {
      fn: function (x, y) {
        return 20.0 + x * x - 10.0 * Math.cos(TWO_PI * x) + y * y - 10.0 * Math.cos(TWO_PI * y);
      },
      evaluate: function (x, y, out) {
        const wx = TWO_PI * x;
        const wy = TWO_PI * y;
        out[0] = 20.0 + x * x - 10.0 * Math.cos(wx) + y * y - 10.0 * Math.cos(wy);
        out[1] = 2.0 * x + 10.0 * Math.sin(wx) * TWO_PI;
        out[2] = 2.0 * y + 10.0 * Math.sin(wy) * TWO_PI;
        out[3] = 2.0 + 10.0 * TWO_PI * TWO_PI * Math.cos(wx);
        out[4] = 2.0 + 10.0 * TWO_PI * TWO_PI * Math.cos(wy);
      },
    },
    ackley: {
      fn: function (x, y) {
        const s = 0.5 * (x * x + y * y);
        const r = s > 0.0 ? Math.sqrt(s) : 0.0;
        return (
          -20.0 * Math.exp(-0.2 * r) -
          Math.exp(0.5 * (Math.cos(TWO_PI * x) + Math.cos(TWO_PI * y))) +
          (Math.E + 20.0)
        );
      },
      evaluate: function (x, y, out) {
        const s = 0.5 * (x * x + y * y);
        const r = s > 0.0 ? Math.sqrt(s) : 0.0;
        const cone = Math.exp(-0.2 * r);
        const wave = Math.exp(0.5 * (Math.cos(TWO_PI * x) + Math.cos(TWO_PI * y)));
        out[0] = -20.0 * cone - wave + (Math.E + 20.0);
        // d/dr of -20 e^{-0.2 r}, through sqrt (0.5 dy / r) and s = 0.5 (x^2 + y^2)
        const dr = -20.0 * cone * -0.2;
        const ds = r > 0.0 ? (0.5 * dr) / r : 0.0;
        const half = wave * 0.5;
        out[1] = ds * 0.5 * 2.0 * x + half * Math.sin(TWO_PI * x) * TWO_PI;
        out[2] = ds * 0.5 * 2.0 * y + half * Math.sin(TWO_PI * y) * TWO_PI;
        // second derivatives: the cone's (zero at its tip, as TensorFlow's tf.where) and the waves'
        const pi2 = Math.PI * Math.PI;
        const hess = function (c) {
          let cone_cc = 0.0;
          if (r > 0.0) {
            const dc = c / (2.0 * r);
            cone_cc = -0.2 * dr * dc * dc + dr * (1.0 / (2.0 * r) - (c * c) / (4.0 * r * r * r));
          }
          const sc = Math.sin(TWO_PI * c);
          return cone_cc - wave * pi2 * sc * sc + 2.0 * pi2 * wave * Math.cos(TWO_PI * c);
        };
        out[3] = hess(x);
        out[4] = hess(y);
      },
    },
    six_hump_camel: {
      fn: function (x, y) {
        const x2 = x * x;
        const y2 = y * y;
        return (4.0 - 2.1 * x2 + Math.pow(x, 4) / 3.0) * x2 + x * y + (-4.0 + 4.0 * y2) * y2;
      },
      evaluate: function (x, y, out) {
        const x2 = x * x;
        const y2 = y * y;
        const p = 4.0 - 2.1 * x2 + Math.pow(x, 4) / 3.0;
        const q = -4.0 + 4.0 * y2;
        out[0] = p * x2 + x * y + q * y2;
        out[1] = x2 * (-(2.1 * 2.0 * x) + ((4.0 * Math.pow(x, 3)) / 3.0)) + p * 2.0 * x + y;
        out[2] = x + y2 * 4.0 * 2.0 * y + q * 2.0 * y;
        out[3] = 8.0 - 25.2 * x2 + 10.0 * x2 * x2;
        out[4] = -8.0 + 48.0 * y2;
      },
    },
    goldstein_price: {
      fn: function (x, y) {
        const p = x + y + 1.0;
        const q = 19.0 - 14.0 * x + 3.0 * (x * x) - 14.0 * y + 6.0 * x * y + 3.0 * (y * y);
        const m = 2.0 * x - 3.0 * y;
        const n = 18.0 - 32.0 * x + 12.0 * (x * x) + 48.0 * y - 36.0 * x * y + 27.0 * (y * y);
        return (1.0 + p * p * q) * (30.0 + m * m * n);
      },
      evaluate: function (x, y, out) {
        const p = x + y + 1.0;
        const q = 19.0 - 14.0 * x + 3.0 * (x * x) - 14.0 * y + 6.0 * x * y + 3.0 * (y * y);
        const m = 2.0 * x - 3.0 * y;
        const n = 18.0 - 32.0 * x + 12.0 * (x * x) + 48.0 * y - 36.0 * x * y + 27.0 * (y * y);
        const a = 1.0 + p * p * q;
        const b = 30.0 + m * m * n;
        out[0] = a * b;
        const q_x = -14.0 + 6.0 * x + 6.0 * y;
        const q_y = -14.0 + 6.0 * x + 6.0 * y;
        const n_x = -32.0 + 24.0 * x - 36.0 * y;
        const n_y = 48.0 - 36.0 * x + 54.0 * y;
        const a_x = 2.0 * p * q + p * p * q_x;
        const a_y = 2.0 * p * q + p * p * q_y;
        const b_x = 4.0 * m * n + m * m * n_x;
        const b_y = -6.0 * m * n + m * m * n_y;
        out[1] = a_x * b + a * b_x;
        out[2] = a_y * b + a * b_y;
        const a_xx = 2.0 * q + 4.0 * p * q_x + 6.0 * p * p;
        const a_yy = 2.0 * q + 4.0 * p * q_y + 6.0 * p * p;
        const b_xx = 8.0 * n + 8.0 * m * n_x + 24.0 * m * m;
        const b_yy = 18.0 * n - 12.0 * m * n_y + 54.0 * m * m;
        out[3] = a_xx * b + 2.0 * a_x * b_x + a * b_xx;
        out[4] = a_yy * b + 2.0 * a_y * b_y + a * b_yy;
      },
    },
    plateau_cliff: {
      fn: function (x, y) {
        const s = x * x + y * y;
        return 1.0 - Math.exp(-s - s * s);
      },
      evaluate: function (x, y, out) {
        const s = x * x + y * y;
        const e = Math.exp(-s - s * s);
        out[0] = 1.0 - e;
        const ds = e + e * 2.0 * s;
        out[1] = ds * 2.0 * x;
        out[2] = ds * 2.0 * y;
        const k = 1.0 + 2.0 * s;
        const g_s = e * (2.0 - k * k);
        out[3] = 2.0 * e * k + 4.0 * x * x * g_s;
        out[4] = 2.0 * e * k + 4.0 * y * y * g_s;
      },
    },
  };

  // domain, minima and start: adaviz/surfaces.py's _BUILTINS
  const CATALOGUE = {
    rosenbrock: [[[-2.0, 2.0], [-1.0, 3.0]], [[1.0, 1.0]], [-1.5, 2.5]],
    beale: [[[-4.5, 4.5], [-4.5, 4.5]], [[3.0, 0.5]], [-2.0, 2.0]],
    himmelblau: [
      [[-5.0, 5.0], [-5.0, 5.0]],
      [
        [3.0, 2.0],
        [-2.805118086952745, 3.131312518250573],
        [-3.779310253377747, -3.283185991286169],
        [3.5844283403304917, -1.8481265269644034],
      ],
      [-0.3, -0.9],
    ],
    booth: [[[-10.0, 10.0], [-10.0, 10.0]], [[1.0, 3.0]], [-8.0, 8.0]],
    ill_conditioned: [[[-5.0, 5.0], [-5.0, 5.0]], [[0.0, 0.0]], [-4.5, 1.0]],
    rotated_ill_conditioned: [[[-5.0, 5.0], [-5.0, 5.0]], [[0.0, 0.0]], [-4.5, 1.0]],
    saddle: [[[-2.0, 2.0], [-2.0, 2.0]], [], [-1.5, 0.001]],
    rastrigin: [[[-5.12, 5.12], [-5.12, 5.12]], [[0.0, 0.0]], [2.2, -2.7]],
    ackley: [[[-5.0, 5.0], [-5.0, 5.0]], [[0.0, 0.0]], [3.2, 2.4]],
    six_hump_camel: [
      [[-3.0, 3.0], [-2.0, 2.0]],
      [
        [0.08984201310031807, -0.7126564030207396],
        [-0.08984201310031807, 0.7126564030207396],
      ],
      [-1.9, 1.1],
    ],
    goldstein_price: [[[-2.0, 2.0], [-2.0, 2.0]], [[0.0, -1.0]], [-1.5, 1.5]],
    plateau_cliff: [[[-3.0, 3.0], [-3.0, 3.0]], [[0.0, 0.0]], [-1.2, 1.05]],
  };

  function makeSurface(name, functions, domain, minima, start) {
    const bounds = domain.map(function (d) {
      const width = d[1] - d[0];
      return [d[0] - BOUND_MARGIN * width, d[1] + BOUND_MARGIN * width];
    });
    let min_value = NaN;
    minima.forEach(function (m) {
      const value = functions.fn(m[0], m[1]);
      if (!(value >= min_value)) min_value = value;
    });
    return Object.freeze({
      name: name,
      domain: domain,
      minima: minima,
      start: start,
      bounds: bounds,
      min_value: min_value,
      fn: functions.fn,
      evaluate: functions.evaluate,
    });
  }

  /** name -> surface, sorted by name (adaviz.surfaces.names()). */
  const SURFACES = {};
  Object.keys(CATALOGUE)
    .sort()
    .forEach(function (name) {
      const c = CATALOGUE[name];
      SURFACES[name] = makeSurface(name, FUNCTIONS[name], c[0], c[1], c[2]);
    });
  Object.freeze(SURFACES);

  /** name -> surface defined in the page from JavaScript expressions (defineSurface). */
  const CUSTOM = {};

  /** The built-in surfaces' names, sorted (adaviz.surfaces.names()). */
  function names() {
    return Object.keys(SURFACES);
  }

  function get(name) {
    if (name && typeof name === "object" && name.evaluate) return name;
    if (typeof name === "string" && Object.prototype.hasOwnProperty.call(CUSTOM, name)) {
      return CUSTOM[name];
    }
    const key =
      typeof name === "string" ? name.trim().toLowerCase().replace(/[- ]/g, "_") : undefined;
    if (!Object.prototype.hasOwnProperty.call(SURFACES, key)) {
      throw new Error(
        "unknown surface " + JSON.stringify(name) + "; the built-in surfaces are: " + names().join(", "),
      );
    }
    return SURFACES[key];
  }

  /**
   * A surface from JavaScript expressions in x and y (adaviz.web.page checks them against the
   * Python surface before it writes them into a page): spec = {name, domain, minima, start,
   * f, f_x, f_y, f_xx, f_yy}, each of f..f_yy an expression such as "x * x + 3 * y * y".
   */
  function defineSurface(spec) {
    const compile = function (key) {
      if (typeof spec[key] !== "string" || !spec[key].trim()) {
        throw new Error("surface " + JSON.stringify(spec.name) + " needs an expression " + key);
      }
      return new Function("x", "y", '"use strict"; return (' + spec[key] + ");");
    };
    const f = compile("f");
    const f_x = compile("f_x");
    const f_y = compile("f_y");
    const f_xx = compile("f_xx");
    const f_yy = compile("f_yy");
    const functions = {
      fn: f,
      evaluate: function (x, y, out) {
        out[0] = f(x, y);
        out[1] = f_x(x, y);
        out[2] = f_y(x, y);
        out[3] = f_xx(x, y);
        out[4] = f_yy(x, y);
      },
    };
    const surface = makeSurface(spec.name, functions, spec.domain, spec.minima || [], spec.start);
    CUSTOM[spec.name] = surface;
    return surface;
  }

  /** Distance from (x, y) to the nearest listed minimum (NaN when there are none). */
  function nearest_minimum_distance(surface, x, y) {
    let best = Infinity;
    surface.minima.forEach(function (m) {
      const dx = x - m[0];
      const dy = y - m[1];
      best = Math.min(best, dx * dx + dy * dy);
    });
    return surface.minima.length ? Math.sqrt(best) : NaN;
  }

  // ------------------------------------------------------------------------- hyperparameters

  function checkedHyperparameters(rule_, given) {
    const hp = {};
    rule_.hyperparameters.forEach(function (name) {
      let value = given[name];
      if (name === "lr" && value === undefined) value = given.learning_rate;
      if (value === undefined || value === null) value = rule_.defaults[name];
      if (rule_.flags.indexOf(name) >= 0) {
        hp[name] = Boolean(value);
        return;
      }
      if (typeof value !== "number" || !isFinite(value) || value < 0) {
        throw new Error(name + " must be a finite number >= 0, got " + JSON.stringify(value));
      }
      hp[name] = value;
    });
    return hp;
  }

  function checkedSteps(steps) {
    if (steps === undefined) return 500;
    if (!Number.isInteger(steps) || steps < 1 || steps > 1000000) {
      throw new Error("steps must be an integer in [1, 1000000], got " + JSON.stringify(steps));
    }
    return steps;
  }

  const OPTIONS = ["start", "steps", "optimizer", "loss_scale", "learning_rate", "tol"];
  const SEED_MAX = 4294967295;

  function checkedNoise(noise) {
    if (noise === undefined) return 0.0;
    if (typeof noise !== "number" || !isFinite(noise) || noise < 0) {
      throw new Error("noise must be a finite number >= 0, got " + JSON.stringify(noise));
    }
    return noise;
  }

  function checkedInteger(name, value, low, high) {
    if (!Number.isInteger(value) || value < low || value > high) {
      throw new Error(name + " must be an integer in [" + low + ", " + high + "], got " + JSON.stringify(value));
    }
    return value;
  }

  function checkOptionNames(rule_, options, extra) {
    Object.keys(options).forEach(function (key) {
      if (OPTIONS.indexOf(key) < 0 && extra.indexOf(key) < 0 && rule_.hyperparameters.indexOf(key) < 0) {
        throw new Error(
          "optimizer " + rule_.name + " takes the hyperparameters " + rule_.hyperparameters.join(", ") +
            ", got " + JSON.stringify(key),
        );
      }
    });
  }

  // ------------------------------------------------------------------------------- simulate

  /**
   * Run one update rule from one start on a surface and record everything, as
   * adaviz.simulate(surface, start, steps, optimizer=..., loss_scale=..., **hp) does for N = 1.
   *
   * options: start [x, y] (default surface.start), steps (500), optimizer ("adadelta"),
   * loss_scale (1), noise (0: the standard deviation of Gaussian noise added to each
   * gradient coordinate), seed (0: its sequence, an integer in [0, 2**32 - 1]), and the
   * rule's hyperparameters under Keras's names (lr, rho, ...).
   *
   * Returns {surface, optimizer, steps, hyperparameters, loss_scale, noise, seed, positions,
   * loss, grads (what the rule used: with noise, the noisy gradients), true_grads, step_size,
   * newton_step_size, state, diverged_at}. The arrays are flat Float64Arrays with
   * the coordinate last: positions[2 * t + i] is coordinate i after t steps ((steps + 1) * 2
   * values; loss has steps + 1, state[slot] (steps + 1) * 2); grads, step_size and
   * newton_step_size have steps * 2 values, index t belonging to the move from positions[t]
   * to positions[t + 1]. diverged_at is the first index t whose position or loss is not
   * finite or outside surface.bounds (-1 if never); from there on the records are NaN.
   */
  function simulate(surface, options) {
    options = options || {};
    surface = get(surface);
    const rule_ = rule(options.optimizer || "adadelta");
    checkOptionNames(rule_, options, ["noise", "seed"]);
    const steps = checkedSteps(options.steps);
    const hp = checkedHyperparameters(rule_, options);
    const noise = checkedNoise(options.noise);
    const seed = options.seed === undefined ? 0 : checkedInteger("seed", options.seed, 0, SEED_MAX);
    const loss_scale = options.loss_scale === undefined ? 1.0 : options.loss_scale;
    if (typeof loss_scale !== "number" || !(loss_scale > 0) || !isFinite(loss_scale)) {
      throw new Error("loss_scale must be a finite number > 0, got " + JSON.stringify(loss_scale));
    }
    const start = options.start || surface.start;
    const xlo = surface.bounds[0][0];
    const xhi = surface.bounds[0][1];
    const ylo = surface.bounds[1][0];
    const yhi = surface.bounds[1][1];
    if (!(start[0] >= xlo && start[0] <= xhi && start[1] >= ylo && start[1] <= yhi)) {
      throw new Error(
        "start must lie within x in [" + xlo + ", " + xhi + "] and y in [" + ylo + ", " + yhi +
          "], got " + JSON.stringify(start),
      );
    }

    const slotCount = rule_.state.length;
    const positions = new Float64Array((steps + 1) * 2);
    const loss = new Float64Array(steps + 1);
    const grads = new Float64Array(steps * 2);
    const true_grads = new Float64Array(steps * 2);
    const z = new Float64Array(2);
    const step_size = new Float64Array(steps * 2);
    const newton_step_size = new Float64Array(steps * 2);
    const state = {};
    const slotRecords = rule_.state.map(function (slot) {
      return (state[slot] = new Float64Array((steps + 1) * 2));
    });
    const slotsX = new Float64Array(slotCount);
    const slotsY = new Float64Array(slotCount);
    rule_.init(slotsX, hp);
    rule_.init(slotsY, hp);
    const values = new Float64Array(5);
    const out = new Float64Array(2);
    let x = start[0];
    let y = start[1];
    let diverged_at = -1;
    let t = 0;
    for (; t <= steps; t++) {
      const f = loss_scale * (t < steps ? (surface.evaluate(x, y, values), values[0]) : surface.fn(x, y));
      if (!(isFinite(f) && x >= xlo && x <= xhi && y >= ylo && y <= yhi)) {
        diverged_at = t;
        break;
      }
      positions[2 * t] = x;
      positions[2 * t + 1] = y;
      loss[t] = f;
      for (let k = 0; k < slotCount; k++) {
        slotRecords[k][2 * t] = slotsX[k];
        slotRecords[k][2 * t + 1] = slotsY[k];
      }
      if (t === steps) break;
      let gx = loss_scale * values[1];
      let gy = loss_scale * values[2];
      true_grads[2 * t] = gx;
      true_grads[2 * t + 1] = gy;
      if (noise > 0) {
        gradient_noise(seed, t, z);
        gx += noise * z[0];
        gy += noise * z[1];
      }
      grads[2 * t] = gx;
      grads[2 * t + 1] = gy;
      newton_step_size[2 * t] = 1.0 / Math.abs(loss_scale * values[3]);
      newton_step_size[2 * t + 1] = 1.0 / Math.abs(loss_scale * values[4]);
      rule_.step(x, slotsX, gx, t, hp, out);
      x = out[0];
      step_size[2 * t] = out[1];
      rule_.step(y, slotsY, gy, t, hp, out);
      y = out[0];
      step_size[2 * t + 1] = out[1];
    }
    if (diverged_at >= 0) {
      // a diverged run is NaN from its divergence index on
      positions.fill(NaN, 2 * diverged_at);
      loss.fill(NaN, diverged_at);
      slotRecords.forEach(function (record) {
        record.fill(NaN, 2 * diverged_at);
      });
      grads.fill(NaN, 2 * diverged_at);
      true_grads.fill(NaN, 2 * diverged_at);
      newton_step_size.fill(NaN, 2 * diverged_at);
      // the rule still steps on NaN, as in simulate (sgd's step_size stays lr)
      slotsX.fill(NaN);
      for (let k = diverged_at; k < steps; k++) {
        rule_.step(NaN, slotsX, NaN, k, hp, out);
        step_size[2 * k] = step_size[2 * k + 1] = out[1];
      }
    }
    return {
      surface: surface.name,
      optimizer: rule_.name,
      steps: steps,
      hyperparameters: hp,
      loss_scale: loss_scale,
      noise: noise,
      seed: seed,
      positions: positions,
      loss: loss,
      grads: grads,
      true_grads: true_grads,
      step_size: step_size,
      newton_step_size: newton_step_size,
      state: state,
      diverged_at: diverged_at,
    };
  }

  /**
   * Summary numbers of one simulate() result, as the panels' readouts show them:
   * {first_step: [dx, dy], final_loss, distance_to_minimum, steps_to_converge, diverged_at}
   * (steps_to_converge: the first t whose loss / loss_scale is within tol of the surface's
   * minimum value, -1 if never; with noise, -1 too unless the loss stays within tol over the
   * last 10 % of the steps, as the SurfacePanel's readout; distance NaN on a surface without
   * minima).
   */
  function summary(trajectory, tol) {
    tol = tol === undefined ? 1e-3 : tol;
    const surface = get(trajectory.surface);
    const steps = trajectory.steps;
    const p = trajectory.positions;
    let reached = -1;
    if (surface.minima.length) {
      for (let t = 0; t <= steps; t++) {
        if (trajectory.loss[t] / trajectory.loss_scale - surface.min_value <= tol) {
          reached = t;
          break;
        }
      }
      if (trajectory.noise > 0 && !stayedWithin(trajectory, surface, tol)) reached = -1;
    }
    return {
      first_step: [p[2] - p[0], p[3] - p[1]],
      final_loss: trajectory.loss[steps],
      distance_to_minimum: nearest_minimum_distance(surface, p[2 * steps], p[2 * steps + 1]),
      steps_to_converge: reached,
      diverged_at: trajectory.diverged_at,
    };
  }

  /** Whether the run's loss stayed within tol of the minimum value over the last 10 % of
   * its steps (adaviz.Trajectory.converged). */
  function stayedWithin(trajectory, surface, tol) {
    const steps = trajectory.steps;
    const tail = Math.max(1, Math.ceil(0.1 * steps));
    for (let t = steps - tail + 1; t <= steps; t++) {
      if (!(trajectory.loss[t] / trajectory.loss_scale - surface.min_value <= tol)) return false;
    }
    return trajectory.diverged_at < 0;
  }

  // ---------------------------------------------------------------------------------- sweep

  /**
   * One run per cell of a grid of hyperparameter settings, keeping only the metrics, as
   * adaviz.sweep: the rule's hyperparameters given as arrays are the axes (one or two, in
   * the rule's order), the others numbers. Same options as simulate plus tol (1e-3) and,
   * with noise, seeds (K, 1 to 1024): every cell runs seeds 0 .. K-1 and its metrics are
   * the means over them (NaN where any seed diverged; steps_to_converge then counts only a
   * run that stays within tol over the last 10 % of the steps), as adaviz.sweep(...,
   * noise=, seeds=K).
   *
   * Returns {axes: [[name, values], ...], shape, noise, seeds, metrics: {final_loss,
   * min_loss, distance_to_minimum, steps_to_converge} (row-major Float64Arrays, NaN where
   * diverged), spread (each metric's standard deviation over the seeds), diverged (Uint8Array:
   * any seed diverged), diverged_fraction, and seed 0's diverged_at (Int32Array) and
   * final_position (Float64Array, 2 per cell)}.
   */
  function sweep(surface, options) {
    options = options || {};
    const noise = checkedNoise(options.noise);
    const seeds = options.seeds === undefined ? 1 : checkedInteger("seeds", options.seeds, 1, 1024);
    const runs = [];
    for (let seed = 0; seed < seeds; seed++) runs.push(sweepRuns(surface, options, noise, seed));
    const first = runs[0];
    const cells = first.diverged_at.length;
    const spread = {};
    Object.keys(first.metrics).forEach(function (name) {
      const mean = new Float64Array(cells);
      const deviation = new Float64Array(cells);
      for (let cell = 0; cell < cells; cell++) {
        let sum = 0.0;
        runs.forEach((run) => (sum += run.metrics[name][cell]));
        mean[cell] = sum / seeds;
        let squares = 0.0;
        runs.forEach((run) => (squares += (run.metrics[name][cell] - mean[cell]) ** 2));
        deviation[cell] = Math.sqrt(squares / seeds);
      }
      first.metrics[name] = mean;
      spread[name] = deviation;
    });
    const diverged = new Uint8Array(cells);
    const diverged_fraction = new Float64Array(cells);
    for (let cell = 0; cell < cells; cell++) {
      let count = 0;
      runs.forEach((run) => (count += run.diverged_at[cell] >= 0 ? 1 : 0));
      diverged[cell] = count > 0 ? 1 : 0;
      diverged_fraction[cell] = count / seeds;
    }
    return Object.assign(first, { noise, seeds, spread, diverged, diverged_fraction });
  }

  /** sweep's runs of one noise seed. */
  function sweepRuns(surface, options, noise, seed) {
    surface = get(surface);
    const rule_ = rule(options.optimizer || "adadelta");
    checkOptionNames(rule_, options, ["noise", "seeds"]);
    const steps = checkedSteps(options.steps);
    const tol = options.tol === undefined ? 1e-3 : options.tol;
    const loss_scale = options.loss_scale === undefined ? 1.0 : options.loss_scale;
    const start = options.start || surface.start;
    const axes = [];
    const fixed = {};
    rule_.hyperparameters.forEach(function (name) {
      const value = options[name];
      if (Array.isArray(value) || ArrayBuffer.isView(value)) axes.push([name, Array.from(value)]);
      else if (value !== undefined) fixed[name] = value;
    });
    if (axes.length < 1 || axes.length > 2) {
      throw new Error("sweep needs one or two hyperparameters given as arrays, got " + axes.length);
    }
    const shape = axes.map(function (axis) {
      return axis[1].length;
    });
    const cells = shape.reduce(function (a, b) {
      return a * b;
    }, 1);
    const hp = checkedHyperparameters(rule_, Object.assign({}, fixed, axes.reduce(function (o, a) {
      o[a[0]] = a[1][0];
      return o;
    }, {})));
    const xlo = surface.bounds[0][0];
    const xhi = surface.bounds[0][1];
    const ylo = surface.bounds[1][0];
    const yhi = surface.bounds[1][1];
    const minima = surface.minima.length > 0;
    const metrics = {
      final_loss: new Float64Array(cells),
      min_loss: new Float64Array(cells),
    };
    if (minima) {
      metrics.distance_to_minimum = new Float64Array(cells);
      metrics.steps_to_converge = new Float64Array(cells);
    }
    const diverged_at = new Int32Array(cells);
    const final_position = new Float64Array(cells * 2);
    // the hot loop reads the rule and the surface from locals and keeps its scratch values
    // in plain arrays of numbers, which V8 optimizes better here than small Float64Arrays
    const slotCount = rule_.state.length;
    const slotsX = new Array(slotCount).fill(0.0);
    const slotsY = new Array(slotCount).fill(0.0);
    const values = [0.0, 0.0, 0.0, 0.0, 0.0];
    const out = [0.0, 0.0];
    const z = new Float64Array(2);
    const noisy = noise > 0;
    const tail = Math.max(1, Math.ceil(0.1 * steps));
    const evaluate = surface.evaluate;
    const step = rule_.step;
    const min_value = surface.min_value;
    const second = shape.length === 2 ? shape[1] : 1;
    for (let cell = 0; cell < cells; cell++) {
      hp[axes[0][0]] = axes[0][1][Math.floor(cell / second)];
      if (axes.length === 2) hp[axes[1][0]] = axes[1][1][cell % second];
      rule_.init(slotsX, hp);
      rule_.init(slotsY, hp);
      let x = start[0];
      let y = start[1];
      let lowest = Infinity;
      let reached = -1;
      let diverged = -1;
      let f = NaN;
      for (let t = 0; t <= steps; t++) {
        evaluate(x, y, values);
        f = loss_scale * values[0];
        if (!(isFinite(f) && x >= xlo && x <= xhi && y >= ylo && y <= yhi)) {
          diverged = t;
          break;
        }
        if (f < lowest) lowest = f;
        const within = values[0] - min_value <= tol;
        if (noisy) reached = within ? (reached < 0 ? t : reached) : -1; // the last streak's start
        else if (reached < 0 && within) reached = t;
        if (t === steps) break;
        let gx = loss_scale * values[1];
        let gy = loss_scale * values[2];
        if (noisy) {
          gradient_noise(seed, t, z);
          gx += noise * z[0];
          gy += noise * z[1];
        }
        step(x, slotsX, gx, t, hp, out);
        x = out[0];
        step(y, slotsY, gy, t, hp, out);
        y = out[0];
      }
      // with noise, converged: within tol over the last tenth of the steps
      if (noisy && reached > steps - tail + 1) reached = -1;
      diverged_at[cell] = diverged;
      const bad = diverged >= 0;
      metrics.final_loss[cell] = bad ? NaN : f;
      metrics.min_loss[cell] = bad ? NaN : lowest;
      final_position[2 * cell] = bad ? NaN : x;
      final_position[2 * cell + 1] = bad ? NaN : y;
      if (minima) {
        metrics.distance_to_minimum[cell] = bad ? NaN : nearest_minimum_distance(surface, x, y);
        metrics.steps_to_converge[cell] = bad || reached < 0 ? NaN : reached;
      }
    }
    return {
      surface: surface.name,
      optimizer: rule_.name,
      axes: axes,
      shape: shape,
      metrics: metrics,
      diverged_at: diverged_at,
      final_position: final_position,
    };
  }

  // ------------------------------------------------------------------- sweep on workers

  // The engine's own text (a classic script knows it while it runs), so that Web Workers
  // can run it from a Blob URL: that works in a page opened from disk, with no network.
  const SOURCE =
    typeof document !== "undefined" && document.currentScript ? document.currentScript.text : "";
  const WORKER_MAIN =
    "\nself.onmessage = function (event) {\n" +
    "  const job = event.data;\n" +
    "  try {\n" +
    "    self.postMessage({ id: job.id, result: self.adaviz.sweep(job.surface, job.options) });\n" +
    "  } catch (error) {\n" +
    "    self.postMessage({ id: job.id, error: String(error && error.message) });\n" +
    "  }\n" +
    "};\n";
  let pool = null;  // [{worker, pending: id -> [resolve, reject]}], made on first use
  let jobs = 0;

  function workerPool() {
    if (pool !== null) return pool;
    pool = [];
    const cores = (root.navigator && root.navigator.hardwareConcurrency) || 1;
    if (!SOURCE.trim() || typeof Worker === "undefined" || typeof Blob === "undefined" || cores < 2) {
      return pool;
    }
    try {
      const url = URL.createObjectURL(new Blob([SOURCE, WORKER_MAIN], { type: "text/javascript" }));
      for (let i = 0; i < Math.min(cores, 8); i++) {
        const member = { worker: new Worker(url), pending: new Map() };
        member.worker.onmessage = function (event) {
          const settle = member.pending.get(event.data.id);
          member.pending.delete(event.data.id);
          if (event.data.error !== undefined) settle[1](new Error(event.data.error));
          else settle[0](event.data.result);
        };
        member.worker.onerror = function (event) {
          // a worker that cannot run: its sweeps and all later ones run in the page
          event.preventDefault();
          const failure = new Error("sweep worker: " + event.message);
          failure.worker = true;
          member.pending.forEach((settle) => settle[1](failure));
          member.pending.clear();
          pool = [];
        };
        pool.push(member);
      }
    } catch (error) {
      pool = [];  // e.g. a page whose policy refuses workers
    }
    return pool;
  }

  /** How many Web Workers sweepAsync uses (0: its sweeps run in the page). */
  function sweepWorkers() {
    return workerPool().length;
  }

  /** The per-cell arrays of the workers' results put back in grid order: worker k ran the
   * rows k, k + n, k + 2n, ... of the first axis (n workers; each row a block of cells). */
  function interleaved(arrays, rows) {
    const total = arrays.reduce((n, a) => n + a.length, 0);
    const out = new arrays[0].constructor(total);
    const block = total / rows;  // values per row
    arrays.forEach(function (a, k) {
      for (let j = 0; j * block < a.length; j++) {
        out.set(a.subarray(j * block, (j + 1) * block), (k + j * arrays.length) * block);
      }
    });
    return out;
  }

  /**
   * sweep(surface, options) on the page's cores: a Promise of the same result, every cell
   * computed by the same code (so equal to the last bit). The rows of the grid's first axis
   * are dealt to the workers in turn (Web Workers running this engine's own text); where
   * workers are unavailable (one core, no Worker, a surface defined in the page) the sweep
   * runs in the page.
   */
  function sweepAsync(surface, options) {
    options = options || {};
    return new Promise(function (resolve, reject) {
      const rule_ = rule(options.optimizer || "adadelta");
      const first = rule_.hyperparameters.find(function (name) {
        return Array.isArray(options[name]) || ArrayBuffer.isView(options[name]);
      });
      const name = get(surface).name;
      const members = Object.prototype.hasOwnProperty.call(SURFACES, name) ? workerPool() : [];
      const values = first === undefined ? [] : Array.from(options[first]);
      const count = Math.min(members.length, values.length);
      if (count < 2) {
        resolve(sweep(surface, options));
        return;
      }
      const parts = [];
      for (let i = 0; i < count; i++) {
        const rows = values.filter((_, row) => row % count === i);
        const job = { id: ++jobs, surface: name, options: Object.assign({}, options, { [first]: rows }) };
        parts.push(
          new Promise(function (done, fail) {
            members[i].pending.set(job.id, [done, fail]);
            members[i].worker.postMessage(job);
          }),
        );
      }
      Promise.all(parts).then(function (results) {
        const merged = Object.assign({}, results[0]);
        Object.keys(merged).forEach(function (key) {
          if (ArrayBuffer.isView(merged[key])) merged[key] = interleaved(results.map((r) => r[key]), values.length);
        });
        ["metrics", "spread"].forEach(function (group) {  // per-metric grids of cells
          if (!results[0][group]) return;
          merged[group] = {};
          Object.keys(results[0][group]).forEach(function (metric) {
            merged[group][metric] = interleaved(results.map((r) => r[group][metric]), values.length);
          });
        });
        merged.axes = [[first, values]].concat(results[0].axes.slice(1));
        merged.shape = [values.length].concat(results[0].shape.slice(1));
        resolve(merged);
      }, function (error) {
        if (!error.worker) return reject(error);
        try {
          resolve(sweep(surface, options));
        } catch (again) {
          reject(again);
        }
      });
    });
  }

  const adaviz = root.adaviz || {};
  Object.assign(adaviz, {
    RULES: RULES,
    SURFACES: SURFACES,
    CUSTOM: CUSTOM,
    defineSurface: defineSurface,
    BOUND_MARGIN: BOUND_MARGIN,
    METRICS: ["final_loss", "min_loss", "distance_to_minimum", "steps_to_converge"],
    decayed_lr: decayed_lr,
    first_step: first_step,
    gradient_noise: gradient_noise,
    rule: rule,
    names: names,
    get: get,
    nearest_minimum_distance: nearest_minimum_distance,
    simulate: simulate,
    summary: summary,
    sweep: sweep,
    sweepAsync: sweepAsync,
    sweepWorkers: sweepWorkers,
  });
  root.adaviz = adaviz;
})(typeof window !== "undefined" ? window : globalThis);
