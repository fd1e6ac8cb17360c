"""The data of model_bench (benchmark tasks, reference models, training and evaluation jobs,
submissions, metrics and leaderboards) and its invariants.
"""
