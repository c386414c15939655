"""ASGI entry point for uvicorn: ``uvicorn netlookup.asgi:app``. Settings come from the environment."""

from netlookup.app import create_app

app = create_app()
