"""Small ONNX models for the submission tests, built with onnx.helper (no torch needed): a
classifier, a segmenter, and models that break one rule each."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _model(nodes, inputs, outputs, initialisers=(), opsets=None, functions=()):
    graph = helper.make_graph(nodes, "submitted", inputs, outputs, initializer=list(initialisers))
    model = helper.make_model(
        graph,
        opset_imports=opsets or [helper.make_opsetid("", OPSET)],
        functions=list(functions),
    )
    model.ir_version = 8
    return model


def image_input(size: int, batch="n", channels: int = 3, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info("image", elem, [batch, channels, size, size])


def classifier(size: int, classes: int = 2, weights=None, batch="n") -> bytes:
    """Mean colour of the image → a linear layer → softmax: (batch, classes) probabilities."""
    weights = np.asarray(
        weights if weights is not None else np.linspace(-2, 2, 3 * classes).reshape(3, classes),
        dtype=np.float32,
    )
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    output = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [batch, classes])
    model = _model(nodes, [image_input(size, batch)], [output],
                   [numpy_helper.from_array(weights, "w")])  # fmt: skip
    return model.SerializeToString()


def segmenter(size: int) -> bytes:
    """The red channel's excess over the mean, through a sigmoid: (batch, 1, S, S)."""
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1], keepdims=1),
        helper.make_node("Slice", ["image", "start", "end", "axis"], ["red"]),
        helper.make_node("Sub", ["red", "mean"], ["excess"]),
        helper.make_node("Mul", ["excess", "gain"], ["scaled"]),
        helper.make_node("Sigmoid", ["scaled"], ["mask"]),
    ]
    constants = [
        numpy_helper.from_array(np.asarray([0], np.int64), "start"),
        numpy_helper.from_array(np.asarray([1], np.int64), "end"),
        numpy_helper.from_array(np.asarray([1], np.int64), "axis"),
        numpy_helper.from_array(np.asarray(40.0, np.float32), "gain"),
    ]
    output = helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["n", 1, size, size])
    return _model(nodes, [image_input(size)], [output], constants).SerializeToString()


def with_custom_operator(size: int) -> bytes:
    nodes = [helper.make_node("Steal", ["image"], ["out"], domain="com.example.evil")]
    output = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", 2])
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.example.evil", 1)]
    return _model(nodes, [image_input(size)], [output], opsets=opsets).SerializeToString()


def with_external_data(size: int) -> bytes:
    model = onnx.load_model_from_string(classifier(size))
    weights = model.graph.initializer[0]
    weights.ClearField("raw_data")
    weights.ClearField("float_data")
    weights.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "/etc/passwd"), ("offset", "0"), ("length", "24")):
        entry = weights.external_data.add()
        entry.key, entry.value = key, value
    return model.SerializeToString()


def producing_nan(size: int) -> bytes:
    """log(-mean): NaN for every image."""
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("Neg", ["flat"], ["negative"]),
        helper.make_node("Log", ["negative"], ["logged"]),
        helper.make_node("Slice", ["logged", "start", "end", "axis"], ["out"]),
    ]
    constants = [
        numpy_helper.from_array(np.asarray([0], np.int64), "start"),
        numpy_helper.from_array(np.asarray([2], np.int64), "end"),
        numpy_helper.from_array(np.asarray([1], np.int64), "axis"),
    ]
    output = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", 2])
    return _model(nodes, [image_input(size)], [output], constants).SerializeToString()


def slow(size: int, steps: int = 10**9) -> bytes:
    """A Loop that runs `steps` times before answering: it never ends within a test's limit."""
    body = helper.make_graph(
        [helper.make_node("Add", ["carried", "one"], ["carried_out"]),
         helper.make_node("Identity", ["condition"], ["condition_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("condition", TensorProto.BOOL, []),
         helper.make_tensor_value_info("carried", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("condition_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("carried_out", TensorProto.FLOAT, [1])],
        initializer=[numpy_helper.from_array(np.asarray([1.0], np.float32), "one")],
    )  # fmt: skip
    nodes = [
        helper.make_node("Loop", ["trips", "keep_going", "start"], ["counted"], body=body),
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("Slice", ["flat", "s0", "s2", "ax"], ["two"]),
        helper.make_node("Mul", ["two", "counted"], ["scaled"]),
        helper.make_node("Softmax", ["scaled"], ["out"], axis=1),
    ]
    constants = [
        numpy_helper.from_array(np.asarray(steps, np.int64), "trips"),
        numpy_helper.from_array(np.asarray(True), "keep_going"),
        numpy_helper.from_array(np.asarray([0.0], np.float32), "start"),
        numpy_helper.from_array(np.asarray([0], np.int64), "s0"),
        numpy_helper.from_array(np.asarray([2], np.int64), "s2"),
        numpy_helper.from_array(np.asarray([1], np.int64), "ax"),
    ]
    output = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", 2])
    return _model(nodes, [image_input(size)], [output], constants).SerializeToString()


def memory_hungry(size: int, gigabytes: int = 16) -> bytes:
    """Expands the input to `gigabytes` of floats before answering."""
    elements = gigabytes * 1024**3 // 4
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        helper.make_node("Expand", ["pooled", "shape"], ["huge"]),
        helper.make_node("ReduceMean", ["huge"], ["small"], keepdims=0),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("Slice", ["flat", "s0", "s2", "ax"], ["two"]),
        helper.make_node("Mul", ["two", "small"], ["scaled"]),
        helper.make_node("Softmax", ["scaled"], ["out"], axis=1),
    ]
    constants = [
        numpy_helper.from_array(np.asarray([1, 1, elements // 1024, 1024], np.int64), "shape"),
        numpy_helper.from_array(np.asarray([0], np.int64), "s0"),
        numpy_helper.from_array(np.asarray([2], np.int64), "s2"),
        numpy_helper.from_array(np.asarray([1], np.int64), "ax"),
    ]
    output = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", 2])
    return _model(nodes, [image_input(size)], [output], constants).SerializeToString()
