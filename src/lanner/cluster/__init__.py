"""Service instances, heartbeats, the liveness coordinator and graceful shutdown."""
