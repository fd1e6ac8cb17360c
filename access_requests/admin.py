"""The admin of access_requests: read-only where the services own the writes."""
