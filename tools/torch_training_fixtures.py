#!/usr/bin/env python3
"""Records short PyTorch training runs for snapfold's backend parity tests.

Run with Debian's interpreter (python3-torch 1.13):

    /usr/bin/python3 tools/torch_training_fixtures.py

It writes tests/fixtures/torch_training.json: for every case the network, the optimizer (in
snapfold's option names), the data, the initial parameters in snapfold's flat layout (per layer the
weights [in, out] row-major, then the bias; torch's Linear.weight is [out, in], so it is transposed),
the batches of every step (StepPlan's indices/offsets), the lr of every step (float32 values, set in
the optimizer's param group before each step), and what PyTorch produced: the loss of every step
(forward pass before that step's update) and the final parameters.
"""

import json
import math
import os

import numpy as np
import torch

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
               "linear": torch.nn.Identity}


def build(layers, activation):
    modules = []
    for i in range(len(layers) - 1):
        modules.append(torch.nn.Linear(layers[i], layers[i + 1]))
        if i + 2 < len(layers):
            modules.append(ACTIVATIONS[activation]())
    return torch.nn.Sequential(*modules)


def linears(model):
    return [m for m in model if isinstance(m, torch.nn.Linear)]


def flat_params(model):
    parts = []
    for lin in linears(model):
        parts.append(lin.weight.detach().t().contiguous().reshape(-1))  # [in, out] row-major
        parts.append(lin.bias.detach().reshape(-1))
    return torch.cat(parts)


def load_flat(model, flat):
    offset = 0
    with torch.no_grad():
        for lin in linears(model):
            out_dim, in_dim = lin.weight.shape
            w = flat[offset:offset + in_dim * out_dim].reshape(in_dim, out_dim)
            lin.weight.copy_(w.t())
            offset += in_dim * out_dim
            lin.bias.copy_(flat[offset:offset + out_dim])
            offset += out_dim


def make_optimizer(spec, params):
    kind = spec["kind"]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=0.1, momentum=spec.get("momentum", 0.0),
                               nesterov=spec.get("nesterov", False),
                               weight_decay=spec.get("weightDecay", 0.0))
    if kind == "adam":
        return torch.optim.Adam(params, lr=0.1, weight_decay=spec.get("weightDecay", 0.0))
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=0.1, weight_decay=spec.get("weightDecay", 0.01))
    raise ValueError(kind)


def batches(rng, n, batch_size, epochs):
    indices, offsets = [], [0]
    for _ in range(epochs):
        perm = rng.permutation(n)
        for start in range(0, n, batch_size):
            chunk = perm[start:start + batch_size]
            indices.extend(int(i) for i in chunk)
            offsets.append(offsets[-1] + len(chunk))
    return indices, offsets


def record(case, seed):
    rng = np.random.RandomState(seed)
    layers, head = case["layers"], case["head"]
    n, in_dim, out_dim = case["n"], layers[0], layers[-1]
    x = rng.normal(0, 1.5, size=(n, in_dim)).astype(np.float32)
    if head == "softmax":
        y = rng.randint(0, out_dim, size=n).astype(np.int64)
    else:
        y = rng.normal(0, 1, size=(n, out_dim)).astype(np.float32)
    torch.manual_seed(seed)
    model = build(layers, case["activation"])
    init = flat_params(model).clone()
    indices, offsets = batches(rng, n, case["batchSize"], case["epochs"])
    steps = len(offsets) - 1
    # A changing lr (cosine from lrMax to a tenth of it), rounded to float32 as a StepPlan holds it.
    lr_max = case["lrMax"]
    lrs = [float(np.float32(lr_max * (0.55 + 0.45 * math.cos(math.pi * s / steps))))
           for s in range(steps)]
    optimizer = make_optimizer(case["optimizer"], model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss() if head == "softmax" else torch.nn.MSELoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    losses = []
    for s in range(steps):
        rows = torch.tensor(indices[offsets[s]:offsets[s + 1]], dtype=torch.int64)
        for group in optimizer.param_groups:
            group["lr"] = lrs[s]
        optimizer.zero_grad()
        loss = loss_fn(model(xt[rows]), yt[rows])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {
        "name": case["name"],
        "layers": layers,
        "activation": case["activation"],
        "head": head,
        "optimizer": case["optimizer"],
        "n": n,
        "x": x.reshape(-1).tolist(),
        "y": y.reshape(-1).tolist(),
        "initParams": init.tolist(),
        "indices": indices,
        "offsets": offsets,
        "lrs": lrs,
        "losses": losses,
        "finalParams": flat_params(model).tolist(),
    }


CASES = [
    {"name": "sgd momentum pytorch, relu", "layers": [2, 7, 3], "activation": "relu",
     "head": "softmax", "n": 22, "batchSize": 8, "epochs": 4, "lrMax": 0.2,
     "optimizer": {"kind": "sgd", "momentum": 0.9, "convention": "pytorch"}},
    {"name": "sgd nesterov pytorch, tanh", "layers": [3, 6, 4], "activation": "tanh",
     "head": "softmax", "n": 20, "batchSize": 6, "epochs": 4, "lrMax": 0.3,
     "optimizer": {"kind": "sgd", "momentum": 0.9, "nesterov": True, "convention": "pytorch"}},
    {"name": "sgd weight decay, sigmoid", "layers": [2, 5, 4, 3], "activation": "sigmoid",
     "head": "softmax", "n": 17, "batchSize": 5, "epochs": 4, "lrMax": 0.5,
     "optimizer": {"kind": "sgd", "momentum": 0.5, "convention": "pytorch", "weightDecay": 0.01}},
    {"name": "plain sgd, linear activation", "layers": [4, 5, 2], "activation": "linear",
     "head": "softmax", "n": 16, "batchSize": 16, "epochs": 6, "lrMax": 0.1,
     "optimizer": {"kind": "sgd"}},
    {"name": "adam, relu", "layers": [3, 8, 6, 4], "activation": "relu", "head": "softmax",
     "n": 24, "batchSize": 7, "epochs": 4, "lrMax": 0.01,
     "optimizer": {"kind": "adam"}},
    {"name": "adam l2, tanh", "layers": [2, 6, 3], "activation": "tanh", "head": "softmax",
     "n": 15, "batchSize": 4, "epochs": 3, "lrMax": 0.02,
     "optimizer": {"kind": "adam", "weightDecay": 0.001}},
    {"name": "adamw, sigmoid", "layers": [2, 6, 3], "activation": "sigmoid", "head": "softmax",
     "n": 19, "batchSize": 6, "epochs": 4, "lrMax": 0.02,
     "optimizer": {"kind": "adamw", "weightDecay": 0.05}},
    {"name": "regression mse, sgd momentum", "layers": [3, 6, 2], "activation": "relu",
     "head": "linear", "n": 18, "batchSize": 5, "epochs": 4, "lrMax": 0.05,
     "optimizer": {"kind": "sgd", "momentum": 0.9, "convention": "pytorch"}},
    {"name": "regression mse, adam, batch 1", "layers": [2, 4, 1], "activation": "tanh",
     "head": "linear", "n": 6, "batchSize": 1, "epochs": 3, "lrMax": 0.01,
     "optimizer": {"kind": "adam"}},
]


def main():
    cases = [record(case, 100 + k) for k, case in enumerate(CASES)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "tests", "fixtures", "torch_training.json")
    with open(path, "w") as f:
        json.dump({"generator": "tools/torch_training_fixtures.py", "torch": torch.__version__,
                   "cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to tests/fixtures/torch_training.json")


if __name__ == "__main__":
    main()
