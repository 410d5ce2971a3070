#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: node_files
short_description: Write the directories, links and files of a node in one call
version_added: 1.0.0
description:
  - Brings a list of directories, symbolic links and files on the target to the wanted state in a single module
    run, where M(ansible.builtin.file) and M(ansible.builtin.template) take one run per path (and the template
    action one more per changed file). The roles use it for their Ansible-owned files; a re-run with nothing to
    change costs one remote call per role instead of one per path.
  - File contents come from the task, typically rendered on the controller with
    C(lookup('ansible.builtin.template', ...)). A file is written to a temporary file in the same directory
    with its owner, group and mode already set, then moved over the old one with Ansible's atomic move (which
    keeps the SELinux context of the old file, or gives a new file the default context of its path); readers
    never see a partial file and a file holding secrets is never readable by others, not even for a moment.
  - Order of work is directories, links, files, each in the order given; parents must come before children.
author:
  - ha.redis contributors (!UNKNOWN)
options:
  directories:
    description:
      - Directories that must exist. A missing directory is created (its parent must exist); the owner, group
        and mode of every listed directory are set when they differ.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the directory.
        type: path
        required: true
      owner: &owner
        description: Owner (name or uid); unchanged when not set.
        type: str
      group: &group
        description: Group (name or gid); unchanged when not set.
        type: str
      mode:
        description: Mode, as an octal string such as V("0750").
        type: raw
        default: "0755"
  links:
    description:
      - Symbolic links that must exist. Whatever else is at O(links[].path) (a file, another link) is replaced;
        a directory there is an error. For example a link to V(/dev/null) masks a systemd unit.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the link.
        type: path
        required: true
      src:
        description: What the link points to, written as given.
        type: str
        required: true
  files:
    description:
      - Regular files with the given content.
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description:
          - Absolute path of the file; its directory must exist (create it with O(directories)).
          - In check mode a missing directory is not an error (an earlier task of the same run would create it, as
            a first deploy's check run shows); the file is reported as created.
        type: path
        required: true
      content:
        description:
          - Wanted content (text, written as UTF-8). For a file that holds secrets, set C(no_log) on the task.
        type: str
        required: true
      owner: *owner
      group: *group
      mode:
        description: Mode, as an octal string such as V("0640").
        type: raw
        default: "0644"
      force:
        description:
          - V(false) seeds the file once; an existing file is left exactly as it is, content and attributes,
            because a service owns it from then on (Redis and Sentinel rewrite their own configuration files).
        type: bool
        default: true
  unsafe_writes:
    description:
      - Write a file in place when it cannot be replaced atomically (for example a file bind-mounted into a
        container, where the rename fails with C(EBUSY)), as O(ansible.builtin.copy#module:unsafe_writes) does.
        Readers may then see a partial file; its owner, group and mode are still set before the content.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports what would be created, replaced or re-permissioned; writes nothing.
  diff_mode:
    support: full
    description: One diff per path that changes (or would); file contents in full, so use C(no_log) for secrets.
notes:
  - Paths that exist with the wrong type (a file where a directory is wanted, a directory where a file or link
    is wanted) fail the module before anything is written.
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.file
"""

EXAMPLES = r"""
- name: Write the Ansible-owned files of a data node in one call
  ha.redis.node_files:
    directories:
      - {path: /etc/redis/redis-main.d, owner: root, group: redis, mode: "0750"}
      - {path: /var/lib/redis/main, owner: redis, group: redis, mode: "0750"}
    links:
      - {path: /etc/systemd/system/redis-server.service, src: /dev/null}
    files:
      - dest: /etc/redis/redis-main.d/ansible.conf
        content: "{{ lookup('ansible.builtin.template', 'server-ansible.conf.j2') }}"
        owner: root
        group: redis
        mode: "0640"
      - dest: /etc/redis/redis-main.conf
        content: "include /etc/redis/redis-main.d/ansible.conf\n"
        owner: redis
        group: redis
        mode: "0640"
        force: false
  register: node_files
"""

RETURN = r"""
directories:
  description: Every listed directory, with what was (or would be) done.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/var/lib/redis/main", "action": "create", "changed": true}]
links:
  description: Every listed link, with what was (or would be) done.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/etc/systemd/system/redis-server.service", "action": "keep", "changed": false}]
files:
  description:
    - Every listed file, with what was (or would be) done to it. C(action) is V(create), V(replace) or V(keep);
      C(changed) is also true for a kept file whose owner, group or mode was corrected.
  returned: always
  type: list
  elements: dict
  sample: [{"dest": "/etc/redis/redis-main.d/ansible.conf", "action": "replace", "changed": true}]
changed_paths:
  description: The paths that changed (or would), in the order of work.
  returned: always
  type: list
  elements: str
  sample: ["/etc/redis/redis-main.d/ansible.conf"]
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.ha.redis.plugins.module_utils._node_files import (
    CREATE,
    KEEP,
    plan_directory,
    plan_file,
    plan_link,
    read_current,
    text_for_diff,
)


def _ownership_options(default_mode):
    """owner, group and mode: the same suboptions for directories and files."""
    return dict(owner=dict(type="str"), group=dict(type="str"), mode=dict(type="raw", default=default_mode))


def _fs_args(path, owner, group, mode):
    return dict(path=path, owner=owner, group=group, mode=mode, secontext=[None, None, None], attributes=None)


def _attributes(module, path, owner, group, mode, diffs):
    """Set owner, group and mode of ``path`` when they differ; record a diff of what changed."""
    diff = dict(before={}, after={}, before_header=path + " (attributes)", after_header=path + " (attributes)")
    changed = module.set_fs_attributes_if_different(_fs_args(path, owner, group, mode), False, diff)
    if changed:
        diffs.append(diff)
    return changed


def _write(module, dest, data, spec):
    """Write ``data`` to a temporary file beside ``dest`` with its final attributes, then move it over ``dest``.

    ``atomic_move`` keeps the SELinux context (and honours ``unsafe_writes``), but it also gives the temporary file
    the old file's owner and mode, and a new file the mode 0666 minus the umask. Neither may open a secret file
    to others, even for a moment: an existing file gets its final owner and mode before the move, and a new one
    is moved under the umask 0777 (mode 0000 until its final attributes are set just after).
    """
    fs_args = _fs_args(dest, spec["owner"], spec["group"], spec["mode"])
    handle, tmp = tempfile.mkstemp(prefix=".ha-redis-", dir=os.path.dirname(dest))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        module.set_fs_attributes_if_different(dict(fs_args, path=tmp), False)
        creating = not os.path.lexists(dest)
        if not creating:
            module.set_fs_attributes_if_different(fs_args, False)
        umask = os.umask(0o777) if creating else None
        try:
            module.atomic_move(tmp, dest, unsafe_writes=module.params["unsafe_writes"])
        except OSError:
            raise
        except Exception as exc:  # atomic_move reports its own failures as Exception
            raise OSError(None, to_native(exc), dest) from exc
        finally:
            if umask is not None:
                os.umask(umask)
        if creating:
            module.set_fs_attributes_if_different(fs_args, False)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="dict", default=[], options=dict(
                _ownership_options("0755"), path=dict(type="path", required=True))),
            links=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                src=dict(type="str", required=True),
            )),
            files=dict(type="list", elements="dict", default=[], options=dict(
                _ownership_options("0644"),
                dest=dict(type="path", required=True),
                content=dict(type="str", required=True),
                force=dict(type="bool", default=True),
            )),
            unsafe_writes=dict(type="bool", default=False, fallback=(env_fallback, ["ANSIBLE_UNSAFE_WRITES"])),
        ),
        supports_check_mode=True,
    )
    params = module.params
    check = module.check_mode
    result = dict(changed=False, directories=[], links=[], files=[], changed_paths=[])
    diffs = []

    # Plan everything first: a path of the wrong type fails the module before anything is written.
    try:
        dir_plans = [plan_directory(item["path"]) for item in params["directories"]]
        link_plans = [plan_link(item["path"], item["src"]) for item in params["links"]]
        file_data = [to_bytes(item["content"], errors="surrogate_or_strict") for item in params["files"]]
        currents = [read_current(item["dest"]) for item in params["files"]]
    except (ValueError, OSError) as exc:
        module.fail_json(msg=to_native(exc), **result)
    planned_dirs = set(item["path"] for item, plan in zip(params["directories"], dir_plans) if plan == CREATE)
    for item in params["files"]:
        parent = os.path.dirname(item["dest"])
        if not os.path.isdir(parent) and parent not in planned_dirs and not check:
            module.fail_json(msg="The directory of %s does not exist and is not in directories." % item["dest"],
                             **result)

    def record(kind, key, path, action, changed):
        result[kind].append({key: path, "action": action, "changed": changed})
        if changed:
            result["changed_paths"].append(path)

    try:
        for item, plan in zip(params["directories"], dir_plans):
            path = item["path"]
            changed = plan == CREATE
            if changed:
                diffs.append(dict(before_header=path, after_header=path, before={"state": "absent"},
                                  after={"state": "directory"}))
                if not check:
                    os.mkdir(path, 0o700)
            if not (check and changed):
                changed = _attributes(module, path, item["owner"], item["group"], item["mode"], diffs) or changed
            record("directories", "path", path, plan, changed)

        for item, plan in zip(params["links"], link_plans):
            path, src = item["path"], item["src"]
            changed = plan != KEEP
            if changed:
                before = os.readlink(path) if os.path.islink(path) else ("absent" if plan == CREATE else "file")
                diffs.append(dict(before_header=path, after_header=path, before={"link": before},
                                  after={"link": src}))
                if not check:
                    tmp = os.path.join(os.path.dirname(path), ".ha-redis-link-" + os.path.basename(path))
                    if os.path.lexists(tmp):
                        os.unlink(tmp)
                    os.symlink(src, tmp)
                    os.rename(tmp, path)
            record("links", "path", path, plan, changed)

        for item, data, current in zip(params["files"], file_data, currents):
            dest = item["dest"]
            plan = plan_file(current, data, item["force"])
            changed = plan != KEEP
            if changed:
                diffs.append(dict(before_header=dest, after_header=dest, before=text_for_diff(current),
                                  after=text_for_diff(data)))
                if not check:
                    _write(module, dest, data, item)
            elif item["force"]:
                changed = _attributes(module, dest, item["owner"], item["group"], item["mode"], diffs)
            record("files", "dest", dest, plan, changed)
    except OSError as exc:
        module.fail_json(msg="Cannot write %s: %s." % (exc.filename or "a path", exc.strerror), **result)

    result["changed"] = bool(result["changed_paths"])
    if module._diff and diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
