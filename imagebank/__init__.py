"""The bank's core: sites, memberships, subjects, cases, images, vocabularies and storage."""
