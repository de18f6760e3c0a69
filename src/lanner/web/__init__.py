"""The webserver: Kestra's REST API (``/api/v1``), health endpoints for rolling deploys."""
