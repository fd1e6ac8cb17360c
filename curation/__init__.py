"""Quality checks, review queue, annotations, adjudication and dataset releases."""
