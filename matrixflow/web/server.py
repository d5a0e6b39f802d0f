"""`matrixflow serve`: the page on one local server (Flask), the only module that imports Flask.

GET / is the page, GET /static/... its script, style and the bundled Temml (LaTeX → MathML in
the browser: nothing is fetched from elsewhere), POST /api/derive the work (`api.answer`). The
server keeps no state between requests, so each user sees only their own work; any exception
is logged and answered as JSON with a plain message (400 for a mistake in the input, 500 for a
bug of matrixflow's), never as a traceback page.  It binds to 127.0.0.1 unless told otherwise:
the page is for the person at the machine.
"""

from __future__ import annotations

import logging
import sys
from importlib import resources

from . import api

try:
    from flask import Flask, jsonify, request, send_from_directory
    from werkzeug.exceptions import HTTPException
except ImportError as exc:  # the web extra is not installed
    raise ImportError('matrixflow serve needs Flask: pip install "matrixflow[web]" '
                      '(or, from a clone, pip install ".[web]")') from exc

STATIC = resources.files("matrixflow.web") / "static"
MAX_BODY = 64 * 1024  # bytes of a request: the form is a few hundred characters
LOG = logging.getLogger("matrixflow.web")


def create_app() -> Flask:
    """The page's Flask app: the page, its static files and POST /api/derive."""
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.ensure_ascii = False  # ∂, ᵀ and ⊙ travel as themselves

    @app.get("/")
    def page():
        return send_from_directory(str(STATIC), "index.html")

    @app.post("/api/derive")
    def derive():
        body = request.get_json(silent=True)
        if body is None:
            return _reply({"ok": False, "error": "the request must be JSON: an object with "
                                                 "the fields expression, wrt, shapes and "
                                                 "answer"}, 400)
        reply = api.answer(body)
        status = reply.pop("status", 200)
        return _reply(reply, status)

    @app.errorhandler(404)
    def not_found(error):
        return _reply({"ok": False, "error": f"no page at {request.path}; the page is at /"},
                      404)

    @app.errorhandler(405)
    def wrong_method(error):
        return _reply({"ok": False, "error": f"{request.method} is not how {request.path} is "
                                             "asked; the page sends POST /api/derive"}, 405)

    @app.errorhandler(413)
    def too_large(error):
        return _reply({"ok": False, "error": f"the request is larger than {MAX_BODY // 1024} "
                                             "KiB; send a shorter expression"}, 413)

    @app.errorhandler(Exception)
    def bug(error):
        if isinstance(error, HTTPException):  # one Flask answers itself (a bad request, ...)
            return _reply({"ok": False, "error": error.description}, error.code or 500)
        LOG.exception("matrixflow page: a request failed")
        return _reply({"ok": False, "error": "matrixflow failed on this input (a bug, logged "
                                             "by the server); please report the expression"},
                      500)

    return app


def _reply(payload: dict, status: int):
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def serve(host: str = "127.0.0.1", port: int = 8000, out=None) -> None:
    """Run the page until Ctrl+C, threaded (each request on its own thread, sharing nothing);
    port 0 picks a free port.  The address is printed (and flushed) once the port is bound,
    so a script can read it."""
    from werkzeug.serving import make_server

    out = out or sys.stdout
    logging.basicConfig(level=logging.WARNING)
    server = make_server(host, port, create_app(), threaded=True)
    shown = f"[{host}]" if ":" in host else host
    print(f"matrixflow page at http://{shown}:{server.server_port}/ — Ctrl+C stops it",
          file=out, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
