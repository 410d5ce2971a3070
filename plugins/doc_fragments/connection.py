# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options (plugins/module_utils/_connection.py). A module extends only the parts it uses:
    # TRANSPORT always, DATA_CREDENTIALS when it talks to data nodes, SENTINEL_CREDENTIALS when it talks to
    # Sentinels (a unit test keeps each part equal to its spec helper). The bare fragment adds nothing.
    DOCUMENTATION = r"""
options: {}
"""

    TRANSPORT = r"""
options:
  tls:
    description:
      - Connect to every node over TLS.
    type: bool
    default: false
  validate_certs:
    description:
      - Verify the server certificate against O(ca_certs) when O(tls=true).
      - Turn off only in a lab; the host name is not checked, the CA is.
    type: bool
    default: true
  ca_certs:
    description:
      - Path to the CA certificate bundle used to verify the servers. Only with O(tls=true); must exist.
    type: path
  client_cert_file:
    description:
      - Path to the client certificate, for servers that require one (C(tls-auth-clients yes)). Only with
        O(tls=true); must exist.
    type: path
  client_key_file:
    description:
      - Path to the private key of O(client_cert_file). Only with O(tls=true); must exist.
    type: path
  connect_timeout:
    description:
      - Seconds to wait for a TCP (and TLS) connection to one node before it counts as unreachable; above 0.
    type: float
    default: 1.0
  command_timeout:
    description:
      - Seconds to wait for the reply to one command; above 0.
    type: float
    default: 2.0
requirements:
  - redis (Python library, redis-py 4.3 or newer; Debian package C(python3-redis))
"""

    # Modules that talk to data nodes.
    DATA_CREDENTIALS = r"""
options:
  login_user:
    description:
      - ACL user name used to authenticate to the Redis or Valkey data nodes.
      - Leave unset to authenticate as the C(default) user with O(login_password) only.
    type: str
    aliases: [redis_user]
  login_password:
    description:
      - Password used to authenticate to the data nodes (C(AUTH)), not to the Sentinels. Never logged.
    type: str
    aliases: [redis_password]
"""

    # Modules that talk to Sentinels.
    SENTINEL_CREDENTIALS = r"""
options:
  sentinel_user:
    description:
      - ACL user name used to authenticate to the Sentinels, which have credentials of their own.
    type: str
  sentinel_password:
    description:
      - Password used to authenticate to the Sentinels (their own C(requirepass) or ACL user), not to the data
        nodes. Never logged.
    type: str
"""

    # Modules that act on one data node (the node itself, through loopback by default).
    DATA_NODE = r"""
options:
  login_host:
    description:
      - Address of the data node. The roles run the module on the node itself and use loopback.
    type: str
    default: 127.0.0.1
  login_port:
    description:
      - Port of the data node (the replication group's port).
    type: int
    default: 6379
"""

    # Modules that act on one Sentinel: login_host and login_port point at the Sentinel, and the credentials are
    # O(sentinel_user) and O(sentinel_password) (fragment SENTINEL_CREDENTIALS).
    SENTINEL_NODE = r"""
options:
  login_host:
    description:
      - Address of the Sentinel. The roles run the module on the Sentinel's host and use loopback.
      - The module authenticates to it with O(sentinel_user) and O(sentinel_password).
    type: str
    default: 127.0.0.1
  login_port:
    description:
      - Port of the Sentinel.
    type: int
    default: 26379
"""

    # Modules that act on one replication group by its Sentinel name.
    PRIMARY_NAME = r"""
options:
  primary_name:
    description:
      - Name of the replication group (Sentinel's master name).
    type: str
    required: true
    aliases: [master_name]
"""

    # The nodes of a Redis Cluster (the cluster modules; module_utils/_cluster_ops.py cluster_argument_spec).
    CLUSTER_NODES = r"""
options:
  nodes:
    description:
      - Every node of the cluster, each as V(host:port) (its inventory host is then its address) or a dictionary
        with C(host), C(port) (default 6379) and C(inventory_host), the inventory host the node runs on; replicas
        are kept off their primary's inventory host (anti-affinity).
      - The order is kept by the placement and breaks ties in plans, so the same list always gives the same result.
    type: list
    elements: raw
    required: true
"""
