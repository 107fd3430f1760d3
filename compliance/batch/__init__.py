"""Screening files too large for one machine: partitions on a Dask cluster, resumable output."""
