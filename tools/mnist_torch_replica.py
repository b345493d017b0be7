"""A PyTorch replica of the MNIST study's `single-cosine` and `snapshot` runs (examples/mnist.ts).

It reads what tools/mnist_replica_export.ts wrote for one seed (the split's rows and labels, the
initial parameters, the batch of every step, the float32 lr of every step, the optimizer resets,
the shift (dx, dy) of every batch row, the snapshot steps) and trains the same network on them with
PyTorch's autograd and float32 tensors:

- MLP 784-H-10, ReLU, softmax cross-entropy averaged over the batch; snapfold's flat layout is
  per layer the weights [in, out] row-major, then the bias, so `z = x @ W + b` with no transpose;
- SGD with momentum in snapfold's default (Keras) form, written out with tensor ops:
  `v = m * v - lr * g; w += v`. torch.optim.SGD keeps `v = m * v + g; w -= lr * v`, which is a
  different trajectory whenever the lr changes between steps (every step of a cosine schedule);
- each batch row shifted by its exported (dx, dy) with zero fill: pixel (r, c) of the shifted
  image is pixel (r - dy, c - dx) of the original;
- a snapshot after each exported snapshot step; a method's prediction is the equal-weight mean of
  its members' softmax probabilities (soft vote).

The scores are those of snapfold's `compareMethods` (lib/metrics.ts, lib/ensemble/compare.ts),
computed here in float64 numpy: accuracy, log-loss (probabilities clipped to [1e-15, 1 - 1e-15],
rows renormalised), log-loss after temperature scaling fitted on the validation rows, ECE over 15
equal-width bins (lo, hi], Brier score, and the members' mean pairwise disagreement.

Only the order of float32 operations differs from snapfold (OpenBLAS's products against
snapfold's kernels), so the results agree in distribution: the difference grows over thousands of
steps, and the test (tests/mnist_replica_test.ts) bounds it on the final scores.

    deno run --lock=tools/dev.lock -A tools/mnist_replica_export.ts --out "$DIR" --seed 1
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 tools/mnist_torch_replica.py "$DIR"

It prints one JSON object of the exporter's shape, with "implementation": "torch".
"""

import json
import math
import os
import sys

import numpy as np
import torch

FORMAT = "snapfold-mnist-replica/1"
DTYPES = {"float32": "<f4", "int32": "<i4", "int8": "i1", "uint8": "u1"}
BINS = 15
EPS = 1e-15


def load(directory):
    with open(os.path.join(directory, "header.json")) as f:
        header = json.load(f)
    if header.get("format") != FORMAT:
        raise SystemExit(f"Cannot read {directory}: format {header.get('format')!r}, not {FORMAT}")

    def array(name):
        spec = header["files"][name]
        data = np.fromfile(os.path.join(directory, name), dtype=DTYPES[spec["dtype"]])
        return torch.from_numpy(data.reshape(spec["shape"]).copy())

    return header, array


def check_protocol(header):
    model, opt = header["model"], header["optimizer"]
    ok = (len(model["layers"]) == 3 and model["activation"] == "relu"
          and model["head"] == "softmax" and opt["kind"] == "sgd" and not opt["nesterov"]
          and opt["convention"] == "keras" and opt["weightDecay"] == 0
          and header["protocol"]["dropout"] == 0)
    if not ok:
        raise SystemExit("Cannot replicate: only the study's MLP, Keras-form SGD momentum and no "
                         f"dropout are replicated: got {model}, {opt}")


def unflatten(flat, layers):
    """snapfold's flat vector: per layer weights [in, out] row-major, then the bias [out]."""
    params, at = [], 0
    for i in range(len(layers) - 1):
        fan_in, fan_out = layers[i], layers[i + 1]
        params.append(flat[at:at + fan_in * fan_out].reshape(fan_in, fan_out).clone())
        at += fan_in * fan_out
        params.append(flat[at:at + fan_out].clone())
        at += fan_out
    if at != flat.numel():
        raise SystemExit(f"Cannot replicate: {flat.numel()} parameters, the layout needs {at}")
    return params


def forward(params, x):
    w1, b1, w2, b2 = params
    return torch.relu(x @ w1 + b1) @ w2 + b2


def shifted(images, shifts, width, height, max_shift):
    """[B, width * height] images moved by shifts[b] = (dx, dy): out(r, c) = in(r - dy, c - dx)."""
    b = images.shape[0]
    m = max_shift
    padded = torch.nn.functional.pad(images.reshape(b, height, width), (m, m, m, m))
    dx = shifts[:, 0].long().reshape(b, 1, 1)
    dy = shifts[:, 1].long().reshape(b, 1, 1)
    rows = torch.arange(height).reshape(1, height, 1) - dy + m  # [B, H, 1]
    cols = torch.arange(width).reshape(1, 1, width) - dx + m  # [B, 1, W]
    return padded[torch.arange(b).reshape(b, 1, 1), rows, cols].reshape(b, height * width)


def train_run(run, header, array, x, y):
    """Trains one exported run: the members' parameters, the mean loss of each epoch and step."""
    layers = header["model"]["layers"]
    momentum = float(header["optimizer"]["momentum"])
    augment = header["augment"]
    params = [p.requires_grad_() for p in unflatten(array(run["init"]), layers)]
    velocity = [torch.zeros_like(p) for p in params]
    indices = array(run["indices"]).long()
    offsets = array(run["offsets"]).tolist()
    lrs = array(run["lrs"]).tolist()  # float32 values, as snapfold's StepPlan holds them
    resets = array(run["resets"]).tolist()
    shifts = array(run["shifts"]) if run["shifts"] is not None else None
    snapshot_steps = set(run["snapshotSteps"])
    n = header["data"]["train"]["n"]
    steps_per_epoch = math.ceil(n / header["protocol"]["batchSize"])
    members, epoch_loss, step_loss, loss_sum = [], [], [], 0.0
    for s in range(run["steps"]):
        lo, hi = offsets[s], offsets[s + 1]
        rows = indices[lo:hi]
        batch = x[rows]
        if shifts is not None:
            batch = shifted(batch, shifts[lo:hi], augment["width"], augment["height"],
                            augment["maxShift"])
        loss = torch.nn.functional.cross_entropy(forward(params, batch), y[rows])
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            if resets[s]:
                for v in velocity:
                    v.zero_()
            for p, v in zip(params, velocity):
                v.mul_(momentum).sub_(lrs[s] * p.grad)  # v = m v - lr g
                p.add_(v)  # w += v
        step_loss.append(loss.item())
        loss_sum += step_loss[-1] * (hi - lo)
        if (s + 1) % steps_per_epoch == 0:
            epoch_loss.append(loss_sum / n)
            loss_sum = 0.0
        if s in snapshot_steps:
            members.append([p.detach().clone() for p in params])
    return members, epoch_loss, step_loss


def probabilities(params, x):
    """[n, classes] float32 softmax of one member, as float64."""
    with torch.no_grad():
        return torch.softmax(forward(params, x), dim=1).numpy().astype(np.float64)


def log_loss(p, y):
    clipped = np.clip(p, EPS, 1 - EPS)
    return float(np.mean(-np.log(clipped[np.arange(len(y)), y] / clipped.sum(axis=1))))


def temper(p, t):
    with np.errstate(divide="ignore"):
        z = np.log(p) / t
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def fit_temperature(p, y):
    """The T in [0.01, 100] minimising the mean log-loss of softmax(log(p) / T) on (p, y).

    The loss is convex in beta = 1 / T; its slope is bisected to the root (or a bound).
    """
    with np.errstate(divide="ignore"):
        z = np.log(p)
    z = np.where(np.isneginf(z), math.log(EPS), z)
    picked = z[np.arange(len(y)), y]

    def slope(beta):
        e = np.exp(beta * z - (beta * z).max(axis=1, keepdims=True))
        q = e / e.sum(axis=1, keepdims=True)
        return float(np.mean((q * z).sum(axis=1) - picked))

    lo, hi = 1 / 100, 1 / 0.01
    if slope(lo) >= 0:
        return 1 / lo
    if slope(hi) <= 0:
        return 1 / hi
    for _ in range(200):
        mid = (lo + hi) / 2
        if slope(mid) > 0:
            hi = mid
        else:
            lo = mid
    return 2 / (lo + hi)


def ece(p, y):
    conf = p.max(axis=1)
    hit = (p.argmax(axis=1) == y).astype(np.float64)
    bins = np.clip(np.ceil(conf * BINS) - 1, 0, BINS - 1).astype(int)
    total = 0.0
    for b in range(BINS):
        inside = bins == b
        if inside.any():
            total += abs(hit[inside].mean() - conf[inside].mean()) * inside.sum() / len(y)
    return float(total)


def scores(method, member_probs, val_probs, y_test, y_val):
    # The soft vote, stored as float32 as snapfold's compareMethods keeps it.
    probs = np.mean(member_probs, axis=0).astype(np.float32).astype(np.float64)
    val = np.mean(val_probs, axis=0).astype(np.float32).astype(np.float64)
    t = fit_temperature(val, y_val)
    onehot = np.eye(probs.shape[1])[y_test]
    predicted = [m.argmax(axis=1) for m in member_probs]
    pairs = [(a, b) for a in range(len(predicted)) for b in range(a + 1, len(predicted))]
    return {
        "id": method["id"],
        "members": len(member_probs),
        "accuracy": float(np.mean(probs.argmax(axis=1) == y_test)),
        "logLoss": log_loss(probs, y_test),
        "logLossTemperature": log_loss(temper(probs, t).astype(np.float32).astype(np.float64),
                                       y_test),
        "ece": ece(probs, y_test),
        "brier": float(np.mean(((probs - onehot) ** 2).sum(axis=1))),
        "disagreement": (float(np.mean([np.mean(predicted[a] != predicted[b])
                                        for a, b in pairs])) if pairs else None),
    }


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: mnist_torch_replica.py DIR (written by mnist_replica_export.ts)")
    torch.set_num_threads(1)
    header, array = load(sys.argv[1])
    check_protocol(header)
    data = {name: (array(part["x"]), array(part["y"]).long())
            for name, part in header["data"].items()}
    x, y = data["train"]
    trained = {run["id"]: train_run(run, header, array, x, y) for run in header["runs"]}
    y_test, y_val = data["test"][1].numpy(), data["validation"][1].numpy()
    methods = []
    for method in header["methods"]:
        members = [trained[method["run"]][0][k] for k in method["members"]]
        methods.append(scores(method, [probabilities(m, data["test"][0]) for m in members],
                              [probabilities(m, data["validation"][0]) for m in members],
                              y_test, y_val))
    runs = [{"id": run["id"], "epochLoss": trained[run["id"]][1],
             "stepLoss": trained[run["id"]][2], "snapshotSteps": run["snapshotSteps"]}
            for run in header["runs"]]
    json.dump({"implementation": "torch", "torch": torch.__version__, "seed": header["seed"],
               "methods": methods, "runs": runs}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
