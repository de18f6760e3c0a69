"""Lanner's configuration: typed settings, where each value came from, and how to load them.

``settings`` declares every key with its default (the one documented place for
defaults); ``loader`` reads the YAML file and the ``LANNER_*`` environment and says,
for each value, whether it came from a default, a file line or a variable.
"""

from lanner.config.loader import LoadedConfig, Source, load_config
from lanner.config.settings import Settings

__all__ = ["LoadedConfig", "Settings", "Source", "load_config"]
