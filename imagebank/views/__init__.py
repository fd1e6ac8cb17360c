"""The core's pages: cases, imports and the permission-checked file views."""
