"""safelight — see the patterns of trafficking without exposing the people in them.

Stages, one package each (see DESIGN): ``standard`` (the case schema, code lists, crosswalks,
geography), ``ingest`` (readers, profiles, validation, quarantine), ``store`` (the hub database),
``demo`` (the generated multi-agency scenario), and ``cli``.
"""

__version__ = "0.1.0"
