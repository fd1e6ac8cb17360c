"""The only code that changes the bank's state: one function per use case, each transactional."""
