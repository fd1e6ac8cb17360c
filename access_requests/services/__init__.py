"""The only code of access_requests that changes state: one function per use case, transactional and
permission-checked."""
