"""Sans-IO client protocol v1: codecs, request validation, WebSocket frames and sessions."""
