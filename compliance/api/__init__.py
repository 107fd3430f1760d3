"""The HTTP service (`compliance serve`), its web pages and the MCP server.

Light on purpose: importing this package (or `compliance.api.models`, which the store imports
once a program registers it, see compliance/schema.py) never imports FastAPI;
`compliance.api.app` does.
"""
