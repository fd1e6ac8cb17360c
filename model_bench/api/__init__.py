"""The REST API of model_bench: views by subject, routes in urls.py, serializers in
serializers.py."""
