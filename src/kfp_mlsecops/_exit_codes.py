"""The exit codes every ``mlsecops`` command shares.

One module below the CLI, so the command modules (which import one another) and the compliance
core (which adds its own codes 3 and 4 for failed controls) take the same values without
importing upwards.
"""

from __future__ import annotations

__all__ = ["EXIT_BLOCKED", "EXIT_ERROR", "EXIT_OK", "EXIT_USAGE"]

#: Done: verified, approved, measured within limits.
EXIT_OK = 0
#: Any other error (one line on stderr).
EXIT_ERROR = 1
#: Bad options or input.
EXIT_USAGE = 2
#: A check refused: blocked by the gate, verification failed, a limit exceeded.
EXIT_BLOCKED = 3
