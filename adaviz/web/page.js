/*
 * The live SurfacePanel page: the Jupyter panel's views and controls, run by engine.js in
 * the page (no kernel, no server). A classic script that needs window.adaviz (engine.js)
 * and window.Plotly; adaviz/web/page.py writes the page around it.
 *
 *   adaviz.surfacePanel(root, state)
 *
 * builds the panel into the element `root` from `state` (what page.py's surface_state
 * returns: the surface, start, steps, hyperparameters, the sliders' specs, the presets).
 * The contract scripts and tests can drive:
 *   - each control is an <input>/<select>/<button> whose name is its key in
 *     SurfacePanel.controls: surface, lr, rho, epsilon, decay, noise, seed, steps, preset,
 *     step, play, reset, pin, clear. A log slider's value is the exponent
 *     (data-scale="log10"); the noise slider's is the index into its values (0 = off,
 *     data-scale="index", the values in data-values);
 *   - each figure is a plotly div (.adaviz-figure-surface, -accumulators, -step-size,
 *     -loss) with the panel's trace names (the path is "trajectory");
 *   - the settings live in the URL fragment (#surface=booth&lr=1&...&x=-8&y=8); a fragment
 *     with invalid values is ignored with a visible note; state.fragment === false (a panel
 *     among others in a notebook page) leaves the fragment alone, in every panel;
 *   - root.adaviz_panel has values(), draw() and the last drawn trajectory; each full
 *     redraw increments root.dataset.draws.
 */
(function (root) {
  "use strict";
  const adaviz = root.adaviz;

  // the colours of adaviz/panels/_figures.py
  const COORD_COLORS = { x: "#0072B2", y: "#D55E00" };
  const TRAJECTORY_COLOR = "#1a1a1a";
  const START_COLOR = "#009E73";
  const END_COLOR = "#CC79A7";
  const MINIMUM_COLOR = "#F0E442";
  const MARKER_COLOR = "#E69F00";
  const GHOST_COLORS = ["#56B4E9", "#CC79A7", "#009E73", "#999999", "#8c564b"];
  const CONTOUR_COLORSCALE = [
    [0.0, "#f7fbff"],
    [0.25, "#deebf7"],
    [0.5, "#9ecae1"],
    [0.75, "#4292c6"],
    [1.0, "#08306b"],
  ];
  const HYPERPARAMETERS = ["lr", "rho", "epsilon", "decay"];

  const el = adaviz.el;
  const fmt = adaviz.fmt;

  // -------------------------------------------------------------------------- gradient noise

  /** The index of `sigma` among the noise slider's values (within 1e-9), or -1. */
  function noiseIndex(values, sigma) {
    return values.findIndex((v) => Math.abs(v - sigma) <= 1e-9 * Math.max(v, 1e-300));
  }

  /**
   * The gradient-noise slider of the panels (0 = off, then log-spaced values): a range
   * input over the values' indices (name "noise"), its readout, value() -> sigma and
   * set(sigma); onInput runs after a move.
   */
  function noiseSlider(values, sigma, onInput) {
    const input = el("input", { type: "range", name: "noise", min: 0, max: values.length - 1, step: 1 });
    input.dataset.scale = "index";
    input.dataset.values = JSON.stringify(values);
    const readout = el("output", { class: "adaviz-readout" });
    const value = () => values[Number(input.value)];
    const show = () => (readout.textContent = value() === 0 ? "0 (off)" : fmt(value(), 4));
    input.addEventListener("input", function () {
      show();
      onInput();
    });
    const set = function (number) {
      input.value = Math.max(noiseIndex(values, number), 0);
      show();
    };
    set(sigma);
    const label = el("label", { class: "adaviz-control adaviz-noise" }, [
      el("span", { class: "adaviz-label", text: "gradient noise σ" }),
      input,
      readout,
    ]);
    return { input, label, value, set };
  }

  /**
   * An integer box (the noise seed, name "seed"): a value outside [low, high] or not an
   * integer is refused (the box goes back to the last value run); onChange runs after a
   * new value.
   */
  function integerBox(name, text, low, high, number, onChange) {
    const input = el("input", { type: "number", name, min: low, max: high, step: 1 });
    let current = number;
    input.value = number;
    input.addEventListener("change", function () {
      const given = Number(input.value);
      if (input.value === "" || !Number.isInteger(given) || given < low || given > high) {
        input.value = current;
        return;
      }
      current = given;
      onChange();
    });
    const label = el("label", { class: "adaviz-control adaviz-" + name }, [
      el("span", { class: "adaviz-label", text }),
      input,
    ]);
    const set = function (value) {
      current = value;
      input.value = value;
    };
    return { input, label, value: () => current, set };
  }

  /** A fragment's noise (one of the slider's values) or seed (an integer in range), or
   * undefined when the text is not one. */
  function fragmentNoise(text, values) {
    const number = Number(text);
    return text !== "" && noiseIndex(values, number) >= 0 ? number : undefined;
  }

  function fragmentInteger(text, low, high) {
    const number = Number(text);
    return text !== "" && Number.isInteger(number) && number >= low && number <= high ? number : undefined;
  }

  // ------------------------------------------------------------------------ contour colouring

  function percentile(sorted, q) {
    const position = (sorted.length - 1) * q;
    const low = Math.floor(position);
    const high = Math.min(low + 1, sorted.length - 1);
    return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
  }

  /** The grid and colouring of adaviz.Surface.contour (surfaces.py's _scale), in the page. */
  function contour(surface, n, levels) {
    const [[xmin, xmax], [ymin, ymax]] = surface.domain;
    const x = [];
    const y = [];
    for (let i = 0; i < n; i++) {
      x.push(xmin + ((xmax - xmin) * i) / (n - 1));
      y.push(ymin + ((ymax - ymin) * i) / (n - 1));
    }
    const Z = y.map(function (yi) {
      return x.map(function (xj) {
        return surface.fn(xj, yi);
      });
    });
    const finite = [].concat.apply([], Z).filter(isFinite);
    let floor = Math.min.apply(null, finite);
    if (isFinite(surface.min_value)) floor = Math.min(floor, surface.min_value);
    const shifted = finite.map((v) => v - floor);
    const top = Math.max.apply(null, shifted);
    const positive = shifted.filter((v) => v > 0).sort((a, b) => a - b);
    const log = positive.length > 0 && top / Math.max(percentile(positive, 0.5), 1e-300) > 10.0;
    let color;
    let start;
    let end;
    let offset = 0.0;
    let tickvals;
    if (log) {
      offset = Math.max(percentile(positive, 0.001), top * 1e-6);
      color = Z.map((row) => row.map((v) => Math.log10(Math.max(v - floor, 0.0) + offset)));
      start = Math.log10(offset);
      end = Math.log10(top + offset);
      tickvals = [];
      for (let k = Math.ceil(start); k <= Math.floor(end); k++) tickvals.push(k);
    } else {
      color = Z;
      start = floor;
      end = floor + top;
      tickvals = [0, 1, 2, 3, 4, 5].map((k) => start + ((end - start) * k) / 5);
    }
    const size = end > start ? (end - start) / levels : 1.0;
    const ticktext = tickvals.map((v) => fmt(log ? Math.pow(10, v) - offset + floor : v));
    return { x, y, color, start, end, size, tickvals, ticktext };
  }

  // ----------------------------------------------------------------------------- the figures

  const AXIS = { gridcolor: "#e5e5e5", linecolor: "#888888", zeroline: false, ticklabeloverflow: "allow" };
  // the contour figure's fixed size, shared by its backdrop: as in the Jupyter view, room
  // below the plot area for a legend under the x axis title (its top 56 px below the plot
  // area), which wraps to more rows when ghosts are pinned
  const CONTOUR_AREA = { width: 520, height: 600, margin: { l: 60, r: 90, t: 36, b: 150, autoexpand: false } };
  const CONTOUR_LEGEND = {
    orientation: "h", x: 0, xanchor: "left", y: -56 / (600 - 36 - 150), yanchor: "top", font: { size: 10 },
  };

  function layout(title, extra) {
    return Object.assign(
      {
        title: { text: title, font: { size: 13 } },
        margin: { l: 60, r: 20, t: 36, b: 40 },
        paper_bgcolor: "white",
        plot_bgcolor: "white",
        showlegend: true,
        legend: { font: { size: 10 } },
      },
      extra,
    );
  }

  function line(name, color, dash, extra) {
    return Object.assign(
      { type: "scatter", mode: "lines", name, line: { color, width: 1.6, dash: dash || "solid" } },
      extra,
    );
  }

  function cursorShape(x) {
    return [
      {
        type: "line",
        xref: "x",
        yref: "paper",
        x0: x,
        x1: x,
        y0: 0,
        y1: 1,
        line: { color: MARKER_COLOR, width: 2, dash: "dot" },
      },
    ];
  }

  // a line view's y range (plotly units: log10 on a log axis), as the Jupyter panels' line
  // views fit it (adaviz/panels/views/lines.py): the range shown stays while the data is
  // inside it and fills it reasonably, so most slider moves change the traces only; else a
  // new one on a coarse grid (half decades on log axes, 1-2-5 steps on linear ones)
  const LOG_SLACK = 2.0;
  const LOG_MARGIN = 0.25;
  const LINEAR_FILL = 0.4;

  function niceStep(span) {
    const raw = span / 5.0;
    const exp = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1.0, 2.0, 5.0]) if (raw <= m * exp) return m * exp;
    return 10.0 * exp;
  }

  function fitRange(traces, log, current) {
    let lo = Infinity;
    let hi = -Infinity;
    traces.forEach(function (trace) {
      for (const value of trace.y) {
        if (!isFinite(value) || (log && !(value > 0))) continue;
        if (value < lo) lo = value;
        if (value > hi) hi = value;
      }
    });
    if (!(lo <= hi)) return current || (log ? [-1, 1] : [0, 1]);
    if (log) {
      lo = Math.log10(lo);
      hi = Math.log10(hi);
      if (current && current[0] <= lo && hi <= current[1] && current[1] - current[0] <= hi - lo + LOG_SLACK + 1.0) {
        return current;
      }
      let low = Math.floor((lo - LOG_MARGIN) * 2.0) / 2.0;
      let high = Math.ceil((hi + LOG_MARGIN) * 2.0) / 2.0;
      if (high - low < 1.0) {
        low -= 0.5;
        high += 0.5;
      }
      return [low, high];
    }
    if (current && current[0] <= lo && hi <= current[1] && hi - lo >= LINEAR_FILL * (current[1] - current[0])) {
      return current;
    }
    let span = hi - lo;
    if (span <= 0) span = hi ? Math.abs(hi) : 1.0;
    const step = niceStep(span);
    return [Math.floor(lo / step) * step - 0.5 * step, Math.ceil(hi / step) * step + 0.5 * step];
  }

  /** The text beside a path's last point at (x, y) (the Jupyter contour view's "end
   * label"), placed toward the middle of the surface's `domain`, on its edge when the point
   * is off it. */
  function endLabelTrace(x, y, text, domain) {
    const [[xmin, xmax], [ymin, ymax]] = domain;
    const position = (y > 0.5 * (ymin + ymax) ? "bottom" : "top") + (x > 0.5 * (xmin + xmax) ? " left" : " right");
    const clip = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
    return {
      type: "scatter", mode: "markers+text", name: "end label", showlegend: false, hoverinfo: "skip", cliponaxis: false,
      marker: { size: 20, opacity: 0 },  // sets the text clear of the end and step markers
      x: [clip(x, xmin, xmax)], y: [clip(y, ymin, ymax)], text: [text], textposition: [position],
      textfont: { size: 11, color: "#222222", shadow: "0px 0px 3px white" },
    };
  }

  /** The y range `shown` (figure -> the ranges drawn) has for figure `name` on a y axis of
   * this type, or null. */
  function shownY(shown, name, log) {
    const ranges = shown[name];
    return ranges && ranges.log === log ? ranges.y : null;
  }

  function sameRange(a, b) {
    return Boolean(a && b) && a[0] === b[0] && a[1] === b[1];
  }

  // New x/y of some scatter traces of a drawn figure, and axis ranges when they changed: a
  // redraw-free move through plotly.js's trace modules (adaviz.plotlyMove, the move the
  // Jupyter panels' figures make), then one relayout for the ranges; or one Plotly.update
  // when the figure is not as the move needs.
  const MOVE_OPTIONS = { transition: { duration: 0, easing: "linear" } };

  function moveTraces(Plotly, gd, traces, styles, ranges) {
    const edits = {};
    if (ranges.x) edits["xaxis.range"] = ranges.x;
    if (ranges.y) edits["yaxis.range"] = ranges.y;
    const relayout = Object.keys(edits).length > 0;
    const move = adaviz.plotlyMove;
    // (with new ranges, the relayout redraws every trace: the move itself draws nothing)
    if (move && move.direct(Plotly, gd, styles, traces, MOVE_OPTIONS, !relayout)) {
      move.moves.direct += 1;
      return relayout ? Plotly.relayout(gd, edits) : Promise.resolve();
    }
    if (move) move.moves.update += 1;
    const data = { x: styles.map((style) => style.x), y: styles.map((style) => style.y) };
    return Plotly.update(gd, data, edits, traces);
  }

  /** A panel's request(): the first request draws at once, the requests that follow until
   * the next animation frame make one draw then, with the controls' values at that time (at
   * most one draw a frame after the first, and the last values are always drawn). */
  function frameCoalesced(draw) {
    let waiting = false;  // a frame callback is pending
    let again = false;  // requested since the last draw
    function frame() {
      waiting = false;
      if (again) {
        again = false;
        request();
      }
    }
    function request() {
      if (waiting) {
        again = true;
        return;
      }
      waiting = true;
      root.requestAnimationFrame(frame);
      draw();
    }
    return request;
  }

  // -------------------------------------------------------------------------------- fragment

  /** The settings of a URL fragment, or null with a reason when a value is invalid. */
  function parseFragment(hash, state) {
    const text = hash.replace(/^#/, "");
    if (!text) return { settings: null, problem: null };
    const params = new URLSearchParams(text);
    const settings = {};
    const problems = [];
    params.forEach(function (value, key) {
      if (key === "surface") {
        if (surfaceNames().indexOf(value) < 0) problems.push("surface=" + value);
        else settings.surface = value;
      } else if (HYPERPARAMETERS.indexOf(key) >= 0) {
        const spec = state.specs[key];
        const number = Number(value);
        if (value === "" || !isFinite(number) || number < spec.low * (1 - 1e-9) || number > spec.high * (1 + 1e-9)) {
          problems.push(key + "=" + value);
        } else settings[key] = number;
      } else if (key === "steps") {
        const number = Number(value);
        if (!Number.isInteger(number) || number < state.steps_range[0] || number > state.steps_range[1]) {
          problems.push("steps=" + value);
        } else settings.steps = number;
      } else if (key === "x" || key === "y") {
        const number = Number(value);
        if (value === "" || !isFinite(number)) problems.push(key + "=" + value);
        else settings[key] = number;
      } else if (key === "noise" || key === "seed") {
        const number = key === "noise" ? fragmentNoise(value, state.noise_values) : fragmentInteger(value, 0, state.seed_max);
        if (number === undefined) problems.push(key + "=" + value);
        else settings[key] = number;
      } else {
        problems.push(key);
      }
    });
    if (!problems.length && ("x" in settings) !== ("y" in settings)) problems.push("x and y go together");
    if (!problems.length && "x" in settings) {
      const surface = adaviz.get(settings.surface || state.surface);
      const [[xmin, xmax], [ymin, ymax]] = surface.domain;
      if (!(settings.x >= xmin && settings.x <= xmax && settings.y >= ymin && settings.y <= ymax)) {
        problems.push("start (" + settings.x + ", " + settings.y + ") outside " + surface.name + "'s domain");
      }
    }
    if (problems.length) return { settings: null, problem: problems.join(", ") };
    return { settings, problem: null };
  }

  // ------------------------------------------------------------------------------ the panel

  /** The dropdown's surfaces: the page's own (custom) ones, then the built-ins. */
  function surfaceNames() {
    return Object.keys(adaviz.CUSTOM).concat(adaviz.names());
  }

  function surfacePanel(container, state) {
    if (state.custom) adaviz.defineSurface(state.custom);
    const Plotly = root.Plotly;
    container.classList.add("adaviz-surface-panel", "adaviz-live");
    container.dataset.draws = "0";
    const controls = {};
    let surface = adaviz.get(state.surface);
    let start = state.start.slice();
    const ghosts = [];
    let trajectory = null;
    let view = null;
    let background = null;
    let backgroundFor = null;  // the background the backdrop shows
    let drawnStructure = null;  // what a full redraw drew: a slider move only moves traces
    const shown = {};  // figure -> the axis ranges drawn ({x, y, log})
    let playing = null;

    // -- controls --------------------------------------------------------------------
    function labelled(name, text, input, readout) {
      const label = el("label", { class: "adaviz-control adaviz-" + name.replace(/_/g, "-") });
      label.appendChild(el("span", { class: "adaviz-label", text: text }));
      label.appendChild(input);
      if (readout) label.appendChild(readout);
      return label;
    }

    function slider(name) {
      const spec = state.specs[name];
      const input = el("input", {
        type: "range",
        name: name,
        min: spec.log ? Math.log10(spec.low) : spec.low,
        max: spec.log ? Math.log10(spec.high) : spec.high,
        step: spec.step,
      });
      if (spec.log) input.dataset.scale = "log10";
      const readout = el("output", { class: "adaviz-readout" });
      controls[name] = input;
      input.addEventListener("input", function () {
        const number = Number(input.value);
        current[name] = spec.log ? Math.pow(10, number) : number;
        readout.textContent = fmt(valueOf(name));
        controls.preset.value = matchingPreset();
        request();
      });
      input.adaviz_readout = readout;
      return labelled(name, spec.description || name, input, readout);
    }

    // the values run: a slider shows the nearest of its ticks, the run uses the exact value
    // (the panel's, a preset's, the address's) until the slider is moved
    const current = {};

    function valueOf(name) {
      return current[name];
    }

    function setValue(name, value) {
      const input = controls[name];
      current[name] = value;
      input.value = input.dataset.scale === "log10" ? Math.log10(value) : value;
      if (input.adaviz_readout) input.adaviz_readout.textContent = fmt(valueOf(name));
    }

    function values() {
      const out = {};
      HYPERPARAMETERS.forEach(function (name) {
        out[name] = valueOf(name);
      });
      return out;
    }

    function matchingPreset() {
      const current = values();
      const found = Object.keys(state.presets).find(function (name) {
        return HYPERPARAMETERS.every(function (key) {
          const spec = state.specs[key];
          const a = spec.log ? Math.log10(current[key]) : current[key];
          const b = spec.log ? Math.log10(state.presets[name][key]) : state.presets[name][key];
          return Math.abs(a - b) <= spec.step / 2 + 1e-9;
        });
      });
      return found || "custom";
    }

    const surfaceSelect = el("select", { name: "surface" });
    surfaceNames().forEach(function (name) {
      surfaceSelect.appendChild(el("option", { value: name, text: name }));
    });
    controls.surface = surfaceSelect;
    surfaceSelect.addEventListener("change", function () {
      surface = adaviz.get(surfaceSelect.value);
      start = surface.start.slice();
      background = null;
      ghosts.length = 0;
      request();
    });

    const preset = el("select", { name: "preset" });
    Object.keys(state.presets)
      .concat(["custom"])
      .forEach(function (name) {
        preset.appendChild(el("option", { value: name, text: name }));
      });
    controls.preset = preset;
    preset.addEventListener("change", function () {
      const chosen = state.presets[preset.value];
      if (!chosen) return;
      HYPERPARAMETERS.forEach(function (name) {
        setValue(name, chosen[name]);
      });
      request();
    });

    const steps = el("input", {
      type: "range",
      name: "steps",
      min: state.steps_range[0],
      max: state.steps_range[1],
      step: 1,
    });
    const stepsReadout = el("output", { class: "adaviz-readout" });
    controls.steps = steps;
    steps.addEventListener("input", function () {
      stepsReadout.textContent = steps.value;
      request();
    });

    function button(name, text, onClick) {
      const node = el("button", { type: "button", name: name, text: text });
      node.addEventListener("click", onClick);
      controls[name] = node;
      return node;
    }

    const scrubber = el("input", { type: "range", name: "step", min: 0, max: 1, step: 1, value: 0 });
    controls.step = scrubber;
    scrubber.addEventListener("input", function () {
      setCursor(Number(scrubber.value));
    });

    const reset = button("reset", "reset", function () {
      HYPERPARAMETERS.forEach(function (name) {
        setValue(name, state.defaults[name]);
      });
      preset.value = matchingPreset();
      request();
    });
    const play = button("play", "▶ play", function () {
      if (playing !== null) return stop();
      if (Number(scrubber.value) >= view.n - 1) scrubber.value = 0;
      play.textContent = "❚❚ pause";
      const stride = Math.max(1, Math.floor(Number(steps.value) / 150));
      playing = setInterval(function () {
        const next = Math.min(Number(scrubber.value) + stride, view.n - 1);
        scrubber.value = next;
        setCursor(next);
        if (next >= view.n - 1) stop();
      }, 50);
    });
    function stop() {
      clearInterval(playing);
      playing = null;
      play.textContent = "▶ play";
    }
    const pin = button("pin", "pin", function () {
      const v = values();
      const label =
        "ghost: lr=" + fmt(v.lr) + ", ρ=" + fmt(v.rho) + ", ε=" + fmt(v.epsilon, 2) +
        (v.decay ? ", decay=" + fmt(v.decay) : "");
      ghosts.push({ label, px: view.px, py: view.py, steps: view.steps, loss: view.loss });
      if (ghosts.length > GHOST_COLORS.length) ghosts.shift();
      draw();
    });
    const clear = button("clear", "clear", function () {
      ghosts.length = 0;
      draw();
    });

    // gradient noise: the same sequence for a seed, whatever the other settings
    const noise = noiseSlider(state.noise_values, state.noise, () => request());
    const seed = integerBox("seed", "noise seed", 0, state.seed_max, state.seed, () => request());
    controls.noise = noise.input;
    controls.seed = seed.input;

    // -- layout ----------------------------------------------------------------------
    const title = el("div", { class: "adaviz-title" });
    const note = el("div", { class: "adaviz-note", role: "status" });
    const columns = el("div", { class: "adaviz-controls" }, [
      el("div", {}, [
        labelled("surface", "surface", surfaceSelect),
        labelled("steps", "steps", steps, stepsReadout),
        labelled("preset", "preset", preset),
      ]),
      el("div", {}, [slider("lr"), slider("rho"), reset]),
      el("div", {}, [slider("epsilon"), slider("decay"), noise.label, seed.label]),
    ]);
    const figures = {};
    ["surface", "accumulators", "step_size", "loss"].forEach(function (name) {
      figures[name] = el("div", {
        class: "adaviz-figure adaviz-figure-" + name.replace(/_/g, "-"),
        "data-view": name,
      });
    });
    // the contour lives in its own plotly div under the path's (a contour costs ~100 ms to
    // redraw; the paths above it are redrawn on every slider move, the contour only when the
    // surface changes); both share one fixed plot area
    const backdrop = el("div", { class: "adaviz-figure-backdrop" });
    const stack = el("div", { class: "adaviz-stack" }, [backdrop, figures.surface]);
    const views = el("div", { class: "adaviz-views" }, [
      stack,
      el("div", { class: "adaviz-side" }, [figures.accumulators, figures.step_size, figures.loss]),
    ]);
    const cursorLabel = el("span", { class: "adaviz-cursor" });
    const playback = el("div", { class: "adaviz-playback" }, [play, scrubber, cursorLabel, pin, clear]);
    const readouts = el("div", { class: "adaviz-readouts" });
    const code = el("pre", { class: "adaviz-code" });
    [title, note, columns, views, playback, readouts, code].forEach(function (node) {
      container.appendChild(node);
    });

    // -- settings: the panel's, then the fragment's ------------------------------------
    function apply(settings) {
      surface = adaviz.get(settings.surface || state.surface);
      surfaceSelect.value = surface.name;
      start = "x" in settings ? [settings.x, settings.y] : surface === adaviz.get(state.surface) ? state.start.slice() : surface.start.slice();
      HYPERPARAMETERS.forEach(function (name) {
        setValue(name, name in settings ? settings[name] : state.hyperparameters[name]);
      });
      steps.value = settings.steps || state.steps;
      stepsReadout.textContent = steps.value;
      preset.value = matchingPreset();
      noise.set("noise" in settings ? settings.noise : state.noise);
      seed.set("seed" in settings ? settings.seed : state.seed);
    }
    const parsed = parseFragment(root.location && state.fragment !== false ? root.location.hash : "", state);
    apply(parsed.settings || {});
    if (parsed.problem) {
      note.textContent =
        "The settings in this address were ignored (" + parsed.problem + "): showing the page's defaults.";
      note.classList.add("adaviz-warning");
    }

    function writeFragment() {
      if (state.fragment === false) return;
      const v = values();
      const params = new URLSearchParams();
      params.set("surface", surface.name);
      HYPERPARAMETERS.forEach(function (name) {
        params.set(name, String(Number(v[name].toPrecision(6))));
      });
      params.set("steps", steps.value);
      params.set("noise", String(noise.value()));
      params.set("seed", String(seed.value()));
      params.set("x", String(Number(start[0].toPrecision(8))));
      params.set("y", String(Number(start[1].toPrecision(8))));
      const hash = "#" + params.toString();
      if (root.history && root.location && root.location.hash !== hash) {
        try {
          root.history.replaceState(null, "", hash);
        } catch (error) {
          // a page whose address cannot change (e.g. inside a sandboxed frame) keeps working
        }
      }
    }

    // -- drawing ---------------------------------------------------------------------
    const request = frameCoalesced(draw);

    function computeView(t) {
      const n = t.diverged_at < 0 ? t.steps + 1 : t.diverged_at;
      const m = Math.min(n, t.steps);
      const pick = (array, count, i) => Array.from({ length: count }, (_, k) => array[2 * k + i]);
      const f_star = surface.min_value;
      const gap = isFinite(f_star);
      const loss = Array.from(t.loss.subarray(0, n), (v) => (gap ? v - f_star : v));
      return {
        n,
        m,
        steps: Array.from({ length: n }, (_, k) => k),
        step_numbers: Array.from({ length: m }, (_, k) => k + 1),
        px: pick(t.positions, n, 0),
        py: pick(t.positions, n, 1),
        loss,
        loss_gap: gap,
        loss_log: gap || loss.every((v) => v > 0),
        accum_grad: [0, 1].map((i) => pick(t.state.accum_grad, n, i)),
        accum_delta: [0, 1].map((i) => pick(t.state.accum_delta, n, i)),
        step_size: [0, 1].map((i) => pick(t.step_size, m, i)),
        newton: [0, 1].map((i) => pick(t.newton_step_size, m, i)),
      };
    }

    function draw() {
      const v = values();
      const count = Number(steps.value);
      trajectory = adaviz.simulate(surface, Object.assign({ start, steps: count, noise: noise.value(), seed: seed.value() }, v));
      view = computeView(trajectory);
      scrubber.max = count;
      if (Number(scrubber.value) > count) scrubber.value = count;
      const cursor = Math.min(Number(scrubber.value), view.n - 1);
      if (!background) background = contour(surface, state.grid_size, 20);
      // beside the last point, where the run diverged (the legend stays as it is)
      const endLabel = trajectory.diverged_at < 0 ? "" : "last point before<br>divergence (step " + (view.n - 1) + ")";

      const [[xmin, xmax], [ymin, ymax]] = surface.domain;
      const area = CONTOUR_AREA;
      const axes = (visible) => ({
        xaxis: Object.assign({}, AXIS, { title: { text: "x" }, range: [xmin, xmax], fixedrange: true, visible, showgrid: false }),
        yaxis: Object.assign({}, AXIS, { title: { text: "y" }, range: [ymin, ymax], fixedrange: true, visible, showgrid: false }),
      });
      const renders = [];
      if (backgroundFor !== background) {
        backgroundFor = background;
        renders.push(
          Plotly.react(
            backdrop,
            [
              {
                type: "contour",
                name: "surface",
                x: background.x,
                y: background.y,
                z: background.color,
                colorscale: CONTOUR_COLORSCALE,
                contours: { start: background.start, end: background.end, size: background.size },
                colorbar: {
                  tickvals: background.tickvals,
                  ticktext: background.ticktext,
                  thickness: 12,
                  x: 1.02,
                  xanchor: "left",
                },
                hoverinfo: "skip",
                showlegend: false,
              },
            ],
            Object.assign(layout("", axes(false)), area, { showlegend: false }),
            { displayModeBar: false, staticPlot: true },
          ),
        );
      }
      // every figure: its traces and layout (a full redraw), and which traces and axis
      // ranges a slider move changes (moved without a redraw when nothing else did)
      const specs = {};
      const g = ghosts.length;
      const pathTraces = ghosts.map(function (ghost, i) {
        return line(ghost.label, GHOST_COLORS[i], "dot", { x: ghost.px, y: ghost.py, opacity: 0.6 });
      });
      pathTraces.push(
        line("trajectory", TRAJECTORY_COLOR, "solid", { x: view.px, y: view.py }),
        { type: "scatter", mode: "markers", name: "start", x: [view.px[0]], y: [view.py[0]], marker: { size: 12, color: START_COLOR, symbol: "circle", line: { color: "white", width: 1 } } },
        { type: "scatter", mode: "markers", name: "end", x: [view.px[view.n - 1]], y: [view.py[view.n - 1]], marker: { size: 12, color: END_COLOR, symbol: "square", line: { color: "white", width: 1 } } },
        { type: "scatter", mode: "markers", name: "known minima", x: surface.minima.map((m) => m[0]), y: surface.minima.map((m) => m[1]), marker: { size: 14, color: MINIMUM_COLOR, symbol: "star", line: { color: "black", width: 1 } } },
        { type: "scatter", mode: "markers", name: "step marker", showlegend: false, x: [view.px[cursor]], y: [view.py[cursor]], marker: { size: 17, color: MARKER_COLOR, symbol: "circle-open", line: { color: MARKER_COLOR, width: 3 } } },
        endLabelTrace(view.px[view.n - 1], view.py[view.n - 1], endLabel, surface.domain),
      );
      specs.surface = {
        traces: pathTraces,
        layout: Object.assign(
          layout("Adadelta on " + surface.name + " (click to set the start)", axes(true)),
          area,
          {
            paper_bgcolor: "rgba(0,0,0,0)",
            plot_bgcolor: "rgba(0,0,0,0)",
            dragmode: false,
            hovermode: "closest",
            legend: CONTOUR_LEGEND,
          },
        ),
        changed: [g, g + 1, g + 2, g + 4, g + 5],
        ranges: {},
      };
      const side = { width: 420, height: 200, margin: { l: 60, r: 10, t: 30, b: 32 } };
      const steps_range = [0, Math.max(view.n - 1, 1)];
      const numbers_range = [1, Math.max(view.m, 2)];
      const sideLayout = function (titleText, yaxis, xrange) {
        return layout(titleText, Object.assign({
          xaxis: Object.assign({ title: { text: "step" }, range: xrange }, AXIS),
          yaxis: Object.assign({ exponentformat: "power" }, yaxis, AXIS),
          shapes: cursorShape(cursor),
        }, side));
      };
      const accumulators = [
        line("E[g²] x", COORD_COLORS.x, "solid", { x: view.steps, y: view.accum_grad[0] }),
        line("E[g²] y", COORD_COLORS.y, "solid", { x: view.steps, y: view.accum_grad[1] }),
        line("E[Δx²] x", COORD_COLORS.x, "dash", { x: view.steps, y: view.accum_delta[0] }),
        line("E[Δx²] y", COORD_COLORS.y, "dash", { x: view.steps, y: view.accum_delta[1] }),
      ];
      const accumulatorsRange = fitRange(accumulators, true, shownY(shown, "accumulators", true));
      specs.accumulators = {
        traces: accumulators,
        layout: sideLayout("accumulators", { type: "log", title: { text: "E[·]" }, range: accumulatorsRange }, steps_range),
        changed: [0, 1, 2, 3],
        ranges: { x: steps_range, y: accumulatorsRange, log: true },
      };
      const stepSizes = [
        line("step size x", COORD_COLORS.x, "solid", { x: view.step_numbers, y: view.step_size[0] }),
        line("step size y", COORD_COLORS.y, "solid", { x: view.step_numbers, y: view.step_size[1] }),
        line("Newton 1/|f_xx|", COORD_COLORS.x, "dot", { x: view.step_numbers, y: view.newton[0] }),
        line("Newton 1/|f_yy|", COORD_COLORS.y, "dot", { x: view.step_numbers, y: view.newton[1] }),
      ];
      const stepSizeRange = fitRange(stepSizes, true, shownY(shown, "step_size", true));
      specs.step_size = {
        traces: stepSizes,
        layout: sideLayout("step size vs Newton", { type: "log", title: { text: "step size (x per unit gradient)" }, range: stepSizeRange }, numbers_range),
        changed: [0, 1, 2, 3],
        ranges: { x: numbers_range, y: stepSizeRange, log: true },
      };
      const lossTraces = ghosts.map((ghost, i) =>
        line(ghost.label, GHOST_COLORS[i], "dot", { x: ghost.steps, y: ghost.loss, opacity: 0.6 }),
      );
      lossTraces.push(line("loss", TRAJECTORY_COLOR, "solid", { x: view.steps, y: view.loss }));
      const lossTitle = view.loss_gap ? "loss − f* (f* = " + fmt(surface.min_value, 4) + ")" : "loss (no known minimum)";
      const lossRange = fitRange(lossTraces, view.loss_log, shownY(shown, "loss", view.loss_log));
      const lossSteps = [0, Math.max(steps_range[1], ...ghosts.map((ghost) => ghost.steps.length - 1))];
      specs.loss = {
        traces: lossTraces,
        layout: sideLayout("loss", { type: view.loss_log ? "log" : "linear", title: { text: lossTitle }, range: lossRange }, lossSteps),
        changed: [g],
        ranges: { x: lossSteps, y: lossRange, log: view.loss_log },
      };

      const structure = [surface.name, g, endLabel, view.n, view.loss_log, lossTitle, cursor].join("|");
      const quick = structure === drawnStructure;
      drawnStructure = structure;
      Object.keys(specs).forEach(function (name) {
        const spec = specs[name];
        const before = shown[name];
        shown[name] = spec.ranges;
        if (!quick) {
          renders.push(Plotly.react(figures[name], spec.traces, spec.layout, { displayModeBar: false, responsive: false }));
          return;
        }
        // a slider move: only the traces a run changes, and the axis ranges that changed
        const styles = spec.changed.map((i) => ({ x: spec.traces[i].x, y: spec.traces[i].y }));
        const ranges = {
          x: before && !sameRange(before.x, spec.ranges.x) ? spec.ranges.x : null,
          y: before && !sameRange(before.y, spec.ranges.y) ? spec.ranges.y : null,
        };
        renders.push(moveTraces(Plotly, figures[name], spec.changed, styles, ranges));
      });
      drawText(cursor);
      writeFragment();
      return Promise.all(renders).then(function () {
        container.dataset.draws = String(Number(container.dataset.draws) + 1);
      });
    }

    function setCursor(k) {
      if (!view) return;
      k = Math.min(Math.max(k, 0), view.n - 1);
      const marker = figures.surface.data.findIndex((trace) => trace.name === "step marker");
      Plotly.restyle(figures.surface, { x: [[view.px[k]]], y: [[view.py[k]]] }, [marker]);
      ["accumulators", "step_size", "loss"].forEach(function (name) {
        Plotly.relayout(figures[name], { shapes: cursorShape(k) });
      });
      cursorLabel.textContent = cursorText(k);
      drawnStructure = null;  // the next draw redraws the cursor's shapes in full
    }

    function cursorText(k) {
      let text = "step " + k + ": x = " + fmt(view.px[k], 4) + ", y = " + fmt(view.py[k], 4) +
        ", loss = " + fmt(trajectory.loss[k], 4);
      if (k < Number(scrubber.value)) text += " (path ends here)";
      return text;
    }

    function drawText(cursor) {
      const v = values();
      const summary = adaviz.summary(trajectory, state.tolerance);
      const first = view.n >= 2 ? summary.first_step.map(Math.abs) : [NaN, NaN];
      const formula = v.rho < 1 ? adaviz.first_step(v.lr, v.rho, v.epsilon) : Infinity;
      const diverged = trajectory.diverged_at >= 0;
      const readout = {
        first_step: first,
        first_step_formula: formula,
        final_loss: diverged ? NaN : summary.final_loss,
        distance_to_minimum: diverged ? NaN : summary.distance_to_minimum,
        steps_to_converge: diverged || summary.steps_to_converge < 0 ? null : summary.steps_to_converge,
        diverged_at: diverged ? trajectory.diverged_at : null,
      };
      container.adaviz_panel.readouts = readout;
      title.innerHTML = "";
      title.appendChild(el("b", { text: "Adadelta on " + surface.name }));
      if (state.lessons && state.lessons[surface.name]) {
        title.appendChild(el("br"));
        title.appendChild(el("i", { text: state.lessons[surface.name] }));
      }
      const rows = [
        "first step: |Δx| = " + fmt(first[0]) + ", |Δy| = " + fmt(first[1]) +
          " (lr·√(ε/(1−ρ)) = " + fmt(formula) + ")",
        diverged
          ? "diverged at step " + trajectory.diverged_at + " (left the plotted region or overflowed)"
          : "final loss: " + fmt(readout.final_loss, 4) + " after " + trajectory.steps + " steps",
      ];
      if (surface.minima.length && !diverged) {
        rows.push("distance to the nearest minimum: " + fmt(readout.distance_to_minimum, 3));
        rows.push(
          "steps to converge (loss within " + state.tolerance + " of f*): " +
            (readout.steps_to_converge === null
              ? "not reached in " + trajectory.steps + " steps"
              : readout.steps_to_converge),
        );
      }
      if (trajectory.noise > 0) {
        rows.push(
          "gradient noise σ = " + fmt(trajectory.noise, 4) + " (seed " + trajectory.seed + "): the path " +
            "follows noisy gradients; converged means within the tolerance over the last 10 % of the steps",
        );
      }
      readouts.innerHTML = "";
      rows.forEach(function (row) {
        readouts.appendChild(el("div", { text: row }));
      });
      code.textContent =
        "adaviz.Adadelta(lr=" + fmt(v.lr, 6) + ", rho=" + fmt(v.rho, 6) + ", epsilon=" +
        fmt(v.epsilon, 6) + ", decay=" + fmt(v.decay, 6) + ")";
      cursorLabel.textContent = cursorText(cursor);
    }

    // a click on the plot area: a new start (the point under the mouse, in data units)
    function onClick(event) {
      const full = figures.surface._fullLayout;
      if (!full) return;
      const box = figures.surface.getBoundingClientRect();
      const xaxis = full.xaxis;
      const yaxis = full.yaxis;
      const x = xaxis.p2d(event.clientX - box.left - xaxis._offset);
      const y = yaxis.p2d(event.clientY - box.top - yaxis._offset);
      const [[xmin, xmax], [ymin, ymax]] = surface.domain;
      if (x >= xmin && x <= xmax && y >= ymin && y <= ymax) {
        start = [x, y];
        request();
      }
    }

    container.adaviz_panel = {
      controls,
      figures,
      values,
      draw,
      setStart: function (x, y) {
        start = [x, y];
        return draw();
      },
      get trajectory() {
        return trajectory;
      },
      get start() {
        return start.slice();
      },
      get surface() {
        return surface.name;
      },
      get noise() {
        return [noise.value(), seed.value()];
      },
    };
    const ready = draw().then(function () {
      figures.surface.addEventListener("click", onClick);
    });
    container.adaviz_panel.ready = ready;
    return container.adaviz_panel;
  }

  adaviz.surfacePanel = surfacePanel;

  // --------------------------------------------------------------------- the compare panel

  /** The largest distance between two runs' positions up to where either diverged (Infinity
   * when only one of them diverged): how far a path moved, as the Jupyter ComparePanel says
   * (adaviz/panels/compare/runs.py's distance). */
  function pathDistance(base, other) {
    if ((base.diverged_at >= 0) !== (other.diverged_at >= 0)) return Infinity;
    const valid = (t) => (t.diverged_at < 0 ? t.steps + 1 : t.diverged_at);
    const n = Math.min(valid(base), valid(other));
    let largest = 0.0;
    for (let i = 0; i < 2 * n; i += 2) {
      const dx = base.positions[i] - other.positions[i];
      const dy = base.positions[i + 1] - other.positions[i + 1];
      largest = Math.max(largest, Math.sqrt(dx * dx + dy * dy));
    }
    return largest;
  }

  /** A number as Python source to 6 significant digits (adaviz/panels/kit/code.py's number):
   * Python's repr of the rounded float, e.g. 0.001, 1e-07, 1.0, 1e+16. */
  function pythonNumber(value) {
    const rounded = Number(Number(value).toPrecision(6));
    if (rounded === 0) return "0.0";
    const [digits, exponent] = rounded.toExponential().split("e");  // the shortest digits
    const power = Number(exponent);
    if (power >= -4 && power < 16) {
      const text = rounded.toFixed(Math.max(0, digits.replace(/^-?\d\.?/, "").length - power));
      return text.indexOf(".") >= 0 ? text : text + ".0";
    }
    return digits + "e" + (power < 0 ? "-" : "+") + String(Math.abs(power)).padStart(2, "0");
  }

  /** The Keras 3 constructor running `rule` with `values` (kit/code.py's constructor), from
   * the page state's {constructor, fixed} of the rule. */
  function kerasConstructor(rule, values, keras) {
    const args = adaviz.RULES[rule].hyperparameters.map(function (key) {
      const name = key === "lr" ? "learning_rate" : key;
      const value = values[key];
      return name + "=" + (typeof value === "boolean" ? (value ? "True" : "False") : pythonNumber(value));
    });
    return keras.constructor + "(" + args.concat(keras.fixed).join(", ") + ")";
  }

  /**
   * The live ComparePanel: several rules on one surface, same start and budget.
   *
   *   adaviz.comparePanel(root, state)    (state: page.py's compare_state)
   *
   * Controls named as in ComparePanel.controls: surface, steps, loss_scale (the exponent
   * k), noise and seed (the gradient noise every rule runs with, one sequence for all),
   * tune, pin, clear, and "rule.hyperparameter" (adam.lr, rmsprop.centered, ...).
   * Figures: surface (paths named by rule), loss, step_size, sensitivity (Tune's
   * objective against lr, one curve per rule).
   */
  function comparePanel(container, state) {
    const Plotly = root.Plotly;
    container.classList.add("adaviz-compare-panel", "adaviz-live");
    container.dataset.draws = "0";
    const names = state.optimizers;
    const controls = {};
    const current = {};  // rule -> hyperparameter -> value run
    const labels = {};  // rule -> "library defaults" | "changed by you" | "tuned (lr ...)"
    let surface = adaviz.get(state.surface);
    let start = state.start.slice();
    let background = null;
    let backgroundFor = null;
    let trajectories = {};
    let bases = {};  // rule -> its run at loss scale 1, while k != 0
    let moved = {};  // rule -> how far its path moved from bases[rule]'s
    let sensitivity = null;  // {rule: [objective per LR_GRID value]} after Tune
    let tunedIn = null;  // the context Tune ran in: {steps, k, start, noise, seed}
    // the sensitivity view's lr axis: the values Tune tries, a tenth of a decade wider each side
    const lrRange = [
      Math.log10(Math.min.apply(null, state.lr_grid)) - 0.1, Math.log10(Math.max.apply(null, state.lr_grid)) + 0.1,
    ];
    const ghosts = [];

    function el2(tag, attributes, children) {
      return el(tag, attributes, children);
    }

    const surfaceSelect = el2("select", { name: "surface" });
    adaviz.names().forEach((name) => surfaceSelect.appendChild(el2("option", { value: name, text: name })));
    surfaceSelect.value = surface.name;
    surfaceSelect.addEventListener("change", function () {
      surface = adaviz.get(surfaceSelect.value);
      start = surface.start.slice();
      background = null;
      sensitivity = null;
      ghosts.length = 0;
      request();
    });
    controls.surface = surfaceSelect;
    const steps = el2("input", { type: "range", name: "steps", min: state.steps_range[0], max: state.steps_range[1], step: 1 });
    steps.value = state.steps;
    const stepsOut = el2("output", { class: "adaviz-readout", text: String(state.steps) });
    steps.addEventListener("input", () => { stepsOut.textContent = steps.value; request(); });
    controls.steps = steps;
    const k = el2("input", { type: "range", name: "loss_scale", min: state.loss_scale_spec.low, max: state.loss_scale_spec.high, step: state.loss_scale_spec.step });
    k.value = state.loss_scale_exponent;
    const kOut = el2("output", { class: "adaviz-readout", text: String(state.loss_scale_exponent) });
    k.addEventListener("input", () => { kOut.textContent = k.value; request(); });
    controls.loss_scale = k;
    const noise = noiseSlider(state.noise_values, state.noise, () => request());
    const seed = integerBox("seed", "noise seed", 0, state.seed_max, state.seed, () => request());
    controls.noise = noise.input;
    controls.seed = seed.input;
    const noisy = () => ({ noise: noise.value(), seed: seed.value() });

    function ruleControl(rule, key) {
      const spec = state.specs[key];
      const name = rule + "." + key;
      let input;
      if (spec.flag) {
        input = el2("input", { type: "checkbox", name });
        input.checked = Boolean(current[rule][key]);
        input.addEventListener("change", function () {
          current[rule][key] = input.checked;
          labels[rule] = "changed by you";
          request();
        });
      } else {
        input = el2("input", {
          type: "range",
          name,
          min: spec.log ? Math.log10(spec.low) : spec.low,
          max: spec.log ? Math.log10(spec.high) : spec.high,
          step: spec.step,
        });
        if (spec.log) input.dataset.scale = "log10";
        input.value = spec.log ? Math.log10(current[rule][key]) : current[rule][key];
        input.addEventListener("input", function () {
          const number = Number(input.value);
          current[rule][key] = spec.log ? Math.pow(10, number) : number;
          out.textContent = fmt(current[rule][key]);
          labels[rule] = "changed by you";
          request();
        });
      }
      const out = el2("output", { class: "adaviz-readout", text: spec.flag ? "" : fmt(current[rule][key]) });
      controls[name] = input;
      return el2("label", { class: "adaviz-control adaviz-" + rule + "-" + key.replace(/_/g, "-") }, [
        el2("span", { class: "adaviz-label", text: spec.description || key }),
        input,
        out,
      ]);
    }

    function button(name, text, onClick) {
      const node = el2("button", { type: "button", name, text });
      node.addEventListener("click", onClick);
      controls[name] = node;
      return node;
    }

    const ruleBoxes = names.map(function (rule) {
      current[rule] = Object.assign({}, adaviz.RULES[rule].defaults, state.hyperparameters[rule]);
      labels[rule] = state.labels[rule];
      return el2("fieldset", { class: "adaviz-rule adaviz-rule-" + rule }, [
        el2("legend", { text: rule, style: "color:" + state.colors[rule] }),
      ].concat(adaviz.RULES[rule].hyperparameters.map((key) => ruleControl(rule, key))));
    });

    const title = el2("div", { class: "adaviz-title" });
    const top = el2("div", { class: "adaviz-controls" }, [
      el2("label", { class: "adaviz-control adaviz-surface" }, [el2("span", { class: "adaviz-label", text: "surface" }), surfaceSelect]),
      el2("label", { class: "adaviz-control adaviz-steps" }, [el2("span", { class: "adaviz-label", text: "steps (budget)" }), steps, stepsOut]),
      el2("label", { class: "adaviz-control adaviz-loss-scale" }, [el2("span", { class: "adaviz-label", text: "loss × 10^k, k" }), k, kOut]),
      noise.label,
      seed.label,
      button("tune", "Tune", tune),
      button("pin", "pin", pin),
      button("clear", "clear", function () { ghosts.length = 0; drawnStructure = null; request(); }),
    ]);
    const rules = el2("div", { class: "adaviz-rules" }, ruleBoxes);
    const figures = {};
    ["surface", "loss", "step_size", "sensitivity"].forEach(function (name) {
      figures[name] = el2("div", { class: "adaviz-figure adaviz-figure-" + name.replace(/_/g, "-"), "data-view": name });
    });
    const backdrop = el2("div", { class: "adaviz-figure-backdrop" });
    const views = el2("div", { class: "adaviz-views" }, [
      el2("div", { class: "adaviz-stack" }, [backdrop, figures.surface]),
      el2("div", { class: "adaviz-side" }, [figures.loss, figures.step_size, figures.sensitivity]),
    ]);
    const table = el2("div", { class: "adaviz-readouts" });
    const codeBox = el2("pre", { class: "adaviz-code" });
    const copy = el2("div", { class: "adaviz-copy" }, [el2("b", { text: "copy as code" }), el2("span", { text: " (Keras 3)" }), codeBox]);
    [title, top, rules, views, table, copy].forEach((node) => container.appendChild(node));

    const request = frameCoalesced(draw);

    function scale() {
      return Math.pow(10, Number(k.value));
    }

    /** How many of the last positions of a budget of ``count`` steps Tune's objective averages. */
    function tuneWindow(count) {
      return Math.max(1, Math.ceil(state.tune_window * count));
    }

    /** Tune's objective of a run: the mean loss (surface units) over the budget's last 10 %. */
    function objective(t, count) {
      const window = tuneWindow(count);
      if (t.diverged_at >= 0 && t.diverged_at <= count) return Infinity;
      let sum = 0;
      for (let i = count - window + 1; i <= count; i++) sum += t.loss[i] / t.loss_scale;
      const value = sum / window;
      return isFinite(value) ? value : Infinity;
    }

    function bestIndex(scores) {
      // the index of the lowest finite score, -1 when none is finite
      let best = -1;
      scores.forEach((score, i) => { if (isFinite(score) && (best < 0 || score < scores[best])) best = i; });
      return best;
    }

    function context() {
      return Object.assign({ steps: Number(steps.value), k: Number(k.value), start: start.slice() }, noisy());
    }

    /** '' when the last Tune ran in the current context, else where it ran (as the Jupyter
     * panel's title says it: "300 steps, k = 1", ...). */
    function tunedElsewhere() {
      const then = tunedIn, now = context(), parts = [];
      if (then.steps !== now.steps) parts.push(then.steps + " steps");
      if (then.k !== now.k) parts.push("k = " + then.k);
      if (then.start[0] !== now.start[0] || then.start[1] !== now.start[1]) {
        parts.push("start (" + then.start.map((v) => Number(v.toPrecision(3))).join(", ") + ")");
      }
      if (then.noise !== now.noise || then.seed !== now.seed) {
        parts.push(then.noise ? "noise σ = " + then.noise + ", seed " + then.seed : "no noise");
      }
      return parts.join(", ");
    }

    function tune() {
      const count = Number(steps.value);
      sensitivity = {};
      tunedIn = context();
      names.forEach(function (rule) {
        const scores = state.lr_grid.map((lr) =>
          objective(adaviz.simulate(surface, Object.assign({}, current[rule], { lr, start, steps: count, optimizer: rule, loss_scale: scale() }, noisy())), count),
        );
        sensitivity[rule] = scores;
        const best = bestIndex(scores);
        if (best >= 0) {
          current[rule].lr = state.lr_grid[best];
          controls[rule + ".lr"].value = Math.log10(current[rule].lr);
          controls[rule + ".lr"].nextSibling.textContent = fmt(current[rule].lr);
          labels[rule] = "tuned (lr " + fmt(current[rule].lr) + ")";
        }
      });
      drawnStructure = null;
      return draw();
    }

    function pin() {
      names.forEach(function (rule) {
        const t = trajectories[rule];
        const n = t.diverged_at < 0 ? t.steps + 1 : t.diverged_at;
        const xs = [];
        const ys = [];
        for (let i = 0; i < n; i++) { xs.push(t.positions[2 * i]); ys.push(t.positions[2 * i + 1]); }
        ghosts.push({ rule, label: "ghost: " + rule + " lr=" + fmt(current[rule].lr), px: xs, py: ys });
      });
      while (ghosts.length > state.pins * names.length) ghosts.shift();
      drawnStructure = null;
      request();
    }

    let drawnStructure = null;
    const shown = {};  // figure -> the axis ranges drawn ({x, y, log})

    function draw() {
      const count = Number(steps.value);
      const lossScale = scale();
      trajectories = {};
      names.forEach(function (rule) {
        trajectories[rule] = adaviz.simulate(surface, Object.assign({}, current[rule], { start, steps: count, optimizer: rule, loss_scale: lossScale }, noisy()));
      });
      // at k != 0 every rule runs at loss scale 1 too: that path is a dashed ghost, and the
      // table says how far the path moved from it
      bases = {};
      moved = {};
      if (lossScale !== 1) {
        names.forEach(function (rule) {
          bases[rule] = adaviz.simulate(surface, Object.assign({}, current[rule], { start, steps: count, optimizer: rule, loss_scale: 1 }));
          moved[rule] = pathDistance(bases[rule], trajectories[rule]);
        });
      }
      if (!background) background = contour(surface, state.grid_size, 20);
      const [[xmin, xmax], [ymin, ymax]] = surface.domain;
      const area = CONTOUR_AREA;
      const axes = (visible) => ({
        xaxis: Object.assign({}, AXIS, { title: { text: "x" }, range: [xmin, xmax], fixedrange: true, visible, showgrid: false }),
        yaxis: Object.assign({}, AXIS, { title: { text: "y" }, range: [ymin, ymax], fixedrange: true, visible, showgrid: false }),
      });
      const renders = [];
      if (backgroundFor !== background) {
        backgroundFor = background;
        renders.push(Plotly.react(backdrop, [{
          type: "contour", name: "surface", x: background.x, y: background.y, z: background.color,
          colorscale: CONTOUR_COLORSCALE,
          contours: { start: background.start, end: background.end, size: background.size },
          colorbar: { tickvals: background.tickvals, ticktext: background.ticktext, thickness: 12, x: 1.02, xanchor: "left" },
          hoverinfo: "skip", showlegend: false,
        }], Object.assign(layout("", axes(false)), area, { showlegend: false }), { displayModeBar: false, staticPlot: true }));
      }
      const views = {};
      names.forEach(function (rule) {
        const t = trajectories[rule];
        const n = t.diverged_at < 0 ? t.steps + 1 : t.diverged_at;
        const m = Math.min(n, t.steps);
        const pick = (array, c, i) => Array.from({ length: c }, (_, j) => array[2 * j + i]);
        views[rule] = {
          n, m,
          px: pick(t.positions, n, 0), py: pick(t.positions, n, 1),
          steps: Array.from({ length: n }, (_, j) => j),
          numbers: Array.from({ length: m }, (_, j) => j + 1),
          loss: Array.from(t.loss.subarray(0, n), (v) => v / lossScale - (isFinite(surface.min_value) ? surface.min_value : 0)),
          step_size: [pick(t.step_size, m, 0), pick(t.step_size, m, 1)].map((a) => a.map(Math.abs)),
        };
      });
      const specs = {};
      const k0 = Object.keys(bases).map(function (rule) {
        const b = bases[rule];
        const n = b.diverged_at < 0 ? b.steps + 1 : b.diverged_at;
        const coordinate = (i) => Array.from({ length: n }, (_, j) => b.positions[2 * j + i]);
        return line(rule + " at k = 0", state.colors[rule], "dash", { x: coordinate(0), y: coordinate(1), opacity: 0.55 });
      });
      const paths = k0.concat(ghosts.map((ghost) => line(ghost.label, state.colors[ghost.rule], "dot", { x: ghost.px, y: ghost.py, opacity: 0.5 })));
      const g = paths.length;
      names.forEach((rule) => paths.push(line(rule, state.colors[rule], "solid", { x: views[rule].px, y: views[rule].py })));
      paths.push(
        { type: "scatter", mode: "markers", name: "start", x: [start[0]], y: [start[1]], marker: { size: 12, color: START_COLOR, line: { color: "white", width: 1 } } },
        { type: "scatter", mode: "markers", name: "known minima", x: surface.minima.map((p) => p[0]), y: surface.minima.map((p) => p[1]), marker: { size: 14, color: MINIMUM_COLOR, symbol: "star", line: { color: "black", width: 1 } } },
      );
      specs.surface = {
        traces: paths,
        layout: Object.assign(layout("paths on the loss surface (same start and budget)", axes(true)), area, {
          paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", dragmode: false,
          legend: CONTOUR_LEGEND,
        }),
        changed: k0.map((_, i) => i).concat(names.map((_, i) => g + i)),
        ranges: {},
      };
      const side = { width: 440, height: 200, margin: { l: 60, r: 10, t: 30, b: 32 } };
      const gap = isFinite(surface.min_value);
      const lossLog = names.every((rule) => views[rule].loss.every((v) => !isFinite(v) || v > 0)) || gap;
      const lossTraces = names.map((rule) => line(rule, state.colors[rule], "solid", { x: views[rule].steps, y: views[rule].loss }));
      const lossRange = fitRange(lossTraces, lossLog, shownY(shown, "loss", lossLog));
      specs.loss = {
        traces: lossTraces,
        layout: layout(gap ? "loss − f* (surface units)" : "loss (surface units)", Object.assign({
          xaxis: Object.assign({ title: { text: "step" }, range: [0, count] }, AXIS),
          yaxis: Object.assign({ type: lossLog ? "log" : "linear", range: lossRange, exponentformat: "power" }, AXIS),
        }, side)),
        changed: names.map((_, i) => i),
        ranges: { x: [0, count], y: lossRange, log: lossLog },
      };
      const stepTraces = [];
      names.forEach(function (rule) {
        stepTraces.push(line(rule + " x", state.colors[rule], "solid", { x: views[rule].numbers, y: views[rule].step_size[0] }));
        stepTraces.push(line(rule + " y", state.colors[rule], "dot", { x: views[rule].numbers, y: views[rule].step_size[1] }));
      });
      const stepRange = fitRange(stepTraces, true, shownY(shown, "step_size", true));
      specs.step_size = {
        traces: stepTraces,
        // as the Jupyter panel's view: no legend (the colours are the rules' everywhere)
        layout: layout("realized step size Δx / (−g) (solid x, dotted y)", Object.assign({
          xaxis: Object.assign({ title: { text: "step" }, range: [1, Math.max(count, 2)] }, AXIS),
          yaxis: Object.assign({ type: "log", range: stepRange, exponentformat: "power", title: { text: "step size (x²/loss)" } }, AXIS),
          showlegend: false,
        }, side)),
        changed: stepTraces.map((_, i) => i),
        ranges: { x: [1, Math.max(count, 2)], y: stepRange, log: true },
      };
      // Tune's objective against lr, drawn above the surface's minimum f* on a log axis when
      // f* is known (diverged runs left out), and a star at the lr Tune chose: as the Jupyter
      // panel's view, it stays there when the lr slider moves on
      const shift = (v) => (!isFinite(v) ? null : !gap ? v : v - surface.min_value > 0 ? v - surface.min_value : null);
      const sensitivityTraces = names.map((rule) => line(rule, state.colors[rule], "solid", {
        x: sensitivity ? state.lr_grid : [], y: sensitivity ? sensitivity[rule].map(shift) : [],
      }));
      names.forEach(function (rule) {
        const best = bestIndex(sensitivity ? sensitivity[rule] : []);
        sensitivityTraces.push({
          type: "scatter", mode: "markers", name: rule + " chosen lr", showlegend: false,
          x: best < 0 ? [] : [state.lr_grid[best]], y: best < 0 ? [] : [shift(sensitivity[rule][best])],
          marker: { size: 13, color: state.colors[rule], symbol: "star", line: { width: 1 } },
        });
      });
      const elsewhere = sensitivity ? tunedElsewhere() : "";
      const tuneSteps = sensitivity ? tunedIn.steps : 0;
      const sensitivityTitle = !sensitivity
        ? "tuning: objective vs lr (press Tune)"
        : "tuning: mean loss over the last " + tuneWindow(tuneSteps) + " of " + tuneSteps +
          " steps vs lr" + (elsewhere ? " (tuned for " + elsewhere + ")" : " (star: chosen)");
      specs.sensitivity = {
        traces: sensitivityTraces,
        layout: layout(sensitivityTitle, Object.assign({
          xaxis: Object.assign({ type: "log", title: { text: "lr (log)" }, exponentformat: "power", range: lrRange }, AXIS),
          yaxis: Object.assign({
            type: gap ? "log" : "linear", exponentformat: "power",
            title: { text: gap ? "objective − f* (surface units)" : "objective (surface units)" },
          }, AXIS),
          showlegend: false,
        }, side)),
        changed: [],
        ranges: {},
      };
      const structure = [surface.name, g, lossLog, sensitivity ? "tuned for " + elsewhere : "", count]
        .concat(names.map((r) => views[r].n), k0.map((trace) => trace.x.length))
        .join("|");
      const quick = structure === drawnStructure;
      drawnStructure = structure;
      Object.keys(specs).forEach(function (name) {
        const spec = specs[name];
        const before = shown[name];
        shown[name] = spec.ranges;
        if (!quick) {
          renders.push(Plotly.react(figures[name], spec.traces, spec.layout, { displayModeBar: false }));
        } else if (spec.changed.length) {
          // a slider move: only the traces the runs change, and the axis ranges that changed
          const styles = spec.changed.map((i) => ({ x: spec.traces[i].x, y: spec.traces[i].y }));
          const ranges = {
            x: before && !sameRange(before.x, spec.ranges.x) ? spec.ranges.x : null,
            y: before && !sameRange(before.y, spec.ranges.y) ? spec.ranges.y : null,
          };
          renders.push(moveTraces(Plotly, figures[name], spec.changed, styles, ranges));
        }
      });
      drawText(count, lossScale);
      writeFragment();
      return Promise.all(renders).then(function () {
        container.dataset.draws = String(Number(container.dataset.draws) + 1);
      });
    }

    function drawText(count, lossScale) {
      title.innerHTML = "";
      title.appendChild(el2("b", { text: names.join(", ") + " on " + surface.name }));
      table.innerHTML = "";
      const headers = ["optimizer", "settings", "run", "after " + count + " steps", "path moved vs k = 0 (loss × " + fmt(lossScale) + ")"];
      const rows = [el2("tr", {}, headers.map((h) => el2("th", { text: h })))];
      names.forEach(function (rule) {
        const t = trajectories[rule];
        const settings = adaviz.RULES[rule].hyperparameters.map((key) => key + "=" + (typeof current[rule][key] === "boolean" ? current[rule][key] : fmt(current[rule][key], 4))).join(", ");
        const result = t.diverged_at >= 0
          ? "diverged at step " + t.diverged_at
          : "final loss " + fmt(t.loss[count] / lossScale, 4) + (surface.minima.length ? ", distance " + fmt(adaviz.summary(t).distance_to_minimum, 3) : "");
        rows.push(el2("tr", {}, [
          el2("td", { text: rule, style: "color:" + state.colors[rule] + ";font-weight:bold" }),
          el2("td", { text: settings }),
          el2("td", { text: labels[rule] }),
          el2("td", { text: result }),
          el2("td", { text: !(rule in moved) ? "—" : isFinite(moved[rule]) ? fmt(moved[rule]) : "diverged" }),
        ]));
      });
      table.appendChild(el2("table", {}, rows));
      if (noise.value() > 0) {
        table.appendChild(el2("div", { text: "gradient noise σ = " + fmt(noise.value(), 4) + " (seed " + seed.value() + "): every rule follows the same noise sequence" }));
      }
      table.appendChild(el2("div", { text: "Tune: lr over " + state.lr_grid.length + " log-spaced values, " + fmt(state.lr_grid[0]) + " … " + fmt(state.lr_grid[state.lr_grid.length - 1]) + "; objective: the mean loss over the last " + Math.round(100 * state.tune_window) + " % of the budget (diverged: ∞)." }));
      // copy as code: the Jupyter panel's text for the values run now
      const code = codeText();
      codeBox.textContent = "import keras, adaviz\n" + names.map((rule) => rule + " = " + code[rule]).join("\n");
    }

    function codeText() {
      const out = {};
      names.forEach((rule) => { out[rule] = kerasConstructor(rule, current[rule], state.keras[rule]); });
      return out;
    }

    container.adaviz_panel = {
      controls, figures, draw, tune,
      get trajectories() { return trajectories; },
      get values() { return JSON.parse(JSON.stringify(current)); },
      get labels() { return Object.assign({}, labels); },
      get noise() { return [noise.value(), seed.value()]; },
      get moved() { return Object.assign({}, moved); },
      get code() { return codeText(); },
    };
    // settings in the URL fragment: #surface=booth&steps=300&loss_scale=1&adam.lr=0.01&...
    function writeFragment() {
      if (state.fragment === false) return;
      const params = new URLSearchParams();
      params.set("surface", surface.name);
      params.set("steps", steps.value);
      params.set("loss_scale", k.value);
      params.set("noise", String(noise.value()));
      params.set("seed", String(seed.value()));
      names.forEach(function (rule) {
        Object.entries(current[rule]).forEach(function ([key, value]) {
          params.set(rule + "." + key, typeof value === "boolean" ? String(value) : String(Number(value.toPrecision(6))));
        });
      });
      try {
        root.history.replaceState(null, "", "#" + params.toString());
      } catch (error) {
        // a page whose address cannot change (a sandboxed frame) keeps working
      }
    }

    function readFragment() {
      const text = (root.location && state.fragment !== false ? root.location.hash : "").replace(/^#/, "");
      if (!text) return null;
      const problems = [];
      const settings = {};
      new URLSearchParams(text).forEach(function (value, key) {
        const number = Number(value);
        if (key === "surface") {
          if (adaviz.names().indexOf(value) < 0) problems.push(key + "=" + value);
          else settings.surface = value;
        } else if (key === "steps") {
          if (!Number.isInteger(number) || number < state.steps_range[0] || number > state.steps_range[1]) problems.push(key + "=" + value);
          else settings.steps = number;
        } else if (key === "loss_scale") {
          if (value === "" || !(number >= state.loss_scale_spec.low && number <= state.loss_scale_spec.high)) problems.push(key + "=" + value);
          else settings.loss_scale = number;
        } else if (key === "noise" || key === "seed") {
          const given = key === "noise" ? fragmentNoise(value, state.noise_values) : fragmentInteger(value, 0, state.seed_max);
          if (given === undefined) problems.push(key + "=" + value);
          else settings[key] = given;
        } else {
          const [rule, hp] = key.split(".");
          const spec = state.specs[hp];
          if (names.indexOf(rule) < 0 || !spec || adaviz.RULES[rule].hyperparameters.indexOf(hp) < 0) problems.push(key);
          else if (spec.flag) {
            if (value !== "true" && value !== "false") problems.push(key + "=" + value);
            else settings[key] = value === "true";
          } else if (value === "" || !(number >= spec.low * (1 - 1e-9) && number <= spec.high * (1 + 1e-9))) problems.push(key + "=" + value);
          else settings[key] = number;
        }
      });
      return problems.length ? { problem: problems.join(", ") } : { settings };
    }

    const fragment = readFragment();
    if (fragment && fragment.problem) {
      const note = el2("div", { class: "adaviz-note adaviz-warning", role: "status" });
      note.textContent = "The settings in this address were ignored (" + fragment.problem + "): showing the page's defaults.";
      container.insertBefore(note, top);
    } else if (fragment) {
      const given = fragment.settings;
      if (given.surface) {
        surface = adaviz.get(given.surface);
        surfaceSelect.value = surface.name;
        start = surface.start.slice();
      }
      if (given.steps) { steps.value = given.steps; stepsOut.textContent = steps.value; }
      if ("loss_scale" in given) { k.value = given.loss_scale; kOut.textContent = k.value; }
      if ("noise" in given) noise.set(given.noise);
      if ("seed" in given) seed.set(given.seed);
      Object.keys(given).filter((key) => key.indexOf(".") > 0).forEach(function (key) {
        const [rule, hp] = key.split(".");
        const spec = state.specs[hp];
        current[rule][hp] = given[key];
        labels[rule] = "changed by you";
        const input = controls[key];
        if (spec.flag) input.checked = given[key];
        else {
          input.value = spec.log ? Math.log10(given[key]) : given[key];
          input.nextSibling.textContent = fmt(given[key]);
        }
      });
    }

    container.adaviz_panel.ready = draw();
    return container.adaviz_panel;
  }

  adaviz.comparePanel = comparePanel;

  // ----------------------------------------------------------------------- the sweep panel

  /**
   * The live SweepPanel: a metric over a grid of two Adadelta hyperparameters, one run per
   * cell, swept in the page (adaviz.sweep); moving a fixed hyperparameter or the loss scale
   * re-sweeps the map; a click on a cell shows its path, accumulators and step sizes.
   *
   *   adaviz.sweepPanel(root, state)    (state: page.py's sweep_state)
   *
   * Controls named as in SweepPanel.controls: metric, overlay, loss_scale, noise and seeds
   * (with noise, each cell runs seeds 0 .. seeds-1 and the map shows the mean, as
   * adaviz.sweep(..., noise=, seeds=); the selected cell's path is seed 0's), and one slider
   * per fixed hyperparameter. Figures: heatmap, surface (the selected cell's path is
   * "trajectory"), accumulators, step_size.
   */
  function sweepPanel(container, state) {
    const Plotly = root.Plotly;
    container.classList.add("adaviz-sweep-panel", "adaviz-live");
    container.dataset.draws = "0";
    const surface = adaviz.get(state.surface);
    const controls = {};
    const fixed = Object.assign({}, state.fixed);
    const xValues = state.x_values;
    const yValues = state.y_values;
    let sweep = null;
    let selected = null;  // [i (y index), j (x index)]
    let background = null;

    const metric = el("select", { name: "metric" });
    Object.entries(state.metric_labels).forEach(function ([name, label]) {
      if (name === "distance_to_minimum" || name === "steps_to_converge") {
        if (!surface.minima.length) return;
      }
      metric.appendChild(el("option", { value: name, text: label }));
    });
    metric.value = state.metric;
    metric.addEventListener("change", () => { writeFragment(); drawMap(); });
    controls.metric = metric;
    const overlay = el("input", { type: "checkbox", name: "overlay" });
    overlay.checked = state.overlay;
    overlay.addEventListener("change", () => { writeFragment(); drawMap(); });
    controls.overlay = overlay;
    const k = el("input", { type: "range", name: "loss_scale", min: state.loss_scale_spec.low, max: state.loss_scale_spec.high, step: state.loss_scale_spec.step });
    k.value = state.loss_scale_exponent;
    const kOut = el("output", { class: "adaviz-readout", text: String(state.loss_scale_exponent) });
    k.addEventListener("input", () => { kOut.textContent = k.value; request(); });
    controls.loss_scale = k;
    const noise = noiseSlider(state.noise_values, state.noise, () => request());
    controls.noise = noise.input;
    const seeds = el("input", { type: "range", name: "seeds", min: 1, max: state.seeds_max, step: 1 });
    seeds.value = state.seeds;
    const seedsOut = el("output", { class: "adaviz-readout", text: String(state.seeds) });
    seeds.addEventListener("input", () => { seedsOut.textContent = seeds.value; request(); });
    controls.seeds = seeds;
    const sliders = Object.keys(fixed).map(function (name) {
      const spec = state.specs[name];
      const input = el("input", { type: "range", name, min: spec.log ? Math.log10(spec.low) : spec.low, max: spec.log ? Math.log10(spec.high) : spec.high, step: spec.step });
      if (spec.log) input.dataset.scale = "log10";
      input.value = spec.log ? Math.log10(fixed[name]) : fixed[name];
      const out = el("output", { class: "adaviz-readout", text: fmt(fixed[name]) });
      input.addEventListener("input", function () {
        const number = Number(input.value);
        fixed[name] = spec.log ? Math.pow(10, number) : number;
        out.textContent = fmt(fixed[name]);
        request();
      });
      controls[name] = input;
      return el("label", { class: "adaviz-control adaviz-" + name }, [el("span", { class: "adaviz-label", text: spec.description || name }), input, out]);
    });

    const title = el("div", { class: "adaviz-title" });
    const top = el("div", { class: "adaviz-controls" }, [
      el("div", {}, [
        el("label", { class: "adaviz-control adaviz-metric" }, [el("span", { class: "adaviz-label", text: "metric" }), metric]),
        el("label", { class: "adaviz-control adaviz-overlay" }, [overlay, el("span", { text: "first step lr·√(ε/(1−ρ)) (contours, log10)" })]),
      ]),
      el("div", {}, sliders.concat([el("label", { class: "adaviz-control adaviz-loss-scale" }, [el("span", { class: "adaviz-label", text: "loss × 10^k, k" }), k, kOut])])),
      el("div", {}, [noise.label, el("label", { class: "adaviz-control adaviz-seeds" }, [el("span", { class: "adaviz-label", text: "noise seeds per cell" }), seeds, seedsOut])]),
    ]);
    const figures = {};
    ["heatmap", "surface", "accumulators", "step_size"].forEach(function (name) {
      figures[name] = el("div", { class: "adaviz-figure adaviz-figure-" + name.replace(/_/g, "-"), "data-view": name });
    });
    const cell = el("div", { class: "adaviz-readouts" });
    const views = el("div", { class: "adaviz-views" }, [
      figures.heatmap,
      el("div", { class: "adaviz-side" }, [figures.surface, figures.accumulators, figures.step_size]),
    ]);
    const noiseNote = el("div", { class: "adaviz-noise-note" });
    [title, top, noiseNote, views, cell].forEach((node) => container.appendChild(node));
    title.appendChild(el("b", { text: "Adadelta sweep on " + surface.name + ": " + state.y + " × " + state.x + ", " + state.steps + " steps per cell" }));

    const request = frameCoalesced(resweep);

    // the map is swept on the page's cores (adaviz.sweepAsync); a control moved while a sweep
    // runs starts one more when it is drawn, with the controls' last values
    let sweeping = null;
    let again = false;
    function resweep() {
      if (sweeping) {
        again = true;
        return sweeping;
      }
      const options = Object.assign({}, fixed, {
        start: state.start, steps: state.steps, loss_scale: Math.pow(10, Number(k.value)), tol: state.tol,
        noise: noise.value(), seeds: noise.value() > 0 ? Number(seeds.value) : 1,
      });
      options[state.x] = xValues;
      options[state.y] = yValues;
      sweeping = adaviz
        .sweepAsync(surface, options)
        .then(function (result) {
          sweep = result;
          noiseNote.textContent = sweep.noise > 0
            ? "gradient noise σ = " + fmt(sweep.noise, 4) + ": each cell the mean over " + sweep.seeds + " seeds, diverged when any seed diverged"
            : "";
          writeFragment();
          const renders = [drawMap()];
          if (selected) renders.push(drawCell());
          return Promise.all(renders);
        })
        .then(function () {
          container.dataset.draws = String(Number(container.dataset.draws) + 1);
        })
        .finally(function () {
          sweeping = null;
          if (again) {
            again = false;
            resweep();
          }
        });
      return sweeping;
    }

    /** The metric grid as rows of y and columns of x (the sweep's axes are in rule order). */
    function grid(values) {
      const xFirst = sweep.axes[0][0] === state.x;
      const nx = xValues.length;
      const ny = yValues.length;
      return Array.from({ length: ny }, (_, i) =>
        Array.from({ length: nx }, (_, j) => values[xFirst ? j * ny + i : i * nx + j]),
      );
    }

    function drawMap() {
      if (!sweep) return Promise.resolve();  // the first sweep is still running
      const name = metric.value;
      // as the Jupyter view: log10 colours for a loss or a distance, a value of 0 in the
      // lowest colour; linear colours when a value is negative (f* < 0, or unbounded below)
      const log = state.log_metrics.indexOf(name) >= 0 && !sweep.metrics[name].some((v) => isFinite(v) && v < 0);
      const values = grid(sweep.metrics[name]);
      const diverged = grid(sweep.diverged);
      const positive = sweep.metrics[name].filter((v) => isFinite(v) && v > 0);
      const lowest = positive.length ? Math.log10(Math.min.apply(null, positive)) : 0;
      const z = values.map((row) => row.map((v) => (!isFinite(v) ? null : !log ? v : v > 0 ? Math.log10(v) : lowest)));
      const traces = [
        {
          type: "heatmap", name: name, x: xValues, y: yValues, z,
          colorscale: state.heatmap_colorscale,
          colorbar: { title: { text: (log ? "log10 " : "") + state.metric_labels[name], side: "right" }, thickness: 12 },
          hovertemplate: state.x + "=%{x:.3g}<br>" + state.y + "=%{y:.4g}<br>%{z:.4g}<extra></extra>",
        },
        {
          type: "heatmap", name: "diverged", x: xValues, y: yValues, showscale: false,
          z: diverged.map((row) => row.map((d) => (d ? 1 : null))),
          colorscale: [[0, state.diverged_color], [1, state.diverged_color]], hoverinfo: "skip",
        },
      ];
      if (overlay.checked) {
        const first = yValues.map((yv) => xValues.map((xv) => {
          const hp = Object.assign({}, fixed);
          hp[state.x] = xv;
          hp[state.y] = yv;
          return hp.rho < 1 ? Math.log10(adaviz.first_step(hp.lr, hp.rho, hp.epsilon)) : null;
        }));
        traces.push({ type: "contour", name: "first step (log10)", x: xValues, y: yValues, z: first, contours: { coloring: "lines", showlabels: true }, line: { color: "white", width: 1 }, showscale: false, hoverinfo: "skip" });
      }
      if (selected) {
        traces.push({ type: "scatter", mode: "markers", name: "selected", x: [xValues[selected[1]]], y: [yValues[selected[0]]], marker: { size: 12, symbol: "square-open", color: "white", line: { width: 2, color: "white" } } });
      }
      return Plotly.react(figures.heatmap, traces, layout(state.metric_labels[name] + " (click a cell)", {
        width: 520, height: 520, showlegend: false,
        xaxis: Object.assign({ type: state.x_log ? "log" : "linear", title: { text: state.x }, exponentformat: "power" }, AXIS),
        yaxis: Object.assign({ type: state.y_log ? "log" : "linear", title: { text: state.y }, exponentformat: "power" }, AXIS),
      }), { displayModeBar: false });
    }

    function select(i, j) {
      selected = [i, j];
      return Promise.all([drawMap(), drawCell()]).then(function () {
        container.dataset.draws = String(Number(container.dataset.draws) + 1);
      });
    }

    function drawCell() {
      const [i, j] = selected;
      const hp = Object.assign({}, fixed);
      hp[state.x] = xValues[j];
      hp[state.y] = yValues[i];
      const t = adaviz.simulate(surface, Object.assign({ start: state.start, steps: state.steps, loss_scale: Math.pow(10, Number(k.value)), noise: noise.value(), seed: 0 }, hp));
      const n = t.diverged_at < 0 ? t.steps + 1 : t.diverged_at;
      const m = Math.min(n, t.steps);
      const pick = (array, c, c2) => Array.from({ length: c }, (_, q) => array[2 * q + c2]);
      if (!background) background = contour(surface, 80, 20);
      const [[xmin, xmax], [ymin, ymax]] = surface.domain;
      const stepAxis = Object.assign({ title: { text: "step" } }, AXIS);
      const logAxis = (text) => Object.assign({ type: "log", title: { text }, exponentformat: "power" }, AXIS);
      const side = { width: 420, height: 200, margin: { l: 60, r: 10, t: 30, b: 32 } };
      const steps = Array.from({ length: n }, (_, q) => q);
      const numbers = Array.from({ length: m }, (_, q) => q + 1);
      cell.textContent = state.y + " = " + fmt(hp[state.y], 4) + ", " + state.x + " = " + fmt(hp[state.x], 4) + ": " +
        (t.diverged_at >= 0 ? "diverged at step " + t.diverged_at : "final loss " + fmt(t.loss[t.steps], 4));
      return Promise.all([
        Plotly.react(figures.surface, [
          { type: "contour", name: "surface", x: background.x, y: background.y, z: background.color, colorscale: CONTOUR_COLORSCALE, contours: { start: background.start, end: background.end, size: background.size }, showscale: false, hoverinfo: "skip" },
          line("trajectory", TRAJECTORY_COLOR, "solid", { x: pick(t.positions, n, 0), y: pick(t.positions, n, 1) }),
          { type: "scatter", mode: "markers", name: "start", x: [state.start[0]], y: [state.start[1]], marker: { size: 10, color: START_COLOR } },
        ], layout("the selected cell's path", Object.assign({ xaxis: Object.assign({ range: [xmin, xmax] }, AXIS), yaxis: Object.assign({ range: [ymin, ymax] }, AXIS), showlegend: false }, side, { height: 260 })), { displayModeBar: false }),
        Plotly.react(figures.accumulators, [
          line("E[g²] x", COORD_COLORS.x, "solid", { x: steps, y: pick(t.state.accum_grad, n, 0) }),
          line("E[g²] y", COORD_COLORS.y, "solid", { x: steps, y: pick(t.state.accum_grad, n, 1) }),
          line("E[Δx²] x", COORD_COLORS.x, "dash", { x: steps, y: pick(t.state.accum_delta, n, 0) }),
          line("E[Δx²] y", COORD_COLORS.y, "dash", { x: steps, y: pick(t.state.accum_delta, n, 1) }),
        ], layout("accumulators", Object.assign({ xaxis: stepAxis, yaxis: logAxis("E[·]") }, side)), { displayModeBar: false }),
        Plotly.react(figures.step_size, [
          line("step size x", COORD_COLORS.x, "solid", { x: numbers, y: pick(t.step_size, m, 0) }),
          line("step size y", COORD_COLORS.y, "solid", { x: numbers, y: pick(t.step_size, m, 1) }),
          line("Newton 1/|f_xx|", COORD_COLORS.x, "dot", { x: numbers, y: pick(t.newton_step_size, m, 0) }),
          line("Newton 1/|f_yy|", COORD_COLORS.y, "dot", { x: numbers, y: pick(t.newton_step_size, m, 1) }),
        ], layout("step size vs Newton", Object.assign({ xaxis: stepAxis, yaxis: logAxis("step size") }, side)), { displayModeBar: false }),
      ]);
    }

    function nearest(values, target, log) {
      let best = 0;
      values.forEach(function (v, q) {
        const d = log ? Math.abs(Math.log10(v) - Math.log10(target)) : Math.abs(v - target);
        const b = log ? Math.abs(Math.log10(values[best]) - Math.log10(target)) : Math.abs(values[best] - target);
        if (d < b) best = q;
      });
      return best;
    }

    container.adaviz_panel = {
      controls, figures, select,
      get sweep() { return sweep; },
      get selected() { return selected ? selected.slice() : null; },
    };
    // settings in the URL fragment: #metric=min_loss&overlay=true&loss_scale=0&lr=0.5&decay=0
    function writeFragment() {
      if (state.fragment === false) return;
      const params = new URLSearchParams();
      params.set("metric", metric.value);
      params.set("overlay", String(overlay.checked));
      params.set("loss_scale", k.value);
      params.set("noise", String(noise.value()));
      params.set("seeds", seeds.value);
      Object.entries(fixed).forEach(([name, value]) => params.set(name, String(Number(value.toPrecision(6)))));
      try {
        root.history.replaceState(null, "", "#" + params.toString());
      } catch (error) {
        // a page whose address cannot change (a sandboxed frame) keeps working
      }
    }

    (function readFragment() {
      const text = (root.location && state.fragment !== false ? root.location.hash : "").replace(/^#/, "");
      if (!text) return;
      const problems = [];
      const given = {};
      new URLSearchParams(text).forEach(function (value, key) {
        const number = Number(value);
        if (key === "metric") {
          if (![...metric.options].some((o) => o.value === value)) problems.push(key + "=" + value);
          else given.metric = value;
        } else if (key === "overlay") {
          if (value !== "true" && value !== "false") problems.push(key + "=" + value);
          else given.overlay = value === "true";
        } else if (key === "loss_scale") {
          if (value === "" || !(number >= state.loss_scale_spec.low && number <= state.loss_scale_spec.high)) problems.push(key + "=" + value);
          else given.loss_scale = number;
        } else if (key === "noise" || key === "seeds") {
          const number = key === "noise" ? fragmentNoise(value, state.noise_values) : fragmentInteger(value, 1, state.seeds_max);
          if (number === undefined) problems.push(key + "=" + value);
          else given[key] = number;
        } else if (key in fixed) {
          const spec = state.specs[key];
          if (value === "" || !(number >= spec.low * (1 - 1e-9) && number <= spec.high * (1 + 1e-9))) problems.push(key + "=" + value);
          else given[key] = number;
        } else problems.push(key);
      });
      if (problems.length) {
        const note = el("div", { class: "adaviz-note adaviz-warning", role: "status" });
        note.textContent = "The settings in this address were ignored (" + problems.join(", ") + "): showing the page's defaults.";
        container.insertBefore(note, top);
        return;
      }
      if (given.metric) metric.value = given.metric;
      if ("overlay" in given) overlay.checked = given.overlay;
      if ("loss_scale" in given) { k.value = given.loss_scale; kOut.textContent = k.value; }
      if ("noise" in given) noise.set(given.noise);
      if ("seeds" in given) { seeds.value = given.seeds; seedsOut.textContent = seeds.value; }
      Object.keys(fixed).forEach(function (name) {
        if (!(name in given)) return;
        const spec = state.specs[name];
        fixed[name] = given[name];
        controls[name].value = spec.log ? Math.log10(given[name]) : given[name];
        controls[name].nextSibling.textContent = fmt(given[name]);
      });
    })();

    container.adaviz_panel.ready = resweep().then(function () {
      figures.heatmap.on("plotly_click", function (event) {
        const point = event.points && event.points[0];
        if (!point) return;
        select(nearest(yValues, Number(point.y), state.y_log), nearest(xValues, Number(point.x), state.x_log));
      });
    });
    return container.adaviz_panel;
  }

  adaviz.sweepPanel = sweepPanel;
  adaviz.contour = contour;
  adaviz.fitRange = fitRange;
  adaviz.parseFragment = parseFragment;
})(typeof window !== "undefined" ? window : globalThis);
