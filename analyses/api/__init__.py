"""The REST API under /api/v1/ (DESIGN §7): one APIView per operation, thin, calling
selectors and services; token or session authentication; one JSON error shape."""
