"""Celery tasks of model_bench: thin wrappers that take primary keys, lock the row, check its
state, and import the service they call inside the task function (routes in queues.py).
"""
