/*
 * The ModelPanel's replay page: a training run recorded in a notebook, scrubbed in the
 * browser (no kernel, no server; nothing trains here). A classic script that needs
 * window.Plotly; adaviz/web/replay.py writes the page around it.
 *
 *   adaviz.modelReplay(root, state)      (state: replay.py's model_state, or its packed form)
 *
 * builds the replay into the element `root`. The contract scripts and tests can drive:
 *   - controls: <input type="range" name="snapshot"> (the index of the recorded snapshot,
 *     0 to n - 1; it starts at the last) and <button name="play">;
 *   - figures: plotly divs .adaviz-figure-<view> (data-view: the panel's figure name) with
 *     the panel's own traces and names. The whole-run lines stay; loss, accumulators and
 *     update_ratio get a "snapshot" marker trace (the recorded values at the scrubbed step)
 *     and a dotted line there; step_sizes' layer traces and the boundary's contour (or
 *     heatmap) or the fit's "model" line show the scrubbed snapshot;
 *   - root.adaviz_panel has controls, figures, show(index), index (the snapshot asked for),
 *     shown (the one the views last finished drawing) and ready; each redraw of every view
 *     increments root.dataset.draws.
 */
(function (root) {
  "use strict";
  const adaviz = root.adaviz || (root.adaviz = {});
  const CURSOR_COLOR = "#E69F00";
  const PLAY_INTERVAL = 300; // ms between two snapshots while playing
  const STEP_VIEWS = ["loss", "accumulators", "update_ratio"]; // x axis: step

  const el = adaviz.el;
  const fmt = adaviz.fmt;

  /** The data view's pictures, one flat array per snapshot (replay.py's encoding). */
  function decode(prediction) {
    if (!prediction) return null;
    return prediction.data.map(function (text) {
      const binary = atob(text);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      if (prediction.dtype === "float32") return Array.from(new Float32Array(bytes.buffer));
      return Array.from(bytes, function (q) {
        return q === prediction.missing ? null : q / prediction.scale;
      });
    });
  }

  function rows(flat, shape) {
    const out = [];
    for (let r = 0; r < shape[0]; r++) out.push(flat.slice(r * shape[1], (r + 1) * shape[1]));
    return out;
  }

  function positive(value) {
    return value !== null && value > 0 ? value : null;
  }

  /** The JSON text of replay.py's packed state (base64 of zlib-compressed JSON), inflated
   * by the browser's DecompressionStream. */
  function inflate(packed) {
    const binary = atob(packed);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).text();
  }

  /** Build the replay of `state` (model_state's, or replay.py's packed form of it) into
   * `container`; a packed state is built once inflated (adaviz_panel.ready resolves when
   * the views are drawn either way). */
  function modelReplay(container, state) {
    if (state.packed === undefined) return build(container, state);
    const ready = inflate(state.packed).then(function (text) {
      return build(container, JSON.parse(text)).ready;
    });
    container.adaviz_panel = { ready };
    return container.adaviz_panel;
  }

  function build(container, state) {
    const Plotly = root.Plotly;
    container.classList.add("adaviz-model-replay", "adaviz-live");
    container.style.width = "980px"; // two 480-px views a row, as in the notebook
    container.dataset.draws = "0";
    const snaps = state.snapshots;
    const count = snaps.step.length;
    const pictures = decode(state.prediction);
    const base = state.figures;
    const layers = state.layer_names;

    function traceIndex(view, name) {
      return base[view].data.findIndex((trace) => trace.name === name);
    }

    function layerColor(view, name) {
      const trace = base[view].data[traceIndex(view, name)];
      return trace && trace.line ? trace.line.color : CURSOR_COLOR;
    }

    // -- controls ------------------------------------------------------------------------
    const controls = {};
    const scrubber = el("input", {
      type: "range",
      name: "snapshot",
      min: 0,
      max: Math.max(count - 1, 0),
      step: 1,
      value: count - 1,
    });
    controls.snapshot = scrubber;
    let pending = null; // a drag's moves are drawn once a frame, the newest only
    scrubber.addEventListener("input", function () {
      const scheduled = pending !== null;
      pending = Number(scrubber.value);
      if (scheduled) return;
      root.requestAnimationFrame(function () {
        const next = pending;
        pending = null;
        show(next);
      });
    });
    const play = el("button", { type: "button", name: "play", text: "▶ play" });
    controls.play = play;
    let playing = null;
    function stop() {
      clearInterval(playing);
      playing = null;
      play.textContent = "▶ play";
    }
    play.addEventListener("click", function () {
      if (playing !== null) return stop();
      if (Number(scrubber.value) >= count - 1) scrubber.value = 0;
      play.textContent = "❚❚ pause";
      show(Number(scrubber.value));
      playing = setInterval(function () {
        const next = Math.min(Number(scrubber.value) + 1, count - 1);
        scrubber.value = next;
        show(next);
        if (next >= count - 1) stop();
      }, PLAY_INTERVAL);
    });

    // -- layout --------------------------------------------------------------------------
    const title = el("div", { class: "adaviz-title" });
    title.appendChild(el("b", { text: "ModelPanel replay" }));
    let said =
      "Training needs the notebook (a Python kernel): this page replays the run recorded up " +
      "to step " + state.steps.toLocaleString("en") + ".";
    if (state.steps === 0) said += " Nothing was trained before the page was written: it shows the model's start.";
    if (state.nonfinite_step !== null) {
      said += " The run stopped at step " + state.nonfinite_step + ": the loss or the weights were not finite.";
    }
    const note = el("div", { class: "adaviz-note adaviz-warning", role: "status", text: said });
    const cursorLabel = el("span", { class: "adaviz-cursor" });
    const playback = el("div", { class: "adaviz-playback" }, [
      el("span", { text: "recorded step" }),
      play,
      scrubber,
      cursorLabel,
    ]);
    const readouts = el("div", { class: "adaviz-readouts" });
    const figures = {};
    state.order.forEach(function (name) {
      figures[name] = el("div", {
        class: "adaviz-figure adaviz-figure-" + name.replace(/_/g, "-"),
        "data-view": name,
      });
    });
    const views = el(
      "div",
      { class: "adaviz-views", style: "flex-wrap: wrap" },
      state.order.map((name) => figures[name]),
    );
    [title, note, playback, readouts, views].forEach(function (node) {
      container.appendChild(node);
    });

    // -- what a snapshot shows -----------------------------------------------------------
    function marker(points, colors) {
      return {
        type: "scatter",
        mode: "markers",
        name: "snapshot",
        showlegend: false,
        x: points.map((p) => p[0]),
        y: points.map((p) => p[1]),
        marker: { color: colors, size: 9, line: { color: "white", width: 1 } },
        hovertemplate: "step %{x}<br>%{y:.4g}<extra>snapshot</extra>",
      };
    }

    function cursor(view, step) {
      const shapes = (base[view].layout.shapes || []).slice();
      if (step > 0) {
        shapes.push({
          type: "line",
          xref: "x",
          yref: "paper",
          x0: step,
          x1: step,
          y0: 0,
          y1: 1,
          line: { color: CURSOR_COLOR, width: 1.5, dash: "dot" },
        });
      }
      return shapes;
    }

    function lossMarker(i, step) {
      const points = [];
      const colors = [];
      [
        ["loss", "training loss (batch)"],
        ["loss_smoothed", "training loss (smoothed)"],
        ["full_loss", "training loss (all data)"],
        ["val_loss", "validation loss"],
      ].forEach(function ([key, name]) {
        const value = positive(snaps[key][i]);
        if (value === null || traceIndex("loss", name) < 0) return;
        points.push([step, value]);
        colors.push(layerColor("loss", name));
      });
      return marker(points, colors);
    }

    function layerMarker(view, i, step, series) {
      const points = [];
      const colors = [];
      series.forEach(function ([key, suffix]) {
        layers.forEach(function (layer, l) {
          const value = positive(snaps[key][i][l]);
          if (value === null) return;
          points.push([step, value]);
          colors.push(layerColor(view, (layer + " " + suffix).trim()));
        });
      });
      return marker(points, colors);
    }

    /** Each view's traces at snapshot i (the panel's traces, some replaced, and markers). */
    function traces(view, i) {
      const step = snaps.step[i];
      const data = base[view].data.slice();
      if (view === "loss") data.push(lossMarker(i, step));
      if (view === "accumulators") {
        data.push(layerMarker(view, i, step, [["accum_grad_rms", "RMS[g]"], ["accum_delta_rms", "RMS[Δx]"]]));
      }
      if (view === "update_ratio") data.push(layerMarker(view, i, step, [["update_ratio", ""]]));
      if (view === "step_sizes") {
        const edges = snaps.step_size_edges[i];
        layers.forEach(function (layer, l) {
          const k = traceIndex(view, layer);
          const counts = snaps.step_size_counts[i][l];
          const drawn = edges[0] === null ? { x: [], y: [] } : { x: edges, y: counts.concat([counts[counts.length - 1]]) };
          data[k] = Object.assign({}, data[k], drawn);
        });
      }
      if (view === "boundary") {
        const k = data.findIndex((trace) => trace.type === "contour" || trace.type === "heatmap");
        data[k] = Object.assign({}, data[k], { z: rows(pictures[i], state.prediction.shape) });
      }
      if (view === "fit") {
        const k = traceIndex(view, "model");
        data[k] = Object.assign({}, data[k], { y: pictures[i] });
      }
      return data;
    }

    function readoutText(i) {
      const parts = ["step " + snaps.step[i]];
      [
        ["loss", "loss"],
        ["full_loss", "all data"],
        ["val_loss", "val"],
      ].forEach(function ([key, label]) {
        if (snaps[key][i] !== null) parts.push(label + " " + fmt(snaps[key][i], 4));
      });
      if (snaps.lr[i] !== null) {
        parts.push("lr_t " + fmt(snaps.lr[i]), "ρ " + fmt(snaps.rho[i]), "ε " + fmt(snaps.epsilon[i], 2));
        if (snaps.decay[i]) parts.push("decay " + fmt(snaps.decay[i]));
        parts.push("batch " + snaps.batch_size[i]);
      }
      return parts.join(" · ");
    }

    let revision = 0;
    let index = count - 1;
    let shown = null; // the snapshot the views last finished drawing

    /** Show snapshot i in every view; resolves when all are drawn. */
    function show(i) {
      index = Math.max(0, Math.min(count - 1, i));
      scrubber.value = index;
      const step = snaps.step[index];
      cursorLabel.textContent = "snapshot " + (index + 1) + " of " + count + " · step " + step;
      readouts.textContent = readoutText(index);
      revision += 1;
      const drawn = state.order.map(function (view) {
        const layout = Object.assign({}, base[view].layout, { datarevision: revision });
        if (STEP_VIEWS.indexOf(view) >= 0) layout.shapes = cursor(view, step);
        const title = base[view].layout.title;
        if (title && /last step$/.test(title.text)) {
          // the panel's histogram shows its last step; here, the snapshot's
          layout.title = Object.assign({}, title, { text: title.text.replace(/last step$/, "step " + step) });
        }
        return Plotly.react(figures[view], traces(view, index), layout, { displaylogo: false });
      });
      const showing = index;
      return Promise.all(drawn).then(function () {
        shown = showing;
        container.dataset.draws = String(Number(container.dataset.draws) + 1);
      });
    }

    container.adaviz_panel = {
      controls,
      figures,
      show,
      get index() {
        return index;
      },
      get shown() {
        return shown;
      },
    };
    container.adaviz_panel.ready = show(index);
    return container.adaviz_panel;
  }

  adaviz.modelReplay = modelReplay;
})(window);
