"""The core every step runs on: the Step protocol and executor, datasets and code versions, the DAG, lineage, process pools, errors."""
