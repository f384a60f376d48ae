"""Prefect flows and the `ehrlm` command line."""
