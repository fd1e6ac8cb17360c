"""The admin of model_bench: read-only where the services own the writes."""
