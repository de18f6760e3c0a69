"""The engine's I/O shell: the executor loop, the worker, effects, and the services around them."""
