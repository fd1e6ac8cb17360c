"""The admin of curation: read-only where the services own the writes."""
