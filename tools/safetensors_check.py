"""Reads a snapfold ensemble file the way a Python user would, without snapfold, and prints JSON.

The `safetensors` package is not installed on the project's machines (and cannot be fetched there),
so this reads the format directly as its specification describes it
(https://github.com/huggingface/safetensors, "Format"): an 8-byte little-endian u64 header length,
a JSON header, then the byte buffer, which the tensors must cover without holes or overlaps.
It checks those rules as the reference reader does (a header of at most 100,000,000 bytes that
starts with "{", no key twice), verifies snapfold's SHA-256 seal with hashlib (the data's digest in
"snapfold.data_sha256"; the digest of the first 8 + n bytes, with the 64 digits of
"snapfold.header_sha256" replaced by "0"s, in that key), then runs every member's forward pass with
NumPy.

Usage (Debian's interpreter has NumPy): /usr/bin/python3 tools/safetensors_check.py FILE X_JSON
where X_JSON is a file holding {"x": [[...], ...]}. Prints {"metadata", "sealed", "shapes", "probs"}:
probs[m] is member m's [n, outDim] output (softmax applied for a "softmax" head).
"""
import hashlib
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "U32": np.dtype("<u4")}
MAX_HEADER = 100_000_000
HEADER_SEAL = "snapfold.header_sha256"
DATA_SEAL = "snapfold.data_sha256"


def unique(pairs):
    keys = [k for k, _ in pairs]
    assert len(set(keys)) == len(keys), f"duplicate key in {keys}"
    return dict(pairs)


def verify_seal(raw, n, metadata):
    """True when the file is sealed and the seal matches; False for files written before seals."""
    if HEADER_SEAL not in metadata and DATA_SEAL not in metadata:
        return False
    assert hashlib.sha256(raw[8 + n :]).hexdigest() == metadata[DATA_SEAL], "data seal"
    seal = metadata[HEADER_SEAL].encode("ascii")
    prefix = f'"{HEADER_SEAL}":"'.encode("ascii")
    at = raw.index(prefix + seal + b'"', 8, 8 + n) + len(prefix)
    blanked = raw[:at] + b"0" * 64 + raw[at + 64 : 8 + n]
    assert hashlib.sha256(blanked).hexdigest() == metadata[HEADER_SEAL], "header seal"
    return True


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert 8 + n <= len(raw), "header length beyond the file"
    assert n <= MAX_HEADER, "header too large"
    assert raw[8:9] == b"{", "header must start with {"
    header = json.loads(raw[8 : 8 + n].decode("utf-8"), object_pairs_hook=unique)
    metadata = header.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in metadata.values()), "metadata values must be strings"
    sealed = verify_seal(raw, n, metadata)
    data = raw[8 + n :]
    spans = sorted((e["data_offsets"][0], e["data_offsets"][1], k) for k, e in header.items())
    at = 0
    for begin, end, name in spans:
        assert begin == at, f"{name} does not start where the previous tensor ends"
        at = end
    assert at == len(data), "tensors do not cover the buffer"
    tensors = {}
    for name, e in header.items():
        dtype = DTYPES[e["dtype"]]
        begin, end = e["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=dtype)
        assert array.size == int(np.prod(e["shape"], dtype=np.int64)), f"{name}: shape and span disagree"
        tensors[name] = array.reshape(e["shape"])
    return metadata, tensors, sealed


def activate(name, h):
    if name == "relu":
        return np.maximum(h, 0)
    if name == "tanh":
        return np.tanh(h)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-h))
    return h


def main():
    metadata, tensors, sealed = read(sys.argv[1])
    with open(sys.argv[2]) as f:
        x = np.asarray(json.load(f)["x"], dtype=np.float64)
    depth = len(json.loads(metadata["snapfold.layers"])) - 1
    members = len(json.loads(metadata["snapfold.members"]))
    probs = []
    for m in range(members):
        h = x
        for layer in range(depth):
            w = tensors[f"layers.{layer}.weight"][m].astype(np.float64)  # [inDim, outDim]
            b = tensors[f"layers.{layer}.bias"][m].astype(np.float64)  # [outDim]
            h = h @ w + b
            if layer < depth - 1:
                h = activate(metadata["snapfold.activation"], h)
        if metadata["snapfold.head"] == "softmax":
            h = np.exp(h - h.max(axis=1, keepdims=True))
            h = h / h.sum(axis=1, keepdims=True)
        probs.append(h.tolist())
    shapes = {k: list(v.shape) for k, v in tensors.items()}
    print(json.dumps({"metadata": metadata, "sealed": sealed, "shapes": shapes, "probs": probs}))


if __name__ == "__main__":
    main()
