"""What travels to an executor's workers: functions and surfaces by value (cloudpickle) or,
for the built-in surfaces, by name."""

from __future__ import annotations

from adaviz.surfaces import Surface, get

__all__ = ["dumps", "loads", "surface_payload", "worker_surface"]

_WORKER_SURFACES: dict = {}  # pickled surface -> the surface rebuilt in this worker


def dumps(obj):
    """``obj`` as bytes: cloudpickle when installed (functions defined in a notebook or a
    lambda travel by value), else plain pickle."""
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - distributed installs cloudpickle
        import pickle

        return pickle.dumps(obj)
    return cloudpickle.dumps(obj)


def loads(data):
    import pickle

    return pickle.loads(data)  # cloudpickle's output loads with plain pickle


def surface_payload(surface):
    """What a worker needs to rebuild ``surface``: its name if built-in, else its parts."""
    from adaviz import surfaces

    if surface.name in surfaces.names() and surfaces.get(surface.name) is surface:
        return surface.name
    parts = {
        "fn": surface.fn,
        "domain": surface.domain,
        "minima": surface.minima,
        "start": surface.start,
        "name": surface.name,
        "formula": surface.formula,
        "lesson": surface.lesson,
    }
    try:
        return dumps(parts)
    except Exception as exc:
        raise ValueError(
            f"surface {surface.name!r} cannot be sent to the executor's workers: its fn "
            f"cannot be pickled ({type(exc).__name__}: {exc}); install cloudpickle or "
            "define fn in an importable module"
        ) from None


def worker_surface(payload):
    if isinstance(payload, str):
        return get(payload)
    surface = _WORKER_SURFACES.get(payload)
    if surface is None:
        surface = _WORKER_SURFACES[payload] = Surface(**loads(payload))
    return surface
