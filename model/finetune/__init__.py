"""Fine-tuning a BERT-family checkpoint on the paper's five clinical NLP tasks (no Prefect here).

``readers`` (benchmark formats) -> ``features`` / ``qa`` (model inputs) -> ``heads`` (the paper's output
layers) -> ``trainer`` (plain PyTorch loop) -> ``metrics``; ``tasks`` ties them per task and ``run`` makes a
fine-tuning run one fingerprinted, manifested output folder. ``paper`` holds the paper's scores.
"""
