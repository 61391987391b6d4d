"""Matplotlib figures drawn from results; a plot never recomputes.

One module per stage (``toolkit.plots.checks``, ``toolkit.plots.drift``, ...). Each
function takes a result object and an optional ``ax`` and returns the matplotlib
``Figure``. matplotlib is imported inside the functions, never at import time.
"""
