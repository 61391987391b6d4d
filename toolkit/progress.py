"""One progress helper for long steps: a bar in the notebook and on the command line,
none in a saved report.

- On a terminal (``stderr`` is a TTY, outside a kernel): a :mod:`tqdm` bar on stderr.
- In a Jupyter kernel: a small HTML bar shown with a ``display_id`` and updated in
  place. When the step ends the same display is replaced by an empty output, so the
  notebook a run leaves behind (papermill, nbval, a saved session) holds no bar and
  the HTML report shows none. This needs no widget and no guess about whether a
  frontend is connected: a live JupyterLab shows the bar while it runs, a headless
  executor records only the final, empty state.
- Anywhere else (a pipe, a log file, CI): nothing.

Use it as a context manager around a loop::

    with progress(total=len(chunks), desc="scoring") as bar:
        for chunk in chunks:
            ...
            bar.update(len(chunk))

or wrap an iterable: ``for chunk in progress(chunks, desc="scoring"): ...``.
"""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["Progress", "progress", "where"]

_EMPTY = {"text/plain": ""}


def _kernel() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


def where(enable: bool | None = None) -> str:
    """Where a bar would go: ``"notebook"``, ``"terminal"`` or ``"none"``.

    Parameters
    ----------
    enable : bool, optional
        ``False`` forces ``"none"``; ``None`` (default) and ``True`` pick from the
        environment (a kernel first, then a terminal on stderr).
    """
    if enable is False:
        return "none"
    if _kernel():
        return "notebook"
    if enable or sys.stderr.isatty():
        return "terminal"
    return "none"


class Progress:
    """A progress bar for one step; see :func:`progress`."""

    def __init__(self, iterable: Iterable[Any] | None = None, *, total: float | None = None,
                 desc: str = "", unit: str = "it", enable: bool | None = None,
                 min_interval: float = 0.25) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.unit = unit
        self.n = 0.0
        self.mode = where(enable)
        self.min_interval = min_interval
        self._started = time.perf_counter()
        self._shown = 0.0
        self._handle: Any = None
        self._bar: Any = None
        if self.mode == "terminal":
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)
        elif self.mode == "notebook":
            from IPython.display import display

            self._handle = display(self._bundle(), raw=True, display_id=True)

    def _bundle(self) -> dict[str, str]:
        elapsed = time.perf_counter() - self._started
        if self.total:
            share = min(1.0, self.n / self.total)
            text = (f"{self.desc}: {share:.0%} ({self.n:g}/{self.total:g} {self.unit}, "
                    f"{elapsed:.0f} s)")
            width = f"{share * 100:.1f}%"
        else:
            text = f"{self.desc}: {self.n:g} {self.unit} ({elapsed:.0f} s)"
            width = "100%"
        markup = (
            "<div class='steward-progress' style='font-size:12px;color:#475467'>"
            f"<div>{html.escape(text)}</div><div style='background:#e4e7ec;height:6px;"
            f"width:320px;border-radius:3px'><div style='background:#1570ef;height:6px;"
            f"width:{width};border-radius:3px'></div></div></div>"
        )
        return {"text/plain": text, "text/html": markup}

    def update(self, n: float = 1) -> None:
        """Advance by ``n`` units (redraws at most every ``min_interval`` seconds)."""
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
        elif self._handle is not None:
            now = time.perf_counter()
            if now - self._shown >= self.min_interval:
                self._shown = now
                self._handle.update(self._bundle(), raw=True)

    def close(self) -> None:
        """End the step: the terminal bar is cleared, the notebook output emptied."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._handle is not None:
            self._handle.update(_EMPTY, raw=True)
            self._handle = None

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("This progress bar wraps no iterable; call update() instead.")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(iterable: Iterable[Any] | None = None, *, total: float | None = None,
             desc: str = "", unit: str = "it", enable: bool | None = None) -> Progress:
    """A progress bar that shows while a step runs and leaves nothing in saved reports.

    Parameters
    ----------
    iterable : iterable, optional
        Items to iterate over; each item advances the bar by one.
    total : float, optional
        Units of work; by default ``len(iterable)`` when it has one.
    desc : str, default=""
        What the step does ("explaining", "scoring").
    unit : str, default="it"
    enable : bool, optional
        ``False`` shows nothing; ``None`` decides from the environment (see :func:`where`).

    Returns
    -------
    Progress
        Use as a context manager (``update(n)``) or iterate over it.
    """
    return Progress(iterable, total=total, desc=desc, unit=unit, enable=enable)
