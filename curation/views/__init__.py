"""The pages of curation, by subject; their templates are in templates/curation/."""
