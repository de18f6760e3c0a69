"""Custom dashboards: their YAML definitions (charts over executions, logs and metrics)."""
