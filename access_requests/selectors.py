"""Read queries of access_requests, filtered by what the user may see (views and templates never
filter).
"""
