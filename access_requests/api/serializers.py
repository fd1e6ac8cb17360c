"""Serializers of access_requests's API: shapes and validation only, no writes (those go through
services).
"""
