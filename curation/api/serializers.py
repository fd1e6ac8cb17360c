"""Serializers of curation's API: shapes and validation only, no writes (those go through
services).
"""
