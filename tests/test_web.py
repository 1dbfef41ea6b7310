"""The local web page with a real server, a real model and a real browser: Debian's Chromium
driven by Playwright (its Python package runs the system browser; nothing is downloaded),
and axe-core (from npm) run inside each page for WCAG checks. Raw HTTP requests check
that the page refuses anyone without its token, other sites and other host names."""
import base64
import http.client
import subprocess
import sys
import time

import pytest

from conftest import FLICKR, ROOT, sigterm_another_thread

AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
PHOTO = sorted((FLICKR / "images").glob("*.jpg"))[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The shipped model: the tiny test model is unsure of everything, and Iris shows no maps for words it
    does not say."""
    import os
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("web-data"))
    from assistant.history import History
    from assistant.narrator import Narration
    from assistant.ocr import Ocr
    from assistant.web.describer import Describer
    from assistant.web.server import WebServer
    from model.captioner import Captioner
    history = History()
    web = WebServer(Describer(Captioner(None, "cpu", beam_size=1), Narration(2), Ocr).describe,
                    history, port=0, log=lambda m: None)
    assert web.start() == []
    yield web
    web.stop()
    history.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: run `bash install.sh --test`")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium",
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.address)
    assert page.url == f"http://127.0.0.1:{server.port}/"          # the token left the address bar
    yield page
    context.close()


def axe_violations(page) -> list:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
                          "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})).violations")
    return [(v["id"], v["help"], [n["html"] for n in v["nodes"]][:3]) for v in found]


def wait_for_result(page, timeout=60_000) -> str:
    page.wait_for_function("() => { const t = document.getElementById('result').textContent; "
                           "return (t && t !== 'Describing…') || document.getElementById('error').textContent; }",
                           timeout=timeout)
    return page.inner_text("#result")


def test_an_uploaded_photo_is_described_in_the_live_region_with_where_it_looked(page):
    assert axe_violations(page) == []                              # the empty page
    page.set_input_files("#image", str(PHOTO))
    page.click("button[type=submit]")
    text = wait_for_result(page)
    assert len(text.split()) >= 2 and page.inner_text("#error") == ""
    assert page.get_attribute("#result", "aria-live") == "polite"
    alts = page.eval_on_selector_all("#maps img", "imgs => imgs.map(i => i.alt)")
    assert alts and all(": " in a and a.split(": ")[1].startswith(("at the", "on the", "in the")) for a in alts), alts
    assert [a.split(": ")[0] for a in alts] == text.removeprefix("possibly ").split()[:len(alts)]
    page.focus("#maps figure")                                     # every picture is reachable by keyboard
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "FIGURE"
    assert axe_violations(page) == []                              # with the description and the maps


def test_an_uploaded_photo_of_a_letter_is_read_not_captioned(page, tmp_path):
    from made_images import photographed_letter
    photographed_letter(3).save(tmp_path / "letter.jpg")
    page.set_input_files("#image", str(tmp_path / "letter.jpg"))
    page.click("button[type=submit]")
    text = wait_for_result(page)
    assert text.startswith("An image of a screen or document. Text: Dear neighbours,"), text
    assert page.inner_text("#error") == ""


def test_a_pasted_image_is_described(page):
    data = base64.b64encode(PHOTO.read_bytes()).decode()
    page.evaluate("""data => {
        const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], 'pasted.jpg', {type: 'image/jpeg'}));
        document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: transfer, bubbles: true}));
    }""", data)
    assert len(wait_for_result(page).split()) >= 2


def test_history_is_listed_searchable_and_deletable(page, server):
    server.history.add("folder", path="/photos/beach.jpg", caption="a dog runs along the beach")
    server.history.add("folder", path="/photos/park.jpg", caption="two children play in a park")
    page.goto(f"http://127.0.0.1:{server.port}/?q=beach")
    assert "a dog runs along the beach" in page.inner_text("#history-list")
    assert "two children" not in page.inner_text("#history-list")
    assert axe_violations(page) == []
    page.click("#history-list button[aria-label='Delete: a dog runs along the beach']")
    page.goto(f"http://127.0.0.1:{server.port}/?q=beach")
    assert "No description contains" in page.inner_text("#history")
    page.goto(f"http://127.0.0.1:{server.port}/")
    page.click("text=Delete all history")
    assert "Nothing has been described yet." in page.inner_text("#history")


def _request(server, method, path, body=b"", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    return r.status, r.read().decode(errors="replace")


def _cookie(server):
    return {"Cookie": f"iris_token_{server.port}={server.token}"}


def _upload(server, data: bytes, name="x.jpg", **headers):
    boundary = "irisboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return _request(server, "POST", "/describe", body, {**_cookie(server), "X-Iris-Token": server.token,
                                                        "Accept": "application/json",
                                                        "Content-Type": f"multipart/form-data; boundary={boundary}",
                                                        **headers})


def test_without_the_token_from_another_site_or_another_host_name_the_page_refuses(server):
    assert _request(server, "GET", "/")[0] == 403                                      # no token
    assert _request(server, "GET", "/?token=guess")[0] == 403
    assert _request(server, "GET", "/", headers={"Cookie": f"iris_token_{server.port}=guess"})[0] == 403
    assert _request(server, "GET", "/static/iris.js")[0] == 403
    rebound = {**_cookie(server), "Host": f"evil.example:{server.port}"}                # DNS rebinding
    assert _request(server, "GET", "/", headers=rebound)[0] == 403
    photo = PHOTO.read_bytes()
    assert _upload(server, photo, **{"X-Iris-Token": ""})[0] == 403                    # a form from elsewhere
    assert _upload(server, photo, Origin="http://evil.example")[0] == 403
    status, body = _upload(server, photo)
    assert status == 200 and '"text"' in body
    assert server._server.server_address[0] == "127.0.0.1"                             # loopback only


def test_bad_uploads_each_get_one_clear_message_and_the_server_keeps_serving(server, tmp_path):
    from hostile import png_bomb
    status, body = _upload(server, b"Dear friend, this is not a picture.\n" * 20, "letter.png")
    assert status == 422 and "not an image" in body
    status, body = _upload(server, png_bomb(tmp_path / "bomb.png").read_bytes(), "bomb.png")
    assert status == 422 and "too many pixels" in body
    status, body = _upload(server, b"\xff" * (60 * 2**20), "huge.jpg")
    assert status == 413 and "larger than 50 MB" in body
    status, body = _upload(server, PHOTO.read_bytes())                                  # still serving
    assert status == 200


def test_main_web_listens_on_this_machine_only_and_prints_its_address(tmp_path, tiny_checkpoint):
    import psutil
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "s.toml"
    cfg.write_text(f'[model]\ncheckpoint = "{tiny_checkpoint}"\n[speech]\noutput_dir = "{tmp_path / "speech"}"\n')
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--config", str(cfg), "web", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"Iris's web page: http://127.0.0.1:{port}/?token="), line
        listening = [c for c in psutil.Process(proc.pid).net_connections("inet") if c.status == "LISTEN"]
        assert [c.laddr.ip for c in listening] == ["127.0.0.1"]
        end = time.time() + 30
        while time.time() < end and not list((tmp_path / "speech").glob("*.wav")):
            time.sleep(0.2)
        assert list((tmp_path / "speech").glob("*.wav"))                                 # and says so
        sigterm_another_thread(proc.pid)                  # it stops even when another thread takes the signal
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(20)
