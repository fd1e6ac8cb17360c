"""Benchmark tasks, reference models, jobs, submissions and leaderboards (upcoming issues)."""
