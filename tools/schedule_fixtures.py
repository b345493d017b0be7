"""Writes tests/fixtures/schedules.json: learning rates recorded from PyTorch's own schedulers.

Run with Debian's interpreter, which has python3-torch (1.13):

    /usr/bin/python3 tools/schedule_fixtures.py

Each case drives a real torch scheduler the way a training loop does: one dummy parameter, a plain
SGD optimizer (momentum 0, so nothing but the lr changes), and for every step the lr is read from
`optimizer.param_groups[0]["lr"]` before `optimizer.step()` and `scheduler.step()` are called.
CyclicLR and OneCycleLR get `cycle_momentum=False`: cycling momentum does not touch the lr sequence,
and plain SGD without momentum could not take it anyway.

The options of each case are written in snapfold's camelCase names, so that a test can pass them
straight to the constructor of the same name. The cosineAnnealing cases come from the snapshot
ensemble tutorial's formula (lrMin = 0), written out here in plain Python.
"""

import json
import math
import os
import warnings

import torch

warnings.filterwarnings("ignore")  # torch warns when stepping the scheduler before the optimizer


def record(make_scheduler, lr, steps):
    """Returns the lr of steps 0..steps-1 of the scheduler built by make_scheduler(optimizer)."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr, momentum=0.0)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for step in range(steps):
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        # The step after the last is never used, and OneCycleLR with pct_start=1 divides by zero there.
        if step + 1 < steps:
            scheduler.step()
    return lrs


def warm_restarts(cycle_length, multiplier, lr_max, lr_min, steps):
    lrs = record(
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            opt, T_0=cycle_length, T_mult=multiplier, eta_min=lr_min
        ),
        lr_max,
        steps,
    )
    options = {
        "cycleLength": cycle_length,
        "cycleLengthMultiplier": multiplier,
        "lrMax": lr_max,
        "lrMin": lr_min,
    }
    return {"kind": "warmRestarts", "options": options, "steps": steps, "lr": lrs}


def cyclical(base_lr, max_lr, up, down, mode, gamma, steps):
    lrs = record(
        lambda opt: torch.optim.lr_scheduler.CyclicLR(
            opt,
            base_lr=base_lr,
            max_lr=max_lr,
            step_size_up=up,
            step_size_down=down,
            mode=mode,
            gamma=gamma,
            cycle_momentum=False,
        ),
        base_lr,
        steps,
    )
    options = {"baseLr": base_lr, "maxLr": max_lr, "stepSizeUp": up, "mode": mode, "gamma": gamma}
    if down is not None:
        options["stepSizeDown"] = down
    return {"kind": "cyclical", "options": options, "steps": steps, "lr": lrs}


def one_cycle(max_lr, total_steps, pct_start, anneal, div_factor, final_div_factor):
    lrs = record(
        lambda opt: torch.optim.lr_scheduler.OneCycleLR(
            opt,
            max_lr=max_lr,
            total_steps=total_steps,
            pct_start=pct_start,
            anneal_strategy=anneal,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            cycle_momentum=False,
            three_phase=False,
        ),
        max_lr,
        total_steps,
    )
    options = {
        "maxLr": max_lr,
        "totalSteps": total_steps,
        "pctStart": pct_start,
        "anneal": anneal,
        "divFactor": div_factor,
        "finalDivFactor": final_div_factor,
    }
    return {"kind": "oneCycle", "options": options, "steps": total_steps, "lr": lrs}


def tutorial_cosine(lr_max, total_steps, cycles, steps):
    # The tutorial's per-epoch schedule: floor(n_epochs / n_cycles) epochs per cycle, lrMin = 0.
    per_cycle = total_steps // cycles
    lrs = [lr_max / 2 * (math.cos(math.pi * (t % per_cycle) / per_cycle) + 1) for t in range(steps)]
    options = {"lrMax": lr_max, "totalSteps": total_steps, "cycles": cycles}
    return {"kind": "cosineAnnealing", "options": options, "steps": steps, "lr": lrs}


def main():
    cases = [
        warm_restarts(10, 1, 0.1, 0.0, 100),
        warm_restarts(7, 2, 0.05, 0.001, 300),
        warm_restarts(3, 3, 1.0, 0.0, 200),
        warm_restarts(50, 1, 0.01, 1e-4, 1000),
        warm_restarts(1, 2, 0.1, 0.0, 100),
        warm_restarts(1, 1, 0.1, 0.0, 10),
        warm_restarts(5, 1, 0.1, 0.05, 37),
        warm_restarts(13, 2, 0.3, 1e-5, 500),
        warm_restarts(4, 5, 0.02, 0.0, 400),
        cyclical(0.001, 0.006, 20, None, "triangular", 1.0, 200),
        cyclical(0.01, 0.1, 7, 13, "triangular", 1.0, 150),
        cyclical(0.0, 0.5, 1, 1, "triangular", 1.0, 20),
        cyclical(0.001, 0.1, 10, 5, "triangular2", 1.0, 200),
        cyclical(0.002, 0.02, 1, 3, "triangular2", 1.0, 50),
        cyclical(0.001, 0.1, 15, 25, "exp_range", 0.99, 300),
        cyclical(0.0005, 0.05, 33, None, "exp_range", 0.999, 400),
        cyclical(0.01, 0.2, 4, 9, "exp_range", 0.9, 120),
        cyclical(0.01, 0.2, 6, None, "exp_range", 1.0, 37),
        one_cycle(0.1, 100, 0.3, "cos", 25.0, 1e4),
        one_cycle(0.01, 1000, 0.25, "cos", 10.0, 100.0),
        one_cycle(1.0, 37, 0.5, "cos", 25.0, 1e4),
        one_cycle(0.05, 37, 0.33, "cos", 4.0, 1.0),
        one_cycle(0.3, 100, 0.0, "cos", 25.0, 1e4),
        one_cycle(0.3, 37, 1.0, "cos", 25.0, 1e4),
        one_cycle(0.1, 1, 0.3, "cos", 25.0, 1e4),
        one_cycle(0.1, 100, 0.3, "linear", 25.0, 1e4),
        one_cycle(0.05, 37, 0.1, "linear", 5.0, 1e3),
        one_cycle(0.2, 1000, 0.45, "linear", 25.0, 1e4),
        one_cycle(0.2, 37, 1.0, "linear", 25.0, 1e4),
        one_cycle(0.02, 7, 0.01, "linear", 25.0, 1e4),
        tutorial_cosine(0.01, 500, 10, 500),
        tutorial_cosine(0.1, 100, 3, 120),
        tutorial_cosine(0.5, 37, 5, 37),
    ]
    out = {
        "generator": "tools/schedule_fixtures.py",
        "torch": torch.__version__,
        "cases": cases,
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "tests", "fixtures", "schedules.json")
    with open(path, "w") as f:
        json.dump(out, f)  # json writes floats with repr: the shortest text that reads back exactly
        f.write("\n")
    print(f"wrote {len(cases)} cases, {sum(c['steps'] for c in cases)} learning rates")


if __name__ == "__main__":
    main()
