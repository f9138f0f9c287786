#!/bin/sh
# Prepares a Debian machine for the SSH transport tests (agent/transport, the
# netns lab in lab/netns-sshd.ts): a real OpenSSH server and client, iproute2 for
# network namespaces, sudo, flock, and the test login users. Idempotent and
# quiet: prints nothing when all is well, the apt log when an install fails.
# Must run as root; CI runs it before the tests.
set -eu

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-test-host: must run as root (it installs packages and adds test users)" >&2
  exit 1
fi

need=""
[ -x /usr/sbin/sshd ] || need="$need openssh-server"
for tool in ssh-keygen ssh-agent ssh-add; do
  command -v "$tool" >/dev/null 2>&1 || { need="$need openssh-client"; break; }
done
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v sudo >/dev/null 2>&1 || need="$need sudo"
command -v flock >/dev/null 2>&1 || need="$need util-linux"
command -v nsenter >/dev/null 2>&1 || need="$need util-linux"
command -v pgrep >/dev/null 2>&1 || need="$need procps"
command -v useradd >/dev/null 2>&1 || need="$need passwd"
command -v visudo >/dev/null 2>&1 || need="$need sudo"

if [ -n "$need" ]; then
  log=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # the package list is meant to split into words
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $need; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "setup-test-host: installing$need failed" >&2
    exit 1
  fi
  rm -f "$log"
fi

# sshd refuses to start without its privilege-separation directory. The tests
# start their own sshd in each network namespace and need no system sshd.
mkdir -p /run/sshd
chmod 0755 /run/sshd

# Test login users (the lab's sshd reads their authorized keys from the lab's
# own directory, so nothing is written to their homes):
#   lvsc-test         passwordless sudo (the usual way lvsc is deployed)
#   lvsc-test-nosudo  no sudo rights at all
#   lvsc-test-pw      sudo that asks for a password (lvsc must fail, not hang)
# A '*' password field means "no password login" without marking the account
# locked, which OpenSSH would refuse even for key logins.
for user in lvsc-test lvsc-test-nosudo lvsc-test-pw; do
  if ! id "$user" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/sh --password '*' "$user"
  fi
done

sudoers=/etc/sudoers.d/lvsc-test
want='# Written by lvsc scripts/setup-test-host.sh for the SSH transport tests.
lvsc-test ALL=(ALL:ALL) NOPASSWD: ALL
lvsc-test-pw ALL=(ALL:ALL) ALL'
if [ ! -f "$sudoers" ] || [ "$(cat "$sudoers")" != "$want" ]; then
  tmp=$(mktemp)
  printf '%s\n' "$want" >"$tmp"
  chmod 0440 "$tmp"
  visudo -cqf "$tmp" >/dev/null
  mv -f "$tmp" "$sudoers"
fi

# The tests create network namespaces: say so here, clearly, if the kernel or
# the sandbox does not allow it.
probe="lvsc-setup-probe-$$"
if ! ip netns add "$probe" 2>/dev/null; then
  echo "setup-test-host: 'ip netns add' failed: the SSH transport tests need network namespaces (root with CAP_SYS_ADMIN)" >&2
  exit 1
fi
ip netns delete "$probe"
