"""The data node's layout and the install probe's reading (module_utils/_server_layout.py)."""

from __future__ import annotations

import pathlib

import jinja2
import pytest
import yaml
from ansible_collections.ha.redis.plugins.module_utils._server_layout import missing_packages, server_layout

REDIS = {"conf_dir": "/etc/redis", "conf_prefix": "redis", "data_dir": "/var/lib/redis", "server_unit": "redis-server@",
         "user": "redis", "group": "redis"}


def test_two_groups_without_acl():
    groups = [{"name": "main", "port": 6379}, {"name": "cache", "port": 6380}]
    layout = server_layout(groups, REDIS)
    assert layout["conf_base"] == "/etc/redis/redis-"
    assert layout["dropin"] == "/etc/systemd/system/redis-server@.service.d/ha-redis.conf"
    assert [d["path"] for d in layout["directories"]] == [
        "/etc/redis/redis-main.d", "/var/lib/redis/main", "/etc/redis/redis-cache.d", "/var/lib/redis/cache",
        "/etc/systemd/system/redis-server@.service.d"]
    assert layout["directories"][0]["owner"] == "root" and layout["directories"][1]["owner"] == "redis"
    seeds = [f for f in layout["plain_files"] if f["template"] == "server-seed.conf.j2"]
    assert [f["dest"] for f in seeds] == ["/etc/redis/redis-main.conf", "/etc/redis/redis-cache.conf"]
    assert all(f["force"] is False and f["mode"] == "0640" for f in seeds)
    assert seeds[1]["template_vars"] == {"item": groups[1]}
    secrets = [f["dest"] for f in layout["secret_files"]]
    assert secrets == ["/etc/redis/redis-main.d/ansible.conf", "/etc/redis/redis-cache.d/ansible.conf"]
    assert not any(f["dest"].startswith("/etc/tmpfiles.d") for f in layout["plain_files"])


def test_acl_file_and_host_tuning():
    layout = server_layout([{"name": "main"}], dict(REDIS, conf_dir="/etc/valkey"), acl=True, host_tuning=True)
    assert layout["secret_files"][0] == {"dest": "/etc/valkey/users.acl", "owner": "root", "group": "redis",
                                         "mode": "0640", "template": "users.acl.j2"}
    assert layout["plain_files"][-1]["dest"] == "/etc/tmpfiles.d/ha-redis.conf"


def test_a_host_without_groups_keeps_its_dropin():
    layout = server_layout([], REDIS)
    assert [f["dest"] for f in layout["plain_files"]] == [layout["dropin"]]
    assert layout["secret_files"] == []


def test_an_incomplete_engine_row_is_named():
    with pytest.raises(ValueError, match="lacks conf_dir"):
        server_layout([], {k: v for k, v in REDIS.items() if k != "conf_dir"})


PROBE = ["os debian 12", "unit redis-server.service masked",
         "package redis-server 5:7.0.15-1~deb12u7 ii ", "package redis-tools 5:7.0.15-1~deb12u10 ii ",
         "package python3-redis 4.3.4-3 ii ", "package redis-sentinel 5:7.0.15-1~deb12u7 rc "]


@pytest.mark.parametrize("names, version, expected", [
    (["redis-server", "redis-tools", "python3-redis"], "", []),
    (["redis-server", "redis-sentinel", "python3-redis"], "", ["redis-sentinel"]),
    (["redis-server", "redis-tools", "python3-redis"], "5:7.0.15-1~deb12u7", ["redis-tools"]),
    (["valkey-server", "python3-redis"], "", ["valkey-server"]),
])
def test_missing_packages(names, version, expected):
    assert missing_packages(PROBE, names, version) == expected


def test_no_probe_output_means_everything_is_missing():
    assert missing_packages([], ["redis-server", "python3-redis"]) == ["redis-server", "python3-redis"]


def test_the_role_spells_the_paths_as_the_layout_does():
    """roles/server/vars/main.yml names __redis_conf_base, __redis_server_dropin and __redis_acl_file itself (cheaper
    than through the layout): they must be the layout's, for both engines."""
    root = pathlib.Path(__file__).resolve().parents[4]
    role_vars = yaml.safe_load((root / "roles" / "server" / "vars" / "main.yml").read_text())
    engines = yaml.safe_load((root / "roles" / "server" / "vars" / "engines.yml").read_text())["__redis_engines"]
    for engine in engines.values():
        layout = server_layout([], engine, acl=True)
        spelled = {key: jinja2.Template(role_vars[key]).render(__redis_engine=engine)
                   for key in ("__redis_conf_base", "__redis_server_dropin", "__redis_acl_file")}
        assert spelled == {"__redis_conf_base": layout["conf_base"], "__redis_server_dropin": layout["dropin"],
                           "__redis_acl_file": layout["acl_file"]}
