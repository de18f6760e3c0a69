"""Task, trigger and condition types, as plugins.  ``core`` holds Kestra's core types."""
