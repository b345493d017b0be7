#!/usr/bin/env python3
"""Records PyTorch's weight averaging (SWA) for snapfold's averageWeights tests.

Run with Debian's interpreter (python3-torch 1.13):

    /usr/bin/python3 tools/average_fixtures.py

It writes tests/fixtures/average_weights.json. Each case trains a small MLP with SGD, and after
every few steps copies the parameters (a "snapshot") and calls
torch.optim.swa_utils.AveragedModel.update_parameters, as the SWA recipe does once per epoch. It
records every snapshot's parameters and the averaged model's parameters at the end, both in
snapfold's flat layout (per layer the weights [in, out] row-major, then the bias; torch's
Linear.weight is [out, in], so it is transposed). The "weighted" case gives AveragedModel an
avg_fn that keeps a weighted running mean, `avg += (p - avg) * w_k / (w_0 + ... + w_k)`.
"""

import json
import os

import torch
from torch.optim.swa_utils import AveragedModel

torch.manual_seed(0)
torch.set_num_threads(1)


def build(layers):
    modules = []
    for i in range(len(layers) - 1):
        modules.append(torch.nn.Linear(layers[i], layers[i + 1]))
        if i + 2 < len(layers):
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules)


def flat_params(model):
    parts = []
    for m in model:
        if isinstance(m, torch.nn.Linear):
            parts.append(m.weight.detach().t().reshape(-1))
            parts.append(m.bias.detach().reshape(-1))
    return torch.cat(parts)


def weighted_avg_fn(weights):
    totals = [sum(weights[: k + 1]) for k in range(len(weights))]

    def avg_fn(averaged, current, num_averaged):
        k = int(num_averaged)
        return averaged + (current - averaged) * (weights[k] / totals[k])

    return avg_fn


def run(name, layers, snapshots, steps_between, weights=None):
    model = build(layers)
    swa = AveragedModel(model) if weights is None else AveragedModel(
        model, avg_fn=weighted_avg_fn(weights))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(64, layers[0])
    y = torch.randint(0, layers[-1], (64,))
    taken = []
    for _ in range(snapshots):
        for _ in range(steps_between):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
        taken.append(flat_params(model).tolist())
        swa.update_parameters(model)
    case = {
        "name": name,
        "layers": layers,
        "snapshots": taken,
        "averaged": flat_params(swa.module).tolist(),
        "nAveraged": int(swa.n_averaged),
    }
    if weights is not None:
        case["weights"] = weights
    return case


def main():
    cases = [
        run("equal, 5 snapshots", [3, 5, 2], 5, 4),
        run("equal, 1 snapshot", [2, 4, 3], 1, 3),
        run("weighted, 4 snapshots", [4, 6, 3], 4, 5, weights=[1.0, 3.0, 0.0, 2.0]),
    ]
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "average_weights.json")
    with open(out, "w") as f:
        json.dump({"generator": "tools/average_fixtures.py", "torch": torch.__version__,
                   "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
