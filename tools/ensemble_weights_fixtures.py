#!/usr/bin/env python3
"""Records SciPy's optimal ensemble weights for snapfold's fitEnsembleWeights tests.

Run with Debian's interpreter (python3-scipy, python3-numpy):

    /usr/bin/python3 tools/ensemble_weights_fixtures.py

It writes tests/fixtures/ensemble_weights.json. Each case holds M members' [n, classes]
probabilities (float32 values), the labels, and the weights on the simplex that
scipy.optimize.minimize(method="SLSQP") finds for the soft vote's mean log-loss
-mean_i log(sum_m w_m p_m[i, y_i]), with that loss.
"""

import json
import os

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax

rng = np.random.default_rng(2004)


def members(n, classes, m, noise, sharpness):
    logits = rng.normal(size=(n, classes)) * 1.5
    p = np.exp(log_softmax(logits, axis=1))
    labels = np.array([rng.choice(classes, p=row) for row in p])
    out = []
    for k in range(m):
        z = sharpness[k] * (logits + noise[k] * rng.normal(size=logits.shape))
        out.append(np.exp(log_softmax(z, axis=1)).astype(np.float32).astype(np.float64))
    return out, labels


def case(name, probs, labels):
    q = np.stack([p[np.arange(len(labels)), labels] for p in probs], axis=1)  # [n, M]
    q = np.maximum(q, 1e-15)

    def loss(w):
        return -float(np.mean(np.log(q @ w)))

    def grad(w):
        return -np.mean(q / (q @ w)[:, None], axis=0)

    m = q.shape[1]
    fit = minimize(loss, np.full(m, 1.0 / m), jac=grad, method="SLSQP",
                   bounds=[(0.0, 1.0)] * m,
                   constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1.0}],
                   options={"ftol": 1e-14, "maxiter": 1000})
    return {"name": name, "classes": int(probs[0].shape[1]),
            "members": [p.reshape(-1).tolist() for p in probs], "labels": labels.tolist(),
            "weights": fit.x.tolist(), "logLoss": float(fit.fun)}


def main():
    cases = []
    probs, y = members(300, 4, 4, [0.3, 1.0, 2.0, 0.6], [1.0, 2.0, 3.0, 0.7])
    cases.append(case("4 members of mixed quality", probs, y))
    probs, y = members(200, 3, 3, [0.5, 0.5, 4.0], [1.5, 1.5, 4.0])
    cases.append(case("3 members, one useless and over-confident", probs, y))
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures",
                       "ensemble_weights.json")
    with open(out, "w") as f:
        json.dump({"generator": "tools/ensemble_weights_fixtures.py", "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
