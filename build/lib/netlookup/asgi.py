"""ASGI entry point for uvicorn: ``uvicorn netlookup.asgi:app`` (HTTP API and Socket.IO).

Settings come from the environment."""

from netlookup.app import create_asgi_app

app = create_asgi_app()
