"""Plumbing every app's API shares: one error shape, strict JSON fields, pagination,
throttles, schema helpers and per-method routing. No endpoints live here; accounts
and analyses define theirs (accounts.api_urls, analyses.api.urls) on top of it."""
