"""Database access: the engine and sessions, and the project's own PostGIS cluster."""
