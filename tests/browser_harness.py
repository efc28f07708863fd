"""Browser-test harness: Debian's Chromium via Playwright, JupyterLab and Voila servers.

Used by the tests in ``tests/browser/`` and ``benchmarks/bench_browser.py``. Everything started
here is stopped here: servers run in their own process group and are killed (with the
kernels they launched) by ``Server.stop``, which the context managers always call.

How the trajectory is found in the DOM: plotly.js draws each scatter trace as a
``g.trace.scatter`` group whose d3 datum (``group.__data__``) is the trace's calcdata;
``calcdata[0].trace.name`` is the trace's name as set in Python. The trajectory is the
``path.js-line`` of the first such group named ``"trajectory"`` inside the panel's root
element (CSS class ``adaviz-surface-panel``). If plotly ever stops binding data to the
groups, the fallback maps the name through ``graphDiv._fullData`` (the same order as the
scatter groups in the plot's ``g.scatterlayer``). Ghost traces are named otherwise and are
ignored. The trajectory must be an SVG ``go.Scatter`` (a ``Scattergl`` draws to a canvas).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"

PANEL = ".adaviz-surface-panel"
RHO_HANDLE = f"{PANEL} .adaviz-rho .noUi-handle"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]

# anywidget (plotly's FigureWidget runs on it) rejects a model whose front-end module takes
# more than 2 s to load; every later Python -> browser message to that figure is then dropped.
ANYWIDGET_INIT_FAILED = "[anywidget] Failed to initialize model"
ANYWIDGET_INIT_HELP = (
    "anywidget gave up initialising a FigureWidget after its fixed 2 s budget: plotly's "
    "4.8 MB widget bundle is evaluated once per FigureWidget, concurrently, and on a slow or "
    "busy machine that takes longer. That figure then ignores every update from the kernel "
    "(the page looks fine but is dead). Fewer FigureWidgets per page make this less likely."
)

# Kernel start + TensorFlow import take ~10 s on a 2-core machine; leave a wide margin.
SERVER_START_TIMEOUT = 90.0
KERNEL_RUN_TIMEOUT = 300.0
RENDER_TIMEOUT = 120.0
CHANGE_TIMEOUT = 30.0


# -- browser ------------------------------------------------------------------------------
def find_chromium() -> str | None:
    """Path of a Chromium executable: ``$ADAVIZ_CHROMIUM``, then Debian's ``chromium``."""
    candidates = [
        os.environ.get("ADAVIZ_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/lib/chromium/chromium",
    ]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"Playwright for Python is not installed ({exc}); pip install playwright"
    if find_chromium() is None:
        return (
            "Chromium not found (looked for $ADAVIZ_CHROMIUM, `chromium`, "
            "`chromium-browser`, /usr/lib/chromium/chromium); on Debian/Ubuntu: "
            "apt-get install chromium fonts-dejavu-core"
        )
    return None


@contextlib.contextmanager
def chromium(playwright, viewport=(1400, 1000)):
    """A headless Debian Chromium with a fresh temporary profile; closed on exit."""
    profile = tempfile.mkdtemp(prefix="adaviz-chromium-")
    context = None
    try:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=find_chromium(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        yield context
    finally:
        if context is not None:
            context.close()
        shutil.rmtree(profile, ignore_errors=True)


# -- servers ------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid):
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        return []
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


class Server:
    """A Jupyter server subprocess in its own process group, stopped by ``stop()``.

    Args:
        argv: the command line.
        url: base URL the server answers on.
        ready: a path under ``url`` that answers 200 when the server is up, or None to
            wait only for the port to accept connections.
        env: the environment.
        log_path: file receiving the server's stdout and stderr.
    """

    def __init__(self, argv, url, ready, env, log_path, port):
        self.argv, self.url, self.ready, self.env = argv, url, ready, env
        self.log_path, self.port = Path(log_path), port
        self.proc = None
        self._log = None

    def start(self, timeout=SERVER_START_TIMEOUT):
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.argv[2]} exited with code {self.proc.returncode} before answering; "
                    f"log:\n{self.log_tail()}"
                )
            if self._answers():
                return self
            time.sleep(0.25)
        raise RuntimeError(
            f"{self.url} did not answer within {timeout:.0f} s; log:\n{self.log_tail()}"
        )

    def _answers(self):
        if self.ready is None:
            with socket.socket() as sock:
                sock.settimeout(1.0)
                return sock.connect_ex(("127.0.0.1", self.port)) == 0
        try:
            with urllib.request.urlopen(self.url + self.ready, timeout=2.0) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, chars=4000):
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "<no log>"

    def stop(self):
        """Terminate the server's process group and every kernel it started."""
        if self.proc is None:
            return
        children = _descendants(self.proc.pid)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # the server shuts its kernels down
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # Kernels run in sessions of their own: kill any the server did not stop.
        for child in children:
            with contextlib.suppress(Exception):
                if child.is_running():
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(child.pid, signal.SIGKILL)
                    child.kill()
        if self._log is not None:
            self._log.close()
        self.proc = None


def server_env(
    workdir: Path, python=None, extra_env=None, checkout=True, lab_settings=True
) -> dict:
    """An isolated Jupyter environment under ``workdir`` whose kernel is ``python``.

    The ``python3`` kernelspec points at ``python`` (default ``sys.executable``, so the
    kernel imports this checkout's adaviz and its dependencies; ``checkout=False`` leaves
    the checkout off ``PYTHONPATH``, for an environment that installed the package), user
    config/data/runtime dirs are temporary, and JupyterLab's news/update prompts are
    disabled so no toast covers the UI (``lab_settings=False`` leaves that to the
    environment's own ``share/jupyter/lab/settings/overrides.json``). ``extra_env`` is
    added last (switches such as ``ADAVIZ_NO_LOADER`` reach the kernel this way).
    """
    workdir = Path(workdir)
    python = str(python or sys.executable)
    data, config, runtime = workdir / "data", workdir / "config", workdir / "runtime"
    kernel_dir = data / "kernels" / "python3"
    kernel_dir.mkdir(parents=True, exist_ok=True)
    (kernel_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
            }
        )
    )
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    settings = workdir / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    if lab_settings:
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
    runtime.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # the kernel starts as a user's would: TensorFlow's log level is not set for it
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    env.pop("PYTEST_CURRENT_TEST", None)  # (ipykernel forwards fd 2 except under pytest)
    env.update(
        JUPYTER_DATA_DIR=str(data),
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(runtime),
        IPYTHONDIR=str(workdir / "ipython"),
        PATH=os.pathsep.join([str(Path(python).parent), env.get("PATH", "")]),
    )
    if checkout:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra_env or {})
    env.pop("JUPYTER_PATH", None)
    return env


@contextlib.contextmanager
def jupyter_lab(root_dir, workdir, log_name="jupyterlab.log", **env_options):
    """JupyterLab on a free localhost port, no token, serving ``root_dir``; yields the Server.

    ``env_options`` go to :func:`server_env` (``python`` also runs the server).
    """
    workdir = Path(workdir)
    port = free_port()
    python = str(env_options.get("python") or sys.executable)
    argv = [
        python, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.allow_root=True",
        "--IdentityProvider.token=",
        "--PasswordIdentityProvider.hashed_password=",
        "--ServerApp.disable_check_xsrf=False",
        f"--ServerApp.root_dir={root_dir}",
        f"--LabApp.workspaces_dir={workdir / 'workspaces'}",
        f"--LabApp.user_settings_dir={workdir / 'lab-settings'}",
        "--LabApp.news_url=",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if not env_options.get("lab_settings", True):
        argv = [
            a for a in argv if not a.startswith(("--LabApp.user_settings_dir", "--LabApp.news_url"))
        ]
    server = Server(
        argv, f"http://127.0.0.1:{port}", "/api/status", server_env(workdir, **env_options),
        workdir / log_name, port,
    )  # fmt: skip
    try:
        yield server.start()
    finally:
        server.stop()


@contextlib.contextmanager
def notebook7(root_dir, workdir, log_name="notebook.log", **env_options):
    """Jupyter Notebook 7 on a free localhost port, no token, serving ``root_dir``."""
    workdir = Path(workdir)
    port = free_port()
    argv = [
        sys.executable, "-m", "notebook",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.allow_root=True",
        "--IdentityProvider.token=",
        "--PasswordIdentityProvider.hashed_password=",
        f"--ServerApp.root_dir={root_dir}",
        f"--JupyterNotebookApp.user_settings_dir={workdir / 'lab-settings'}",
        f"--JupyterNotebookApp.workspaces_dir={workdir / 'workspaces'}",
    ]  # fmt: skip
    server = Server(
        argv, f"http://127.0.0.1:{port}", "/api/status", server_env(workdir, **env_options),
        workdir / log_name, port,
    )  # fmt: skip
    try:
        yield server.start()
    finally:
        server.stop()


@contextlib.contextmanager
def voila(notebook, workdir, log_name="voila.log", **env_options):
    """``voila <notebook>`` on a free localhost port; yields the Server (page at ``url``)."""
    workdir = Path(workdir)
    port = free_port()
    argv = [
        sys.executable, "-m", "voila", str(notebook),
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        f"--port={port}",
        "--Voila.port_retries=0",
        "--VoilaConfiguration.show_tracebacks=True",
    ]  # fmt: skip
    server = Server(
        argv, f"http://127.0.0.1:{port}", None, server_env(workdir, **env_options),
        workdir / log_name, port,
    )  # fmt: skip
    try:
        yield server.start()
    finally:
        server.stop()


# -- page helpers ---------------------------------------------------------------------------
# Shared page-side code: locate the trajectory path and time key press -> path change.
PAGE_JS = r"""
(() => {
  if (window.__adaviz) return;
  const traceName = (g, i) => {
    const cd = g.__data__;
    if (cd && cd[0] && cd[0].trace) return cd[0].trace.name;
    const gd = g.closest('.js-plotly-plot');
    const scatters = (gd && gd._fullData || []).filter(t => t.type === 'scatter' && t.visible !== false);
    return scatters[i] ? scatters[i].name : undefined;
  };
  const trajectoryPath = (root, name) => {
    for (const layer of root.querySelectorAll('.js-plotly-plot g.scatterlayer')) {
      const groups = Array.from(layer.querySelectorAll(':scope > g.trace.scatter'));
      for (let i = 0; i < groups.length; i++) {
        if (traceName(groups[i], i) === name) {
          return groups[i].querySelector('path.js-line');
        }
      }
    }
    return null;
  };
  const state = {t0: null, d0: null, resolve: null, observer: null, root: null, name: null,
                 lastMutation: 0};
  document.addEventListener('keydown', () => {
    if (state.resolve && state.t0 === null) state.t0 = performance.now();
  }, true);
  const currentD = () => {
    const p = trajectoryPath(state.root, state.name);
    return p ? p.getAttribute('d') : null;
  };
  window.__adaviz = {
    trajectoryD(rootSel, name) {
      const root = document.querySelector(rootSel);
      if (!root) return null;
      const p = trajectoryPath(root, name);
      return p ? p.getAttribute('d') : null;
    },
    plotsRendered(rootSel) {
      // Number of plotly plots under rootSel whose SVG has at least one drawn path.
      const root = rootSel ? document.querySelector(rootSel) : document;
      if (!root) return 0;
      let n = 0;
      for (const gd of root.querySelectorAll('.js-plotly-plot')) {
        const drawn = Array.from(gd.querySelectorAll('svg.main-svg path'))
          .some(p => (p.getAttribute('d') || '').length > 2);
        if (drawn) n++;
      }
      return n;
    },
    arm(rootSel, name) {
      // Start waiting for the next keydown -> trajectory change. Returns the current d.
      state.root = document.querySelector(rootSel);
      state.name = name;
      state.t0 = null;
      state.d0 = currentD();
      state.lastMutation = performance.now();
      if (state.observer) state.observer.disconnect();
      state.done = new Promise(resolve => { state.resolve = resolve; });
      state.firstPlot = null;
      state.observer = new MutationObserver(records => {
        const now = performance.now();
        state.lastMutation = now;
        if (!state.resolve || state.t0 === null) return;
        if (state.firstPlot === null &&
            records.some(r => r.target.closest && r.target.closest('.js-plotly-plot'))) {
          state.firstPlot = now - state.t0;
        }
        const d = currentD();
        if (d !== null && d !== state.d0) {
          const r = state.resolve; state.resolve = null;
          r({latency: now - state.t0, firstPlot: state.firstPlot, d});
        }
      });
      state.observer.observe(state.root, {subtree: true, childList: true, attributes: true,
                                          attributeFilter: ['d']});
      return state.d0;
    },
    wait(timeoutMs) {
      return Promise.race([state.done, new Promise(r => setTimeout(
        () => r({latency: null, firstPlot: state.firstPlot, d: currentD(),
                 keydownSeen: state.t0 !== null}), timeoutMs))]);
    },
    quiet(ms, timeoutMs) {
      // Resolve once the panel's plots have not changed for `ms` (all views settled).
      const start = performance.now();
      return new Promise(resolve => {
        const tick = () => {
          const now = performance.now();
          if (now - state.lastMutation >= ms || now - start > timeoutMs) resolve(now - start);
          else setTimeout(tick, 20);
        };
        tick();
      });
    },
  };
})();
"""


def install_page_js(page):
    """Add the page helpers (``window.__adaviz``) to the current document."""
    page.evaluate(PAGE_JS)


def wait_plots_rendered(page, root=None, minimum=1, timeout=RENDER_TIMEOUT):
    """Wait until ``minimum`` plotly plots under ``root`` have drawn SVG paths; return count."""
    install_page_js(page)
    page.wait_for_function(
        "([root, n]) => window.__adaviz.plotsRendered(root) >= n",
        arg=[root, minimum],
        timeout=timeout * 1000,
        polling=250,
    )
    return page.evaluate("root => window.__adaviz.plotsRendered(root)", root)


def trajectory_d(page, root=PANEL, name="trajectory"):
    """The ``d`` attribute of the trajectory path under ``root`` (None when absent)."""
    install_page_js(page)
    return page.evaluate("([r, n]) => window.__adaviz.trajectoryD(r, n)", [root, name])


def wait_trajectory(page, root=PANEL, name="trajectory", timeout=RENDER_TIMEOUT):
    """Wait until the trajectory path exists and is drawn; return its ``d``."""
    install_page_js(page)
    page.wait_for_function(
        "([r, n]) => (window.__adaviz.trajectoryD(r, n) || '').length > 2",
        arg=[root, name],
        timeout=timeout * 1000,
        polling=250,
    )
    return trajectory_d(page, root, name)


def press_and_time(
    page, key, handle=RHO_HANDLE, root=PANEL, name="trajectory", timeout=CHANGE_TIMEOUT
):
    """Press ``key`` on the focused slider handle; time keydown -> trajectory ``d`` change.

    Returns:
        (latency_ms or None on timeout, d before, d after). The latency is measured in the
        page (``performance.now()`` in a capturing keydown listener to the MutationObserver
        callback that sees the new ``d``).
    """
    result, before = press_and_measure(page, key, handle, root, name, timeout)
    return result["latency"], before, result["d"]


def press_and_measure(
    page, key, handle=RHO_HANDLE, root=PANEL, name="trajectory", timeout=CHANGE_TIMEOUT
):
    """Like ``press_and_time``; returns (the page's result dict, d before the press).

    The dict has ``latency`` (ms to the trajectory change, None on timeout), ``firstPlot``
    (ms to the first DOM mutation inside any plotly plot of the panel: the kernel's reply
    has arrived and a figure started redrawing) and ``d``.
    """
    install_page_js(page)
    page.focus(handle)
    before = page.evaluate("([r, n]) => window.__adaviz.arm(r, n)", [root, name])
    page.keyboard.press(key)
    result = page.evaluate("t => window.__adaviz.wait(t)", timeout * 1000)
    return result, before


def wait_quiet(page, ms=300, timeout=CHANGE_TIMEOUT):
    """Wait until the panel's plots have not mutated for ``ms`` milliseconds."""
    return page.evaluate("([m, t]) => window.__adaviz.quiet(m, t)", [ms, timeout * 1000])


def screenshot(page, name):
    """Save a full-page screenshot to ``test-artifacts/<name>.png``; return the path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# -- JupyterLab UI --------------------------------------------------------------------------
def open_lab_notebook(page, server, name, timeout=RENDER_TIMEOUT, path="lab/tree"):
    """Open ``name`` in JupyterLab (or Notebook 7 with ``path="notebooks"``); wait until
    its kernel is idle."""
    page.goto(f"{server.url}/{path}/{name}", timeout=timeout * 1000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout * 1000)
    _accept_kernel_dialog(page)
    wait_kernels_idle(server, timeout)


def wait_kernels_idle(server, timeout=KERNEL_RUN_TIMEOUT, minimum=1):
    """Wait until the server has ``minimum`` kernels and every kernel is idle (the REST
    API, which every Jupyter front-end shares)."""
    deadline = time.monotonic() + timeout
    states = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server.url}/api/kernels", timeout=10) as resp:
                states = [k["execution_state"] for k in json.load(resp)]
        except (urllib.error.URLError, OSError):
            states = None
        if states and len(states) >= minimum and all(state == "idle" for state in states):
            return
        time.sleep(0.25)
    raise TimeoutError(f"kernels not idle after {timeout:.0f} s: {states}")


def kernel_pids(server):
    """Process ids of the kernels the server started (``ipykernel_launcher`` children)."""
    pids = []
    for proc in _descendants(server.proc.pid):
        try:
            if "ipykernel_launcher" in " ".join(proc.cmdline()):
                pids.append(proc.pid)
        except Exception:  # noqa: BLE001 - a process that just ended
            continue
    return pids


def peak_rss_mb(pid):
    """The peak resident set size (``VmHWM``) of process ``pid`` in MB, and the current one."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) / 1024.0
    return fields["VmHWM"], fields["VmRSS"]


def drag(page, selector, dx, steps=12):
    """Drag the element ``selector`` by ``dx`` pixels with the mouse (press, move, release)."""
    handle = page.locator(selector).first
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=steps)
    page.mouse.up()


def _accept_kernel_dialog(page):
    """Accept a "Select Kernel" dialog if JupyterLab shows one (notebook without kernelspec)."""
    with contextlib.suppress(Exception):
        page.wait_for_selector(".jp-Dialog", timeout=3000)
        page.click(".jp-Dialog .jp-mod-accept")


def wait_kernel_idle(page, timeout=KERNEL_RUN_TIMEOUT):
    """Wait until the notebook toolbar's kernel indicator says idle."""
    page.wait_for_function(
        """() => {
          const s = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) '
                                           + '.jp-Notebook-ExecutionIndicator');
          return s && s.getAttribute('data-status') === 'idle';
        }""",
        timeout=timeout * 1000,
        polling=250,
    )


def code_cell_indices(server, name):
    """Positions (among all cells) of the notebook's non-empty code cells, via the REST API."""
    with urllib.request.urlopen(f"{server.url}/api/contents/{name}", timeout=30) as resp:
        cells = json.load(resp)["content"]["cells"]
    return [
        i
        for i, cell in enumerate(cells)
        if cell["cell_type"] == "code" and "".join(cell["source"]).strip()
    ]


def run_all_cells(page, server, name, timeout=KERNEL_RUN_TIMEOUT):
    """Run > Run All Cells from the menu bar; wait until every code cell has run.

    Which cells must run comes from the notebook file (JupyterLab may not attach the
    editors of off-screen cells); done means each of them shows an execution count.

    Raises:
        AssertionError: a cell raised (its traceback is in the message).
    """
    indices = code_cell_indices(server, name)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    page.wait_for_function(
        """(indices) => {
          const cells = Array.from(document.querySelectorAll(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'));
          return indices.every(i => {
            const p = cells[i] && cells[i].querySelector('.jp-InputPrompt');
            return p && /\\[\\d+\\]/.test(p.textContent);
          });
        }""",
        arg=indices,
        timeout=timeout * 1000,
        polling=500,
    )
    wait_kernels_idle(server, timeout)
    errors = page.locator(
        ".jp-NotebookPanel:not(.lm-mod-hidden) "
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
    )
    if errors.count():
        raise AssertionError("a cell raised:\n" + errors.first.inner_text()[:3000])
    # the red box: anything on stderr (TensorFlow's C++ logging would land here)
    stderr = page.locator(
        ".jp-NotebookPanel:not(.lm-mod-hidden) "
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    )
    if stderr.count():
        raise AssertionError("a cell wrote to stderr:\n" + stderr.first.inner_text()[:3000])
