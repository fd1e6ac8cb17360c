"""The only code of curation that changes state: one function per use case, transactional and
permission-checked."""
