#!/usr/bin/python3
"""Check a cowbox store for consistency, independently of cowbox's code:
every blob hashes to its name, every image record names blobs and layers
that exist, every layer directory is complete, names point at images, and
nothing half-written is visible (tmp/ may hold leftovers only while a
command runs: pass --allow-tmp to accept them). Prints each problem and
exits 1 if there is any."""
import hashlib, json, os, sys

root = sys.argv[1]
if not os.path.isdir(root):
    sys.exit(0)  # a command killed before it made the store
allow_tmp = "--allow-tmp" in sys.argv
problems = []

def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()

blobs = os.path.join(root, "blobs/sha256")
for name in os.listdir(blobs) if os.path.isdir(blobs) else []:
    if ".tmp-" in name:
        problems.append(f"leftover temp blob {name}")
        continue
    if sha(os.path.join(blobs, name)) != "sha256:" + name:
        problems.append(f"blob {name} does not hash to its name")

layers = os.path.join(root, "layers")
for name in os.listdir(layers) if os.path.isdir(layers) else []:
    d = os.path.join(layers, name)
    if not os.path.isdir(os.path.join(d, "diff")):
        problems.append(f"layer {name} has no diff/")
        continue
    try:
        info = json.load(open(os.path.join(d, "layer.json")))
    except Exception as e:
        problems.append(f"layer {name}: layer.json: {e}")
        continue
    if info.get("chain_id") != "sha256:" + name:
        problems.append(f"layer {name}: layer.json names chain {info.get('chain_id')}")

images = {}
idir = os.path.join(root, "images")
for name in os.listdir(idir) if os.path.isdir(idir) else []:
    if ".tmp-" in name:
        problems.append(f"leftover temp record {name}")
        continue
    try:
        rec = json.load(open(os.path.join(idir, name)))
    except Exception as e:
        problems.append(f"image record {name}: {e}")
        continue
    images[rec["id"]] = rec
    for key in ("id", "manifest"):
        if not os.path.exists(os.path.join(blobs, rec[key][7:])):
            problems.append(f"image {rec['id']}: {key} blob missing")
    for l in rec["layers"]:
        if not os.path.isdir(os.path.join(layers, l["chain_id"][7:], "diff")):
            problems.append(f"image {rec['id']}: layer {l['chain_id']} missing")

names = os.path.join(root, "names.json")
if os.path.exists(names):
    for n, i in json.load(open(names))["names"].items():
        if i not in images:
            problems.append(f"name {n} points to missing image {i}")

tmp = os.path.join(root, "tmp")
if os.path.isdir(tmp) and os.listdir(tmp) and not allow_tmp:
    problems.append(f"tmp/ holds {len(os.listdir(tmp))} leftovers")
for top in os.listdir(root):
    if ".tmp-" in top:
        problems.append(f"leftover temp file {top}")

for p in problems:
    print("store-check:", p)
sys.exit(1 if problems else 0)
