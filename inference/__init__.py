"""Models, training, evaluation, runtimes and the ranking service (land with the model and serving issues)."""
