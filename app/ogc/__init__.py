"""OGC API – Features logic without HTTP: the collection registry, CQL2-text, and the items statements.

The routers in ``app/api/ogc/`` parse the request and call these; statements run on the read pool with
positional parameters bound as they are added (:class:`app.ogc.params.Params`).
"""
