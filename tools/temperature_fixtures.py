#!/usr/bin/env python3
"""Records SciPy's temperature-scaling optimum for snapfold's fitTemperature tests.

Run with Debian's interpreter (python3-scipy, python3-numpy):

    /usr/bin/python3 tools/temperature_fixtures.py

It writes tests/fixtures/temperature.json. Each case holds [n, classes] log-probabilities (of one
over- or under-confident model, or the log of three members' averaged probabilities), the labels,
and the temperature T that scipy.optimize.minimize_scalar finds for the mean log-loss of
softmax(logProbs / T) (Guo et al. 2017) on T in [0.01, 100], with the loss there.
"""

import json
import os

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

rng = np.random.default_rng(2017)


def nll(log_probs, labels, t):
    scaled = log_softmax(log_probs / t, axis=1)
    return -float(np.mean(scaled[np.arange(len(labels)), labels]))


def sample(n, classes, sharpness):
    """Labels drawn from softmax(true logits); the model reports sharpness x those logits."""
    logits = rng.normal(size=(n, classes)) * 1.5
    p = np.exp(log_softmax(logits, axis=1))
    labels = np.array([rng.choice(classes, p=row) for row in p])
    return log_softmax(sharpness * logits, axis=1), labels


def case(name, log_probs, labels):
    log_probs = log_probs.astype(np.float32).astype(np.float64)  # what a Float32Array holds
    fit = minimize_scalar(lambda t: nll(log_probs, labels, t), bounds=(0.01, 100),
                          method="bounded", options={"xatol": 1e-12, "maxiter": 10000})
    return {"name": name, "classes": int(log_probs.shape[1]),
            "logProbs": log_probs.reshape(-1).tolist(), "labels": labels.tolist(),
            "temperature": float(fit.x), "logLoss": float(fit.fun),
            "unscaledLogLoss": nll(log_probs, labels, 1.0)}


def main():
    cases = []
    over, y = sample(300, 4, 3.0)
    cases.append(case("over-confident, 4 classes", over, y))
    under, y = sample(200, 3, 0.4)
    cases.append(case("under-confident, 3 classes", under, y))
    logits = rng.normal(size=(250, 5)) * 1.5
    p = np.exp(log_softmax(logits, axis=1))
    y = np.array([rng.choice(5, p=row) for row in p])
    members = [np.exp(log_softmax(2.5 * (logits + rng.normal(size=logits.shape)), axis=1))
               for _ in range(3)]
    cases.append(case("ensemble of 3, log of the mean", np.log(np.mean(members, axis=0)), y))
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "temperature.json")
    with open(out, "w") as f:
        json.dump({"generator": "tools/temperature_fixtures.py", "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
