"""Transports of a node: aiohttp HTTP/1.1 + WebSocket (``http.create_app``, ``start_server``)."""
