"""The REST API of curation: views by subject, routes in urls.py, serializers in serializers.py."""
