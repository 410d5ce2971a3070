# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests import the collection as ``ansible_collections.ha.redis``: the checkout is linked there in
``.collections`` (see ansible.cfg), which goes on ``sys.path`` once, here."""

from __future__ import annotations

import sys
from pathlib import Path

COLLECTIONS = str(Path(__file__).resolve().parents[2] / ".collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
