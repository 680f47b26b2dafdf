"""Gradio's own labels ("Drop File Here", "Click to Upload", "Use via API",
the table and upload controls) in Chinese, whatever the browser's language.

Gradio picks its built-in translations from ``navigator.language`` once, as
its page script starts; there is no server setting for it, and a ``head=``
script runs too late. ``ZhLocale`` is an ASGI middleware that puts a tiny
script at the top of the page's ``<head>`` (before gradio's own scripts)
which reports the browser language as ``zh-CN``. Only HTML responses to GET
requests are touched; API calls, files and event streams pass unchanged.
"""

from __future__ import annotations

LOCALE = "zh-CN"
SCRIPT = ("<script>(function(){function d(n,v){try{Object.defineProperty(Navigator.prototype,n,"
          "{get:function(){return v},configurable:true})}catch(e){}}"
          f"d('language','{LOCALE}');d('languages',['{LOCALE}','zh']);}})();</script>").encode()


class ZhLocale:
    """ASGI middleware: ``demo.launch(app_kwargs={"middleware": [Middleware(ZhLocale)]})``."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: dict = {}
        body: list[bytes] = []

        async def send_page(message):
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                html = b"text/html" in headers.get(b"content-type", b"")
                start.update(message=message, html=html and b"content-encoding" not in headers)
                if not start["html"]:
                    await send(message)
                return
            if not start.get("html"):
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            page = b"".join(body).replace(b"<head>", b"<head>" + SCRIPT, 1)
            first = start["message"]
            headers = [(k, v) for k, v in first.get("headers", []) if k.lower() != b"content-length"]
            await send({**first, "headers": headers + [(b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, send_page)
