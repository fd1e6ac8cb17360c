"""Serializers of model_bench's API: shapes and validation only, no writes (those go through
services).
"""
