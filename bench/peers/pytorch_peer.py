"""Peer runner: PyTorch (Debian's python3-torch, CPU), written the way a PyTorch user would: an
nn.Sequential of two Linear layers with a ReLU, nn.CrossEntropyLoss on the logits, torch.optim.SGD
with momentum, each epoch a torch.randperm of the rows cut into batches (the last one short), and
the learning rate set in the optimizer's param group from the workload's schedule (per epoch or
per step). The weights start from the workload's file (the same Glorot draw as every peer;
nn.Linear keeps its weight as [out, in], so the kernels are transposed). Only the loop is timed.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 bench/peers/pytorch_peer.py \
        --dir DIR --workload tutorial --runs 5 --threads 1

Debian's torch does its products through OpenBLAS, whose thread pool ignores torch.set_num_threads:
only OPENBLAS_NUM_THREADS (read when the library loads) limits it. The driver sets it and
OMP_NUM_THREADS per run; the label names what really ran, read back from OpenBLAS itself
(openblas_get_num_threads) and from torch.get_num_threads.

The file is not called torch.py: Python puts the script's folder first on sys.path, and that name
would shadow the package.

Prints one JSON line (a RunnerReport, see _workloads.ts) on stdout.
"""

import argparse
import ctypes
import json
import os
import time

import numpy as np
import torch


def openblas_threads():
    """Threads of the OpenBLAS loaded into this process, or None when none is loaded."""
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "libopenblas" in line})
    for path in paths:
        try:
            return int(ctypes.CDLL(path).openblas_get_num_threads())
        except (OSError, AttributeError):
            continue
    return None


def label(torch_threads, blas_threads):
    if blas_threads is None:
        threads = torch_threads
        what = "%d thread%s" % (threads, "" if threads == 1 else "s")
    elif blas_threads == torch_threads:
        what = "%d thread%s" % (torch_threads, "" if torch_threads == 1 else "s")
    else:
        what = "torch %d, OpenBLAS %d threads" % (torch_threads, blas_threads)
    pinned = os.environ.get("OPENBLAS_NUM_THREADS") is not None
    return "PyTorch (%s%s)" % (what, "" if pinned else ", default threading")


def load(directory, name):
    with open(os.path.join(directory, name + ".json")) as f:
        info = json.load(f)
    arrays = {}
    for key, suffix, dtype in [
        ("x", "x.f32", np.float32),
        ("y", "y.i32", np.int32),
        ("xTest", "xtest.f32", np.float32),
        ("yTest", "ytest.i32", np.int32),
        ("init", "init.f32", np.float32),
        ("lrs", "lrs.f32", np.float32),
    ]:
        arrays[key] = np.fromfile(os.path.join(directory, name + "." + suffix), dtype="<" + np.dtype(dtype).str[1:])
    return info, arrays


def build_model(layers, init):
    in_dim, hidden, classes = layers
    model = torch.nn.Sequential(
        torch.nn.Linear(in_dim, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, classes),
    )
    # snapfold's layout: W1 [in, hidden], b1, W2 [hidden, classes], b2.
    b1 = in_dim * hidden
    w2 = b1 + hidden
    b2 = w2 + hidden * classes
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(init[:b1].reshape(in_dim, hidden).T.copy()))
        model[0].bias.copy_(torch.from_numpy(init[b1:w2].copy()))
        model[2].weight.copy_(torch.from_numpy(init[w2:b2].reshape(hidden, classes).T.copy()))
        model[2].bias.copy_(torch.from_numpy(init[b2 : b2 + classes].copy()))
    return model


def train_once(info, x, y, init, lrs, seed):
    model = build_model(info["layers"], init)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=float(lrs[0]), momentum=info["momentum"])
    generator = torch.Generator().manual_seed(seed)
    n, batch, steps_per_epoch = info["n"], info["batchSize"], info["stepsPerEpoch"]
    per_epoch = info["lrPer"] == "epoch"
    epoch_losses = []
    started = time.perf_counter()
    step = 0
    for epoch in range(info["epochs"]):
        order = torch.randperm(n, generator=generator)
        total = 0.0
        if per_epoch:
            for group in optimizer.param_groups:
                group["lr"] = float(lrs[step])
        for s in range(steps_per_epoch):
            index = order[s * batch : (s + 1) * batch]
            if not per_epoch:
                for group in optimizer.param_groups:
                    group["lr"] = float(lrs[step])
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
            step += 1
        epoch_losses.append(total / n)
    elapsed = (time.perf_counter() - started) * 1000
    return model, elapsed, epoch_losses


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--workload", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    info, a = load(args.dir, args.workload)
    in_dim = info["layers"][0]
    x = torch.from_numpy(a["x"].reshape(info["n"], in_dim))
    y = torch.from_numpy(a["y"].astype(np.int64))
    x_test = torch.from_numpy(a["xTest"].reshape(info["nTest"], in_dim))
    y_test = a["yTest"]
    runs_ms = []
    for run in range(args.runs):
        model, elapsed, losses = train_once(info, x, y, a["init"], a["lrs"], run)
        runs_ms.append(elapsed)
    with torch.no_grad():
        predicted = model(x_test).argmax(dim=1).numpy()
    threads = torch.get_num_threads()
    blas = openblas_threads()
    print(json.dumps({
        "peer": label(threads, blas),
        "workload": args.workload,
        "runsMs": runs_ms,
        "loss": losses[-1],
        "firstLoss": losses[0],
        "testAccuracy": float((predicted == y_test).mean()),
        "notes": [
            "PyTorch %s on the CPU (products through OpenBLAS%s); torch's default intra-op "
            "threads here: %d; pinned runs set OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 and "
            "torch.set_num_threads(1)"
            % (torch.__version__, "" if blas is None else ", checked with openblas_get_num_threads",
               default_threads),
        ],
    }))


if __name__ == "__main__":
    main()
