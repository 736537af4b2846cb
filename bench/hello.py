"""The bare Flask baseline of ``bench/web.py``: one route returning a short text."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """Hello."""
    return "hello"
