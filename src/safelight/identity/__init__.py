"""Normalising and encoding personal identifiers; runs at the contributor.

Contract: :mod:`~safelight.identity.normalise` and :mod:`~safelight.identity.transliterate` turn
names, dates, phones and documents into comparable keys (pure functions);
:mod:`~safelight.identity.encode` turns them into keyed, hardened Bloom filters and keyed
blocking keys and writes a contribution package; :mod:`~safelight.identity.mapping` reads a
contributor's file through its ``MAP.yaml``. No clear identifier leaves this package in
privacy-preserving mode: a package holds encodings, record ids, consent flags and a manifest
(settings without the key, a key fingerprint), nothing else.
"""
