"""The local database of list snapshots."""
