"""Loads a snapfold PyTorch export (safetensors) into torch.nn.Sequential with strict=True and prints
its predictions as JSON.

Debian has no safetensors package, so this reads the format directly (an 8-byte little-endian u64
header length, a JSON header, then the tensors' bytes) and builds each tensor with torch.frombuffer.
The network is built from the description in the input file (not from the file's metadata), so a
wrong name, shape or layout fails load_state_dict or the comparison.

Usage (Debian's python3-torch): /usr/bin/python3 tools/torch_load_check.py FILE INPUT_JSON
where INPUT_JSON holds {"x": [[...], ...], "layers": [5, 16, 4], "activation": "tanh",
"head": "softmax", "members": null or M}. Prints {"outputs": [...]}: one [n, outDim] array per
member (softmax applied for a "softmax" head).
"""
import json
import struct
import sys

import torch

ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    data = bytearray(raw[8 + n :])
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info
        begin, end = info["data_offsets"]
        flat = torch.frombuffer(data[begin:end], dtype=torch.float32) if end > begin else torch.empty(0)
        tensors[name] = flat.reshape(info["shape"]).clone()
    return tensors


def sequential(layers, activation):
    modules = []
    for i in range(len(layers) - 1):
        modules.append(torch.nn.Linear(layers[i], layers[i + 1]))
        if i + 2 < len(layers):
            modules.append(ACTIVATIONS[activation]())
    return torch.nn.Sequential(*modules)


def main(path, input_path):
    with open(input_path) as f:
        spec = json.load(f)
    tensors = read_safetensors(path)
    count = spec["members"]
    nets = [sequential(spec["layers"], spec["activation"]) for _ in range(count or 1)]
    model = torch.nn.ModuleList(nets) if count is not None else nets[0]
    model.load_state_dict(tensors, strict=True)
    model.eval()
    x = torch.tensor(spec["x"], dtype=torch.float32)
    outputs = []
    with torch.no_grad():
        for net in nets:
            out = net(x)
            if spec["head"] == "softmax":
                out = torch.softmax(out, dim=-1)
            outputs.append(out.tolist())
    print(json.dumps({"outputs": outputs}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
