# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security probes of the Molecule `secure` scenario, run on the controller against the containers.

Reads a JSON document from the environment variable PROBE (hosts, ports, CA file, users and passwords; never
from the command line) and checks, on every data and Sentinel port of every host, that:
  - a plain-text client gets no answer (TLS only),
  - a TLS client without the lab CA fails certificate verification,
  - a TLS client with the CA but no password is refused (NOAUTH),
  - the admin user gets PONG (the positive control),
and that the replication user may not FLUSHALL nor CONFIG, the Sentinel user may not FLUSHALL, the application
user is confined to its keys, and the "default" user is off. Prints one line per check; exit 1 on any failure.
"""

from __future__ import annotations

import json
import os
import sys

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def client(host, port, tls=True, ca=None, user=None, password=None):
    kwargs = dict(host=host, port=port, username=user, password=password, socket_timeout=3,
                  socket_connect_timeout=2, decode_responses=True, retry=Retry(NoBackoff(), 0))
    if tls:
        kwargs.update(ssl=True, ssl_cert_reqs="required", ssl_ca_certs=ca, ssl_check_hostname=False)
    return redis.Redis(**kwargs)


def outcome(func):
    try:
        return "ok", repr(func())
    except Exception as exc:  # noqa: BLE001 - the class and text are what is checked
        return type(exc).__name__, str(exc)


def main():
    cfg = json.loads(os.environ["PROBE"])
    failures, lines = [], []

    def check(label, func, expect):
        kind, text = outcome(func)
        good = expect(kind, text)
        lines.append("%s %s: %s %s" % ("PASS" if good else "FAIL", label, kind, text[:120]))
        if not good:
            failures.append(label)

    ca = cfg["ca"]

    def probe_port(host, port, user, password):
        where = "%s:%s" % (host, port)
        check(where + " plain text refused", lambda: client(host, port, tls=False).ping(),
              lambda k, t: k != "ok")
        check(where + " TLS without the CA refused", lambda: client(host, port).ping(),
              lambda k, t: k != "ok" and "certificate verify failed" in t.lower())
        check(where + " TLS without a password refused", lambda: client(host, port, ca=ca).ping(),
              lambda k, t: k == "AuthenticationError" or "NOAUTH" in t or "Authentication required" in t)
        check(where + " default user off",
              lambda: client(host, port, ca=ca, user="default", password=password).ping(),
              lambda k, t: k != "ok" and ("WRONGPASS" in t or "invalid" in t.lower()))
        check(where + " admin user answers",
              lambda: client(host, port, ca=ca, user=user, password=password).ping(),
              lambda k, t: k == "ok" and "True" in t)

    for host in cfg["hosts"]:
        probe_port(host, cfg["data_port"], cfg["admin_user"], cfg["admin_password"])
        probe_port(host, cfg["sentinel_port"], cfg["sentinel_user"], cfg["sentinel_password"])

    primary = cfg["primary"]

    def denied(kind, text):
        return kind == "NoPermissionError" or "NOPERM" in text

    repl = client(primary, cfg["data_port"], ca=ca, user=cfg["replication_user"], password=cfg["replication_password"])
    check("replication user PING", repl.ping, lambda k, t: k == "ok")
    check("replication user FLUSHALL denied", lambda: repl.execute_command("FLUSHALL"), denied)
    check("replication user CONFIG denied", lambda: repl.execute_command("CONFIG", "GET", "maxmemory"), denied)
    sentinel_user = client(primary, cfg["data_port"], ca=ca, user=cfg["sentinel_auth_user"],
                           password=cfg["sentinel_auth_password"])
    check("Sentinel user INFO", lambda: sentinel_user.info("replication")["role"], lambda k, t: k == "ok")
    check("Sentinel user FLUSHALL denied", lambda: sentinel_user.execute_command("FLUSHALL"), denied)
    app = client(primary, cfg["data_port"], ca=ca, user=cfg["app_user"], password=cfg["app_password"])
    check("app user SET app:probe", lambda: app.set("app:probe", "1"), lambda k, t: k == "ok")
    check("app user SET other:probe denied", lambda: app.set("other:probe", "1"), denied)
    check("app user CONFIG denied", lambda: app.execute_command("CONFIG", "GET", "maxmemory"), denied)

    print("\n".join(lines))
    if failures:
        print("%d check(s) failed: %s" % (len(failures), ", ".join(failures)))
        sys.exit(1)


if __name__ == "__main__":
    main()
