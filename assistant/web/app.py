"""The web page's routes (Flask; its Jinja templates escape everything). Private by design:

- it listens on 127.0.0.1 only (assistant/web/server.py);
- a random token, made at start, is required on every request: it arrives once in the
  address Iris prints, is moved into an HttpOnly, SameSite=Strict cookie, and every POST
  must also carry it in a form field or header, so another web page cannot use Iris
  (no cross-site requests) and another local user without the address cannot either;
- the Host header must name 127.0.0.1 or localhost and our port (no DNS rebinding);
- uploads are capped in bytes here and in pixels by assistant/images.py, and kept in memory."""
import hmac
from typing import Callable

from flask import Flask, abort, jsonify, redirect, render_template, request

from assistant.images import ImageError, image_from_bytes

MAX_UPLOAD = 50 * 2**20       # bytes; a larger request is refused before it is read


def create_app(describe: Callable, history, token: str) -> Flask:
    """describe(image) -> Description (assistant/web/describer.py); history: a History or None."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD

    def same(value) -> bool:
        return isinstance(value, str) and hmac.compare_digest(value.encode(), token.encode())

    @app.before_request
    def guard():
        port = request.environ["SERVER_PORT"]             # the port the server really bound
        hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        origins = {f"http://{h}" for h in hosts}
        cookie = f"iris_token_{port}"
        if request.host not in hosts:
            abort(403)
        if request.method == "GET" and request.path == "/" and "token" in request.args:
            if not same(request.args["token"]):
                abort(403)
            response = redirect("/", 303)          # the token leaves the address bar and the browser's history
            response.set_cookie(cookie, token, httponly=True, samesite="Strict", path="/")
            return response
        if not same(request.cookies.get(cookie)):
            abort(403)
        if request.method == "POST":
            sent = request.headers.get("X-Iris-Token") or request.form.get("csrf")
            if not same(sent) or request.headers.get("Origin", next(iter(origins))) not in origins:
                abort(403)
        return None

    def page(status: int = 200, **shown):
        q = request.args.get("q", "")
        rows = history.recent(50, q) if history else []
        return render_template("index.html", token=token, rows=rows, q=q, history=history is not None,
                               **shown), status

    def wants_json() -> bool:
        return request.accept_mimetypes.best == "application/json"

    def failed(message: str, status: int):
        return (jsonify(error=message), status) if wants_json() else page(status, error=message)

    @app.get("/")
    def index():
        return page()

    @app.post("/describe")
    def describe_upload():
        upload = request.files.get("image")
        if upload is None:
            return failed("Choose an image first.", 400)
        try:
            image = image_from_bytes(upload.read(), upload.filename or "upload")
        except ImageError as e:
            return failed(f"That file could not be described: {e.reason}.", 422)
        result = describe(image)
        if history:
            history.add("web", path=None, caption=result.text)
        if wants_json():
            return jsonify(text=result.text, kind=result.kind,
                           maps=[{"word": m.word, "where": m.where, "png": m.png} for m in result.maps])
        return page(result=result)

    @app.post("/history/<int:row_id>/delete")
    def delete(row_id: int):
        if history:
            history.delete(row_id)
        return redirect("/#history", 303)

    @app.post("/history/clear")
    def clear():
        if history:
            history.clear()
        return redirect("/#history", 303)

    @app.errorhandler(413)
    def too_large(_):
        return failed(f"That file is larger than {MAX_UPLOAD // 2**20} MB; Iris describes images up to that size.",
                      413)

    @app.errorhandler(403)
    def forbidden(_):
        return ("Iris: this page only opens from the address Iris printed when it started.", 403,
                {"Content-Type": "text/plain; charset=utf-8"})

    return app
