"""TensorFlow SavedModel graphs: flag ops that run Python, touch files or the network.

A denylist, not an allowlist: a Keras model's graph uses a long and version-dependent list of
math ops, so an allowlist would block healthy models after every TensorFlow upgrade. What the
list covers instead is every op family that reaches outside the tensor computation:

- Python: ``PyFunc``, ``PyFuncStateless``, ``EagerPyFunc`` (``tf.py_function`` and friends);
- files: ``ReadFile``, ``WriteFile``, ``MatchingFiles``, ``ImmutableConst``, the file readers and
  file datasets, snapshot/save/load datasets, summary/debug writers, text-file table initializers,
  and ``PrintV2`` when it prints to a ``file://`` stream;
- network: SQL and data-service datasets, RPC ops;
- checkpoint I/O (``SaveV2``, ``RestoreV2``, ``MergeV2Checkpoints``, ``Save``, ``Restore``, ...):
  normal in the functions the SavedModel's ``saver_def`` calls, flagged anywhere else and in any
  function a signature reaches (a serving function must not write or read checkpoints);
- ops this TensorFlow does not know (custom kernels a loader would need a native library for).

Every node of the top-level graph and of every library function is checked; calls between
functions are followed through function-valued attributes (``f``, ``then_branch``, ``body``...).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kfp_mlsecops.safety import report as R
from kfp_mlsecops.safety.report import Finding

PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
FILE_OPS = frozenset(
    {
        "ReadFile",
        "WriteFile",
        "MatchingFiles",
        "ImmutableConst",
        "WholeFileReader",
        "WholeFileReaderV2",
        "TextLineReader",
        "TextLineReaderV2",
        "FixedLengthRecordReader",
        "FixedLengthRecordReaderV2",
        "TFRecordReader",
        "TFRecordReaderV2",
        "LMDBReader",
        "TFRecordDataset",
        "TFRecordDatasetV2",
        "TextLineDataset",
        "FixedLengthRecordDataset",
        "FixedLengthRecordDatasetV2",
        "CSVDataset",
        "CSVDatasetV2",
        "ExperimentalCSVDataset",
        "LMDBDataset",
        "ExperimentalLMDBDataset",
        "MatchingFilesDataset",
        "ExperimentalMatchingFilesDataset",
        "SnapshotDataset",
        "SnapshotDatasetV2",
        "SaveDataset",
        "SaveDatasetV2",
        "LoadDataset",
        "DatasetToTFRecord",
        "ExperimentalDatasetToTFRecord",
        "CreateSummaryFileWriter",
        "CreateSummaryDbWriter",
        "DebugIdentity",
        "DebugIdentityV2",
        "DebugIdentityV3",
        "DebugNanCount",
        "DebugNumericSummary",
        "DebugNumericSummaryV2",
        "InitializeTableFromTextFile",
        "InitializeTableFromTextFileV2",
    }
)
NETWORK_OPS = frozenset(
    {
        "SqlDataset",
        "ExperimentalSqlDataset",
        "DataServiceDataset",
        "DataServiceDatasetV2",
        "DataServiceDatasetV3",
        "DataServiceDatasetV4",
        "RegisterDataset",
        "RegisterDatasetV2",
        "RpcClient",
        "RpcCall",
        "RpcServer",
        "RpcServerStart",
        "RpcServerRegister",
    }
)
CHECKPOINT_OPS = frozenset(
    {"Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2", "RestoreSlice", "MergeV2Checkpoints"}
)
_MAX_PLACES = 3


def scan_savedmodel(path: Path, rel: str) -> list[Finding]:
    """Return findings for a ``saved_model.pb`` (binary) or ``saved_model.pbtxt`` file."""
    try:
        import tensorflow as tf  # noqa: F401 - registers every op this TensorFlow knows
        from google.protobuf import text_format
        from tensorflow.core.protobuf import saved_model_pb2
        from tensorflow.python.framework import op_def_registry
    except ImportError as e:
        detail = f"TensorFlow is needed to read SavedModel graphs ({e}); install the runtime extra"
        return [Finding(rel, R.UNSCANNABLE, detail)]

    saved_model = saved_model_pb2.SavedModel()
    try:
        data = path.read_bytes()
        if rel.endswith(".pbtxt"):
            text_format.Parse(data.decode("utf-8"), saved_model)
        else:
            saved_model.ParseFromString(data)
    except Exception as e:  # noqa: BLE001 - an unparsable graph cannot be declared safe
        detail = " ".join(f"{type(e).__name__}: {e}".split())[:160]
        return [Finding(rel, R.UNSCANNABLE, f"SavedModel cannot be parsed ({detail})")]
    if not saved_model.meta_graphs:
        return [Finding(rel, R.UNSCANNABLE, "SavedModel holds no graph")]
    places: dict[tuple[str, str], list[str]] = {}
    for meta_graph in saved_model.meta_graphs:
        for op, reason, place in _unsafe_ops(meta_graph, op_def_registry.get):
            places.setdefault((op, reason), []).append(place)
    findings = []
    for (op, reason), where in places.items():
        shown = ", ".join(sorted(set(where))[:_MAX_PLACES])
        kind = R.TF_UNKNOWN_OP if reason.startswith("unknown") else R.TF_UNSAFE_OP
        findings.append(Finding(rel, kind, f"op {op} ({reason}) in {shown}"))
    return findings


def _unsafe_ops(meta_graph: Any, registered: Any) -> Iterable[tuple[str, str, str]]:
    """Yield (op, reason, where) for every flagged node of one MetaGraph."""
    graph = meta_graph.graph_def
    functions = {f.signature.name: f for f in graph.library.function}
    saver = meta_graph.saver_def
    saver_nodes, saver_funcs = _reach(
        graph, functions, [saver.save_tensor_name, saver.restore_op_name]
    )
    serving = [t.name for s in meta_graph.signature_def.values() for t in s.outputs.values()]
    serving_nodes, serving_funcs = _reach(graph, functions, serving)
    located = [
        (node, "graph", node.name in saver_nodes and node.name not in serving_nodes)
        for node in graph.node
    ]
    for name, function in functions.items():
        in_saver = name in saver_funcs and name not in serving_funcs
        located += [(node, f"function {name}", in_saver) for node in function.node_def]
    for node, where, in_saver in located:
        reason = _reason(node, functions, registered, in_saver=in_saver)
        if reason:
            yield node.op, reason, where


def _reason(node: Any, functions: dict[str, Any], registered: Any, *, in_saver: bool) -> str:
    op = node.op
    if op in PYTHON_OPS:
        return "runs Python code"
    if op in FILE_OPS:
        return "reads or writes files"
    if op in NETWORK_OPS:
        return "uses the network"
    if op in CHECKPOINT_OPS and not in_saver:
        return "checkpoint I/O outside the SavedModel saver"
    if op == "PrintV2":
        stream = node.attr["output_stream"].s.decode("utf-8", "replace")
        if stream.startswith("file://"):
            return "prints to a file"
    if op not in functions and registered(op) is None:
        return "unknown to this TensorFlow (custom kernel)"
    return ""


def _reach(
    graph: Any, functions: dict[str, Any], tensors: Iterable[str]
) -> tuple[set[str], set[str]]:
    """Return (top-level nodes, library functions) reachable backwards from ``tensors``."""
    nodes = {node.name: node for node in graph.node}
    pending = [_node_name(t) for t in tensors if t]
    seen: set[str] = set()
    called: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in nodes:
            continue
        seen.add(name)
        called |= _callees(nodes[name], functions)
        pending.extend(_node_name(i) for i in nodes[name].input)
    queue = list(called)
    while queue:
        for node in functions[queue.pop()].node_def:
            for callee in _callees(node, functions) - called:
                called.add(callee)
                queue.append(callee)
    return seen, called


def _callees(node: Any, functions: dict[str, Any]) -> set[str]:
    names = {node.op}
    for attr in node.attr.values():
        if attr.HasField("func"):
            names.add(attr.func.name)
        if attr.HasField("list"):
            names.update(f.name for f in attr.list.func)
    return {n for n in names if n in functions}


def _node_name(tensor: str) -> str:
    return tensor.lstrip("^").split(":")[0]
