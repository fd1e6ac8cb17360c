"""Research groups, data use agreements, access requests, grants and downloads (upcoming issues)."""
