"""Benchmark: default ``painterly digits train`` on the real MNIST, three seeds.

Prints per seed the test accuracy after every epoch against training time (the learning curve),
the final accuracy, the wall and CPU time, and checks the target: a mean of >= 99.3% within 5
minutes of training, >= 99.2% for every seed. The machine load (1-minute average) is printed
with every epoch, since other work on the CPU slows training.

    PYTHONPATH=. python benchmarks/digits_accuracy.py --data /path/to/mnist [--seeds 0 1 2]
    PYTHONPATH=. python benchmarks/digits_accuracy.py --data DIR --set epochs=10 --set shift=1.5
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from painterly.digits import mnist
from painterly.digits import training as digits

BUDGET_SECONDS = 300
TARGET_MEAN, TARGET_EVERY = 0.993, 0.992


def _parse_setting(text: str) -> tuple[str, object]:
    name, _, value = text.partition("=")
    kinds = {item.name: item.type for item in dataclasses.fields(digits.TrainOptions)}
    if name not in kinds:
        raise argparse.ArgumentTypeError(f"unknown option {name}: one of {', '.join(kinds)}")
    if name == "padding":
        return name, tuple(int(part) for part in value.split(","))
    kind = {"int": int, "float": float, "str": str}.get(str(kinds[name]), str)
    return name, kind(value)


def _print_epoch(event: digits.TrainProgress) -> None:
    if event.record is not None:
        print(f"  epoch {event.record.epoch}: {event.record.seconds:.0f}s (CPU "
              f"{event.record.cpu_seconds:.0f}s), test {event.record.test_accuracy:.2%}, load "
              f"{os.getloadavg()[0]:.1f}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help=f"MNIST folder (default ${mnist.DATA_ENV})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", type=_parse_setting, action="append", default=[],
                        metavar="NAME=VALUE", help="change one TrainOptions default")
    parser.add_argument("--models", type=Path, metavar="DIR",
                        help="also save each trained network as DIR/digits-seedN.pt")
    args = parser.parse_args()
    train, test = mnist.load_split(args.data, "train"), mnist.load_split(args.data, "test")
    overrides = dict(args.set)
    print(f"options: {dataclasses.replace(digits.TrainOptions(), **overrides)}")
    results = []
    for seed in args.seeds:
        options = dataclasses.replace(digits.TrainOptions(), seed=seed, **overrides)
        load_before = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        result = digits.train(train, options, test=test, progress=_print_epoch)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        curve = ", ".join(f"{record.seconds:.0f}s {record.test_accuracy:.2%}"
                          for record in result.history)
        final = result.history[-1]
        print(f"seed {seed}: curve (training time, test accuracy): {curve}")
        print(f"seed {seed}: test accuracy {final.test_accuracy:.2%}, training time "
              f"{final.seconds:.0f}s, wall time with evaluation {wall:.0f}s (CPU time {cpu:.0f}s "
              f"on {options.threads} threads), load average "
              f"{load_before:.1f} before / {os.getloadavg()[0]:.1f} after", flush=True)
        results.append(final)
        if args.models:
            args.models.mkdir(parents=True, exist_ok=True)
            digits.save_model(result.model, args.models / f"digits-seed{seed}.pt", options,
                              result.history)
    accuracies = [record.test_accuracy for record in results]
    longest_wall = max(record.seconds for record in results)
    longest_cpu = max(record.cpu_seconds for record in results)
    print(f"mean {sum(accuracies) / len(accuracies):.2%}, min {min(accuracies):.2%}, max "
          f"{max(accuracies):.2%}; longest training {longest_wall:.0f}s wall, "
          f"{longest_cpu:.0f}s CPU")
    accurate = min(accuracies) >= TARGET_EVERY and \
        sum(accuracies) / len(accuracies) >= TARGET_MEAN
    print(f"accuracy target (mean >= {TARGET_MEAN:.1%}, every seed >= {TARGET_EVERY:.1%}): "
          f"{'met' if accurate else 'NOT met'}")
    # On a machine shared with other work the wall time measures the others too; the CPU time
    # of one thread is what the training costs when it has a core to itself.
    print(f"time target (<= {BUDGET_SECONDS}s of training): wall "
          f"{'met' if longest_wall <= BUDGET_SECONDS else 'NOT met'}, CPU "
          f"{'met' if longest_cpu <= BUDGET_SECONDS else 'NOT met'}")
    return 0 if accurate and longest_wall <= BUDGET_SECONDS else 1

if __name__ == "__main__":
    sys.exit(main())
