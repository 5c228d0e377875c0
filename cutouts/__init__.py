"""The one charged cut-out service (cutouts.service) and its test-mode policy (cutouts.test_mode)."""
