"""Flow definitions: Kestra flow YAML loaded safely, validated with precise messages, and revised.

``lanner.plain_yaml`` parses untrusted YAML into plain values with the position of
every node (expressions' ``yaml()`` uses it too); ``registry`` resolves task, trigger
and condition types by their Kestra names and aliases; ``validator`` turns a document into a
:class:`~lanner.model.flow.Flow` plus every problem found, each pointing at file, line, column and path.
"""
