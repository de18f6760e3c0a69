"""Kestra's REST routes, as data: the open-source routes of Kestra 0.21 and the paths kestrapy 2.0.3 calls.

Lanner answers Kestra's clients; this module is the list of what they may ask, so that what Lanner serves
can be measured against it (``python -m lanner.web.route_table`` writes the table of docs/api.md from it).

- :data:`KESTRA_0_21`: every route of Kestra 0.21's open-source webserver, read from its controllers
  (``webserver/src/main/java/io/kestra/webserver/controllers/api``) at the versions of early 2025, the last
  ones declared under ``/api/v1/`` with an optional tenant: flows 28, executions 51, logs 6, KV 5,
  namespaces and namespace files 12, triggers 18, plugins 8, stats 7 and metrics 6, community blueprints
  5, dashboards 9, the deprecated templates 13, configs and usages 2; 170 in all (the issue counted 171).
  They are written in the tenant form Kestra uses since 0.23 (``/api/v1/{tenant}/flows/...``) for the
  tenant-scoped families, and without a tenant for the tenant-free ones (plugins, configs).
- :data:`KESTRAPY_2_0_3`: the paths kestrapy 2.0.3 calls for those families, each marked with the
  Enterprise feature it needs when it is one (namespace secrets and credentials, promotions, licences...):
  the Enterprise families themselves (apps, audit logs, IAM, cases...) are out of scope and not listed.
- :data:`REASONS`: why Lanner does not serve a route (:data:`NOT_SERVED_YET` when none is written);
  :data:`DIFFERENCES`: how Lanner's answer differs from Kestra's, for a route it serves.

A route is ``(method, path, family)``; paths are compared with their parameters' names ignored
(:func:`template`).
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Route(NamedTuple):
    method: str
    path: str
    family: str


class ClientRoute(NamedTuple):
    method: str
    path: str
    family: str
    enterprise: str | None  # the Enterprise feature the route belongs to; None: open source


NOT_SERVED_YET = "not served yet"


def template(path: str) -> str:
    """The path with its parameters unnamed (``/flows/{namespace}/{id}`` → ``/flows/{}/{}``)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def key(method: str, path: str) -> tuple[str, str]:
    """What identifies a route: its method and its path's template."""
    return method.upper(), template(path)


def _rows(text: str) -> list[list[str]]:
    """The lines of a table below: method, path, then the rest split on runs of two spaces or more."""
    rows = []
    for line in text.strip().splitlines():
        method, path, rest = line.split(None, 2)
        rows.append([method, path, *re.split(r"\s{2,}", rest.strip())])
    return rows


# Kestra 0.21's open-source routes: method, path, family.
_KESTRA_0_21 = """
GET    /api/v1/{tenant}/flows/{namespace}/{id}/graph                                 flows
POST   /api/v1/{tenant}/flows/graph                                                  flows
GET    /api/v1/{tenant}/flows/{namespace}/{id}                                       flows
GET    /api/v1/{tenant}/flows/{namespace}/{id}/revisions                             flows
GET    /api/v1/{tenant}/flows/{namespace}/{id}/tasks/{taskId}                        flows
GET    /api/v1/{tenant}/flows/search                                                 flows
GET    /api/v1/{tenant}/flows/{namespace}                                            flows
GET    /api/v1/{tenant}/flows/source                                                 flows
POST   /api/v1/{tenant}/flows                                                        flows
POST   /api/v1/{tenant}/flows/{namespace}                                            flows
PUT    /api/v1/{tenant}/flows/{namespace}/{id}                                       flows
POST   /api/v1/{tenant}/flows/bulk                                                   flows
PATCH  /api/v1/{tenant}/flows/{namespace}/{id}/{taskId}                              flows
DELETE /api/v1/{tenant}/flows/{namespace}/{id}                                       flows
GET    /api/v1/{tenant}/flows/distinct-namespaces                                    flows
GET    /api/v1/{tenant}/flows/{namespace}/{id}/dependencies                          flows
POST   /api/v1/{tenant}/flows/validate                                               flows
POST   /api/v1/{tenant}/flows/validate/task                                          flows
POST   /api/v1/{tenant}/flows/validate/trigger                                       flows
GET    /api/v1/{tenant}/flows/export/by-query                                        flows
POST   /api/v1/{tenant}/flows/export/by-ids                                          flows
DELETE /api/v1/{tenant}/flows/delete/by-query                                        flows
DELETE /api/v1/{tenant}/flows/delete/by-ids                                          flows
POST   /api/v1/{tenant}/flows/disable/by-query                                       flows
POST   /api/v1/{tenant}/flows/disable/by-ids                                         flows
POST   /api/v1/{tenant}/flows/enable/by-query                                        flows
POST   /api/v1/{tenant}/flows/enable/by-ids                                          flows
POST   /api/v1/{tenant}/flows/import                                                 flows
GET    /api/v1/{tenant}/executions/search                                            executions
GET    /api/v1/{tenant}/executions/{executionId}/graph                               executions
POST   /api/v1/{tenant}/executions/{executionId}/eval/{taskRunId}                    executions
GET    /api/v1/{tenant}/executions/{executionId}                                     executions
DELETE /api/v1/{tenant}/executions/{executionId}                                     executions
DELETE /api/v1/{tenant}/executions/by-ids                                            executions
DELETE /api/v1/{tenant}/executions/by-query                                          executions
GET    /api/v1/{tenant}/executions                                                   executions
POST   /api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}                    executions
GET    /api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}                    executions
PUT    /api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}                    executions
POST   /api/v1/{tenant}/executions/trigger/{namespace}/{id}                          executions
POST   /api/v1/{tenant}/executions/{namespace}/{id}/validate                         executions
POST   /api/v1/{tenant}/executions/{namespace}/{id}                                  executions
GET    /api/v1/{tenant}/executions/{executionId}/file                                executions
GET    /api/v1/{tenant}/executions/{executionId}/file/metas                          executions
POST   /api/v1/{tenant}/executions/{executionId}/restart                             executions
POST   /api/v1/{tenant}/executions/restart/by-ids                                    executions
POST   /api/v1/{tenant}/executions/restart/by-query                                  executions
POST   /api/v1/{tenant}/executions/{executionId}/replay                              executions
POST   /api/v1/{tenant}/executions/{executionId}/state                               executions
POST   /api/v1/{tenant}/executions/{executionId}/change-status                       executions
POST   /api/v1/{tenant}/executions/change-status/by-ids                              executions
POST   /api/v1/{tenant}/executions/change-status/by-query                            executions
DELETE /api/v1/{tenant}/executions/{executionId}/kill                                executions
DELETE /api/v1/{tenant}/executions/kill/by-ids                                       executions
DELETE /api/v1/{tenant}/executions/kill/by-query                                     executions
POST   /api/v1/{tenant}/executions/{executionId}/resume/validate                     executions
POST   /api/v1/{tenant}/executions/{executionId}/resume                              executions
POST   /api/v1/{tenant}/executions/resume/by-ids                                     executions
POST   /api/v1/{tenant}/executions/resume/by-query                                   executions
POST   /api/v1/{tenant}/executions/{executionId}/pause                               executions
POST   /api/v1/{tenant}/executions/pause/by-ids                                      executions
POST   /api/v1/{tenant}/executions/pause/by-query                                    executions
POST   /api/v1/{tenant}/executions/replay/by-ids                                     executions
POST   /api/v1/{tenant}/executions/replay/by-query                                   executions
GET    /api/v1/{tenant}/executions/{executionId}/follow                              executions
GET    /api/v1/{tenant}/executions/{executionId}/file/preview                        executions
POST   /api/v1/{tenant}/executions/{executionId}/labels                              executions
POST   /api/v1/{tenant}/executions/labels/by-ids                                     executions
POST   /api/v1/{tenant}/executions/labels/by-query                                   executions
POST   /api/v1/{tenant}/executions/{executionId}/unqueue                             executions
POST   /api/v1/{tenant}/executions/unqueue/by-ids                                    executions
POST   /api/v1/{tenant}/executions/unqueue/by-query                                  executions
POST   /api/v1/{tenant}/executions/{executionId}/force-run                           executions
POST   /api/v1/{tenant}/executions/force-run/by-ids                                  executions
POST   /api/v1/{tenant}/executions/force-run/by-query                                executions
GET    /api/v1/{tenant}/executions/{executionId}/flow                                executions
GET    /api/v1/{tenant}/executions/flows/{namespace}/{flowId}                        executions
GET    /api/v1/{tenant}/executions/namespaces                                        executions
GET    /api/v1/{tenant}/executions/namespaces/{namespace}/flows                      executions
GET    /api/v1/{tenant}/logs/search                                                  logs
GET    /api/v1/{tenant}/logs/{executionId}                                           logs
GET    /api/v1/{tenant}/logs/{executionId}/download                                  logs
GET    /api/v1/{tenant}/logs/{executionId}/follow                                    logs
DELETE /api/v1/{tenant}/logs/{executionId}                                           logs
DELETE /api/v1/{tenant}/logs/{namespace}/{flowId}                                    logs
GET    /api/v1/{tenant}/namespaces/{namespace}/kv                                    kv
GET    /api/v1/{tenant}/namespaces/{namespace}/kv/{key}                              kv
PUT    /api/v1/{tenant}/namespaces/{namespace}/kv/{key}                              kv
DELETE /api/v1/{tenant}/namespaces/{namespace}/kv/{key}                              kv
DELETE /api/v1/{tenant}/namespaces/{namespace}/kv                                    kv
GET    /api/v1/{tenant}/namespaces/{id}                                              namespaces
GET    /api/v1/{tenant}/namespaces/search                                            namespaces
GET    /api/v1/{tenant}/namespaces/{namespace}/dependencies                          namespaces
GET    /api/v1/{tenant}/namespaces/{namespace}/files/search                          namespace files
GET    /api/v1/{tenant}/namespaces/{namespace}/files                                 namespace files
GET    /api/v1/{tenant}/namespaces/{namespace}/files/stats                           namespace files
GET    /api/v1/{tenant}/namespaces/{namespace}/files/directory                       namespace files
POST   /api/v1/{tenant}/namespaces/{namespace}/files/directory                       namespace files
POST   /api/v1/{tenant}/namespaces/{namespace}/files                                 namespace files
GET    /api/v1/{tenant}/namespaces/{namespace}/files/export                          namespace files
PUT    /api/v1/{tenant}/namespaces/{namespace}/files                                 namespace files
DELETE /api/v1/{tenant}/namespaces/{namespace}/files                                 namespace files
GET    /api/v1/{tenant}/triggers/search                                              triggers
POST   /api/v1/{tenant}/triggers/{namespace}/{flowId}/{triggerId}/unlock             triggers
POST   /api/v1/{tenant}/triggers/unlock/by-triggers                                  triggers
POST   /api/v1/{tenant}/triggers/unlock/by-query                                     triggers
GET    /api/v1/{tenant}/triggers/{namespace}/{flowId}                                triggers
PUT    /api/v1/{tenant}/triggers                                                     triggers
POST   /api/v1/{tenant}/triggers/{namespace}/{flowId}/{triggerId}/restart            triggers
PUT    /api/v1/{tenant}/triggers/backfill/pause                                      triggers
POST   /api/v1/{tenant}/triggers/backfill/pause/by-triggers                          triggers
POST   /api/v1/{tenant}/triggers/backfill/pause/by-query                             triggers
PUT    /api/v1/{tenant}/triggers/backfill/unpause                                    triggers
POST   /api/v1/{tenant}/triggers/backfill/unpause/by-triggers                        triggers
POST   /api/v1/{tenant}/triggers/backfill/unpause/by-query                           triggers
POST   /api/v1/{tenant}/triggers/backfill/delete                                     triggers
POST   /api/v1/{tenant}/triggers/backfill/delete/by-triggers                         triggers
POST   /api/v1/{tenant}/triggers/backfill/delete/by-query                            triggers
POST   /api/v1/{tenant}/triggers/set-disabled/by-triggers                            triggers
POST   /api/v1/{tenant}/triggers/set-disabled/by-query                               triggers
GET    /api/v1/plugins/schemas/{type}                                                plugins
GET    /api/v1/plugins/inputs                                                        plugins
GET    /api/v1/plugins/inputs/{type}                                                 plugins
GET    /api/v1/plugins                                                               plugins
GET    /api/v1/plugins/icons                                                         plugins
GET    /api/v1/plugins/icons/groups                                                  plugins
GET    /api/v1/plugins/{cls}                                                         plugins
GET    /api/v1/plugins/groups/subgroups                                              plugins
POST   /api/v1/{tenant}/stats/executions/daily                                       stats
POST   /api/v1/{tenant}/stats/executions/daily/group-by-flow                         stats
POST   /api/v1/{tenant}/stats/executions/daily/group-by-namespace                    stats
POST   /api/v1/{tenant}/stats/executions/latest/group-by-flow                        stats
POST   /api/v1/{tenant}/stats/logs/daily                                             stats
POST   /api/v1/{tenant}/stats/summary                                                stats
POST   /api/v1/{tenant}/stats/taskruns/daily                                         stats
GET    /api/v1/{tenant}/metrics/{executionId}                                        metrics
GET    /api/v1/{tenant}/metrics/names/{namespace}/{flowId}                           metrics
GET    /api/v1/{tenant}/metrics/names/{namespace}/{flowId}/{taskId}                  metrics
GET    /api/v1/{tenant}/metrics/tasks/{namespace}/{flowId}                           metrics
GET    /api/v1/{tenant}/metrics/aggregates/{namespace}/{flowId}/{metric}             metrics
GET    /api/v1/{tenant}/metrics/aggregates/{namespace}/{flowId}/{taskId}/{metric}    metrics
GET    /api/v1/configs                                                               misc
GET    /api/v1/{tenant}/usages/all                                                   misc
GET    /api/v1/{tenant}/blueprints/community                                         blueprints
GET    /api/v1/{tenant}/blueprints/community/{id}                                    blueprints
GET    /api/v1/{tenant}/blueprints/community/{id}/flow                               blueprints
GET    /api/v1/{tenant}/blueprints/community/{id}/graph                              blueprints
GET    /api/v1/{tenant}/blueprints/community/tags                                    blueprints
GET    /api/v1/{tenant}/dashboards                                                   dashboards
POST   /api/v1/{tenant}/dashboards                                                   dashboards
GET    /api/v1/{tenant}/dashboards/{id}                                              dashboards
PUT    /api/v1/{tenant}/dashboards/{id}                                              dashboards
DELETE /api/v1/{tenant}/dashboards/{id}                                              dashboards
POST   /api/v1/{tenant}/dashboards/{id}/charts/{chartId}                             dashboards
POST   /api/v1/{tenant}/dashboards/validate                                          dashboards
POST   /api/v1/{tenant}/dashboards/charts/preview                                    dashboards
POST   /api/v1/{tenant}/dashboards/validate/chart                                    dashboards
GET    /api/v1/{tenant}/templates/{namespace}/{id}                                   templates
GET    /api/v1/{tenant}/templates/search                                             templates
POST   /api/v1/{tenant}/templates                                                    templates
PUT    /api/v1/{tenant}/templates/{namespace}/{id}                                   templates
DELETE /api/v1/{tenant}/templates/{namespace}/{id}                                   templates
GET    /api/v1/{tenant}/templates/distinct-namespaces                                templates
POST   /api/v1/{tenant}/templates/{namespace}                                        templates
POST   /api/v1/{tenant}/templates/validate                                           templates
GET    /api/v1/{tenant}/templates/export/by-query                                    templates
POST   /api/v1/{tenant}/templates/export/by-ids                                      templates
DELETE /api/v1/{tenant}/templates/delete/by-query                                    templates
DELETE /api/v1/{tenant}/templates/delete/by-ids                                      templates
POST   /api/v1/{tenant}/templates/import                                             templates
"""

# The paths kestrapy 2.0.3 calls for the families above, their parameters named as Kestra names them:
# method, path, family, and "Enterprise: feature" for those of Kestra's Enterprise edition.
_KESTRAPY_2_0_3 = """
POST   /api/v1/{tenant}/flows                                        flows
GET    /api/v1/{tenant}/flows/{namespace}/{id}                       flows
PUT    /api/v1/{tenant}/flows/{namespace}/{id}                       flows
DELETE /api/v1/{tenant}/flows/{namespace}/{id}                       flows
POST   /api/v1/{tenant}/flows/bulk                                   flows
DELETE /api/v1/{tenant}/flows/delete/by-ids                          flows
DELETE /api/v1/{tenant}/flows/delete/by-query                        flows
POST   /api/v1/{tenant}/flows/disable/by-ids                         flows
POST   /api/v1/{tenant}/flows/disable/by-query                       flows
POST   /api/v1/{tenant}/flows/enable/by-ids                          flows
POST   /api/v1/{tenant}/flows/enable/by-query                        flows
GET    /api/v1/{tenant}/flows/search                                 flows
GET    /api/v1/{tenant}/flows/source                                 flows
GET    /api/v1/{tenant}/flows/{namespace}                            flows
GET    /api/v1/{tenant}/flows/distinct-namespaces                    flows
GET    /api/v1/{tenant}/flows/deprecated                             flows
GET    /api/v1/{tenant}/flows/{namespace}/{id}/revisions             flows
DELETE /api/v1/{tenant}/flows/{namespace}/{id}/revisions             flows
POST   /api/v1/{tenant}/flows/{namespace}                            flows
POST   /api/v1/{tenant}/flows/export/by-ids                          flows
GET    /api/v1/{tenant}/flows/export/by-query                        flows
POST   /api/v1/{tenant}/flows/import                                 flows
GET    /api/v1/{tenant}/flows/{namespace}/{id}/graph                 flows
POST   /api/v1/{tenant}/flows/graph                                  flows
GET    /api/v1/{tenant}/flows/{namespace}/{id}/dependencies          flows
GET    /api/v1/{tenant}/namespaces/{namespace}/dependencies          flows
GET    /api/v1/{tenant}/flows/{namespace}/{id}/tasks/{taskId}       flows
GET    /api/v1/{tenant}/concurrency-limit/search                     flows
PUT    /api/v1/{tenant}/concurrency-limit/{namespace}/{flowId}      flows
POST   /api/v1/{tenant}/flows/validate                               flows
POST   /api/v1/{tenant}/flows/validate/task                          flows
POST   /api/v1/{tenant}/flows/validate/trigger                       flows
POST   /api/v1/{tenant}/flows/expressions                            flows
POST   /api/v1/{tenant}/flows/policies/preview                       flows  Enterprise: policies
GET    /api/v1/{tenant}/flows/export/by-query/csv                    flows
POST   /api/v1/{tenant}/flows/source/replace/preview                 flows
POST   /api/v1/{tenant}/flows/source/replace/apply                   flows
POST   /api/v1/{tenant}/flows/source/replace/line                    flows
POST   /api/v1/{tenant}/flows/hashes/by-ids                          flows
POST   /api/v1/{tenant}/flows/{namespace}/{id}/promote               flows  Enterprise: promotions
POST   /api/v1/{tenant}/flows/promote/by-ids                         flows  Enterprise: promotions
POST   /api/v1/{tenant}/flows/{namespace}/{id}/promotions            flows  Enterprise: promotions
GET    /api/v1/{tenant}/flows/{namespace}/{id}/promotions            flows  Enterprise: promotions
GET    /api/v1/{tenant}/flows/{namespace}/{id}/promotions/{auditId}/diff  flows  Enterprise: promotions
POST   /api/v1/{tenant}/executions/{namespace}/{id}                  executions
GET    /api/v1/{tenant}/executions/{executionId}                    executions
GET    /api/v1/{tenant}/executions/search                            executions
GET    /api/v1/{tenant}/executions                                   executions
POST   /api/v1/{tenant}/executions/latest                            executions
GET    /api/v1/{tenant}/executions/{executionId}/graph              executions
GET    /api/v1/{tenant}/executions/flows/{namespace}/{flowId}       executions
GET    /api/v1/{tenant}/executions/{executionId}/flow               executions
GET    /api/v1/{tenant}/executions/{executionId}/file               executions
GET    /api/v1/{tenant}/executions/{executionId}/file/metas         executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/eval       executions
DELETE /api/v1/{tenant}/executions/{executionId}/actions/kill       executions
DELETE /api/v1/{tenant}/executions/kill/by-ids                       executions
DELETE /api/v1/{tenant}/executions/kill/by-query                     executions
DELETE /api/v1/{tenant}/executions/{executionId}                    executions
DELETE /api/v1/{tenant}/executions/by-ids                            executions
DELETE /api/v1/{tenant}/executions/by-query                          executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/pause      executions
POST   /api/v1/{tenant}/executions/pause/by-ids                      executions
POST   /api/v1/{tenant}/executions/pause/by-query                    executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/resume     executions
POST   /api/v1/{tenant}/executions/resume/by-ids                     executions
POST   /api/v1/{tenant}/executions/resume/by-query                   executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/restart    executions
POST   /api/v1/{tenant}/executions/restart/by-ids                    executions
POST   /api/v1/{tenant}/executions/restart/by-query                  executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/replay     executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/replay-with-inputs  executions
POST   /api/v1/{tenant}/executions/replay/by-ids                     executions
POST   /api/v1/{tenant}/executions/replay/by-query                   executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/force-run  executions
POST   /api/v1/{tenant}/executions/force-run/by-ids                  executions
POST   /api/v1/{tenant}/executions/force-run/by-query                executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/unqueue    executions
POST   /api/v1/{tenant}/executions/unqueue/by-ids                    executions
POST   /api/v1/{tenant}/executions/unqueue/by-query                  executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/labels     executions
POST   /api/v1/{tenant}/executions/labels/by-ids                     executions
POST   /api/v1/{tenant}/executions/labels/by-query                   executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/change-status  executions
POST   /api/v1/{tenant}/executions/change-status/by-ids              executions
POST   /api/v1/{tenant}/executions/change-status/by-query            executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/state      executions
GET    /api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}    executions
GET    /api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}/{webhookPath}  executions
POST   /api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}/{webhookPath}  executions
PUT    /api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}/{webhookPath}  executions
GET    /api/v1/{tenant}/executions/{executionId}/follow             executions
GET    /api/v1/{tenant}/executions/{executionId}/follow-dependencies  executions
GET    /api/v1/{tenant}/executions/distinct-field-values             executions
GET    /api/v1/{tenant}/executions/export/by-query/csv               executions
GET    /api/v1/{tenant}/executions/namespaces                        executions
GET    /api/v1/{tenant}/executions/namespaces/{namespace}/flows      executions
GET    /api/v1/{tenant}/executions/{executionId}/file/preview       executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/eval/{taskRunId}  executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/resume-from-breakpoint  executions
POST   /api/v1/{tenant}/executions/{executionId}/actions/resume/validate  executions
POST   /api/v1/{tenant}/executions/{namespace}/{id}/validate         executions
GET    /api/v1/{tenant}/logs/{executionId}                          logs
GET    /api/v1/{tenant}/logs/{executionId}/download                 logs
DELETE /api/v1/{tenant}/logs/{executionId}                          logs
GET    /api/v1/{tenant}/logs/{executionId}/follow                   logs
DELETE /api/v1/{tenant}/logs/{namespace}/{flowId}                   logs
GET    /api/v1/{tenant}/logs/search                                  logs
PUT    /api/v1/{tenant}/namespaces/{namespace}/kv/{key}              kv
GET    /api/v1/{tenant}/namespaces/{namespace}/kv/{key}              kv
DELETE /api/v1/{tenant}/namespaces/{namespace}/kv/{key}              kv
DELETE /api/v1/{tenant}/namespaces/{namespace}/kv                    kv
GET    /api/v1/{tenant}/kv                                           kv
GET    /api/v1/{tenant}/namespaces/{namespace}/kv/inheritance        kv
POST   /api/v1/{tenant}/namespaces                                   namespaces  Enterprise: stored namespaces
GET    /api/v1/{tenant}/namespaces/{id}                              namespaces
PUT    /api/v1/{tenant}/namespaces/{id}                              namespaces  Enterprise: stored namespaces
DELETE /api/v1/{tenant}/namespaces/{id}                              namespaces  Enterprise: stored namespaces
GET    /api/v1/{tenant}/namespaces/search                            namespaces
POST   /api/v1/{tenant}/namespaces/autocomplete                      namespaces
PUT    /api/v1/{tenant}/namespaces/{namespace}/secrets               namespaces  Enterprise: secrets and credentials
PATCH  /api/v1/{tenant}/namespaces/{namespace}/secrets/{key}         namespaces  Enterprise: secrets and credentials
DELETE /api/v1/{tenant}/namespaces/{namespace}/secrets/{key}         namespaces  Enterprise: secrets and credentials
GET    /api/v1/{tenant}/namespaces/{namespace}/inherited-secrets     namespaces  Enterprise: secrets and credentials
GET    /api/v1/{tenant}/namespaces/{id}/inherited-variables          namespaces  Enterprise: namespace variables
GET    /api/v1/{tenant}/namespaces/{namespace}/credentials           namespaces  Enterprise: secrets and credentials
POST   /api/v1/{tenant}/namespaces/{namespace}/credentials           namespaces  Enterprise: secrets and credentials
GET    /api/v1/{tenant}/namespaces/{namespace}/credentials/inherited  namespaces  Enterprise: secrets and credentials
GET    /api/v1/{tenant}/namespaces/{namespace}/credentials/{name}    namespaces  Enterprise: secrets and credentials
PUT    /api/v1/{tenant}/namespaces/{namespace}/credentials/{name}    namespaces  Enterprise: secrets and credentials
DELETE /api/v1/{tenant}/namespaces/{namespace}/credentials/{name}    namespaces  Enterprise: secrets and credentials
POST   /api/v1/{tenant}/namespaces/{namespace}/credentials/{name}/test  namespaces  Enterprise: secrets and credentials
GET    /api/v1/{tenant}/secrets                                      namespaces  Enterprise: secrets
GET    /api/v1/{tenant}/triggers/search                              triggers
GET    /api/v1/{tenant}/triggers/{namespace}/{flowId}               triggers
GET    /api/v1/{tenant}/triggers/export/by-query/csv                 triggers
PUT    /api/v1/{tenant}/triggers/set-disabled                        triggers
POST   /api/v1/{tenant}/triggers/set-disabled/by-triggers            triggers
POST   /api/v1/{tenant}/triggers/set-disabled/by-query               triggers
POST   /api/v1/{tenant}/triggers/{namespace}/{flowId}/{triggerId}/restart  triggers
POST   /api/v1/{tenant}/triggers/{namespace}/{flowId}/{triggerId}/unlock  triggers
POST   /api/v1/{tenant}/triggers/unlock/by-triggers                  triggers
POST   /api/v1/{tenant}/triggers/unlock/by-query                     triggers
DELETE /api/v1/{tenant}/triggers/{namespace}/{flowId}/{triggerId}  triggers
DELETE /api/v1/{tenant}/triggers/delete/by-triggers                  triggers
DELETE /api/v1/{tenant}/triggers/delete/by-query                     triggers
PUT    /api/v1/{tenant}/triggers/backfill/create                     triggers
POST   /api/v1/{tenant}/triggers/backfill/delete                     triggers
POST   /api/v1/{tenant}/triggers/backfill/delete/by-triggers         triggers
POST   /api/v1/{tenant}/triggers/backfill/delete/by-query            triggers
PUT    /api/v1/{tenant}/triggers/backfill/pause                      triggers
POST   /api/v1/{tenant}/triggers/backfill/pause/by-triggers          triggers
POST   /api/v1/{tenant}/triggers/backfill/pause/by-query             triggers
PUT    /api/v1/{tenant}/triggers/backfill/unpause                    triggers
POST   /api/v1/{tenant}/triggers/backfill/unpause/by-triggers        triggers
POST   /api/v1/{tenant}/triggers/backfill/unpause/by-query           triggers
GET    /api/v1/plugins                                               plugins
GET    /api/v1/plugins/groups/subgroups                              plugins
GET    /api/v1/plugins/icons                                         plugins
GET    /api/v1/plugins/icons/groups                                  plugins
GET    /api/v1/plugins/icons/{cls}                                   plugins
GET    /api/v1/plugins/icons/{cls}/icon.svg                          plugins
GET    /api/v1/plugins/inputs                                        plugins
GET    /api/v1/plugins/inputs/{inputType}                           plugins
GET    /api/v1/plugins/install/{jobId}                              plugins  Enterprise: plugin management
GET    /api/v1/plugins/properties/{schemaType}                      plugins
GET    /api/v1/plugins/schemas/{schemaType}                         plugins
GET    /api/v1/plugins/triggers                                      plugins
GET    /api/v1/plugins/{cls}                                         plugins
GET    /api/v1/plugins/{group}/pluginUi/{pathSegment}               plugins
GET    /api/v1/plugins/{cls}/versions                                plugins
GET    /api/v1/plugins/{cls}/versions/{version}                      plugins
POST   /api/v1/plugins/auto-install/detect                           plugins  Enterprise: plugin management
POST   /api/v1/plugins/install                                       plugins  Enterprise: plugin management
POST   /api/v1/plugins/pluginUiManifest                              plugins
GET    /api/v1/{tenant}/metrics/{executionId}                       metrics
GET    /api/v1/{tenant}/metrics/names/{namespace}/{flowId}          metrics
GET    /api/v1/{tenant}/metrics/names/{namespace}/{flowId}/{taskId}  metrics
GET    /api/v1/{tenant}/metrics/tasks/{namespace}/{flowId}          metrics
GET    /api/v1/{tenant}/metrics/aggregates/{namespace}/{flowId}/{metric}  metrics
GET    /api/v1/configs                                               misc
GET    /api/v1/configs/login                                         misc
GET    /api/v1/auths                                                 misc
GET    /api/v1/pebble/filters                                        misc
GET    /api/v1/pebble/functions                                      misc
GET    /api/v1/basicAuthValidationErrors                             misc
POST   /api/v1/{tenant}/basicAuth                                    misc
GET    /api/v1/setup                                                 misc
POST   /api/v1/setup                                                 misc
GET    /api/v1/license-info                                          misc  Enterprise: licence
GET    /api/v1/license/refresh                                       misc  Enterprise: licence
GET    /api/v1/{tenant}/worker-selectors/tags                        misc  Enterprise: worker groups
GET    /api/v1/{tenant}/stats/generate-reports                       misc
"""

# The Kestra 0.21 controller that declares each family's routes.
CONTROLLERS: dict[str, str] = {
    "flows": "FlowController", "executions": "ExecutionController", "logs": "LogController",
    "kv": "KVController", "namespaces": "NamespaceController", "namespace files": "NamespaceFileController",
    "triggers": "TriggerController", "plugins": "PluginController", "stats": "StatsController",
    "metrics": "MetricController", "blueprints": "BlueprintController", "dashboards": "DashboardController",
    "templates": "TemplateController", "misc": "MiscController",
}

KESTRA_0_21: tuple[Route, ...] = tuple(Route(r[0], r[1], r[2]) for r in _rows(_KESTRA_0_21))
KESTRAPY_2_0_3: tuple[ClientRoute, ...] = tuple(
    ClientRoute(r[0], r[1], r[2], r[3].removeprefix("Enterprise: ") if len(r) > 3 else None)
    for r in _rows(_KESTRAPY_2_0_3))

TEMPLATES = ("Kestra serves templates only with kestra.templates.enabled, off by default; they are deprecated since "
             "0.11 in favour of subflows, and Lanner has no Template task")
_LATER_EDITOR = "Kestra 2.0's find-and-replace across flow sources; search sources with GET /flows/source"

# Why Lanner does not serve a route, by key(method, path); a route not listed here is "not served yet".
REASONS: dict[tuple[str, str], str] = {
    key("POST", "/api/v1/{tenant}/executions/trigger/{namespace}/{id}"):
        "deprecated in Kestra 0.21 (POST /api/v1/{tenant}/executions/{namespace}/{id} does the same)",
    key("PATCH", "/api/v1/{tenant}/flows/{namespace}/{id}/{taskId}"):
        "deprecated in Kestra 0.21 and removed since: update the flow's source",
    **{key(method, path): TEMPLATES for method, path, family in _rows(_KESTRA_0_21) if family == "templates"},
    key("POST", "/api/v1/{tenant}/flows/source/replace/preview"): _LATER_EDITOR,
    key("POST", "/api/v1/{tenant}/flows/source/replace/apply"): _LATER_EDITOR,
    key("POST", "/api/v1/{tenant}/flows/source/replace/line"): _LATER_EDITOR,
    key("POST", "/api/v1/{tenant}/flows/expressions"):
        "Kestra 2.0's editor help (the expressions a flow uses); Lanner's editor comes with the UI issue",
    **{key(method, "/api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}/{webhookPath}"):
       "Kestra 2.0's webhook sub-paths; a webhook is served at its key, without a sub-path"
       for method in ("GET", "POST", "PUT")},
    key("GET", "/api/v1/pebble/filters"): "Kestra 2.0's editor help; docs/expressions.md lists Lanner's filters",
    key("GET", "/api/v1/pebble/functions"): "Kestra 2.0's editor help; docs/expressions.md lists Lanner's functions",
    key("GET", "/api/v1/{tenant}/flows/export/by-query/csv"):
        "Kestra 2.0's CSV list of flows; export the flows themselves with /flows/export/by-query (a ZIP)",
    key("GET", "/api/v1/{tenant}/flows/deprecated"):
        "Kestra 2.0's list of flows using deprecated types; `lanner sys upgrade check` and POST /flows/migrate "
        "find and rewrite them",
    key("POST", "/api/v1/{tenant}/flows/hashes/by-ids"):
        "Kestra 2.0's change detection for Git sync, which Lanner does not have",
    key("GET", "/api/v1/{tenant}/concurrency-limit/search"):
        "Kestra 2.0's stored concurrency counters: Lanner counts a flow's running executions from the executions "
        "themselves (docs/flows.md), so there is no counter to list or reset",
    key("PUT", "/api/v1/{tenant}/concurrency-limit/{namespace}/{flowId}"):
        "Kestra 2.0's stored concurrency counters: Lanner has none to reset (see concurrency-limit/search)",
    key("POST", "/api/v1/{tenant}/executions/{executionId}/actions/resume-from-breakpoint"):
        "breakpoints (Kestra 2.0) are not supported: replay refuses them (422), so no execution stops at one",
    key("GET", "/api/v1/{tenant}/executions/{executionId}/follow-dependencies"):
        "Kestra 2.0's live dependency view; follow each execution (/executions/{id}/follow) instead",
    key("GET", "/api/v1/{tenant}/stats/generate-reports"):
        "Kestra's anonymous usage reports, which Lanner never sends",
    key("POST", "/api/v1/plugins/pluginUiManifest"): "plugin UI extensions (Kestra 2.0): Lanner's plugins have none",
    key("GET", "/api/v1/plugins/{group}/pluginUi/{pathSegment}"):
        "plugin UI extensions (Kestra 2.0): Lanner's plugins have none",
    key("GET", "/api/v1/auths"): "Kestra 2.0's sign-in methods (SSO); Lanner has basic authentication only",
    key("GET", "/api/v1/configs/login"): "Kestra 2.0's sign-in page settings (SSO); Lanner has basic authentication "
                                         "only, with its own login form",
    key("GET", "/api/v1/setup"): "Kestra 2.0's first-run wizard; Lanner's first run creates the user with "
                                 "POST /api/v1/basicAuth or its /ui/setup page",
    key("POST", "/api/v1/setup"): "Kestra 2.0's first-run wizard; Lanner's first run creates the user with "
                                  "POST /api/v1/basicAuth or its /ui/setup page",
}

# How Lanner's answer differs from Kestra's, for routes it serves, by key(method, path).
DIFFERENCES: dict[tuple[str, str], str] = {
    key("POST", "/api/v1/{tenant}/executions/{namespace}/{id}"):
        "a FILE input's upload is refused (422): give the file's URI as text; wait=true gives up after an hour (409)",
    key("GET", "/api/v1/{tenant}/logs/{executionId}"):
        "answers one page of lines (at most lanner.server.max-log-page-size), the next page in a Link header",
    key("POST", "/api/v1/{tenant}/dashboards"):
        "an id in the YAML is kept (Kestra refuses one and generates it); a chart Lanner cannot compute is a 422",
    key("GET", "/api/v1/{tenant}/blueprints/community"):
        "Lanner's own catalogue, shipped in the package (works offline), not Kestra's online one",
}
