"""The data library: one module per preprocessing stage, pure functions over Arrow/Polars data, no Prefect."""
