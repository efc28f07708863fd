"""Binder's files checked against the repo2docker conventions they rely on.

Binder cannot be built here (no Docker engine), so this checks what repo2docker would do:

* with a ``binder/`` folder, repo2docker reads configuration only from it; a
  ``requirements.txt`` there is installed with ``pip install -r binder/requirements.txt``
  run from the repository root (so ``.`` is the repository, and a local reference makes
  repo2docker copy the whole repository first), ``runtime.txt`` ``python-X.Y`` picks the
  Python version, and an executable ``postBuild`` runs after the install;
* the versions are the package's own (``pyproject.toml``), TensorFlow is the CPU-only wheel,
  and nothing for tests ends up in the image;
* pip, in a fresh virtual environment, resolves ``binder/requirements.txt`` against the
  package indexes, and installs the package itself from the repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]

# Files that would make repo2docker ignore binder/requirements.txt or build differently.
OVERRIDING = ["environment.yml", "Pipfile", "Pipfile.lock", "default.nix", "Dockerfile"]
# Never in the Binder image: the full/GPU TensorFlow wheels and test-only tooling.
FORBIDDEN = ["tensorflow", "tensorflow-gpu", "tf-nightly", "pytest", "playwright", "nbmake"]
NEEDED = ["adaviz", "tensorflow-cpu", "jupyterlab", "voila", "ipywidgets", "plotly", "anywidget"]

BADGE_NOTEBOOKS = ["notebooks/00_tour.ipynb", "notebooks/dashboard.ipynb"]


def requirement_lines():
    lines = []
    for raw in (BINDER / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def local_extras():
    """Extras of the ``.[...]`` line (the repository itself); fails if there is none."""
    for line in requirement_lines():
        match = re.fullmatch(r"\.(?:\[([\w,\s-]*)\])?", line)
        if match:
            return [e.strip() for e in (match.group(1) or "").split(",") if e.strip()]
    pytest.fail("binder/requirements.txt does not install the repository itself ('.' line)")


def pyproject_requirements(extras):
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    return reqs


def test_binder_files_follow_repo2docker_conventions():
    assert (BINDER / "requirements.txt").is_file()
    assert (BINDER / "runtime.txt").is_file()
    for name in OVERRIDING:
        assert not (BINDER / name).exists(), f"binder/{name} would override requirements.txt"
    post_build = BINDER / "postBuild"
    if post_build.exists():
        assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
        assert post_build.read_text().startswith("#!/bin/bash\n")
        assert "set -e" in post_build.read_text(), "postBuild errors must fail the build"
    for notebook in BADGE_NOTEBOOKS:  # the README's Binder badges open these
        assert (REPO / notebook).is_file(), f"{notebook} (Binder badge target) is missing"


def test_runtime_python_is_allowed_by_pyproject():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(3\.\d+)", runtime)
    assert match, f"binder/runtime.txt must read python-3.X, got {runtime!r}"
    version = Version(match.group(1))
    assert version in SpecifierSet(PROJECT["requires-python"]), (
        f"runtime {version} outside requires-python {PROJECT['requires-python']}"
    )


def test_requirements_use_the_package_versions_and_stay_lean():
    extras = local_extras()
    for extra in extras:
        assert extra in PROJECT["optional-dependencies"], f"unknown extra [{extra}]"
    names = {canonicalize_name(r.name) for r in pyproject_requirements(extras)}
    named = [Requirement(line) for line in requirement_lines() if not line.startswith(".")]
    names |= {canonicalize_name(r.name) for r in named}
    names.add("adaviz")
    for needed in NEEDED:
        assert needed in names, f"{needed} is not installed on Binder"
    for forbidden in FORBIDDEN:
        assert forbidden not in names, f"{forbidden} must not be installed on Binder"
    # A package pinned here exactly must be a version pyproject allows.
    declared = {
        canonicalize_name(r.name): r.specifier
        for r in pyproject_requirements(list(PROJECT["optional-dependencies"]))
    }
    for req in named:
        pins = [s.version for s in req.specifier if s.operator == "=="]
        spec = declared.get(canonicalize_name(req.name))
        for pin in pins:
            assert spec is None or spec.contains(pin, prereleases=True), f"{req} vs {spec}"


def test_post_build_writes_valid_jupyterlab_overrides(tmp_path):
    post_build = BINDER / "postBuild"
    if not post_build.exists():
        pytest.skip("no binder/postBuild")
    env = dict(os.environ, NB_PYTHON_PREFIX=str(tmp_path))
    subprocess.run([str(post_build)], env=env, check=True, cwd=REPO, timeout=60)
    overrides = json.loads((tmp_path / "share/jupyter/lab/settings/overrides.json").read_text())
    schemas = Path(sys.prefix) / "share/jupyter/lab/schemas"
    types = {"string": str, "boolean": bool, "number": (int, float), "object": dict}
    for plugin, settings in overrides.items():
        package, name = plugin.split(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text())
        for key, value in settings.items():
            assert key in schema["properties"], f"{plugin} has no setting {key!r}"
            assert isinstance(value, types[schema["properties"][key]["type"]]), (plugin, key)


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """A new virtualenv with pip, on the Python version binder/runtime.txt names if present."""
    runtime = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    python = shutil.which(f"python{runtime}")
    path = tmp_path_factory.mktemp("binder") / "venv"
    if python:
        subprocess.run([python, "-m", "venv", str(path)], check=True, timeout=300)
    else:
        venv.create(path, with_pip=True)
    return path


def _pip(venv_path, *args, timeout=900):
    proc = subprocess.run(
        [str(venv_path / "bin" / "python"), "-m", "pip", *args],
        cwd=REPO,  # as repo2docker: requirements are installed from the repository root
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        message = f"pip {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        offline = re.search(r"NewConnectionError|Temporary failure in name resolution|"
                            r"Network is unreachable|ProxyError", proc.stderr)  # fmt: skip
        if offline and os.environ.get("CI", "").lower() != "true":
            pytest.skip(f"package index unreachable: {offline.group(0)}")
        pytest.fail(message)
    return proc


def test_pip_resolves_binder_requirements_in_a_fresh_venv(fresh_venv, tmp_path):
    report_path = tmp_path / "report.json"
    _pip(
        fresh_venv, "install", "--dry-run", "--quiet", "--report", str(report_path),
        "-r", str(BINDER / "requirements.txt"),
    )  # fmt: skip
    report = json.loads(report_path.read_text())
    resolved = {canonicalize_name(item["metadata"]["name"]): item for item in report["install"]}
    for needed in NEEDED:
        assert needed in resolved, f"{needed} is not in pip's resolution: {sorted(resolved)}"
    for forbidden in FORBIDDEN:
        assert forbidden not in resolved, f"pip would install {forbidden} on Binder"
    assert resolved["adaviz"]["metadata"]["version"] == PROJECT["version"]
    # Every resolved version satisfies what pyproject asks for.
    for req in pyproject_requirements(local_extras()):
        version = resolved[canonicalize_name(req.name)]["metadata"]["version"]
        assert req.specifier.contains(version, prereleases=True), f"{req.name} {version} vs {req}"
    # The TensorFlow wheel matches the interpreter the venv runs.
    tf_url = resolved["tensorflow-cpu"]["download_info"]["url"]
    venv_tag = subprocess.run(
        [str(fresh_venv / "bin/python"), "-c", "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert f"-{venv_tag}-" in tf_url.rsplit("/", 1)[-1], tf_url


def test_package_installs_from_the_repository_in_a_fresh_venv(fresh_venv):
    _pip(fresh_venv, "install", "--no-deps", "--quiet", ".")
    code = (
        "import importlib.metadata as m, json; d = m.distribution('adaviz');"
        "print(json.dumps({'version': d.version, 'requires': d.requires,"
        " 'files': [str(f) for f in d.files]}))"
    )
    proc = subprocess.run(
        [str(fresh_venv / "bin/python"), "-c", code], capture_output=True, text=True, check=True
    )
    meta = json.loads(proc.stdout)
    assert meta["version"] == PROJECT["version"]
    requires = {Requirement(r) for r in meta["requires"]}
    base = {str(r) for r in requires if r.marker is None}
    assert base == {str(Requirement(r)) for r in PROJECT["dependencies"]}
    for extra in local_extras():
        declared = {str(Requirement(r)) for r in PROJECT["optional-dependencies"][extra]}
        got = {
            str(Requirement(f"{r.name}{r.specifier}"))
            for r in requires
            if r.marker is not None and r.marker.evaluate({"extra": extra})
        }
        assert got == declared, f"extra [{extra}]"
    files = set(meta["files"])
    for module in ("adaviz/__init__.py", "adaviz/panels/surface.py", "adaviz/_math.py"):
        assert module in files, f"{module} missing from the installed package"
