"""Preprocessing settings: one validated model per stage, loadable from YAML.

Each stage's parameters go into its fingerprint, so only fields that change a stage's *output* belong in
its params model. Execution knobs (worker count, data root) live on ``PreprocessConfig`` itself and never
enter a fingerprint: running on 1 or 8 workers must give the same dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def fingerprint_params(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class IngestParams(_Params):
    """How to read raw notes: which columns hold what (for tabular inputs)."""

    id_column: str = "note_id"
    text_column: str = "text"
    patient_column: str | None = "patient_id"
    note_type_column: str | None = "note_type"
    date_column: str | None = "note_date"
    formats: list[str] = Field(default_factory=lambda: ["csv", "parquet", "jsonl", "txt"])
    max_note_bytes: int = Field(
        32 << 20, ge=1, description="quarantine a note longer than this (a log dump or binary file, not a note)"
    )


class CleanParams(_Params):
    repair_mojibake: bool = True
    unescape_html: bool = True
    max_replacement_ratio: float = Field(
        0.05, ge=0, le=1, description="drop a note if more than this share of its characters were undecodable"
    )


class DedupParams(_Params):
    near: bool = True
    threshold: float = Field(0.8, gt=0, le=1, description="Jaccard similarity of word shingles to call a near-duplicate")
    shingle_size: int = Field(5, ge=1)
    num_perm: int = Field(128, ge=16)
    num_bands: int = Field(16, ge=1)
    seed: int = 42


class MetadataParams(_Params):
    """What the ``deid`` stage does with each metadata column (``pipeline.deid.metadata``, ``docs/privacy.md``)."""

    patient_id: Literal["hash", "drop"] = Field("hash", description="hash: keyed hash, one patient's notes stay linked")
    note_date: Literal["year", "shift", "drop"] = Field(
        "year",
        description="year: the year only (safe harbor); shift: moved by a keyed per-patient offset (keeps intervals; "
        "not safe harbor, needs an expert determination); drop",
    )
    date_shift_max_days: int = Field(365, ge=1, le=3650, description="largest date shift, in days (note_date: shift)")
    note_type: Literal["keep", "drop"] = "keep"
    key_env: str = Field("EHRLM_ID_KEY", description="environment variable holding the secret of the keyed hashes")


class DeidParams(_Params):
    keep_year: bool = Field(False, description="keep the year of dates (safe harbor allows it)")
    score_threshold: float = Field(0.3, ge=0, le=1)
    surrogates: bool = Field(
        False,
        description="replace PHI with consistent per-note fake values instead of tags (needs a secret key "
        "in the environment variable named by surrogate_key_env)",
    )
    surrogate_key_env: str = Field("EHRLM_SURROGATE_KEY", description="environment variable holding the surrogate key")
    mode: Literal["rules", "model", "rules+model"] = Field(
        "rules",
        description="rules: the rule recognizers; model: the learned PHI tagger only; rules+model: both, the tagger "
        "vetoing weakly anchored rule names and places it does not confirm (docs/deid.md, Combining)",
    )
    tagger: str | None = Field(None, description="folder of a PHI tagger trained by `ehrlm deid-train` (modes model, rules+model)")
    tagger_threshold: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="a word is PHI when the tagger's P(not O) reaches this; unset: the mode's default "
        "(pipeline.deid.stage.TAGGER_THRESHOLD: 0.75 in rules+model, 0.5 in model)",
    )
    metadata: MetadataParams = Field(default_factory=MetadataParams)
    residual_max_rate: float = Field(
        0.005,
        ge=0,
        le=1,
        description="fail the stage when more than this share of output notes still match a residual-PHI "
        "pattern (SSN, email, phone, m/d/yyyy date, MRN: digits, URL, IPv4)",
    )


    @model_validator(mode="after")
    def _tagger_for_model_modes(self) -> "DeidParams":
        if self.mode != "rules" and not self.tagger:
            raise ValueError(f"deid mode {self.mode!r} needs `tagger:` (a folder written by `ehrlm deid-train`)")
        return self

    def fingerprint_params(self) -> dict[str, Any]:
        """The tagger enters the fingerprint by content (``external_fingerprints``), not by where it lies."""
        return self.model_dump(mode="json", exclude={"tagger"})


class SentenceParams(_Params):
    splitter: Literal["clinical", "blingfire", "lines"] = "clinical"
    wrap_ratio: float = Field(0.6, gt=0, le=1, description="a line at least this share of the widest line is a soft wrap")
    min_chars: int = Field(1, ge=1)


class VocabParams(_Params):
    vocab_size: int = Field(8000, ge=100)
    min_frequency: int = Field(2, ge=1)
    lowercase: bool = False


class ShardParams(_Params):
    tokens_per_shard: int = Field(
        1_000_000, ge=1000, description="a shard closes at the first document boundary at or past this many tokens"
    )
    batch_rows: int = Field(4096, ge=1, description="sentences per Arrow record batch inside a shard")


class PreprocessConfig(BaseModel):
    """Everything the preprocessing DAG needs; the defaults are the demo's."""

    model_config = ConfigDict(extra="forbid")

    data_root: Path = Path("data")
    workers: int = Field(2, ge=1, description="processes for row-parallel stages; never changes outputs")
    ingest: IngestParams = IngestParams()
    clean: CleanParams = CleanParams()
    dedup: DedupParams = DedupParams()
    deid: DeidParams = DeidParams()
    sentences: SentenceParams = SentenceParams()
    vocab: VocabParams = VocabParams()
    shards: ShardParams = ShardParams()

    @classmethod
    def from_yaml(cls, path: Path) -> "PreprocessConfig":
        raw = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: expected a mapping of settings at the top level, got {type(raw).__name__}")
        return cls.model_validate(raw.get("preprocess", raw))

    def stage_params(self, stage: str) -> _Params:
        return getattr(self, stage)
