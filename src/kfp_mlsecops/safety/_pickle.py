"""Pickle detection and opcode scanning with ``pickletools`` (nothing is ever unpickled).

A file counts as a pickle when its name says so (``.pkl``, ``.pickle``, ``.joblib``, ``.dill``),
when it starts with the protocol 2-5 header and disassembles to a STOP opcode, or when it
disassembles to STOP and imports at least one global named like a Python ``module.attribute``
(protocol 0/1 pickles have no header; one without globals cannot run code). Requiring a full
disassembly (and, without a header, a well-formed global name) keeps random weight bytes from
being flagged: 0 in 100,000 random 2 KiB blobs were, when measured.

Imported globals are listed by following GLOBAL / INST / STACK_GLOBAL (with a small stack and
memo model) and EXT codes. Any global outside a short allowlist of data constructors (numpy
arrays, torch tensors, OrderedDict, ...) is reported as code the pickle would run. The listing is
diagnostic: every pickle is refused whatever it imports.
"""

from __future__ import annotations

import pickletools
import re
from dataclasses import dataclass
from typing import IO, cast

PICKLE_EXTENSIONS = (".pkl", ".pickle", ".joblib", ".dill")
#: Most bytes of one pickle stream disassembled (a larger pickle is still a pickle).
MAX_PICKLE_BYTES = 256 << 20

_PROTOCOL_HEADERS = tuple(bytes([0x80, v]) for v in (2, 3, 4, 5))
_STRING_OPS = frozenset(
    {
        "STRING",
        "BINSTRING",
        "SHORT_BINSTRING",
        "UNICODE",
        "BINUNICODE",
        "SHORT_BINUNICODE",
        "BINUNICODE8",
    }
)
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_MEMO_PUT = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_MEMO_GET = frozenset({"GET", "BINGET", "LONG_BINGET"})
#: Globals that only rebuild data. Anything else a pickle imports can run code when loaded.
SAFE_GLOBALS = frozenset(
    {
        "collections.OrderedDict",
        "builtins.set",
        "builtins.frozenset",
        "builtins.bytearray",
        "builtins.complex",
        "builtins.slice",
        "__builtin__.set",
        "__builtin__.frozenset",
        "__builtin__.bytearray",
        "__builtin__.complex",
        "_codecs.encode",
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch.FloatStorage",
        "torch.DoubleStorage",
        "torch.HalfStorage",
        "torch.BFloat16Storage",
        "torch.LongStorage",
        "torch.IntStorage",
        "torch.ByteStorage",
        "torch.BoolStorage",
    }
)


@dataclass(frozen=True)
class PickleInfo:
    """What disassembling a stream showed."""

    is_pickle: bool
    imports: tuple[str, ...]


class _Bounded:
    """A read-only view of a binary stream that never hands out more than ``limit`` bytes."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self._raw = raw
        self._left = limit

    def read(self, n: int = -1) -> bytes:
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._raw.read(n)
        self._left -= len(data)
        return data

    def readline(self, n: int = -1) -> bytes:
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._raw.readline(n)
        self._left -= len(data)
        return data


def has_pickle_header(head: bytes) -> bool:
    """Return True when ``head`` starts with a pickle protocol 2-5 header."""
    return head[:2] in _PROTOCOL_HEADERS


def analyze(stream: IO[bytes], head: bytes) -> PickleInfo:
    """Disassemble ``stream`` (positioned at its start; ``head`` = its first bytes)."""
    reached_stop, imports = _disassemble(_Bounded(stream, MAX_PICKLE_BYTES))
    importing = any(_DOTTED.fullmatch(name) for name in imports)
    is_pickle = reached_stop and (has_pickle_header(head) or importing)
    return PickleInfo(is_pickle=is_pickle, imports=tuple(dict.fromkeys(imports)))


def unsafe_imports(imports: tuple[str, ...]) -> tuple[str, ...]:
    """Return the imported globals that are not known data constructors."""
    return tuple(name for name in imports if name not in SAFE_GLOBALS)


def _disassemble(stream: _Bounded) -> tuple[bool, list[str]]:
    """Return (reached STOP, globals imported) for a pickle opcode stream; never unpickles."""
    stack: list[object] = []
    marks: list[int] = []
    memo: dict[object, object] = {}
    imports: list[str] = []
    try:
        for opcode, arg, _pos in pickletools.genops(cast(IO[bytes], stream)):
            name = opcode.name
            if name == "STOP":
                return True, imports
            if name == "MARK":
                marks.append(len(stack))
                continue
            if name in _MEMO_PUT or name == "MEMOIZE":
                memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1] if stack else None
                continue
            if name == "STACK_GLOBAL":
                attr = stack.pop() if stack else None
                module = stack.pop() if stack else None
                resolved = isinstance(module, str) and isinstance(attr, str)
                imports.append(f"{module}.{attr}" if resolved else "<unresolved STACK_GLOBAL>")
                stack.append(None)
                continue
            if name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                imports.append(f"{module}.{attr}")
            elif name.startswith("EXT"):
                imports.append(f"<copyreg extension {arg}>")
            _apply_stack_effect(opcode, stack, marks)
            if name in _STRING_OPS:
                value: object = arg
            elif name in _MEMO_GET:
                value = memo.get(arg)
            else:
                value = None
            stack.extend([value] * len(opcode.stack_after))
    except Exception:  # noqa: BLE001 - not a (complete) pickle: the caller decides what that means
        return False, imports
    return False, imports


def _apply_stack_effect(
    opcode: pickletools.OpcodeInfo, stack: list[object], marks: list[int]
) -> None:
    before = opcode.stack_before
    if pickletools.markobject in before:
        if marks:
            del stack[marks.pop() :]
        count = before.index(pickletools.markobject)
    else:
        count = len(before)
    if count:
        del stack[-count:]
