"""The pages of model_bench, by subject; their templates are in templates/model_bench/."""
