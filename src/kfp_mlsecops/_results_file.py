"""Strict reading and writing shared by the results documents (robustness, privacy, ...).

A results class mixes in :class:`ResultsDocument`, names its file in ``_FILE`` and implements
``to_dict`` and ``_from_json`` (the strict parse, raising ValueError naming the field); it then
gets ``from_dict``, ``read`` and ``write`` that all turn a bad document into one
InvalidInputError saying how to fix it, and never write a document they would refuse to read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from kfp_mlsecops._io import read_json_file, write_json_atomic
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["ResultsDocument", "ResultsFile"]

_T = TypeVar("_T", bound="ResultsDocument")


@dataclass(frozen=True)
class ResultsFile:
    """What the error messages call a results file and what to do about it.

    Args:
        name: what the document is, e.g. ``poisoning results``.
        missing: what to do when the file does not exist.
        fix: what to do when it is not a valid document.

    """

    name: str
    missing: str
    fix: str

    @classmethod
    def of_command(cls, command: str) -> ResultsFile:
        """Return the file ``mlsecops COMMAND`` writes: ``COMMAND results``, fixed by a rerun."""
        return cls(
            name=f"{command} results",
            missing=f"run 'mlsecops {command}' first",
            fix=f"rerun 'mlsecops {command}'",
        )


class ResultsDocument:
    """Mixin: ``from_dict``, ``read`` and ``write`` for a results class (see the module)."""

    _FILE: ClassVar[ResultsFile]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON document."""
        raise NotImplementedError

    @classmethod
    def _from_json(cls: type[_T], doc: object) -> _T:
        """Return the results in ``doc``; ValueError naming the field unless valid."""
        raise NotImplementedError

    @classmethod
    def from_dict(cls: type[_T], doc: object) -> _T:
        """Return the results in ``doc``; InvalidInputError (naming the field) unless valid."""
        try:
            return cls._from_json(doc)
        except ValueError as e:
            raise InvalidInputError(f"{cls._FILE.name}: {e}; {cls._FILE.fix}") from e

    @classmethod
    def read(cls: type[_T], path: str | os.PathLike[str]) -> _T:
        """Read and strictly validate a results file; InvalidInputError when unusable."""
        file = cls._FILE
        where = f"{file.name} '{path}'"
        doc = read_json_file(path, where=where, missing=file.missing, fix=file.fix)
        try:
            return cls._from_json(doc)
        except ValueError as e:
            raise InvalidInputError(f"{where}: {e}; {file.fix}") from e

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Check the document reads back, then write it atomically (sorted, indented JSON)."""
        doc = self.to_dict()
        type(self).from_dict(doc)  # never write what the reader would refuse
        return write_json_atomic(path, doc)
