"""The paper's reported test scores (GatorTron, Tables 1 and 2), to print next to ours on the same benchmark.

Only meaningful when the user fine-tunes on the official data of that benchmark (i2b2/n2c2 under their data
use agreements, MedNLI from PhysioNet, emrQA): the comparison table is built for the benchmark named by
the user, and the numbers are the GatorTron paper's own (Yang et al., "A large language model for
electronic health records", npj Digital Medicine 2022).
"""

from __future__ import annotations

from typing import Any

from pipeline.core.errors import UsageError

MODELS = ("BioBERT", "ClinicalBERT", "BioMegatron", "GatorTron-base (1/4 data)", "GatorTron-base", "GatorTron-medium", "GatorTron-large")
NA = None

_PRF = ("precision", "recall", "f1")

# benchmark -> (task, metric names, one row of values per model in MODELS order)
BENCHMARKS: dict[str, tuple[str, tuple[str, ...], tuple[tuple[float | None, ...], ...]]] = {
    "i2b2-2010": ("ner", _PRF, (
        (0.8693, 0.8653, 0.8673), (NA, NA, 0.8780), (0.8614, 0.8761, 0.8687), (0.8682, 0.9046, 0.8860),
        (0.8748, 0.9043, 0.8893), (0.8869, 0.9122, 0.8994), (0.8880, 0.9116, 0.8996))),
    "i2b2-2012": ("ner", _PRF, (
        (0.7478, 0.8037, 0.7747), (NA, NA, 0.7890), (0.7591, 0.8031, 0.7805), (0.7514, 0.8013, 0.7755),
        (0.7644, 0.8221, 0.7922), (0.7812, 0.8245, 0.8022), (0.7862, 0.8333, 0.8091))),
    "n2c2-2018-ner": ("ner", _PRF, (
        (0.8634, 0.8921, 0.8775), (0.8592, 0.8832, 0.8710), (0.8707, 0.8915, 0.8810), (0.8772, 0.8992, 0.8881),
        (0.8759, 0.9038, 0.8896), (0.8954, 0.9035, 0.8994), (0.8979, 0.9021, 0.9000))),
    "n2c2-2018-re": ("re", _PRF, (
        (0.9663, 0.9451, 0.9555), (0.9678, 0.9414, 0.9544), (0.9711, 0.9434, 0.9571), (0.9724, 0.9457, 0.9589),
        (0.9719, 0.9482, 0.9599), (0.9721, 0.9503, 0.9611), (0.9776, 0.9482, 0.9627))),
    "n2c2-2019-sts": ("sts", ("pearson",), ((0.8744,), (0.8787,), (0.8806,), (0.8675,), (0.8810,), (0.8903,), (0.8896,))),
    "mednli": ("nli", ("accuracy",), ((0.8050,), (0.8270,), (0.8390,), (0.8643,), (0.8670,), (0.8720,), (0.9020,))),
    "emrqa-medication": ("qa", ("f1", "exact_match"), (
        (0.6997, 0.2475), (0.6905, 0.2406), (0.7231, 0.2882), (0.7281, 0.2952), (0.7181, 0.2978), (0.7354, 0.3018), (0.7408, 0.3155))),
    "emrqa-relation": ("qa", ("f1", "exact_match"), (
        (0.9262, 0.8361), (0.9306, 0.8533), (0.9405, 0.8790), (0.9390, 0.8579), (0.9543, 0.9029), (0.9677, 0.9243), (0.9719, 0.9310))),
}

TASK_METRICS: dict[str, tuple[str, ...]] = {"ner": _PRF, "re": _PRF, "sts": ("pearson",), "nli": ("accuracy",), "qa": ("f1", "exact_match")}


def comparison(task: str, ours: dict[str, float], baseline: dict[str, float], benchmark: str | None = None, label: str = "this run") -> list[dict[str, Any]]:
    """Rows for a results table: this run, the trivial baseline, and -- for a named benchmark of the same
    task -- every model the paper reports. Scores are fractions rounded to 4 places; ``None`` = not reported."""
    names = TASK_METRICS[task]
    rows = [
        {"model": label, **{m: round(ours[m], 4) for m in names}},
        {"model": "trivial baseline", **{m: round(baseline[m], 4) for m in names}},
    ]
    if benchmark is not None:
        if benchmark not in BENCHMARKS:
            raise UsageError(f"unknown benchmark {benchmark!r}; known: {', '.join(BENCHMARKS)}")
        b_task, b_metrics, values = BENCHMARKS[benchmark]
        if b_task != task:
            raise UsageError(f"benchmark {benchmark!r} is a {b_task} benchmark, not {task}")
        for model, row in zip(MODELS, values):
            scores = dict(zip(b_metrics, row))
            rows.append({"model": f"{model} (paper, {benchmark})", **{m: scores.get(m) for m in names}})
    return rows
