"""Named entries that plug in: built-ins are imported on first use, others are registered.

The signing methods, dataset formats and model formats each keep one :class:`LazyRegistry`:
a built-in is the path of a module whose attribute (``METHOD``, ``FORMAT``) is the entry, so
listing names (``--help``, choices) imports no crypto, parser or TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Generic, TypeVar

from kfp_mlsecops.errors import InvalidInputError

__all__ = ["LazyRegistry"]

T = TypeVar("T")


class LazyRegistry(Generic[T]):
    """Entries of type ``kind`` by name; ``what`` words the errors ("dataset format")."""

    def __init__(self, what: str, kind: type[T], attr: str, builtins: dict[str, str]) -> None:
        self._what, self._kind, self._attr = what, kind, attr
        self._entries: dict[str, T | str] = dict(builtins)

    def names(self) -> tuple[str, ...]:
        """Return every name, built-ins first, without importing any module."""
        return tuple(self._entries)

    def get(self, name: object, *, what: str | None = None) -> T:
        """Return the entry called ``name``; InvalidInputError (worded with ``what``) if unknown."""
        entry = self._entries.get(name) if isinstance(name, str) else None
        if entry is None:
            raise InvalidInputError(
                f"{what or self._what} {name!r} is unknown; use one of {', '.join(self._entries)}"
            )
        if isinstance(entry, str):
            loaded = getattr(importlib.import_module(entry), self._attr, None)
            if not isinstance(loaded, self._kind) or getattr(loaded, "name", None) != name:
                raise InvalidInputError(
                    f"module {entry} must define {self._attr}, the {name!r} {self._what}"
                )
            self._entries[str(name)] = entry = loaded
        return entry

    def all(self) -> tuple[T, ...]:
        """Return every entry, in :meth:`names` order."""
        return tuple(self.get(name) for name in self._entries)

    def add(self, name: str, entry: T) -> None:
        """Register ``entry`` under a new ``name`` (InvalidInputError if taken or mistyped)."""
        if not isinstance(entry, self._kind):
            raise InvalidInputError(f"register a {self._kind.__name__}, got {type(entry).__name__}")
        if name in self._entries:
            raise InvalidInputError(f"{self._what} {name!r} exists; pick another name")
        self._entries[name] = entry

    def discard(self, name: str) -> None:
        """Forget a registered entry (tests undo their registrations with it)."""
        self._entries.pop(name, None)
