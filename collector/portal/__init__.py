"""The owners' and insurers' consent portal: static files the collector serves at /portal/.

Nothing here is Python: `static/` holds the page, its stylesheet and JSDoc-typed ES modules
(checked with `tsc --checkJs` and ESLint from web/). The API routes that serve it are in
collector/api/portal.py; docs/portal.md says what the page checks and what it cannot.
"""
