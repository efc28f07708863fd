"""The surfaces a panel's dropdown offers: the built-in catalogue plus the user's own."""

from __future__ import annotations


class SurfaceMenu:
    """Dropdown key -> :class:`adaviz.Surface`: every built-in name (loaded on first use)
    and each ``adaviz.Surface`` given, under its name (``"<name> (custom)"``, then
    ``"<name> (custom 2)"`` ..., when a built-in or another surface has that name)."""

    def __init__(self):
        from adaviz import surfaces

        self._surfaces = surfaces
        self.catalogue = {name: None for name in surfaces.names()}

    def register(self, surface):
        """``(key, Surface)`` of a built-in name or an ``adaviz.Surface`` (then offered).

        Raises:
            ValueError: an unknown name (the valid ones are listed), or neither a name nor
                a Surface.
        """
        mod = self._surfaces
        if isinstance(surface, str):
            surf = mod.get(surface)  # ValueError listing the valid names
            return surf.name, surf
        if not isinstance(surface, mod.Surface):
            raise ValueError(
                "surface must be a built-in name "
                f"({', '.join(mod.names())}) or an adaviz.Surface, got {surface!r}"
            )
        base = str(surface.name or "custom surface")
        key, i = base, 1
        while key in self.catalogue and self.catalogue[key] is not surface:
            i += 1
            key = f"{base} (custom)" if i == 2 else f"{base} (custom {i - 1})"
        self.catalogue[key] = surface
        return key, surface

    def get(self, key):
        """The surface of dropdown ``key``."""
        surf = self.catalogue.get(key)
        if surf is None:
            surf = self.catalogue[key] = self._surfaces.get(key)
        return surf

    def options(self):
        """The dropdown's ``(label, key)`` options."""
        return [(key.replace("_", " "), key) for key in self.catalogue]
