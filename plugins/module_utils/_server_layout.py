# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a data node holds on disk, and which of its packages are missing: pure functions, no I/O.

``server_layout`` lists the directories and files of ``roles/server`` for the groups of one host (paths, owners,
modes, and which template renders each file with which group); the role renders the templates
(``ha.redis.render``) and writes everything with ``ha.redis.node_files`` in two calls. ``missing_packages`` reads
the install probe's ``dpkg-query`` lines.
"""

from __future__ import annotations

ENGINE_KEYS = ("conf_dir", "conf_prefix", "data_dir", "server_unit", "user", "group")


def _file(dest, owner, group, mode, template, item=None, force=True):
    entry = {"dest": dest, "owner": owner, "group": group, "mode": mode, "template": template}
    if item is not None:
        entry["template_vars"] = {"item": item}
    if not force:
        entry["force"] = False
    return entry


def server_layout(groups, engine, acl=False, host_tuning=False):
    """Directories, plain files and secret files of a data node serving ``groups`` (dicts with ``name``).

    ``engine`` is the row of ``roles/server/vars/engines.yml``. Seeded files (``force: false``) are written once:
    Redis owns them afterwards. Returns ``{"directories", "plain_files", "secret_files", "conf_base",
    "dropin", "acl_file"}``; each file has ``template`` (and ``template_vars``) instead of ``content``.
    """
    missing = [key for key in ENGINE_KEYS if key not in engine]
    if missing:
        raise ValueError("The engine table lacks %s." % ", ".join(missing))
    owner, group = engine["user"], engine["group"]
    conf_base = "%s/%s-" % (engine["conf_dir"], engine["conf_prefix"])
    dropin_dir = "/etc/systemd/system/%s.service.d" % engine["server_unit"]
    dropin = dropin_dir + "/ha-redis.conf"
    acl_file = engine["conf_dir"] + "/users.acl"
    directories, plain, secret = [], [], []
    if acl:
        secret.append(_file(acl_file, "root", group, "0640", "users.acl.j2"))
    for item in groups:
        name = item["name"]
        directories += [
            {"path": conf_base + name + ".d", "owner": "root", "group": group, "mode": "0750"},
            {"path": "%s/%s" % (engine["data_dir"], name), "owner": owner, "group": group, "mode": "0750"},
        ]
        plain.append(_file(conf_base + name + ".conf", owner, group, "0640", "server-seed.conf.j2", item,
                           force=False))
        secret.append(_file(conf_base + name + ".d/ansible.conf", "root", group, "0640", "server-ansible.conf.j2",
                            item))
    directories.append({"path": dropin_dir, "owner": "root", "group": "root", "mode": "0755"})
    plain.append(_file(dropin, "root", "root", "0644", "systemd-dropin.conf.j2"))
    if host_tuning:
        plain.append(_file("/etc/tmpfiles.d/ha-redis.conf", "root", "root", "0644", "tmpfiles.conf.j2"))
    return {"directories": directories, "plain_files": plain, "secret_files": secret, "conf_base": conf_base,
            "dropin": dropin, "acl_file": acl_file}


def missing_packages(probe_lines, names, version="", unpinned=("python3-redis",)):
    """The packages of ``names`` not installed, or (when ``version`` is set) not at that version.

    ``probe_lines``: the install probe's output, whose package lines read
    ``package <name> <version> <dpkg status abbreviation>`` (``ii`` = installed). Packages in ``unpinned`` only
    need to be installed.
    """
    seen = {}
    for line in probe_lines or []:
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "package":
            seen[fields[1]] = (fields[2], fields[3] if len(fields) > 3 else "")
    missing = []
    for name in names:
        installed, status = seen.get(name, ("", ""))
        if status != "ii" or (version and name not in unpinned and installed != version):
            missing.append(name)
    return missing
