"""The network and its training (pretraining and fine-tuning); no Prefect."""
