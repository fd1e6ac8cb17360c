"""The web pages that compose the rest: home, dashboards per role, navigation."""
