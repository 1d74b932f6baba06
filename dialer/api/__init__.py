"""The HTTP API and the web consoles: FastAPI on uvicorn, inside the daemon's event loop.

Modules: ``app`` (the application and error mapping), ``auth`` (tokens,
sessions, roles, the login rate limit), ``floor`` (what the API needs of
the daemon, and the desk of API agents), ``schemas`` (request and response
models: the OpenAPI spec), ``cards`` (lead cards, scripts, disposition
checks), ``stats`` (live figures), and one thin router each for agents,
campaigns, lists, DNC and reports.
"""

from dialer.api.app import create_app

__all__ = ["create_app"]
