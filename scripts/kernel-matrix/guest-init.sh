#!/bin/busybox sh
# shellcheck shell=sh
# /init of the kernel matrix's initramfs: loads the 9p modules, mounts the
# host root read-only over virtio-9p (tmpfs on /tmp, /run, /var, /etc/netns),
# runs guest-check.sh from the repository in it, then powers off.
# Kernel command line: hf.repo=DIR hf.modes=kprobe,fentry,tracepoint
#   hf.suite=records,pipeline,... (privileged test files to run in each mode)
#   hf.file_timeout=SECONDS (per test file)
#   hf.virtio=GUEST_CIDR,GATEWAY,PORT (the virtio line: eth0's address, the
#   address of run.sh's namespace and its peer's port; passed on as
#   HF_MATRIX_VIRTIO)
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

say() { echo "HFMATRIX $*" >/dev/console; }
finish() {
  sync
  poweroff -f
  echo o >/proc/sysrq-trigger
  sleep 5
}

while read -r m; do
  insmod "/lib/modules/$m.ko" || say "init: insmod $m failed"
done </modules.order

repo=
modes=kprobe,fentry,tracepoint
suite=
file_timeout=600
virtio=
read -r cmdline </proc/cmdline
for arg in $cmdline; do
  case "$arg" in
    hf.repo=*) repo=${arg#hf.repo=} ;;
    hf.modes=*) modes=${arg#hf.modes=} ;;
    hf.suite=*) suite=${arg#hf.suite=} ;;
    hf.file_timeout=*) file_timeout=${arg#hf.file_timeout=} ;;
    hf.virtio=*) virtio=${arg#hf.virtio=} ;;
  esac
done

if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /newroot; then
  say "init: 9p mount failed"
  finish
fi
# The repository may live under one of the folders that get a tmpfs (CI
# clones into /tmp): hold it by a bind mount and put it back on top.
mkdir -p /repo
mount -o bind "/newroot$repo" /repo
for d in tmp run var etc/netns; do
  [ -d "/newroot/$d" ] && mount -t tmpfs -o mode=1777 tmpfs "/newroot/$d"
done
if [ ! -d "/newroot$repo/scripts" ]; then
  mkdir -p "/newroot$repo"
  mount -o bind /repo "/newroot$repo"
fi
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm /newroot/run/netns
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm
mount -t bpf bpf /newroot/sys/fs/bpf 2>/dev/null || true
# cgroup v2, as systemd mounts it: hostflow's socket hooks attach to its root
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup 2>/dev/null || true
# the privileged tests' gate wants tracefs where hostflow would mount it
mount -t tracefs nodev /newroot/sys/kernel/tracing 2>/dev/null || true
ip link set lo up 2>/dev/null || true
say "init: up, kernel $(uname -r), 9p root mounted"

# node_modules/.bin first, as npm run-scripts have it: where scripts/setup.sh
# fetched a Node.js because the system's is too old, its node is there.
chroot /newroot /usr/bin/env -i PATH="$repo/node_modules/.bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" HOME=/tmp HF_MATRIX_FILE_TIMEOUT="$file_timeout" HF_MATRIX_VIRTIO="$virtio" \
  /bin/bash "$repo/scripts/kernel-matrix/guest-check.sh" "$repo" "$modes" "$suite" >/dev/console 2>&1
say "init: guest-check exit $?"
finish
