#!/usr/bin/env python3
"""ARI stand-in for the lab: Debian's Pebble 2.4 has no renewalInfo.

A reverse proxy in front of Pebble, over HTTPS on 127.0.0.1:PORT (with the
lab's Pebble listener certificate, which the lab CA signed for 127.0.0.1):

  GET /dir                 Pebble's directory plus "renewalInfo"
  GET /renewal-info/<id>   the window in WINDOW_FILE (JSON {"start","end"},
                           RFC 3339) with Retry-After; 404 if the file is
                           missing
  anything else            forwarded to Pebble with the client's Host header,
                           so Pebble's URLs (and the JWS "url" checks) name
                           the proxy; a new order's "replaces" is echoed in
                           its responses, as RFC 9773 requires of a CA

Requests are logged to stderr, one line each.

  ari-proxy.py PORT PEBBLE_DIR_URL CA_PEM CERT_PEM KEY_PEM WINDOW_FILE
"""
import base64
import http.server
import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

PASS_HEADERS = ("Content-Type", "Replay-Nonce", "Location", "Link", "Retry-After", "Cache-Control")


def b64json(text):
    text += "=" * (-len(text) % 4)
    return json.loads(base64.urlsafe_b64decode(text) or b"null")


def main():
    port, pebble_dir, ca, cert, key, window_file = sys.argv[1:7]
    pebble = urllib.parse.urlsplit(pebble_dir)
    upstream = ssl.create_default_context(cafile=ca)
    replaces = {}  # order URL path -> replaces

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path.startswith("/renewal-info/"):
                try:
                    with open(window_file) as f:
                        window = json.load(f)
                except FileNotFoundError:
                    self.reply(404, {"type": "urn:ietf:params:acme:error:malformed",
                                     "detail": "no window configured"})
                    return
                self.reply(200, {"suggestedWindow": window}, {"Retry-After": "3600"})
                return
            self.forward(None)

        def do_HEAD(self):
            self.forward(None)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.forward(body)

        def forward(self, body):
            url = f"https://{pebble.netloc}{self.path}"
            headers = {"Host": self.headers.get("Host", f"127.0.0.1:{port}")}
            if self.headers.get("Content-Type"):
                headers["Content-Type"] = self.headers["Content-Type"]
            req = urllib.request.Request(url, data=body, method=self.command, headers=headers)
            try:
                with urllib.request.urlopen(req, context=upstream, timeout=30) as r:
                    status, rheaders, data = r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                status, rheaders, data = e.code, e.headers, e.read()
            extra = {}
            path = urllib.parse.urlsplit(self.path).path
            if path == urllib.parse.urlsplit(pebble_dir).path and self.command == "GET":
                directory = json.loads(data)
                directory["renewalInfo"] = f"https://127.0.0.1:{port}/renewal-info"
                data = json.dumps(directory).encode()
            elif body and status < 300 and rheaders.get("Content-Type", "").startswith("application/json"):
                doc = json.loads(data)
                payload = b64json(json.loads(body).get("payload", ""))
                if isinstance(payload, dict) and "replaces" in payload and "identifiers" in payload:
                    location = urllib.parse.urlsplit(rheaders.get("Location", "")).path
                    replaces[location] = payload["replaces"]
                    sys.stderr.write(f"ari-proxy: new order replaces {payload['replaces']}\n")
                if isinstance(doc, dict) and "identifiers" in doc:
                    order = urllib.parse.urlsplit(rheaders.get("Location", "")).path or path
                    if order in replaces:
                        doc["replaces"] = replaces[order]
                        data = json.dumps(doc).encode()
            self.send_response(status)
            for h in PASS_HEADERS:
                for v in rheaders.get_all(h) or []:
                    self.send_header(h, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def reply(self, code, doc, headers=None):
            data = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            sys.stderr.write("ari-proxy: " + (fmt % args) + "\n")
            sys.stderr.flush()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
