"""Credentials: issuer keys, signing, verifying and revoking certificates (issue 4)."""
