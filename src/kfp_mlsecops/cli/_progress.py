"""Turn kfp.local's chatty output into one progress line per task; keep the full log in a file."""

from __future__ import annotations

import builtins
import re
import sys
import time
from types import TracebackType
from typing import IO, TextIO

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_START = re.compile(r"Executing task '([\w-]+)'")
_END = re.compile(r"Task '([\w-]+)' finished with status (\w+)")
_OUR_ERROR = re.compile(r"kfp_mlsecops\.errors\.(\w+): (.+)$")
_ANY_ERROR = re.compile(r"^\s*(\w+(?:\.\w+)*(?:Error|Exception)): (.+)$")


class TaskProgress:
    """Context manager: while active, ``sys.stdout`` goes to ``log`` and progress to ``console``.

    Records per-task status and the last error line our code raised, for the run summary.
    ``builtins.print`` is put back on exit: kfp.local swaps it per task to indent task output,
    and ParallelFor iterations (attack shards) running in threads can restore each other's swap,
    leaving every later ``print`` of the process indented.
    """

    def __init__(self, log: IO[str], console: TextIO, *, total: int, verbose: bool = False):
        self._log = log
        self._console = console
        self._total = total
        self._verbose = verbose
        self._buffer = ""
        self._started: dict[str, float] = {}
        self.statuses: dict[str, str] = {}
        self.last_error: tuple[str, str] | None = None
        self._saved: TextIO | None = None

    # file-like interface used by print() and logging.StreamHandler
    def write(self, text: str) -> int:
        """Log ``text`` and scan its complete lines for task events."""
        self._log.write(text)
        if self._verbose:
            self._console.write(text)
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self._scan(_ANSI.sub("", line))
        return len(text)

    def flush(self) -> None:
        """Flush the log and the console."""
        self._log.flush()
        self._console.flush()

    def isatty(self) -> bool:
        """Report no terminal, so kfp does not size output to one."""
        return False

    def _scan(self, line: str) -> None:
        if match := _START.search(line):
            name = match.group(1)
            self._started[name] = time.monotonic()
            self._say(f"[{len(self._started)}/{self._total}] {name} ...")
        elif match := _END.search(line):
            name, status = match.groups()
            self.statuses[name] = status
            took = time.monotonic() - self._started.get(name, time.monotonic())
            self._say(f"      {name}: {status.lower()} ({took:.1f} s)")
        elif match := _OUR_ERROR.search(line):
            self.last_error = (match.group(1), match.group(2).strip())
        elif self.last_error is None and (match := _ANY_ERROR.match(line)):
            self.last_error = (match.group(1), match.group(2).strip())

    def _say(self, message: str) -> None:
        if not self._verbose:
            self._console.write(message + "\n")
            self._console.flush()

    def __enter__(self) -> TaskProgress:
        self._saved = sys.stdout
        self._saved_print = builtins.print
        sys.stdout = self
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._buffer:
            self._scan(_ANSI.sub("", self._buffer))
        sys.stdout = self._saved
        builtins.print = self._saved_print
        self._log.flush()


class ProgressBar:
    """A text progress bar for ``progress(stage, done, total)`` callbacks, drawn on ``stream``.

    On a terminal the bar is redrawn in place; otherwise one line is written per quarter of each
    stage, so logs stay short. Call :meth:`close` to end a partly drawn line.
    """

    def __init__(self, stream: TextIO, *, width: int = 30, interactive: bool | None = None):
        self._stream = stream
        self._width = width
        self._interactive = stream.isatty() if interactive is None else interactive
        self._open = False
        self._last: tuple[str, int] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Show ``done`` of ``total`` units of ``stage``."""
        total = max(int(total), 1)
        done = min(max(int(done), 0), total)
        filled = self._width * done // total
        bar = "#" * filled + "-" * (self._width - filled)
        line = f"{stage:<24} [{bar}] {done}/{total}"
        if self._interactive:
            self._stream.write("\r" + line + ("\n" if done == total else ""))
            self._open = done != total
        else:
            quarter = 4 * done // total
            if self._last == (stage, quarter):
                return
            self._last = (stage, quarter)
            self._stream.write(line + "\n")
        self._stream.flush()

    def close(self) -> None:
        """End a partly drawn line (interactive mode)."""
        if self._open:
            self._stream.write("\n")
            self._stream.flush()
            self._open = False
