"""Thin Prefect task wrappers around the `pipeline` stages."""
