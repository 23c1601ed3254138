"""The case standard: canonical schema, code lists, crosswalks, geography.

Contract: everything other stages agree on lives here — the versioned case, identity and series
schemas (``schema``), code lists with definitions (``codelists``), versioned value crosswalks from
CTDC legacy, CTDC 2024, HTCDS 2.0 and GLOTIP (``crosswalk``), and country resolution with UN M49
and UNODC regions (``geography``). It imports no other safelight stage.
"""
