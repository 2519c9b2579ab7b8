"""phishline model-training: the data and training pipeline, one module per DVC stage."""
