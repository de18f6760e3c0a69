"""The upgrade assistant: what each release changes, and the tools that act on it.

``changes.yaml`` lists, per release, every breaking change, removal and deprecation
(:mod:`lanner.upgrade.changes` loads it).  ``lanner sys upgrade check``
(:mod:`lanner.upgrade.check`) reads a live database before it is migrated and reports
what the upgrade will do and what must be done first; ``lanner flow migrate``
(:mod:`lanner.upgrade.rewrite`) rewrites flows written with deprecated syntax.
"""
