"""Jupyter widget panels (ipywidgets + plotly ``FigureWidget``)."""
