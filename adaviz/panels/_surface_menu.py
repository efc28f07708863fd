"""The surfaces a panel's dropdown offers: the built-in catalogue plus the user's own."""

from __future__ import annotations


class SurfaceMenu:
    """Dropdown key -> :class:`adaviz.Surface`: every built-in name (loaded on first use)
    and each ``adaviz.Surface`` given (``"<name> (yours)"`` when its name is a built-in one)."""

    def __init__(self):
        from adaviz import surfaces

        self._surfaces = surfaces
        self.catalogue = {name: None for name in surfaces.names()}

    def register(self, surface):
        """``(key, Surface)`` of a built-in name or an ``adaviz.Surface`` (then offered).

        Raises:
            ValueError: an unknown name (the valid ones are listed).
        """
        if isinstance(surface, self._surfaces.Surface):
            key = surface.name
            if key in self.catalogue and self.catalogue[key] is not surface:
                key = f"{surface.name} (yours)"
            self.catalogue[key] = surface
            return key, surface
        surf = self._surfaces.get(surface)
        return surf.name, surf

    def get(self, key):
        """The surface of dropdown ``key``."""
        surf = self.catalogue.get(key)
        if surf is None:
            surf = self.catalogue[key] = self._surfaces.get(key)
        return surf

    def options(self):
        """The dropdown's ``(label, key)`` options."""
        return [(key.replace("_", " "), key) for key in self.catalogue]
