#!/usr/bin/env python3
"""A misbehaving CA for the lab: a reverse proxy in front of Pebble that
injects faults, over HTTPS on 127.0.0.1:PORT (with Pebble's listener
certificate, which the lab CA signed for 127.0.0.1).

  ca-fault-proxy.py PORT PEBBLE_DIR_URL CA_PEM CERT_PEM KEY_PEM RULES_FILE STATE_FILE

RULES_FILE (JSON, re-read on every request, missing = no faults):

  {"rules": [{"fault": "status", "code": 503, "on": "POST /order-plz", "times": 2},
             {"fault": "drop", "on": "POST /my-order/", "times": 1},
             {"fault": "slow", "seconds": 2, "on": ".", "times": 5},
             {"fault": "badnonce", "on": "^POST ", "times": 10},
             {"fault": "ratelimit", "retry_after": 2, "on": "POST /order-plz",
              "names": ["a.example.org"], "times": 1}]}

  on      regex searched in "METHOD /path"
  names   only new orders for one of these names (JWS payload identifiers)
  times   how many requests get the fault (-1: all)
  status     answer `code` with a serverInternal problem
  drop       close the connection without an answer
  slow       wait `seconds`, then forward
  badnonce   400 badNonce with a fresh Replay-Nonce (from Pebble)
  ratelimit  429 rateLimited with Retry-After `retry_after` seconds

Every fault is injected *instead of* forwarding (slow: before it), so an
injected failure never reaches Pebble and never creates an order there.

STATE_FILE (JSON, rewritten after every request) counts what happened:
  {"injected": {"status": 2, ...}, "rules": [2, 0, ...],
   "new_orders": [{"status": 201, "names": ["a.example.org"]}, ...]}
new_orders lists every new order Pebble answered, so tests can check that
no certificate was ordered twice. Requests are logged to stderr.
"""
import base64
import http.server
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PASS_HEADERS = ("Content-Type", "Replay-Nonce", "Location", "Link", "Retry-After", "Cache-Control")
PROBLEM = "urn:ietf:params:acme:error:"


def b64json(text):
    text += "=" * (-len(text) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(text) or b"null")
    except ValueError:
        return None


def order_names(body):
    """The identifiers of a new-order JWS, or None for other requests."""
    if not body:
        return None
    try:
        payload = b64json(json.loads(body).get("payload", ""))
    except ValueError:
        return None
    if isinstance(payload, dict) and "identifiers" in payload:
        return sorted(i.get("value", "") for i in payload["identifiers"])
    return None


def main():
    port, pebble_dir, ca, cert, key, rules_file, state_file = sys.argv[1:8]
    pebble = urllib.parse.urlsplit(pebble_dir)
    upstream = ssl.create_default_context(cafile=ca)
    lock = threading.Lock()
    state = {"injected": {}, "rules": [], "new_orders": []}
    used = {}  # rule index -> times injected

    def save():
        tmp = state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, state_file)

    def pick(line, names):
        """The first rule that matches and has times left; counted."""
        try:
            with open(rules_file) as f:
                rules = json.load(f).get("rules", [])
        except FileNotFoundError:
            return None
        with lock:
            for i, rule in enumerate(rules):
                if not re.search(rule.get("on", "."), line):
                    continue
                if "names" in rule and not (names and set(names) & set(rule["names"])):
                    continue
                times = rule.get("times", -1)
                if times >= 0 and used.get(i, 0) >= times:
                    continue
                used[i] = used.get(i, 0) + 1
                kind = rule["fault"]
                state["injected"][kind] = state["injected"].get(kind, 0) + 1
                state["rules"] = [used.get(j, 0) for j in range(len(rules))]
                save()
                return rule
        return None

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.handle_one(None)

        def do_HEAD(self):
            self.handle_one(None)

        def do_POST(self):
            self.handle_one(self.rfile.read(int(self.headers.get("Content-Length", 0))))

        def handle_one(self, body):
            path = urllib.parse.urlsplit(self.path).path
            names = order_names(body)
            rule = pick(f"{self.command} {path}", names)
            fault = rule["fault"] if rule else None
            if fault:
                sys.stderr.write(f"ca-fault-proxy: inject {fault} on {self.command} {path} {names or ''}\n")
            if fault == "drop":
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            if fault == "status":
                code = int(rule.get("code", 500))
                self.reply(code, {"type": PROBLEM + "serverInternal",
                                  "detail": f"injected {code}"}, {})
                return
            if fault == "badnonce":
                self.reply(400, {"type": PROBLEM + "badNonce", "detail": "injected bad nonce"},
                           {"Replay-Nonce": self.fresh_nonce()})
                return
            if fault == "ratelimit":
                wait = str(rule.get("retry_after", 1))
                self.reply(429, {"type": PROBLEM + "rateLimited",
                                 "detail": "injected rate limit"},
                           {"Retry-After": wait, "Replay-Nonce": self.fresh_nonce()})
                return
            if fault == "slow":
                time.sleep(float(rule.get("seconds", 1)))
            self.forward(body, path, names)

        def upstream(self, method, path, body):
            url = f"https://{pebble.netloc}{path}"
            headers = {"Host": self.headers.get("Host", f"127.0.0.1:{port}")}
            if self.headers.get("Content-Type"):
                headers["Content-Type"] = self.headers["Content-Type"]
            req = urllib.request.Request(url, data=body, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, context=upstream, timeout=30) as r:
                    return r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.headers, e.read()

        def fresh_nonce(self):
            _, headers, _ = self.upstream("HEAD", "/nonce-plz", None)
            return headers.get("Replay-Nonce", "")

        def forward(self, body, path, names):
            status, rheaders, data = self.upstream(self.command, self.path, body)
            if names is not None:
                with lock:
                    state["new_orders"].append({"status": status, "names": names})
                    save()
                sys.stderr.write(f"ca-fault-proxy: new order {status} {names}\n")
            self.send_response(status)
            for h in PASS_HEADERS:
                for v in rheaders.get_all(h) or []:
                    self.send_header(h, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def reply(self, code, doc, headers):
            data = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            sys.stderr.write("ca-fault-proxy: " + (fmt % args) + "\n")
            sys.stderr.flush()

    with lock:
        save()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
