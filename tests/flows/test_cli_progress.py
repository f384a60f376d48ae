"""Progress when output is not a terminal: a line at each 10% and at least every 30 s while work advances."""

from __future__ import annotations

from flows import cli


def test_lines_at_each_tenth_and_on_a_steady_pace_with_an_eta(capsys, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(cli.time, "monotonic", lambda: clock[0])
    assert not cli.console.is_terminal  # pytest captures: like `ehrlm finetune ... > log`
    with cli._step_progress() as sink:
        sink("finetune_ner", 0, 1000)
        for step in range(1, 1001):
            clock[0] += 1.0  # one step a second: 1,000 s of training
            sink("finetune_ner", step, 1000)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("finetune_ner:")]
    assert len(lines) == 10 * 4  # per 100 s: 30 s, 60 s, 90 s after the last tenth, then the next tenth
    assert lines[0] == "finetune_ner: 30/1000 (3%), 30 s, ETA 970 s"
    assert lines[-1] == "finetune_ner: 1000/1000 (100%), 1000 s"


def test_deid_eval_reports_notes_scored_without_their_text(tmp_path):
    from typer.testing import CliRunner

    from pipeline.deid.eval import export_synth, read_gold

    n = export_synth(tmp_path / "gold", 40, seed=31, profile="heldout")
    names = [note.text[s.start:s.end] for note in read_gold(tmp_path / "gold") for s in note.spans if s.category == "NAME"]
    result = CliRunner().invoke(cli.app, ["deid-eval", "--gold", str(tmp_path / "gold")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("deid-eval:") and "%)" in line]
    assert lines[-1].startswith(f"deid-eval: {n}/{n} (100%)") and f"deid-eval: {n} notes" in result.output
    assert names and not any(name in result.output for name in names)
