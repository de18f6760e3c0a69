"""A server process: the components it runs (webserver, executor, scheduler, worker) and their lifecycle.

The composition root: it may import every component package, and none of them imports it.
"""
