"""What operators do to a running Lanner, shared by the CLI, the API and the UI."""
