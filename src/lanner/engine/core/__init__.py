"""The engine's pure core: deciding what an execution does next, with no I/O."""
