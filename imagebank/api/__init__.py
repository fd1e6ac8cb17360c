"""The core's REST API: base classes (base.py), one module per subject, routes in urls.py."""
