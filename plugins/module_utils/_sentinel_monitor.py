# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply SENTINEL MONITOR / SET / REMOVE on one Sentinel.

Private to the collection: the interface may change between releases.
``plan_monitor`` is pure; ``read_monitor`` and ``apply_monitor`` take a redis-py client.
"""

from __future__ import annotations

from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError, describe_error, pairs_to_dict

MASK = "********"
SECRET_SETTINGS = frozenset(["auth-pass"])
# Per-group settings that SENTINEL MASTER does not report: compared from sentinel.conf when it can be read.
UNREPORTED_SETTINGS = frozenset(["auth-pass", "auth-user"])
NO_SUCH_MASTER = "no such master"


def to_text(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def show(name, value):
    if name in SECRET_SETTINGS:
        return MASK if value not in (None, "") else ""
    return value


def _unquote(text):
    """A value as Redis writes it in a config file: bare, or double-quoted with backslash escapes."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return text
    body, out, i = text[1:-1], [], 0
    simple = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a", '"': '"', "\\": "\\"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "x" and i + 3 < len(body):
                try:
                    out.append(chr(int(body[i + 2:i + 4], 16)))
                    i += 4
                    continue
                except ValueError:
                    pass
            out.append(simple.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_sentinel_conf(text, name):
    """``{setting: value}`` of ``sentinel <setting> <name> <value>`` lines for the group ``name``. Pure."""
    found = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 3)
        if len(parts) == 4 and parts[0].lower() == "sentinel" and _unquote(parts[2]) == name:
            found[parts[1].lower()] = _unquote(parts[3].strip())
    return found


def read_monitor(client, name, config_text=None):
    """Current state of ``name`` on one Sentinel: ``None`` when it is not monitored, else a dict with
    ``host``, ``port``, ``quorum`` and ``settings`` (every field SENTINEL MASTER reports, plus the unreported
    ones found in ``config_text``)."""
    try:
        reply = pairs_to_dict(client.execute_command("SENTINEL", "MASTER", name))
    except Exception as exc:
        if NO_SUCH_MASTER in str(exc).lower():
            return None
        raise HaRedisError("Cannot ask the Sentinel about %s: %s." % (name, describe_error(exc))) from exc
    settings = dict((k, to_text(v)) for k, v in reply.items())
    if config_text is not None:
        conf = parse_sentinel_conf(config_text, name)
        for key in UNREPORTED_SETTINGS:
            settings[key] = conf.get(key, "")
    return dict(host=str(reply.get("ip")), port=int(reply.get("port")), quorum=int(reply.get("quorum")),
                settings=settings)


def plan_monitor(current, state, name, primary_host=None, primary_port=None, quorum=None, settings=None,
                 compare_unreported=False, update_secrets="on_create"):
    """Decide the commands for one Sentinel. Pure.

    Returns a dict: ``commands`` (list of argument tuples), ``address_differs`` (bool) and
    ``unverified`` (settings that could not be compared and were left alone).
    """
    settings = dict((str(k).lower(), to_text(v)) for k, v in (settings or {}).items())
    plan = dict(commands=[], address_differs=False, unverified=[])
    if state == "absent":
        if current is not None:
            plan["commands"].append(("SENTINEL", "REMOVE", name))
        return plan
    if current is None:
        if not primary_host or not primary_port or not quorum:
            raise HaRedisError("Sentinel does not monitor %s yet: primary_host, primary_port and quorum are "
                               "needed to start monitoring it." % name)
        plan["commands"].append(("SENTINEL", "MONITOR", name, primary_host, str(int(primary_port)), str(int(quorum))))
        for key in sorted(settings):
            plan["commands"].append(("SENTINEL", "SET", name, key, settings[key]))
        return plan
    if primary_host and primary_port:
        plan["address_differs"] = (current["host"], int(current["port"])) != (primary_host, int(primary_port))
    if quorum and int(quorum) != int(current["quorum"]):
        plan["commands"].append(("SENTINEL", "SET", name, "quorum", str(int(quorum))))
    for key in sorted(settings):
        if key in UNREPORTED_SETTINGS and not compare_unreported:
            if update_secrets == "always":
                plan["commands"].append(("SENTINEL", "SET", name, key, settings[key]))
            else:
                plan["unverified"].append(key)
            continue
        if current["settings"].get(key, "") != settings[key]:
            plan["commands"].append(("SENTINEL", "SET", name, key, settings[key]))
    return plan


def command_text(args):
    """A command for the report; the value after a secret setting name is masked."""
    shown = [str(a) for a in args]
    if len(shown) >= 5 and shown[1] == "SET" and shown[3].lower() in SECRET_SETTINGS:
        shown[4] = MASK
    return " ".join('"%s"' % a if (a == "" or " " in str(a)) else str(a) for a in shown)


def summary(current, name, keys):
    """``before``/``after`` shape: monitored, primary, quorum and the asked-for settings (secrets masked)."""
    if current is None:
        return dict(monitored=False, primary=None, quorum=None, settings={})
    return dict(
        monitored=True,
        primary="%s:%s" % (current["host"], current["port"]),
        quorum=current["quorum"],
        settings=dict((k, show(k, current["settings"].get(k, ""))) for k in keys
                      if k not in UNREPORTED_SETTINGS or k in current["settings"]),
    )


def predict(current, plan, settings):
    """What ``read_monitor`` would return after ``plan`` ran (for check mode). Pure."""
    after = None if current is None else dict(current, settings=dict(current["settings"]))
    for args in plan["commands"]:
        if args[1] == "REMOVE":
            after = None
        elif args[1] == "MONITOR":
            after = dict(host=args[3], port=int(args[4]), quorum=int(args[5]), settings={})
        elif args[1] == "SET":
            if args[3] == "quorum":
                after["quorum"] = int(args[4])
            else:
                after["settings"][args[3]] = args[4]
    return after


def apply_monitor(client, plan, name):
    done = []
    for args in plan["commands"]:
        try:
            client.execute_command(*args)
        except Exception as exc:
            raise HaRedisError("%s failed on the Sentinel: %s." % (command_text(args[:4]), describe_error(exc)),
                               commands_done=[command_text(a) for a in done]) from exc
        done.append(args)
    if done:
        try:
            client.execute_command("SENTINEL", "FLUSHCONFIG")
        except Exception as exc:
            raise HaRedisError("SENTINEL FLUSHCONFIG failed, the change is live but maybe not persisted: %s."
                               % describe_error(exc), commands_done=[command_text(a) for a in done]) from exc
    return done
