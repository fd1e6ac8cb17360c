"""The data of access_requests (research groups, data use agreements, access requests, committee
decisions, grants, expiry, downloads and the download log) and its invariants.
"""
