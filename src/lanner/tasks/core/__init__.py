"""Kestra's core plugin types: what flows written for Kestra 0.2x use without extra plugins.

This module is a plugin like any other: the registry imports it and reads ``TYPES``.
Each type declares its properties (the specification the validator checks); the engine
gives the types behaviour through their kind (their base class), never by naming them.
"""

from lanner.tasks.core import conditions, execution, flow_control, http, kv, log, scripts, sleep, subflow, triggers

TYPES = [
    *log.TYPES, *flow_control.TYPES, *sleep.TYPES, *subflow.TYPES, *execution.TYPES, *kv.TYPES, *http.TYPES,
    *scripts.TYPES, *triggers.TYPES, *conditions.TYPES,
]
