"""Checks an exported ONNX model with the ONNX project's own tools and prints what it found as JSON.

Runs `onnx.checker.check_model(model, full_check=True)` (which includes strict shape inference) and
`onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)`, then reports the IR
version, the opsets, the graph's inputs and outputs (name, element type, dims: an int or the symbolic
name of a dynamic dimension), the shapes inference gives the outputs, the operator types and the
metadata properties. Any failure exits non-zero with the checker's message on stderr.

Usage (Debian's python3-onnx 1.12): /usr/bin/python3 tools/onnx_check.py MODEL.onnx
"""
import json
import sys

import onnx
from onnx import shape_inference


def dims(value_info):
    shape = value_info.type.tensor_type.shape
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in shape.dim]


def describe(values):
    return [
        {"name": v.name, "elemType": v.type.tensor_type.elem_type, "dims": dims(v)}
        for v in values
    ]


def main(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    print(
        json.dumps(
            {
                "onnxVersion": onnx.__version__,
                "irVersion": model.ir_version,
                "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
                "producer": [model.producer_name, model.producer_version],
                "inputs": describe(model.graph.input),
                "outputs": describe(model.graph.output),
                "inferredOutputs": describe(inferred.graph.output),
                "ops": sorted({n.op_type for n in model.graph.node}),
                "metadata": {p.key: p.value for p in model.metadata_props},
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
