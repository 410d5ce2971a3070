# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The list form of the node modules: many instances (or Sentinel groups) of one host in one module run.

Private to the collection: the interface may change between releases.
A module run costs the host about a second of Python start-up and the controller a worker; a host with many
groups paid that once per group and per task. The list form does the per-entry work in-process, in parallel
(``run_parallel``), and reports each entry's result under its name. ``summarize`` is pure.
"""

from __future__ import annotations

from ansible_collections.ha.redis.plugins.module_utils._connection import (
    HaRedisError,
    describe_error,
    run_parallel,
)


def entry_options(**extra):
    """Sub-options of an ``instances`` entry: its name (for the report) and where to reach it, plus ``extra``."""
    options = dict(
        name=dict(type="str", required=True),
        login_host=dict(type="str", default="127.0.0.1"),
        login_port=dict(type="int", required=True),
    )
    options.update(extra)
    return options


def check_unique(entries, key="name", option="instances"):
    """Raise HaRedisError when two entries of ``option`` share a ``key``: the report is keyed by it."""
    seen = set()
    for entry in entries:
        if entry[key] in seen:
            raise HaRedisError("Option %s names %s %r twice: expected one entry per %s."
                               % (option, key, entry[key], key), duplicate=entry[key])
        seen.add(entry[key])


def run_entries(func, entries, key="name"):
    """``func(entry)`` for every entry at once; ``{entry[key]: result}`` in entry order.

    ``func`` returns the entry's result dict and reports its own domain errors in it (``failed``, ``msg``); an
    unexpected exception becomes such a result as well, so one entry never hides what the others did.
    """
    results = {}
    for entry, (result, error) in zip(entries, run_parallel(func, entries)):
        if error is not None:
            results[entry[key]] = dict(changed=False, failed=True, msg="%s." % describe_error(error).rstrip("."))
        else:
            results[entry[key]] = result
    return results


def guarded(result, work):
    """Run ``work(result)``, which fills ``result``; a HaRedisError is recorded in it (``failed``, ``msg``).

    ``result`` keeps what was done before the error (the commands already run, ``changed``).
    """
    try:
        work(result)
    except HaRedisError as exc:
        result.update(exc.details)
        result["failed"] = True
        result["msg"] = str(exc)
    return result


def summarize(results, noun="instance"):
    """``(changed, message)`` for the whole run: changed when any entry changed; the message names every failed
    entry with its own sentence, or is None when none failed. Pure."""
    changed = any(result.get("changed") for result in results.values())
    failed = [name for name, result in results.items() if result.get("failed")]
    if not failed:
        return changed, None
    reasons = "; ".join("%s %s: %s" % (noun, name, str(results[name].get("msg", "failed")).rstrip("."))
                        for name in failed)
    return changed, "%d of %d %ss failed (%s)." % (len(failed), len(results), noun, reasons)


def diff_list(results, noun="instance"):
    """One diff per entry (Ansible shows a list of diffs in order), headed by the entry's name."""
    diffs = []
    for name, result in results.items():
        diff = result.pop("diff", None)
        if diff is not None:
            diffs.append(dict(diff, before_header="%s %s" % (noun, name), after_header="%s %s" % (noun, name)))
    return diffs
