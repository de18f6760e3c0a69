"""The API's request and response bodies as pydantic models, in Kestra's JSON shapes (camelCase).

One module per route family; :mod:`.base` holds what they share.  FastAPI answers through these
models (``response_model``), so the OpenAPI document is generated from the same declarations the
answers are built from, and clients (kestrapy) are checked against it.
"""
