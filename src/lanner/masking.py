"""The one mask every secret is shown as (``******``), and database URLs with their passwords masked."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import URL

MASK = "******"
_SENTINEL = "LannerMaskedSecret"  # letters only: rendered as is, then replaced by the mask


def _secret_parameter(name: str) -> bool:
    name = name.lower()
    return "password" in name or name in ("pass", "passwd", "pwd", "secret", "token")


def mask_url(url: URL) -> str:
    """``postgresql+psycopg://u:******@h/db``: the password (and any password-like query parameter) masked."""
    if url.password:
        url = url.set(password=_SENTINEL)
    secret_params = {name: _SENTINEL for name in url.query if _secret_parameter(name)}
    if secret_params:
        url = url.update_query_dict(secret_params)
    return url.render_as_string(hide_password=False).replace(_SENTINEL, MASK)


def mask_url_text(raw: str) -> str:
    """A URL given as text, masked; an unparseable one may still hold a password: masked whole."""
    from sqlalchemy.engine import make_url

    try:
        return mask_url(make_url(raw))
    except Exception:  # noqa: BLE001 - any parse failure
        return MASK
