"""pipeline.core.errors.sanitise: what a scheduler may see of an exception raised by a step."""

from __future__ import annotations

from pipeline.core.errors import FormatError, StepFailed, sanitise
from pipeline.ingest import IngestError

CANARY = "Patient Quillfeatherby"


def _raised(exc: Exception, tmp_path) -> BaseException:  # noqa: ANN001 - pytest's tmp_path
    try:
        raise exc
    except Exception as caught:  # noqa: BLE001 - the point: any exception
        return sanitise(caught, tmp_path, "clean")


def test_our_phi_free_errors_pass_unchanged(tmp_path):
    exc = FormatError("train.tsv:2: expected a tag")
    assert _raised(exc, tmp_path) is exc and not (tmp_path / "_errors").exists()


def test_a_file_naming_error_passes_redacted_and_the_name_stays_local(tmp_path):
    out = _raised(IngestError("MRN123.csv", "no column 'text'"), tmp_path)
    assert isinstance(out, StepFailed) and "MRN123" not in str(out) and "no column 'text'" in str(out)
    (log,) = (tmp_path / "_errors").glob("clean-*.log")
    assert "MRN123.csv" in log.read_text()


def test_anything_else_is_its_type_with_the_traceback_kept_under_the_data_root(tmp_path):
    out = _raised(ValueError(f"cannot parse {CANARY!r}"), tmp_path)
    assert isinstance(out, StepFailed) and str(out).startswith("stage 'clean' failed with ValueError")
    assert CANARY not in str(out) and not out.retryable
    (log,) = (tmp_path / "_errors").glob("clean-*.log")
    assert CANARY in log.read_text() and "Traceback" in log.read_text()
    assert _raised(ConnectionResetError("peer"), tmp_path).retryable  # I/O that may pass on another attempt
    assert not _raised(FileNotFoundError("gone"), tmp_path).retryable
