"""Compiling a program with a DSPy optimizer, scored by a metric chosen by name.

The metric is one of a fixed set of functions defined here; code never
comes from the wire. BootstrapFewShot prints its summary with ``print``;
in a served worker that reaches stderr, because the host moves stdout there
once the readiness line is written.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from snakepit_dspy.catalog import METRICS
from snakepit_dspy.dspy_import import dspy
from snakepit_dspy.module_runner import using_lm
from snakepit_dspy.programs import Program
from snakepit_host import InvalidArgument

Metric = Callable[..., bool]


def _normalize(value: object) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", str(value).lower()).split())


def _compare(fields: list[str], same: Callable[[str, str], bool]) -> Metric:
    def metric(example: dspy.Example, prediction: dspy.Prediction, trace: object = None) -> bool:
        return all(same(str(example.get(f, "")), str(prediction.get(f, ""))) for f in fields)

    return metric


_COMPARISONS: dict[str, Callable[[str, str], bool]] = {
    "exact_match": lambda expected, got: expected.strip() == got.strip(),
    "normalized_match": lambda expected, got: _normalize(expected) == _normalize(got),
    "contains": lambda expected, got: _normalize(expected) in _normalize(got),
}


def metric_named(name: str, fields: list[str]) -> Metric:
    comparison = _COMPARISONS.get(name)
    if comparison is None:
        raise InvalidArgument(f"optimize_program: metric must be one of {', '.join(METRICS)}, got {name!r:.60}")
    return _compare(fields, comparison)


def trainset_examples(program: Program, items: list[dict[str, Any]], label_fields: list[str]) -> list[dspy.Example]:
    """Examples with the program's inputs marked, each holding every input and label field."""
    inputs = list(program.signature.input_fields)
    examples = []
    for index, item in enumerate(items):
        missing = [name for name in (*inputs, *label_fields) if name not in item]
        if missing:
            raise InvalidArgument(
                f"optimize_program: trainset[{index}] lacks {', '.join(missing)} "
                f"(signature '{program.signature.signature}')"
            )
        examples.append(dspy.Example(**item).with_inputs(*inputs))
    return examples


def optimize(program: Program, lm_for_call: Callable[[], Any], params: dict[str, Any]) -> dict[str, Any]:
    """Compile ``program`` in place; returns a summary (also kept in ``program.optimized_with``).

    ``params`` are optimize_program's, already checked against its schema
    (optimizer and metric names, counts and their ranges); ``lm_for_call``
    is only called by optimizers that run the LM (BootstrapFewShot).
    """
    optimizer_name = params["optimizer"]
    outputs = list(program.signature.output_fields)
    metric_field = params.get("metric_field")
    if metric_field is not None and metric_field not in outputs:
        raise InvalidArgument(
            f"optimize_program: metric_field {metric_field!r:.60} is not an output of '{program.signature.signature}'"
        )
    label_fields = [metric_field] if metric_field else outputs
    trainset = trainset_examples(program, params["trainset"], label_fields)
    metric_name = params.get("metric")

    if optimizer_name == "LabeledFewShot":
        if metric_name is not None:
            raise InvalidArgument(
                "optimize_program: LabeledFewShot uses no metric (it keeps labelled examples as demos)"
            )
        optimizer: Any = dspy.LabeledFewShot(k=int(params.get("k", 16)))
    else:
        if metric_name is None:
            raise InvalidArgument(f"optimize_program: BootstrapFewShot needs a 'metric' ({', '.join(METRICS)})")
        optimizer = dspy.BootstrapFewShot(
            metric=metric_named(metric_name, label_fields),
            max_bootstrapped_demos=int(params.get("max_bootstrapped_demos", 4)),
            max_labeled_demos=int(params.get("max_labeled_demos", 16)),
            max_rounds=int(params.get("max_rounds", 1)),
        )
    started = time.perf_counter()
    if optimizer_name == "LabeledFewShot":
        compiled = optimizer.compile(program.module, trainset=trainset)
    else:
        with using_lm(lm_for_call()):  # its progress prints reach stderr: serve() moves stdout there
            compiled = optimizer.compile(program.module, trainset=trainset)
    program.module = compiled
    program.optimized_with = {
        "optimizer": optimizer_name,
        "metric": metric_name,
        "metric_fields": label_fields if metric_name else None,
        "trainset_size": len(trainset),
        "demos": sum(len(p.demos) for p in compiled.predictors()),
        "seconds": round(time.perf_counter() - started, 3),
        "at": time.time(),
    }
    return dict(program.optimized_with)
