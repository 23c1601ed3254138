"""Normalising and encoding personal identifiers; runs at the contributor.

No clear identifier leaves this package in privacy-preserving mode.
"""
