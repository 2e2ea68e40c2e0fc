"""A local stand-in for the Hugging Face hub, for tests (127.0.0.1 only, stops by itself).

Serves ROOT/ORG/NAME/FILE at /ORG/NAME/resolve/REVISION/FILE with the hub's headers
(X-Repo-Commit, ETag), 404 for missing files. --drop-once FILE sends FILE's headers with its
full Content-Length, then half the body, then closes the connection (the first time only).
Prints the port on the first line of standard output. Exits after --lifetime seconds.
"""
import argparse, hashlib, http.server, os, sys, threading

parser = argparse.ArgumentParser()
parser.add_argument("--root", required=True)
parser.add_argument("--drop-once", action="append", default=[])
parser.add_argument("--lifetime", type=float, default=120)
args = parser.parse_args()
dropped = set()
COMMIT = "0123456789abcdef0123456789abcdef01234567"

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        parts = self.path.split("?")[0].lstrip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return self.fail(400)
        org, name, revision, rel = parts[0], parts[1], parts[3], "/".join(parts[4:])
        # normpath, not realpath: a repository may be a symbolic link to a model folder.
        path = os.path.normpath(os.path.join(args.root, org, name, rel))
        if not path.startswith(os.path.normpath(args.root) + os.sep) or not os.path.isfile(path):
            return self.fail(404)
        body = open(path, "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"%s"' % hashlib.sha1(body).hexdigest())
        self.send_header("X-Repo-Commit", COMMIT)
        self.end_headers()
        if rel in args.drop_once and rel not in dropped:
            dropped.add(rel)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    def fail(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.send_header("X-Repo-Commit", COMMIT)
        self.end_headers()

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Timer(args.lifetime, server.shutdown).start()
server.serve_forever()
