"""Execute a notebook with papermill so that SIGINT and SIGTERM stop it cleanly.

papermill runs in a worker thread while the main thread waits and holds the signal
handlers. (Run in the main thread, nbclient installs handlers of its own: they shut the
kernel down but let the cell loop wait on, and are removed afterwards.) On SIGINT or
SIGTERM the kernel's process group gets SIGTERM, then SIGKILL if it is still there
after :data:`KERNEL_GRACE_SECONDS`; the worker sees the kernel die and ends, and the
caller renders what the notebook holds. A second signal ends the process at once, the
default way.

The notebook object is parameterized here and executed in place, so at any moment it
holds every output received so far: that is what an interrupted run's report shows.
Progress (kernel started, each cell done) is reported through ``on_progress`` from
nbclient's hooks, which run in the worker thread.

The kernel's own stdout and stderr (ipykernel's log lines such as "KeyboardInterrupt
caught in kernel" or "Parent appears to have exited"), and papermill's and nbclient's
log lines about it, go to ``kernel.log`` in the run folder, kept only when not empty;
cell outputs go to the notebook as always.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["Execution", "Stop", "catch_signals", "execute"]

#: Seconds a kernel has to exit after SIGTERM before it gets SIGKILL.
KERNEL_GRACE_SECONDS = 5.0
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: OSErrors that are the environment's doing, not the notebook's: exit 3.
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES,
                                errno.EPERM})


@dataclasses.dataclass
class Stop:
    """Whether, and by which signal, the run was asked to stop."""

    signum: int | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""


_ACTIVE: list[Stop] = []


@contextlib.contextmanager
def catch_signals() -> Iterator[Stop]:
    """Turn SIGINT and SIGTERM into a :class:`Stop` the run checks, for the duration.

    Nested uses share the outer one (an audit around its template run). Outside the
    main thread signals cannot be caught; the Stop then never fires.
    """
    if _ACTIVE:
        yield _ACTIVE[-1]
        return
    stop = Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: object) -> None:
        if stop.signum is not None:  # asked twice: go now, the default way
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        stop.signum = signum

    previous = {s: signal.signal(s, handler) for s in _SIGNALS}
    _ACTIVE.append(stop)
    try:
        yield stop
    finally:
        _ACTIVE.pop()
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


@dataclasses.dataclass
class Execution:
    """A notebook's execution: the notebook (outputs so far), its outcome and progress."""

    nb: Any
    cells_total: int
    cells_done: int = 0
    kernel_started: bool = False
    status: str = "succeeded"
    error: str | None = None
    #: An OSError of the environment (a full /tmp, an unwritable runtime folder).
    fault: OSError | None = None


class _KernelProcess:
    """The kernel's process group, for stopping it from the main thread."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.stopping = False
        self._lock = threading.Lock()

    def launched(self, pid: int | None) -> None:
        with self._lock:
            self.pid = pid
            stopping = self.stopping
        if stopping:  # the signal came while it was being launched
            self.kill(signal.SIGTERM)

    def kill(self, signum: int) -> None:
        with self._lock:
            self.stopping = True
            pid = self.pid
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signum)  # the kernel leads a session of its own


def _kernel_manager(socket_dir: str, log: Any, process: _KernelProcess) -> type:
    """A kernel manager on local IPC sockets in ``socket_dir`` (no TCP port opens), with
    the kernel's stdout and stderr sent to ``log`` and its pid handed to ``process``.

    Asynchronous, as nbclient's default is: with a blocking client, nbclient waits for a
    cell's reply in a call that blocks its event loop, and never notices a dead kernel.
    """
    from jupyter_client.manager import AsyncKernelManager

    class StewardKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            super().__init__(**kwargs)
            self.ip = os.path.join(socket_dir, "kernel")

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kw.setdefault("stdout", log)
            kw.setdefault("stderr", log)
            await super()._async_launch_kernel(kernel_cmd, **kw)
            process.launched(getattr(self.provisioner, "pid", None))

    return StewardKernelManager


def prepare(path: Path, parameters: dict[str, Any], *, kernel_name: str) -> Any:
    """The template with its parameters injected, as papermill would run it."""
    import papermill

    return papermill.execute_notebook(str(path), None, parameters=parameters,
                                      prepare_only=True, progress_bar=False,
                                      kernel_name=kernel_name)


def execute(nb: Any, *, input_path: Path, run_dir: Path, kernel_name: str, stop: Stop,
            on_progress: Callable[[Execution], None]) -> Execution:
    """Execute ``nb`` in place; return when it is done or, after a signal, stopped."""
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    execution = Execution(nb, cells_total=len(code))
    process = _KernelProcess()
    log_path = run_dir / "kernel.log"
    with open(log_path, "a", encoding="utf-8") as log, _logging_to(log, process), \
            tempfile.TemporaryDirectory(prefix="steward-kernel-") as sockets:
        worker = threading.Thread(
            target=_work, name="steward-kernel", daemon=True,
            args=(execution, input_path, kernel_name,
                  _kernel_manager(sockets, log, process), on_progress))
        worker.start()
        while worker.is_alive() and stop.signum is None:
            worker.join(0.1)
        if stop.signum is not None and worker.is_alive():
            process.kill(signal.SIGTERM)
            worker.join(KERNEL_GRACE_SECONDS)
            if worker.is_alive():
                process.kill(signal.SIGKILL)
                worker.join(KERNEL_GRACE_SECONDS)
    with contextlib.suppress(OSError):
        if log_path.stat().st_size == 0:
            log_path.unlink()
    return execution


@contextlib.contextmanager
def _logging_to(log: Any, process: _KernelProcess) -> Iterator[None]:
    """Send papermill's and nbclient's log lines ("Kernel died while waiting for execute
    reply") to the kernel's log while it runs: the command reports the run's end once,
    as one paragraph, and these lines stay for whoever looks into the run folder. Once
    we stop the kernel ourselves, its death is no news and is not logged."""
    import logging

    logger = logging.getLogger("papermill")
    handler = logging.StreamHandler(log)
    handler.addFilter(lambda record: not process.stopping)
    handler.setFormatter(logging.Formatter("[steward %(levelname)s] %(message)s"))
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _work(execution: Execution, input_path: Path, kernel_name: str, manager: type,
          on_progress: Callable[[Execution], None]) -> None:
    from nbclient.exceptions import DeadKernelError
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillExecutionError
    from papermill.execute import raise_for_execution_errors

    def started(**_: Any) -> None:
        execution.kernel_started = True
        on_progress(execution)

    def cell_done(**_: Any) -> None:
        execution.cells_done += 1
        on_progress(execution)

    try:
        papermill_engines.execute_notebook_with_engine(
            None, execution.nb, kernel_name, input_path=str(input_path), output_path=None,
            progress_bar=False, log_output=False, start_timeout=60, stdout_file=None,
            stderr_file=None, kernel_manager_class=manager, on_notebook_start=started,
            on_cell_executed=cell_done)
        raise_for_execution_errors(execution.nb, None)  # marks the failing cell in the notebook
    except PapermillExecutionError as exc:
        execution.status = "failed"
        execution.error = f"cell {exc.exec_count} raised {exc.ename}: {exc.evalue}"
    except DeadKernelError:
        execution.status = "failed"
        execution.error = (f"the kernel died after {execution.cells_done} of "
                           f"{execution.cells_total} cells (killed from outside, or out of "
                           f"memory; kernel.log in the run folder may say more)")
    except OSError as exc:
        execution.status, execution.error = "failed", f"{type(exc).__name__}: {exc}"
        if exc.errno in ENVIRONMENT_ERRNOS:
            execution.fault = exc
    except Exception as exc:  # the kernel died or could not start, ...
        execution.status, execution.error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        _close_loop()


def _close_loop() -> None:
    """Close the event loop nbclient made for this thread (it would be left to the GC)."""
    import asyncio

    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        return
    if not loop.is_running():
        loop.close()
    asyncio.set_event_loop(None)
