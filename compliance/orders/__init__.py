"""Batch order checking: every order line screened for its parties, classified for its item and
destination, decided (BLOCK > LICENSE_REQUIRED > REVIEW > CLEAR), written out and audited."""
