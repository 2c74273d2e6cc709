#!/usr/bin/env python3
"""ARI stand-in for the lab: Debian's Pebble 2.4 has no renewalInfo.

Serves, over HTTPS on 127.0.0.1:PORT (with the lab's Pebble listener
certificate, which the lab CA signed for 127.0.0.1):

  GET /dir                 Pebble's directory plus "renewalInfo"
  GET /renewal-info/<id>   the window in WINDOW_FILE (JSON {"start","end"},
                           RFC 3339), with a Retry-After header; 404 if the
                           file is missing

Every other ACME URL in the directory still points at Pebble itself, so
orders, challenges and finalization are Pebble's. Requests are logged to
stderr, one line each, so a test can count renewalInfo lookups.

  ari-proxy.py PORT PEBBLE_DIR_URL CA_PEM CERT_PEM KEY_PEM WINDOW_FILE
"""
import http.server
import json
import ssl
import sys
import urllib.request


def main():
    port, pebble_dir, ca, cert, key, window_file = sys.argv[1:7]
    upstream = ssl.create_default_context(cafile=ca)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/dir":
                with urllib.request.urlopen(pebble_dir, context=upstream, timeout=10) as r:
                    directory = json.load(r)
                directory["renewalInfo"] = f"https://127.0.0.1:{port}/renewal-info"
                self.reply(200, directory)
            elif self.path.startswith("/renewal-info/"):
                try:
                    with open(window_file) as f:
                        window = json.load(f)
                except FileNotFoundError:
                    self.reply(404, {"type": "urn:ietf:params:acme:error:malformed",
                                     "detail": "no window configured"})
                    return
                self.reply(200, {"suggestedWindow": window}, {"Retry-After": "3600"})
            else:
                self.reply(404, {"detail": "not served by the ARI stand-in"})

        def reply(self, code, body, headers=None):
            data = json.dumps(body).encode()
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
