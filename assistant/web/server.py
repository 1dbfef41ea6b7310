"""The web page as a running part: start() -> problems, stop(). Werkzeug's threaded server
(Flask's own), bound to 127.0.0.1 only, with a new random token each start."""
import secrets
import threading
import webbrowser

from assistant.problems import Problem, one_line


class WebServer:
    def __init__(self, describe, history, port: int, open_browser: bool = False, log=print):
        self.describe, self.history, self.port = describe, history, port
        self.open_browser, self.log = open_browser, log
        self.token = secrets.token_urlsafe(24)
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def start(self) -> list[Problem]:
        from werkzeug.serving import make_server
        from assistant.web.app import create_app
        try:
            self._server = make_server("127.0.0.1", self.port, create_app(self.describe, self.history, self.token),
                                       threaded=True)
        except OSError as e:
            return [Problem(f"The web page cannot start: port {self.port} is in use or not allowed.", one_line(e))]
        self.port = self._server.server_port           # port 0 asks the system for a free one
        self._thread = threading.Thread(target=self._server.serve_forever, name="iris-web", daemon=True)
        self._thread.start()
        self.log(f"Iris's web page: {self.address}")
        if self.open_browser:
            webbrowser.open(self.address)
        return []

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(5)
