#!/usr/bin/env python3
"""Writes the parity fixtures for lib/random.ts and lib/datasets.ts.

Run with Debian's interpreter, which has python3-sklearn (1.2.1) and NumPy:

    /usr/bin/python3 tools/make_blobs_fixtures.py

It writes tests/fixtures/blobs_random.json (raw np.random.RandomState sequences) and
tests/fixtures/blobs_make_blobs.json (sklearn.datasets.make_blobs outputs). Floats are written
with repr (shortest round-trip form), so the JSON holds every bit of every double.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.datasets import make_blobs

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures")


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def random_cases():
    cases = []
    seeds = [0, 1, 2, 42, 12345, 2**31 - 1, 2**32 - 1, [0], [1, 2, 3], [2**32 - 1, 0, 7],
             list(range(700))]
    for seed in seeds:
        rs = np.random.RandomState(seed)
        state = rs.get_state()
        key = [int(k) for k in state[1]]
        case = {
            "seed": seed,
            "keyHead": key[:8],
            "keyTail": key[-4:],
            "pos": int(state[2]),
        }
        case["uint32"] = [int(v) for v in rs.randint(0, 2**32, size=5, dtype=np.uint64)]
        case["randomSample"] = floats(rs.random_sample(7))
        # An odd count leaves a cached Gaussian, which the next call must use first.
        case["standardNormal"] = floats(rs.standard_normal(5))
        case["normalAfter"] = floats(rs.normal(3.0, 0.5, size=3))
        case["uniform"] = floats(rs.uniform(-10.0, 10.0, size=4))
        perm = np.arange(23)
        rs.shuffle(perm)
        case["shuffle23"] = [int(v) for v in perm]
        case["permutation1000"] = [int(v) for v in rs.permutation(1000)]
        case["afterShuffle"] = floats(rs.random_sample(3))
        cases.append(case)
    # A long stream that crosses several 624-word blocks.
    rs = np.random.RandomState(7)
    long_stream = floats(rs.random_sample(2000))
    return {"cases": cases, "longSeed": 7, "longRandomSample": long_stream[-10:],
            "longCount": 2000}


BLOB_ARGS = [
    # The tutorial's data set: 1100 points, 3 centers, std 2, random_state 2.
    dict(n_samples=1100, centers=3, n_features=2, cluster_std=2, random_state=2),
    dict(n_samples=100, random_state=0),
    dict(n_samples=10, centers=3, n_features=2, random_state=0),
    dict(n_samples=[3, 3, 4], centers=None, n_features=2, random_state=0),
    dict(n_samples=[20, 5, 11, 7], n_features=3, cluster_std=[0.5, 1.0, 2.5, 0.1],
         random_state=123),
    dict(n_samples=50, centers=[[0.0, 0.0], [5.0, -5.0], [-3.5, 2.25]], cluster_std=0.75,
         random_state=9),
    dict(n_samples=[7, 13], centers=[[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]],
         cluster_std=[1.5, 0.25], random_state=4),
    dict(n_samples=31, centers=4, n_features=1, random_state=5),
    dict(n_samples=61, centers=5, n_features=5, cluster_std=[1, 2, 3, 4, 5],
         center_box=(0.0, 1.0), random_state=77),
    dict(n_samples=40, centers=3, n_features=3, shuffle=False, random_state=11),
    dict(n_samples=33, centers=2, n_features=2, random_state=2**32 - 1),
    dict(n_samples=25, centers=6, n_features=2, random_state=2**31 + 12345,
         center_box=(-100.5, 3.25)),
    dict(n_samples=17, centers=3, n_features=4, cluster_std=3.5, center_box=(-1e-3, 1e-3),
         random_state=1),
    dict(n_samples=29, centers=2, n_features=3, random_state=[3, 1, 4, 1, 5]),
    dict(n_samples=[1, 1, 1], n_features=2, random_state=8, shuffle=False),
]


def camel(args):
    names = {"n_samples": "nSamples", "centers": "centers", "n_features": "nFeatures",
             "cluster_std": "clusterStd", "center_box": "centerBox", "shuffle": "shuffle",
             "random_state": "randomState"}
    out = {}
    for k, v in args.items():
        if v is None:
            continue
        out[names[k]] = list(v) if isinstance(v, tuple) else v
    return out


def blob_cases():
    cases = []
    for args in BLOB_ARGS:
        call = dict(args)
        if isinstance(call["random_state"], list):
            call["random_state"] = np.random.RandomState(call["random_state"])
        x, y, centers = make_blobs(**call, return_centers=True)
        cases.append({
            "options": camel(args),
            "nSamples": int(x.shape[0]),
            "nFeatures": int(x.shape[1]),
            "nCenters": int(centers.shape[0]),
            "x": floats(x),
            "y": [int(v) for v in y],
            "centers": floats(centers),
        })
    return cases


SPLIT_ARGS = [
    dict(n=40, test_size=None, train_size=None, random_state=0),
    dict(n=40, test_size=0.25, train_size=None, random_state=3),
    dict(n=37, test_size=0.3, train_size=None, random_state=11),
    dict(n=37, test_size=None, train_size=0.6, random_state=5),
    dict(n=50, test_size=7, train_size=20, random_state=2**32 - 1),
    dict(n=23, test_size=0.2, train_size=0.5, random_state=[1, 2]),
]


def split_cases():
    """sklearn.model_selection.train_test_split on arange rows, recording the chosen row ids."""
    from sklearn.model_selection import train_test_split
    cases = []
    for args in SPLIT_ARGS:
        rows = np.arange(args["n"])
        seed = args["random_state"]
        rs = np.random.RandomState(seed) if isinstance(seed, list) else seed
        train, test = train_test_split(rows, test_size=args["test_size"],
                                       train_size=args["train_size"], random_state=rs)
        options = {"seed": seed}
        if args["test_size"] is not None:
            options["testSize"] = args["test_size"]
        if args["train_size"] is not None:
            options["trainSize"] = args["train_size"]
        cases.append({"n": args["n"], "options": options, "train": [int(v) for v in train],
                      "test": [int(v) for v in test]})
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    meta = {"numpy": np.__version__, "sklearn": sklearn.__version__}
    with open(os.path.join(OUT, "blobs_random.json"), "w") as f:
        json.dump({"generatedBy": "tools/make_blobs_fixtures.py", **meta, **random_cases()}, f)
    with open(os.path.join(OUT, "blobs_make_blobs.json"), "w") as f:
        json.dump({"generatedBy": "tools/make_blobs_fixtures.py", **meta,
                   "cases": blob_cases(), "splits": split_cases()}, f)


if __name__ == "__main__":
    main()
