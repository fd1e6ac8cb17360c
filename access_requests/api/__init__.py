"""The REST API of access_requests: views by subject, routes in urls.py, serializers in
serializers.py.
"""
