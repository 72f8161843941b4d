"""Signed over-the-air updates: TUF-verified releases, A/B install, health-gated commit, rollback."""
