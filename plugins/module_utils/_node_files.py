# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers of ha.redis.node_files: what to do with each directory, link and file of a node.

The module gives every path one remote call instead of one ``stat`` (and one ``copy``) per path; these functions
decide, from what is on disk, what that call has to change. They read the file system and never write to it.
"""

from __future__ import annotations

import os

# What a path can need, in the order the module applies them.
CREATE = "create"
REPLACE = "replace"
KEEP = "keep"


def plan_directory(path):
    """Return CREATE when ``path`` does not exist, KEEP when it is a directory; raise ValueError otherwise."""
    if not os.path.lexists(path):
        return CREATE
    if os.path.isdir(path) and not os.path.islink(path):
        return KEEP
    raise ValueError("%s exists and is not a directory." % path)


def plan_link(path, src):
    """Return CREATE, REPLACE (something else is at ``path``) or KEEP (already a link to ``src``)."""
    if not os.path.lexists(path):
        return CREATE
    if os.path.islink(path) and os.readlink(path) == src:
        return KEEP
    if os.path.isdir(path) and not os.path.islink(path):
        raise ValueError("%s is a directory; a link to %s cannot replace it." % (path, src))
    return REPLACE


def read_current(path):
    """Return the bytes of the regular file at ``path``, or None when nothing is there."""
    if not os.path.lexists(path):
        return None
    if os.path.islink(path) or not os.path.isfile(path):
        raise ValueError("%s exists and is not a regular file." % path)
    with open(path, "rb") as handle:
        return handle.read()


def plan_file(current, wanted, force):
    """Decide for one file from its current bytes (None: absent) and the wanted bytes.

    ``force=False`` seeds a file once: an existing file is kept whatever it holds (the service owns it).
    """
    if current is None:
        return CREATE
    if not force or current == wanted:
        return KEEP
    return REPLACE


def text_for_diff(data):
    """Bytes shown in a diff: decoded text, or a placeholder for binary data."""
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "(binary data, %d bytes)\n" % len(data)
