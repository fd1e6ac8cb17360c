"""Read queries of curation, filtered by what the user may see (views and templates never
filter)."""
