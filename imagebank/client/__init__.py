"""The `imagebank` command-line client: sign in and send files to the bank's ingest API."""
