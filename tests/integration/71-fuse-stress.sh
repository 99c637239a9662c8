#!/bin/sh
# Parallel writers on one cowbox-fuse mount: 8 processes create, write,
# append to shared lower files (racing copy-ups), rename across dirs and
# delete at once while readers walk the tree; then every file must hold
# exactly what its writer wrote, and the kernel overlayfs must see the
# same upper dir.
. "$(dirname "$0")/fuse-standalone.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fuse-lib.sh"
fuse_lib_init

T=$FUSE_T
make_lowers "$T"
L="$T/l2:$T/l1"
mkdir -p "$T/f/upper" "$T/f/work" "$T/f/mnt"
mount_cbfuse "$L" "$T/f/upper" "$T/f/work" "$T/f/mnt"
M=$T/f/mnt

python3 - "$M" <<'PY' || fail "parallel writers failed"
import hashlib, os, random, sys, multiprocessing as mp
root = sys.argv[1]
N, FILES = 8, 150

def data(i, j):
    r = random.Random(i * 100000 + j)
    return r.randbytes(r.randint(0, 200000))

def writer(i):
    d = os.path.join(root, "stress", "w%d" % i)
    os.makedirs(d, exist_ok=True)
    for j in range(FILES):
        tmp = os.path.join(d, ".tmp%d" % j)
        with open(tmp, "wb") as f:
            f.write(data(i, j))
        dst = os.path.join(root, "stress", "w%d" % ((i + j) % N), "f%d-%d" % (i, j))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.rename(tmp, dst)
        if j % 10 == 0:  # every writer appends to the same lower files
            for k in (1, 2, 8, 9):
                with open(os.path.join(root, "usr/share/doc/f%d" % k), "a") as f:
                    f.write("w%d-%d\n" % (i, j))
        if j % 7 == 0:
            os.unlink(dst)

def reader(stop):
    while not stop.is_set():
        for dp, dn, fn in os.walk(root):
            for n in fn:
                try:
                    os.lstat(os.path.join(dp, n))
                except FileNotFoundError:
                    pass

os.makedirs(os.path.join(root, "stress"), exist_ok=True)
stop = mp.Event()
readers = [mp.Process(target=reader, args=(stop,)) for _ in range(2)]
for r in readers: r.start()
ws = [mp.Process(target=writer, args=(i,)) for i in range(N)]
for w in ws: w.start()
for w in ws: w.join()
stop.set()
for r in readers: r.join()
bad = [w.exitcode for w in ws if w.exitcode != 0]
if bad:
    sys.exit("writer exit codes %s" % bad)
errors = 0
for i in range(N):
    for j in range(FILES):
        p = os.path.join(root, "stress", "w%d" % ((i + j) % N), "f%d-%d" % (i, j))
        if j % 7 == 0:
            if os.path.exists(p):
                print("deleted file back:", p); errors += 1
            continue
        with open(p, "rb") as f:
            if f.read() != data(i, j):
                print("bad content:", p); errors += 1
for k in (1, 2, 8, 9):
    with open(os.path.join(root, "usr/share/doc/f%d" % k)) as f:
        lines = f.read().splitlines()
    want = {"w%d-%d" % (i, j) for i in range(N) for j in range(0, FILES, 10)}
    if not want <= set(lines) or len(lines) != len(want) + 1:
        print("appends lost in f%d: %d lines" % (k, len(lines))); errors += 1
left = [n for dp, dn, fn in os.walk(os.path.join(root, "stress")) for n in fn if n.startswith(".tmp")]
if left:
    print("temporary files left:", len(left)); errors += 1
sys.exit(1 if errors else 0)
PY

"$LIST_TREE" "$M" >"$T/f.list"
"$CB_FUSE_MOUNT" --unmount "$M" || fail "unmount failed"
[ -z "$(ls -A "$T/f/work/cowbox-fuse" 2>/dev/null)" ] || fail "work dir not cleaned"
if kernel_overlay_ok; then
	mkdir -p "$T/k"
	mount_kernel "$L" "$T/f/upper" "$T/f/work" "$T/k"
	"$LIST_TREE" "$T/k" >"$T/k.list"
	same_tree "merged views after the stress run" "$T/k.list" "$T/f.list"
fi
say "ok"
