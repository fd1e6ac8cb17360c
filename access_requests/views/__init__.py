"""The pages of access_requests, by subject; their templates are in templates/access_requests/."""
