#!/usr/bin/env bash
# Build a Debian systemd + sshd image for the lab and Molecule, from Debian's packages only
# (no container registry is needed). Usage: lab/build-image.sh SUITE TAG   e.g. bookworm ha-redis-lab:bookworm
# The Debian mirror is read from this machine's apt sources at run time.
set -euo pipefail
suite=${1:?suite (bookworm|trixie)}
tag=${2:?image tag}
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "image $tag: present" >&2
  exit 0
fi
command -v debootstrap >/dev/null 2>&1 || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

# Read the mirrors from the apt sources (deb822 first, then the one-line format).
mirror=""; security=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  security=$(awk '/^URIs:/ && $2 ~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
  security=$(awk '$1 == "deb" && $2 ~ /security/ {print $2; exit}' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || { echo "no Debian mirror found in the apt sources" >&2; exit 1; }
[ -n "$security" ] || security="${mirror%/debian}/debian-security"

root=$(mktemp -d /var/tmp/ha-redis-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "image $tag: debootstrap $suite (takes about a minute)" >&2
debootstrap --variant=minbase \
  --include=python3,python3-apt,systemd,systemd-sysv,dbus,sudo,procps,iproute2,openssh-server,ca-certificates,iputils-ping \
  "$suite" "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"

cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
SRC
# A container has no console and no kernel tunables of its own: keep only what the lab needs.
for unit in getty@tty1.service console-getty.service systemd-logind.service systemd-udevd.service \
            systemd-udev-trigger.service systemd-journald-audit.socket apt-daily.timer \
            apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer systemd-modules-load.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
mkdir -p "$root/root/.ssh"; chmod 700 "$root/root/.ssh"
mkdir -p "$root/etc/ssh/sshd_config.d"
cat >"$root/etc/ssh/sshd_config.d/lab.conf" <<'SSHD'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
SSHD
systemctl --root="$root" enable ssh.service >/dev/null 2>&1 || true
echo "ha-redis-lab" >"$root/etc/hostname"
: >"$root/etc/machine-id"
# Package lists as a real host has them (the roles' apt tasks then need no refresh on a new image).
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" apt-get update -qq >/dev/null 2>&1 || echo "image $tag: apt-get update in the image failed; hosts will refresh" >&2
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin
: >"$root/etc/resolv.conf"

tar -C "$root" -c . | docker import \
  -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' - "$tag" >/dev/null
echo "image $tag: built" >&2
