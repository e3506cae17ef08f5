#!/usr/bin/env python3
"""Hello server of dockmk's hello-app example image (standard library only).

GET /        JSON: greeting, the base image's release stamp read at request
             time, whether the image is a devstack one, the running user.
GET /health  "OK"

Usage: hello_server.py [CONFIG_JSON]   (default /edx/app/hello/hello.json)
"""

import json
import os
import pwd
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_CONFIG = "/edx/app/hello/hello.json"


def load_config(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def read_release(path):
    """Parses the "key: value" lines of the release stamp written by common."""
    release = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                key, sep, value = line.partition(":")
                if sep:
                    release[key.strip()] = value.strip()
    except OSError:
        pass
    return release


def drop_privileges(user):
    if os.getuid() != 0 or not user or user == "root":
        return
    entry = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ["HOME"] = entry.pw_dir


def make_handler(config):
    class Handler(BaseHTTPRequestHandler):
        server_version = "dockmk-hello/1"

        def _send(self, status, body, content_type):
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/health":
                self._send(200, "OK\n", "text/plain; charset=utf-8")
            elif path == "/":
                answer = {
                    "service": config.get("service", "hello-app"),
                    "greeting": config.get("greeting", ""),
                    "base": read_release(config.get("release_file", "/etc/edx-release")),
                    "devstack": os.path.exists(config.get("devstack_marker", "")),
                    "user": pwd.getpwuid(os.getuid()).pw_name,
                }
                body = json.dumps(answer, ensure_ascii=False, indent=2) + "\n"
                self._send(200, body, "application/json; charset=utf-8")
            else:
                self._send(404, json.dumps({"error": "not found"}) + "\n",
                           "application/json; charset=utf-8")

        do_HEAD = do_GET

    return Handler


def main(argv):
    config = load_config(argv[1] if len(argv) > 1 else DEFAULT_CONFIG)
    # PID 1 in a container ignores SIGTERM unless it handles it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    drop_privileges(config.get("user"))
    server = ThreadingHTTPServer((config.get("bind", "0.0.0.0"), int(config.get("port", 8080))),
                                 make_handler(config))
    print("hello-app listening on %s:%s" % server.server_address[:2], flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main(sys.argv)
