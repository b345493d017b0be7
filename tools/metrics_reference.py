"""Writes tests/fixtures/metrics_sklearn.json: metric values computed by scikit-learn 1.2.

Run with Debian's interpreter (python3-sklearn): /usr/bin/python3 tools/metrics_reference.py

scikit-learn has no expected calibration error; the "ece" values come from a short NumPy version of
the definition in Guo et al. 2017 (equal-width bins, (lo, hi] intervals), written independently of
the TypeScript one.
"""
import json
import pathlib

import numpy as np
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, mean_squared_error


def ece(probs, labels, bins):
    conf = probs.max(axis=1)
    pred = probs.argmax(axis=1)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if lo == 0.0:
            inside |= conf == 0.0
        if inside.any():
            total += abs((pred[inside] == labels[inside]).mean() - conf[inside].mean()) * inside.mean()
    return float(total)


def case(rng, n, classes, sharp):
    logits = rng.normal(size=(n, classes)) * sharp
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    # Exact zeros and ones exercise the clipping of log_loss.
    probs[0] = 0.0
    probs[0, 0] = 1.0
    labels = rng.integers(0, classes, size=n)
    labels[0] = classes - 1
    probs = probs.astype(np.float64)
    out = {
        "classes": classes,
        "probs": probs.ravel().tolist(),
        "labels": labels.tolist(),
        "accuracy": float(accuracy_score(labels, probs.argmax(axis=1))),
        "logLoss": float(log_loss(labels, probs, eps=1e-15, labels=list(range(classes)))),
        "ece15": ece(probs, labels, 15),
        "ece7": ece(probs, labels, 7),
    }
    if classes == 2:
        out["brierBinary"] = float(brier_score_loss(labels, probs[:, 1]))
    target = rng.normal(size=(n, classes))
    out["regressionTarget"] = target.ravel().tolist()
    out["mse"] = float(mean_squared_error(target, probs))
    return out


def main():
    rng = np.random.default_rng(20170424)
    cases = [case(rng, n, k, s) for n, k, s in [(50, 2, 1.0), (200, 3, 3.0), (97, 10, 0.5), (31, 2, 8.0)]]
    path = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "metrics_sklearn.json"
    path.write_text(json.dumps({"generator": "tools/metrics_reference.py", "cases": cases}) + "\n")


if __name__ == "__main__":
    main()
