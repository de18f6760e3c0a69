"""The execution engine: the executor decides (``decide``), the worker runs runnable tasks."""
