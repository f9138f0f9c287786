#!/bin/sh
# Prepares a Debian machine for the unit and integration tests: every program
# they run on this machine (test/support/host-programs.txt lists each with its
# Debian package and who needs it: OpenSSH and iproute2 for the netns SSH lab,
# ipvsadm and kmod for lvsc's director there, cpio for the lab's build, ...),
# and the test login users. A test that needs a program states it
# (test/support/host.ts) and fails, naming this script, where it is missing.
# Idempotent and quiet: prints nothing when all is well, the apt log when an
# install fails. Must run as root; CI runs it before the tests.
set -eu

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-test-host: must run as root (it installs packages and adds test users)" >&2
  exit 1
fi

# The sbin directories are where ipvsadm, sysctl and modprobe live; sudo's PATH may lack them.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
list="$(dirname "$0")/../test/support/host-programs.txt"
if [ ! -r "$list" ]; then
  echo "setup-test-host: cannot read $list (the programs the tests need)" >&2
  exit 1
fi

have() {
  case $1 in
    /*) [ -x "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

# The packages of the programs that are missing, each once; prints them.
missing_packages() {
  packages=""
  while read -r program package _; do
    case $program in '' | '#'*) continue ;; esac
    have "$program" && continue
    case " $packages " in *" $package "*) ;; *) packages="$packages $package" ;; esac
  done <"$list"
  printf '%s' "$packages"
}

need=$(missing_packages)
if [ -n "$need" ]; then
  log=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # the package list is meant to split into words
  if ! { apt-get update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $need; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "setup-test-host: installing$need failed" >&2
    exit 1
  fi
  rm -f "$log"
  still=$(missing_packages)
  if [ -n "$still" ]; then
    echo "setup-test-host: installed$need, but the programs of$still are still missing (see $list)" >&2
    exit 1
  fi
fi

# sshd refuses to start without its privilege-separation directory. The tests
# start their own sshd in each network namespace and need no system sshd.
mkdir -p /run/sshd
chmod 0755 /run/sshd

# The directory of lvsc's manifest: the netns lab gives each test host a
# private tmpfs over it (as over /etc/sysctl.d ...), which must exist to be
# mounted on.
mkdir -p /var/lib/lvsc

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
