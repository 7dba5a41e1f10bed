"""analyses' endpoints of the REST API under /api/v1/ (DESIGN §7): one APIView per
operation, thin, calling selectors and services. Authentication, the one JSON error
shape, pagination and throttles are the shared plumbing of logplatform.api."""
