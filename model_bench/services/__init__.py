"""The only code of model_bench that changes state: one function per use case, transactional and
permission-checked."""
