"""Read queries of model_bench, filtered by what the user may see (views and templates never
filter).
"""
