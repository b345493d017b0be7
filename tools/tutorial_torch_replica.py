"""A PyTorch replica of the snapshot-ensemble tutorial, for comparison with examples/blobs.ts.

Same data (scikit-learn's make_blobs: 1100 samples, 3 centers, 2 features, std 2, random_state 2;
the first 100 rows train, the other 1000 test), same network (2-25-3, ReLU, softmax cross-entropy,
Glorot-uniform weights and zero biases as Keras initialises them), same optimizer (SGD with momentum
0.9 in Keras' form, v = m v - lr g; w += v), same schedule (cosine annealing set once per epoch,
lrMax 0.01, 10 cycles of 50 epochs), batch 32, 500 epochs, a snapshot after epochs 49, 99, ..., 499,
and soft-vote ensembles of the last n snapshots. Only the random streams differ (torch's generator
draws the initial weights and batch order), so the numbers agree in distribution, not digit for
digit: the script runs several seeds and records their mean and spread.

Run with Debian's python3-sklearn and python3-torch:

    /usr/bin/python3 tools/tutorial_torch_replica.py > tests/fixtures/tutorial_torch_replica.json
"""

import json
import math
import sys

import numpy as np
import torch
from sklearn.datasets import make_blobs

EPOCHS = 500
CYCLES = 10
LR_MAX = 0.01
BATCH = 32
SEEDS = list(range(8))


def cosine_lr(epoch: int) -> float:
    length = EPOCHS // CYCLES
    return LR_MAX / 2 * (math.cos(math.pi * (epoch % length) / length) + 1)


def glorot(fan_in: int, fan_out: int, gen: torch.Generator) -> torch.Tensor:
    limit = math.sqrt(6 / (fan_in + fan_out))
    return (torch.rand(fan_in, fan_out, generator=gen, dtype=torch.float32) * 2 - 1) * limit


def run(seed: int, x_train, y_train, x_test, y_test) -> dict:
    gen = torch.Generator().manual_seed(seed)
    w1 = glorot(2, 25, gen).requires_grad_()
    b1 = torch.zeros(25, requires_grad=True)
    w2 = glorot(25, 3, gen).requires_grad_()
    b2 = torch.zeros(3, requires_grad=True)
    params = [w1, b1, w2, b2]
    velocity = [torch.zeros_like(p) for p in params]

    def forward(x):
        return torch.relu(x @ w1 + b1) @ w2 + b2

    snapshots = []
    n = x_train.shape[0]
    for epoch in range(EPOCHS):
        lr = cosine_lr(epoch)
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH]
            loss = torch.nn.functional.cross_entropy(forward(x_train[idx]), y_train[idx])
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():
                for p, v in zip(params, velocity):
                    v.mul_(0.9).sub_(lr * p.grad)  # Keras: v = m v - lr g
                    p.add_(v)  # w += v
        if (epoch + 1) % (EPOCHS // CYCLES) == 0:
            with torch.no_grad():
                snapshots.append(torch.softmax(forward(x_test), dim=1).numpy().astype(np.float64))

    y = y_test.numpy()
    members = list(reversed(snapshots))  # the tutorial's order: last snapshot first
    single = [float((m.argmax(1) == y).mean()) for m in members]
    ensemble = [float((np.mean(members[:k], axis=0).argmax(1) == y).mean())
                for k in range(1, len(members) + 1)]
    return {"seed": seed, "single": single, "ensemble": ensemble,
            "singleMean": float(np.mean(single))}


def main() -> None:
    torch.set_num_threads(1)
    x, y = make_blobs(n_samples=1100, centers=3, n_features=2, cluster_std=2, random_state=2)
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.int64)
    runs = [run(seed, x[:100], y[:100], x[100:], y[100:]) for seed in SEEDS]
    summary = {
        "singleMean": float(np.mean([r["singleMean"] for r in runs])),
        "singleMeanStd": float(np.std([r["singleMean"] for r in runs])),
        "ensembleMean": [float(np.mean([r["ensemble"][k] for r in runs])) for k in range(CYCLES)],
        "ensembleStd": [float(np.std([r["ensemble"][k] for r in runs])) for k in range(CYCLES)],
    }
    json.dump({"torch": torch.__version__, "seeds": SEEDS, "runs": runs, "summary": summary},
              sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
