"""The default tenant: ``main``, Kestra's name for the one tenant of a server without multi-tenancy.

Every row of user data, every queue message and every execution carries a tenant id;
what is created without one (the API's tenant-less paths, the CLI, flows deployed from
a folder) belongs to this tenant.  It lives here, in the pure model, so that every layer
(model defaults, the engine's payloads, the store's column defaults) names the same value.
"""

from __future__ import annotations

from typing import Final

DEFAULT_TENANT: Final = "main"
