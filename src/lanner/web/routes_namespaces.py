"""Namespaces and secrets' names (Kestra's ``/api/v1/{tenant}/namespaces`` and ``/secrets``).

As in Kestra's open-source edition, namespaces are implicit: those holding a flow or a KV key, their
parents, and Kestra's ``system`` namespace (:mod:`lanner.store.namespace_queries`).  A namespace has
no settings of its own: ``GET /namespaces/{id}`` answers any well-formed id, and its inherited
variables are none.  Secrets are the ``SECRET_*`` environment variables of the server, the same for
every namespace; their names are listed, never their values.
"""

from __future__ import annotations

import os
import re

from fastapi import APIRouter, Depends, Query, Request

from lanner.store import namespace_queries
from lanner.store.log_lines import SYSTEM_NAMESPACE
from lanner.web import query, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.schemas.base import PagedResults
from lanner.web.schemas.namespaces import Autocomplete, Namespace, SecretList, SecretMeta

router = APIRouter(tags=["Namespaces"])
AUTOCOMPLETE_SIZE = 50
SECRET_PREFIX = "SECRET_"
_NAMESPACE = re.compile(r"[a-z0-9][a-z0-9._-]*")


def _known(srv: Server, tenant: str, *, existing_only: bool) -> list[str]:
    with srv.engine.connect() as connection:
        holding = namespace_queries.holding(connection, tenant_id=tenant)
    if existing_only:
        return sorted(holding)
    return sorted(namespace_queries.tree(holding) | {SYSTEM_NAMESPACE})


def _checked(namespace: str) -> str:
    if not _NAMESPACE.fullmatch(namespace) or len(namespace) > 255:
        raise ApiError(400, f"{namespace[:100]!r} is not a namespace: a namespace starts with a lowercase letter "
                            "or a digit and holds only lowercase letters, digits, '.', '_' and '-'")
    return namespace


@router.get("/namespaces/search", response_model=PagedResults[Namespace])
def search(request: Request, q: str | None = None, existing: bool = False, page: query.Page = Depends(query.page),
           sort: list[str] = Query(default=[]), tenant: str = Depends(tenants.tenant),
           srv: Server = Depends(server)) -> PagedResults[Namespace]:
    """The namespaces whose id contains ``q`` (ignoring case); ``existing``: only those holding a flow or a KV
    key themselves (not the parents they imply, nor ``system``)."""
    filters = query.parse(request, "NAMESPACE")
    for leaf in filters.find("existingOnly"):
        existing = str(leaf.value).lower() == "true" if leaf.op == query.Op.EQUALS else str(
            leaf.value).lower() != "true"
    texts = [(str(leaf.value).lower(), leaf.op == query.Op.EQUALS) for leaf in filters.find("q")]
    if q is not None:
        texts.append((q.lower(), True))
    descending = any(s.descending for s in query.sorts(sort, ("id",), "id:asc"))
    found = [ns for ns in _known(srv, tenant, existing_only=existing)
             if all((text in ns.lower()) == wanted for text, wanted in texts)]
    if descending:
        found.reverse()
    return PagedResults[Namespace](results=[Namespace(id=ns) for ns in page.of(found)], total=len(found))


@router.post("/namespaces/autocomplete", response_model=list[str])
def autocomplete(body: Autocomplete, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> list[str]:
    """Up to 50 namespaces whose id contains ``q``, and the ``ids`` asked for that exist, sorted."""
    known = _known(srv, tenant, existing_only=bool(body.existing_only))
    forced = [ns for ns in known if ns in set(body.ids or [])]
    matching = [ns for ns in known if ns not in forced and (body.q is None or body.q.lower() in ns.lower())]
    return sorted(forced + matching[:AUTOCOMPLETE_SIZE])


@router.get("/namespaces/{namespace}/inherited-variables", response_model=dict[str, object])
def inherited_variables(namespace: str) -> dict[str, object]:
    """The variables the namespace inherits: none (namespace variables belong to the Enterprise Edition)."""
    _checked(namespace)
    return {}


def _secret_names() -> list[str]:
    return sorted(name[len(SECRET_PREFIX):] for name in os.environ
                  if name.startswith(SECRET_PREFIX) and len(name) > len(SECRET_PREFIX))


@router.get("/namespaces/{namespace}/inherited-secrets", response_model=dict[str, list[str]], tags=["Secrets"])
def inherited_secrets(namespace: str) -> dict[str, list[str]]:
    """The names of the secrets the namespace sees: every ``SECRET_*`` variable of the server (its name without
    the prefix), as Kestra's open-source edition answers."""
    return {_checked(namespace): _secret_names()}


@router.get("/secrets", response_model=SecretList, tags=["Secrets"])
def secrets(request: Request, page: query.Page = Depends(query.page), sort: list[str] = Query(default=[]),
            tenant: str = Depends(tenants.tenant)) -> SecretList:
    """A page of the secrets' names (``filters[q][EQUALS]``: those containing the text; the secrets are the same
    in every namespace), never their values."""
    filters = query.parse(request, "SECRET")
    names = _secret_names()
    for leaf in filters.find("q"):
        names = [n for n in names if (str(leaf.value).lower() in n.lower()) == (leaf.op == query.Op.EQUALS)]
    if any(s.descending for s in query.sorts(sort, ("key",), "key:asc")):
        names.reverse()
    return SecretList(results=[SecretMeta(key=name) for name in page.of(names)], total=len(names))


@router.get("/namespaces/{namespace}", response_model=Namespace)
def get(namespace: str) -> Namespace:
    """The namespace (any well-formed id: namespaces are implicit in Kestra's open-source edition)."""
    return Namespace(id=_checked(namespace))
