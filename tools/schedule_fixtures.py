"""Writes tests/fixtures/schedules.json: learning rates recorded from PyTorch's own schedulers.

Run with Debian's interpreter, which has python3-torch (1.13):

    /usr/bin/python3 tools/schedule_fixtures.py

Each case drives a real torch scheduler the way a training loop does: one dummy parameter, a plain
SGD optimizer (momentum 0, so nothing but the lr changes), and for every step the lr is read from
`optimizer.param_groups[0]["lr"]` before `optimizer.step()` and `scheduler.step()` are called.
CyclicLR and OneCycleLR get `cycle_momentum=False`: cycling momentum does not touch the lr sequence,
and plain SGD without momentum could not take it anyway.

The options of each case are written in snapfold's camelCase names, so that a test can pass them
straight to the constructor of the same name (a sequence's options are `{ phases }` of schedule specs,
for scheduleFromSpec). The cosineAnnealing cases come from the snapshot ensemble tutorial's formula
(lrMin = 0), and the fge cases from eq. 2 of Garipov et al. 2018, both written out in plain Python.

The baselines: MultiStepLR, ExponentialLR, CosineAnnealingLR (recorded up to T_max, where snapfold's
cosineDecay starts holding eta_min), SWALR (built while the optimizer's lr is startLr, stepped once per
step) and SequentialLR (its schedulers share the optimizer's base lr, so each phase's spec uses it).
"""

import json
import math
import os
import warnings

import torch
from torch.optim import lr_scheduler, swa_utils

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


def multi_step(lr, milestones, gamma, steps):
    lrs = record(lambda opt: lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=gamma), lr, steps)
    options = {"lr": lr, "milestones": milestones, "gamma": gamma}
    return {"kind": "multiStep", "options": options, "steps": steps, "lr": lrs}


def exponential(lr, gamma, steps):
    lrs = record(lambda opt: lr_scheduler.ExponentialLR(opt, gamma=gamma), lr, steps)
    return {"kind": "exponentialDecay", "options": {"lr": lr, "gamma": gamma}, "steps": steps, "lr": lrs}


def cosine_decay(lr_max, total_steps, lr_min):
    # T_max + 1 steps: from lr_max at step 0 to eta_min at step T_max (torch would rise again after).
    steps = total_steps + 1
    lrs = record(
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps, eta_min=lr_min), lr_max, steps
    )
    options = {"lrMax": lr_max, "totalSteps": total_steps, "lrMin": lr_min}
    return {"kind": "cosineDecay", "options": options, "steps": steps, "lr": lrs}


def swa(swa_lr, anneal_steps, strategy, start_lr, steps):
    lrs = record(
        lambda opt: swa_utils.SWALR(
            opt, swa_lr=swa_lr, anneal_epochs=anneal_steps, anneal_strategy=strategy
        ),
        start_lr,
        steps,
    )
    options = {
        "swaLr": swa_lr,
        "annealSteps": anneal_steps,
        "annealStrategy": strategy,
        "startLr": start_lr,
    }
    return {"kind": "swaLr", "options": options, "steps": steps, "lr": lrs}


def sequential(lr, phases, steps):
    """phases: (make_scheduler(opt), snapfold spec, steps or None for the last)."""
    milestones = []
    for _, _, n in phases[:-1]:
        milestones.append((milestones[-1] if milestones else 0) + n)
    lrs = record(
        lambda opt: lr_scheduler.SequentialLR(
            opt, schedulers=[make(opt) for make, _, _ in phases], milestones=milestones
        ),
        lr,
        steps,
    )
    spec_phases = [
        {"schedule": spec} if n is None else {"schedule": spec, "steps": n} for _, spec, n in phases
    ]
    return {"kind": "sequence", "options": {"phases": spec_phases}, "steps": steps, "lr": lrs}


def fge(cycle, lr1, lr2, steps):
    # Garipov et al. 2018, eq. 2, for the 1-based iteration i = step + 1.
    lrs = []
    for step in range(steps):
        t = ((step + 1 - 1) % cycle + 1) / cycle
        lrs.append((1 - 2 * t) * lr1 + 2 * t * lr2 if t <= 0.5 else (2 - 2 * t) * lr2 + (2 * t - 1) * lr1)
    options = {"cycleLength": cycle, "lr1": lr1, "lr2": lr2}
    return {"kind": "fge", "options": options, "steps": steps, "lr": lrs}


def exp_spec(lr, gamma):
    return {"name": "exponentialDecay", "options": {"lr": lr, "gamma": gamma}}


def cos_spec(lr_max, total_steps, lr_min):
    return {"name": "cosineDecay", "options": {"lrMax": lr_max, "totalSteps": total_steps, "lrMin": lr_min}}


def multi_spec(lr, milestones, gamma):
    return {"name": "multiStep", "options": {"lr": lr, "milestones": milestones, "gamma": gamma}}


def baselines():
    return [
        multi_step(0.1, [30, 80], 0.1, 120),
        multi_step(0.05, [1, 2, 3, 10], 0.5, 20),
        multi_step(1.0, [0, 5], 0.3, 10),
        multi_step(0.2, [7], 2.0, 15),
        exponential(0.1, 0.95, 200),
        exponential(1.0, 0.5, 60),
        exponential(0.01, 1.0, 10),
        cosine_decay(0.1, 100, 0.0),
        cosine_decay(0.05, 37, 0.001),
        cosine_decay(1.0, 1, 0.0),
        cosine_decay(0.3, 500, 0.01),
        swa(0.05, 10, "cos", 0.1, 30),
        swa(0.01, 5, "linear", 0.2, 12),
        swa(0.02, 0, "cos", 0.1, 5),
        swa(0.5, 1, "cos", 0.1, 4),
        swa(0.001, 100, "cos", 0.05, 130),
        swa(0.05, 7, "linear", 0.0, 10),
        sequential(
            0.1,
            [
                (lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.9), exp_spec(0.1, 0.9), 5),
                (
                    lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=20, eta_min=0.001),
                    cos_spec(0.1, 20, 0.001),
                    None,
                ),
            ],
            26,
        ),
        sequential(
            0.2,
            [
                (lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[3], gamma=0.5), multi_spec(0.2, [3], 0.5), 6),
                (lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.8), exp_spec(0.2, 0.8), 10),
                (lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=15), cos_spec(0.2, 15, 0.0), None),
            ],
            32,
        ),
        fge(4, 0.05, 0.0005, 20),
        fge(10, 0.1, 0.001, 45),
        fge(2, 0.03, 0.0, 9),
    ]


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
        *baselines(),
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
