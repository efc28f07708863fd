"""The panels' kit: what two or more panels share, importing no panel.

``base`` (the :class:`~adaviz.panels.kit.base.Panel` shell), ``widget`` (the one plotly /
anywidget adapter), ``controls`` (sliders, presets, ranges), ``schedule`` (coalesced
redraws), ``lifecycle`` (close and re-run replacement), ``warmup`` (background compiles),
``export`` (static pages), ``style`` and ``arrays`` (how figures look and are fed),
``readouts`` and ``code`` (HTML text), ``runs`` and ``surface_menu``.
"""
