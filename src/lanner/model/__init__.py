"""Values only: flows, task and trigger specifications, inputs.  No I/O here.

Every model is a frozen pydantic model whose fields are spelled in camelCase in
YAML and JSON (Kestra's spelling) and snake_case in Python.
"""
