"""User errors on the command line: one clear line on stderr, exit 1, no traceback, no note text."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from flows.cli import DEBUG_ENV, main

NOTE = "Patient Zorblatt Quennington MRN 99887766 seen today"


def _ehrlm(args: list[str], monkeypatch, capsys) -> tuple[int, str, str]:  # noqa: ANN001 - pytest fixtures
    """``ehrlm ARGS`` in this process (the session's Prefect server): exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["ehrlm", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def _one_clear_line(done: tuple[int, str, str], expected: str) -> None:
    code, out, err = done
    assert code == 1, (out + err)[-2000:]
    assert "Traceback" not in out + err and "Zorblatt" not in out + err and "99887766" not in out + err
    assert f"error: {expected}" in " ".join(err.split()), err


@pytest.mark.parametrize(
    ("args", "unset_key", "expected"),
    [
        (["preprocess", "--input", "missing.csv"], False, "missing.csv: does not exist"),
        (["preprocess", "--input", "notes.csv", "--config", "typo.yaml"], False,
         "1 validation error for PreprocessConfig deid.kep_year"),
        (["preprocess", "--input", "notes.csv"], True, "deid: set a secret of at least 16 characters"),
        (["finetune", "ner", "--checkpoint", ".", "--data", "tasks", "--benchmark", "no-such"], False,
         "unknown benchmark 'no-such'"),
        (["finetune", "ner", "--checkpoint", ".", "--data", "tasks", "--benchmark", "mednli"], False,
         "benchmark 'mednli' is a nli benchmark"),
    ],
    ids=["missing input", "config typo", "no id key", "unknown benchmark", "benchmark of another task"],
)
def test_user_errors_are_one_line_before_anything_starts(tmp_path, monkeypatch, capsys, args, unset_key, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.csv").write_text(f"note_id,text\nn1,{NOTE}\n")
    (tmp_path / "typo.yaml").write_text("deid:\n  kep_year: true\n")
    (tmp_path / "tasks").mkdir()
    if unset_key:
        monkeypatch.delenv("EHRLM_ID_KEY")
    _one_clear_line(_ehrlm(args, monkeypatch, capsys), expected)


def test_a_file_error_inside_the_flow_is_one_line_that_names_the_log_not_the_file(tmp_path, monkeypatch, capsys):
    """A CSV without a header: Prefect has started; its records get the file as a hash, the terminal one line."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "MRN99887766.csv").write_text(f"n1,p1,progress,2020-01-01,{NOTE}\n")
    done = _ehrlm(["preprocess", "--input", "in", "--data-root", "data"], monkeypatch, capsys)
    _one_clear_line(done, "stage 'ingest': input file")
    assert "MRN99887766" not in done[1] + done[2]
    log = next((tmp_path / "data" / "_errors").glob("ingest-*.log"))
    assert "MRN99887766.csv" in log.read_text()  # the full message stays under the data root
    for path in Path(os.environ["PREFECT_HOME"]).rglob("*"):
        if path.is_file():
            assert b"MRN99887766" not in path.read_bytes() and b"Zorblatt" not in path.read_bytes(), path.name

    monkeypatch.setattr(sys, "argv", ["ehrlm", "preprocess", "--input", "in", "--data-root", "data", "--debug"])
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    with pytest.raises(Exception, match="stage 'ingest'"):  # --debug: the exception itself, with its traceback
        main()
    monkeypatch.delenv(DEBUG_ENV)
