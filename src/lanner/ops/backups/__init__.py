"""Logical backups: one file holding a Lanner instance's content, independent of its backend.

A backup is a header (format and Lanner versions, schema version, source backend, row
counts, how it is encrypted) followed by zstd-compressed JSON lines cut into frames,
each frame sealed with AES-256-GCM when a key is given.  Rows are read inside one
snapshot transaction and written as they come, so memory stays flat whatever the size.

The modules, in the order data flows through them:

* :mod:`.manifest`: the entities, the header, how rows become JSON lines and back;
* :mod:`.crypto`: keys (a passphrase through scrypt, a raw key through HKDF) and sealing;
* :mod:`.frames`: the framed, optionally encrypted stream with its end marker;
* :mod:`.writer`: ``lanner backups create``;
* :mod:`.reader`: opening and verifying a file (nothing is written before it verifies);
* :mod:`.restore`: ``lanner backups restore``;
* :mod:`.pre_migration`: the backup taken before migrations, and the rollback it allows.
"""
