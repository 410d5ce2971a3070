# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups and restores of a replication group: the steps (redis-py clients, restic, systemctl).

Private to the collection: the interface may change between releases.

The modules ``ha.redis.redis_backup`` and ``ha.redis.redis_restore`` call these functions with clients made by
``_connection.connect``; the systemd timer of roles/backup runs this same file as a script (``main()``) with
clients made from its environment file. So it imports only the standard library and ``_backup_plan`` (and
redis-py inside ``main()``). For the same reason it runs restic and systemctl with ``subprocess`` rather than
``AnsibleModule.run_command``: the timer has no AnsibleModule (hence the ``ansible-bad-function`` exceptions).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time

try:
    from ansible_collections.ha.redis.plugins.module_utils._backup_plan import (
        BackupError,
        backup_argv,
        choose_source,
        dump_argv,
        engine_of,
        forget_argv,
        parse_env_file,
        pick_snapshot,
        rdb_loadable,
        rdb_version_of,
        replicas_of,
        snapshot_tags,
        snapshots_argv,
    )
except ImportError:  # the timer's copy on a data node: both files side by side
    from _backup_plan import (  # type: ignore[no-redef]
        BackupError,
        backup_argv,
        choose_source,
        dump_argv,
        engine_of,
        forget_argv,
        parse_env_file,
        pick_snapshot,
        rdb_loadable,
        rdb_version_of,
        replicas_of,
        snapshot_tags,
        snapshots_argv,
    )


def _address(host, port):
    return "[%s]:%s" % (host, port) if ":" in str(host) else "%s:%s" % (host, port)


def restic_env(env_file):
    """The environment restic runs with: this process's, plus the file's (repository, password, backend keys)."""
    with open(env_file, encoding="utf-8") as handle:
        values = parse_env_file(handle.read())
    env = dict(os.environ)
    env.update({key: value for key, value in values.items() if not key.startswith("HA_REDIS_")})
    return env


def run_restic(argv, env, stdin=None, stdout=subprocess.PIPE, timeout=None):
    """Run one restic command; BackupError (with its stderr, which never holds the password) when it fails."""
    try:
        done = subprocess.run(  # pylint: disable=ansible-bad-function
            argv, env=env, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError("%s %s could not run: %s." % (argv[0], argv[1], exc)) from exc
    if done.returncode != 0:
        error = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise BackupError("restic %s failed (exit %d): %s." % (argv[1], done.returncode, " / ".join(error[-3:])),
                          returncode=done.returncode, command=" ".join(argv[:2]))
    return done


def ensure_repository(restic, env):
    """``restic init`` when the repository does not exist yet; returns True when it was created."""
    probe = subprocess.run(  # pylint: disable=ansible-bad-function
        [restic, "cat", "config"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if probe.returncode == 0:
        return False
    run_restic([restic, "init"], env)
    return True


# --------------------------------------------------------------------------------------------------------------
# Backup
# --------------------------------------------------------------------------------------------------------------
def plan_backup(local, connect, self_address, max_lag_bytes, max_lag_seconds, allow_primary):
    """Read the group through the local node and choose the source. Returns (choice, primary client, info)."""
    repl = local.info("replication")
    if repl.get("role") == "slave":
        primary_address = _address(repl.get("master_host"), repl.get("master_port"))
        primary = connect(repl.get("master_host"), int(repl.get("master_port")))
    else:
        primary_address, primary = self_address, local
    try:
        primary_repl = primary.info("replication")
    except Exception as exc:
        raise BackupError("Cannot read INFO replication of the primary %s: %s." % (primary_address, exc)) from exc
    if primary_repl.get("role") != "master":
        raise BackupError("The node %s that %s replicates from is not a primary (role %s), expected the group's "
                          "primary." % (primary_address, self_address, primary_repl.get("role")))
    choice = choose_source(primary_address, int(primary_repl.get("master_repl_offset", 0)),
                           replicas_of(primary_repl), max_lag_bytes=max_lag_bytes, max_lag_seconds=max_lag_seconds,
                           allow_primary=allow_primary)
    return choice, primary_repl, repl


def bgsave(client, timeout, poll=0.1):
    """BGSAVE and wait until it has finished; one scheduled behind a running save is waited for too."""
    deadline = time.monotonic() + timeout
    before = client.info("persistence")
    started = str(client.execute_command("BGSAVE", "SCHEDULE"))
    while True:
        state = client.info("persistence")
        running = int(state.get("rdb_bgsave_in_progress", 0))
        if not running:
            if "scheduled" in started.lower() and int(state.get("rdb_last_save_time", 0)) <= int(
                    before.get("rdb_last_save_time", 0)):
                started = str(client.execute_command("BGSAVE", "SCHEDULE"))
            else:
                break
        if time.monotonic() > deadline:
            raise BackupError("BGSAVE did not finish within %s s." % timeout)
        time.sleep(poll)
    if state.get("rdb_last_bgsave_status") != "ok":
        raise BackupError("BGSAVE failed (rdb_last_bgsave_status %s), expected ok; see the node's log."
                          % state.get("rdb_last_bgsave_status"))
    return state


def rdb_path(client):
    conf = client.config_get("dir")
    name = client.config_get("dbfilename")
    return os.path.join(conf["dir"], name["dbfilename"])


def take_snapshot(local, connect, group, self_address, restic, env, keep=None, allow_primary=False,
                  max_lag_bytes=1048576, max_lag_seconds=10, timeout=600, check_mode=False, init_repository=False):
    """The whole backup, run on every data node of the group: only the chosen source takes the snapshot."""
    started = time.monotonic()
    choice, primary_repl, repl = plan_backup(local, connect, self_address, max_lag_bytes, max_lag_seconds,
                                             allow_primary)
    result = dict(changed=False, group=group, source=choice.source, source_role=choice.role, reason=choice.reason,
                  is_source=choice.source == self_address, warnings=list(choice.warnings), snapshot=None,
                  commands=[])
    if not result["is_source"]:
        result["skipped_reason"] = "this node (%s) is not the source; %s is (%s)" % (
            self_address, choice.source, choice.reason)
        return result
    result["commands"] = ["BGSAVE SCHEDULE", "restic backup --stdin", "restic forget --prune" if keep else None]
    result["commands"] = [command for command in result["commands"] if command]
    result["changed"] = True
    if check_mode:
        return result
    if init_repository:
        result["repository_created"] = ensure_repository(restic, env)
    engine, version = engine_of(local.info("server"))
    own = local.info("replication")
    offset = int(own.get("master_repl_offset", 0))
    replid = own.get("master_replid", "")
    bgsave(local, timeout)
    path = rdb_path(local)
    # The file BGSAVE renamed into place (a later save replaces the name, not this file), unbuffered so that restic
    # reads the descriptor from offset 0 after the header was read.
    with open(path, "rb", buffering=0) as rdb:
        rdb_format = rdb_version_of(rdb.read(9))
        rdb.seek(0)
        size = os.fstat(rdb.fileno()).st_size
        tags = snapshot_tags(group, engine, version, rdb_format, offset, replid, choice.source)
        done = run_restic(backup_argv(restic, group, tags), env, stdin=rdb, timeout=timeout)
    summary = {}
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("message_type") == "summary":
            summary = message
    result["snapshot"] = dict(id=summary.get("snapshot_id"), tags=tags, rdb=rdb_format, engine=engine,
                              version=version, offset=offset, primary_offset=int(primary_repl.get(
                                  "master_repl_offset", 0)), size_bytes=size,
                              added_bytes=summary.get("data_added"))
    argv = forget_argv(restic, group, keep)
    if argv:
        forgot = run_restic(argv, env, timeout=timeout)
        removed = 0
        # --json with --prune: the JSON document on one line, then prune's own text.
        for line in forgot.stdout.decode("utf-8", "replace").splitlines():
            try:
                series_list = json.loads(line)
            except ValueError:
                continue
            if isinstance(series_list, list):
                removed += sum(len(series.get("remove") or []) for series in series_list
                               if isinstance(series, dict))
        result["forgotten"] = removed
    result["elapsed"] = round(time.monotonic() - started, 3)
    return result


# --------------------------------------------------------------------------------------------------------------
# Restore
# --------------------------------------------------------------------------------------------------------------
def find_snapshot(restic, env, group, snapshot):
    done = run_restic(snapshots_argv(restic, group, snapshot), env)
    try:
        entries = json.loads(done.stdout.decode("utf-8", "replace") or "[]")
    except ValueError as exc:
        raise BackupError("restic snapshots did not answer JSON: %s." % exc) from exc
    return pick_snapshot(entries, group, snapshot)


def check_restore(local, restic, env, group, snapshot):
    """Refuse a snapshot this node's engine cannot load, before anything is stopped. Returns the snapshot."""
    picked = find_snapshot(restic, env, group, snapshot)
    engine, version = engine_of(local.info("server"))
    ok, why = rdb_loadable(picked["tags"]["rdb"], engine, version)
    picked["target"] = dict(engine=engine, version=version)
    if not ok:
        raise BackupError("Snapshot %s of group %s (RDB %s, written by %s %s) cannot be restored: %s; nothing was "
                          "stopped." % (picked["short_id"], group, picked["tags"]["rdb"],
                                        picked["tags"].get("engine"), picked["tags"].get("version"), why),
                          snapshot=picked)
    return picked


def data_files(local):
    """The data files of a node: the RDB file and the AOF directory (Redis 7+) or file."""
    config = {}
    for name in ("dir", "dbfilename", "appendonly", "appenddirname", "appendfilename"):
        try:
            config.update(local.config_get(name))
        except Exception:  # noqa: BLE001 - appenddirname does not exist before Redis 7
            pass
    aof = os.path.join(config["dir"], config.get("appenddirname") or config.get("appendfilename") or "appendonlydir")
    return dict(dir=config["dir"], rdb=os.path.join(config["dir"], config["dbfilename"]), aof=aof,
                appendonly=config.get("appendonly") == "yes")


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)
    elif os.path.lexists(path):
        os.unlink(path)


def systemctl(action, unit):
    done = subprocess.run(["systemctl", action, unit], capture_output=True, check=False)  # pylint: disable=ansible-bad-function
    if done.returncode != 0:
        error = done.stderr.decode("utf-8", "replace").strip()
        raise BackupError("systemctl %s %s failed: %s" % (action, unit, error))


def stop_and_wipe(local, service):
    """A replica before its primary is restored: stopped, its RDB and AOF removed (it full-syncs when started)."""
    files = data_files(local)
    systemctl("stop", service)
    for path in (files["rdb"], files["aof"]):
        _remove(path)
    return files


def wait_loaded(connect, timeout):
    deadline = time.monotonic() + timeout
    error = None
    while time.monotonic() < deadline:
        try:
            client = connect()
            if int(client.info("persistence").get("loading", 1)) == 0:
                return client
        except Exception as exc:  # noqa: BLE001 - the node is starting; retried until the deadline
            error = exc
        time.sleep(0.2)
    raise BackupError("The restored node did not finish loading within %s s (%s)." % (timeout, error))


def _set_conf_appendonly(conf_file, value):
    with open(conf_file, encoding="utf-8") as handle:
        lines = handle.read().splitlines(True)
    out = [line for line in lines if not line.lower().startswith("appendonly ")]
    out.append("appendonly %s\n" % value)
    stat = os.stat(conf_file)
    with open(conf_file + ".ha-redis-restore", "w", encoding="utf-8") as handle:
        handle.writelines(out)
    os.chown(conf_file + ".ha-redis-restore", stat.st_uid, stat.st_gid)
    os.chmod(conf_file + ".ha-redis-restore", stat.st_mode & 0o7777)
    os.replace(conf_file + ".ha-redis-restore", conf_file)


def load_snapshot(local, connect, restic, env, group, snapshot, service, timeout=600):
    """The primary: the snapshot in place of its data, started with AOF off, AOF rebuilt from the loaded data.

    With ``appendonly yes`` the node would load its AOF directory and ignore a restored RDB: the AOF directory is
    removed, the node started with ``appendonly no`` (written in its configuration file), and once loaded
    ``CONFIG SET appendonly yes`` rewrites the AOF from memory and ``CONFIG REWRITE`` writes it back.
    """
    started = time.monotonic()
    picked = check_restore(local, restic, env, group, snapshot)
    files = data_files(local)
    conf_file = local.info("server").get("config_file")
    stat = os.stat(files["dir"])
    handle, temp = tempfile.mkstemp(prefix=".ha-redis-restore-", dir=files["dir"])
    try:
        with os.fdopen(handle, "wb") as out:
            run_restic(dump_argv(restic, group, picked["id"]), env, stdout=out, timeout=timeout)
        with open(temp, "rb") as rdb:
            found = rdb_version_of(rdb.read(9))
        if str(found) != str(picked["tags"]["rdb"]):
            raise BackupError("The dumped file of snapshot %s is RDB %s, its tag says %s." % (
                picked["short_id"], found, picked["tags"]["rdb"]))
        os.chown(temp, stat.st_uid, stat.st_gid)
        os.chmod(temp, 0o660)
        systemctl("stop", service)
        _remove(files["aof"])
        os.replace(temp, files["rdb"])
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    if files["appendonly"]:
        _set_conf_appendonly(conf_file, "no")
    systemctl("start", service)
    client = wait_loaded(connect, timeout)
    commands = ["systemctl stop %s" % service, "restic dump %s" % picked["short_id"], "systemctl start %s" % service]
    if files["appendonly"]:
        client.config_set("appendonly", "yes")
        deadline = time.monotonic() + timeout
        while True:
            state = client.info("persistence")
            if not int(state.get("aof_rewrite_in_progress", 0)) and not int(state.get("aof_rewrite_scheduled", 0)) \
                    and int(state.get("aof_enabled", 0)):
                break
            if time.monotonic() > deadline:
                raise BackupError("The AOF rewrite after the restore did not finish within %s s." % timeout)
            time.sleep(0.1)
        client.execute_command("CONFIG", "REWRITE")
        commands += ["CONFIG SET appendonly yes", "CONFIG REWRITE"]
    return dict(changed=True, snapshot=picked, key_count=int(client.dbsize()), aof_rebuilt=files["appendonly"],
                commands=commands, elapsed=round(time.monotonic() - started, 3))


# --------------------------------------------------------------------------------------------------------------
# The systemd timer's entry point (roles/backup): python3 backup.py --group main --port 6379 ...
# --------------------------------------------------------------------------------------------------------------
def write_metrics(path, group, outcome, result, now):
    """node_exporter textfile: last success/failure times of this node's runs (a skipped run changes nothing)."""
    names = ("ha_redis_backup_last_success_timestamp_seconds", "ha_redis_backup_last_failure_timestamp_seconds",
             "ha_redis_backup_last_size_bytes", "ha_redis_backup_last_duration_seconds")
    values = dict.fromkeys(names, 0.0)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("ha_redis_backup_"):
                    name = line.split("{", 1)[0]
                    if name in values:
                        values[name] = float(line.rsplit(" ", 1)[1])
    if outcome == "success":
        values[names[0]] = now
        values[names[2]] = float((result.get("snapshot") or {}).get("size_bytes") or 0)
        values[names[3]] = float(result.get("elapsed") or 0)
    elif outcome == "failure":
        values[names[1]] = now
    label = '{ha_redis_group="%s"}' % group
    text = "".join("# TYPE %s gauge\n%s%s %s\n" % (name, name, label, repr(values[name])) for name in names)
    temp = path + ".tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temp, 0o644)
    os.replace(temp, path)


def main(argv=None):
    import argparse  # noqa: PLC0415 - the timer's entry point only: the modules never need these
    import sys  # noqa: PLC0415

    import redis  # noqa: PLC0415

    parser = argparse.ArgumentParser(description="Take a snapshot of a group if this node is its source.")
    parser.add_argument("--group", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--address", required=True, help="this node's host:port as the primary lists it")
    parser.add_argument("--env-file", required=True)
    parser.add_argument("--keep", default="", help="retention, e.g. last=24,daily=7")
    parser.add_argument("--allow-primary", action="store_true")
    parser.add_argument("--max-lag-bytes", type=int, default=1048576)
    parser.add_argument("--restic", default="/usr/bin/restic")
    parser.add_argument("--metrics", default="")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)
    with open(args.env_file, encoding="utf-8") as handle:
        own = parse_env_file(handle.read())
    kwargs = dict(username=own.get("HA_REDIS_USER") or None, password=own.get("HA_REDIS_PASSWORD") or None,
                  decode_responses=True, socket_timeout=10, socket_connect_timeout=5)
    if own.get("HA_REDIS_TLS") == "yes":
        kwargs.update(ssl=True, ssl_ca_certs=own.get("HA_REDIS_TLS_CA") or None,
                      ssl_certfile=own.get("HA_REDIS_TLS_CERT") or None,
                      ssl_keyfile=own.get("HA_REDIS_TLS_KEY") or None,
                      ssl_check_hostname=False)

    def connect(host, port):
        return redis.Redis(host=host, port=port, **kwargs)

    now = time.time()
    try:
        result = take_snapshot(connect("127.0.0.1", args.port), connect, args.group, args.address, args.restic,
                               restic_env(args.env_file),
                               keep=dict(item.split("=", 1) for item in args.keep.split(",") if "=" in item),
                               allow_primary=args.allow_primary, max_lag_bytes=args.max_lag_bytes,
                               timeout=args.timeout, init_repository=True)
    except Exception as exc:  # noqa: BLE001 - reported to the journal and the metrics, exit 1
        sys.stderr.write("backup of group %s failed: %s\n" % (args.group, exc))
        if args.metrics:
            write_metrics(args.metrics, args.group, "failure", {}, now)
        return 1
    for warning in result["warnings"]:
        sys.stderr.write("WARNING: %s\n" % warning)
    if result["is_source"]:
        sys.stdout.write("group %s: snapshot %s from %s (%s), RDB %s, %s bytes, %.1f s\n" % (
            args.group, result["snapshot"]["id"], result["source"], result["reason"], result["snapshot"]["rdb"],
            result["snapshot"]["size_bytes"], result["elapsed"]))
    else:
        sys.stdout.write("group %s: %s\n" % (args.group, result["skipped_reason"]))
    if args.metrics:
        write_metrics(args.metrics, args.group, "success" if result["is_source"] else "skipped", result, now)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
