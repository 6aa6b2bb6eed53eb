"""Real malicious model artifacts for the safety tests. Nothing here is ever loaded or run.

The pickles call ``os.system("true")`` if someone unpickles them; the tests only scan them.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np


class _RunsShell:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, ("true",))


def evil_pickle(protocol: int = 4) -> bytes:
    """A pickle that would run ``os.system('true')`` when loaded (it never is here)."""
    return pickle.dumps(_RunsShell(), protocol=protocol)


def torch_style_zip(path: Path) -> Path:
    """PyTorch's zip checkpoint layout (``archive/data.pkl``) holding the evil pickle."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", evil_pickle(2))
        archive.writestr("archive/version", "3\n")
    return path


def object_npy(path: Path) -> Path:
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return path


def lambda_keras(path: Path) -> Path:
    import keras

    inputs = keras.Input((3,))
    outputs = keras.layers.Lambda(lambda t: t * 2.0, name="double")(inputs)
    keras.Model(inputs, outputs).save(path)
    return path


def edit_keras_archive(
    source: Path, target: Path, *, config_edit: Any = None, extra: dict[str, bytes] | None = None
) -> Path:
    """Copy a .keras archive, editing config.json (a function on its JSON) or adding members."""
    import json

    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "config.json" and config_edit is not None:
                config = json.loads(data)
                config_edit(config)
                data = json.dumps(config).encode()
            dst.writestr(info, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return target


def pyfunc_savedmodel(path: Path) -> Path:
    import tensorflow as tf

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
        def serve(self, x: Any) -> Any:
            return tf.py_function(lambda a: a * 2.0, [x], tf.float32)

    module = Module()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


def file_io_savedmodel(path: Path) -> Path:
    import tensorflow as tf

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def serve(self, name: Any) -> Any:
            tf.io.write_file(name, "exfiltrated")
            return {"content": tf.io.read_file(name)}

    module = Module()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


def checkpoint_write_savedmodel(path: Path) -> Path:
    """A serving function that writes a checkpoint (SaveV2) to a path it is given."""
    import tensorflow as tf

    class Module(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.v = tf.Variable([1.0, 2.0])

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def serve(self, prefix: Any) -> Any:
            tf.raw_ops.SaveV2(
                prefix=prefix, tensor_names=["v"], shape_and_slices=[""], tensors=[self.v]
            )
            return {"out": tf.identity(self.v)}

    module = Module()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


def with_unknown_op(source: Path, target: Path) -> Path:
    """Copy a SavedModel folder, renaming one op of its serving function to an unknown op."""
    import shutil

    from tensorflow.core.protobuf import saved_model_pb2

    shutil.copytree(source, target)
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((target / "saved_model.pb").read_bytes())
    for function in saved.meta_graphs[0].graph_def.library.function:
        for node in function.node_def:
            if node.op == "MatMul":
                node.op = "EvilCustomKernel"
                (target / "saved_model.pb").write_bytes(saved.SerializeToString())
                return target
    raise AssertionError("no MatMul op found to rename")


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
