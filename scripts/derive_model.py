#!/usr/bin/env python3
"""Derive the facts-only service model of `socialmessaging` from botocore.

Usage: scripts/derive_model.py [--check] [PATH_TO_BOTOCORE_WHEEL_OR_DIR]

Without a path it downloads the pinned botocore wheel from PyPI with pip. It writes
fixtures/model/socialmessaging.json: operations (HTTP method, URI, input/output shapes,
declared errors), shapes (types, members, query bindings with wire names, required,
length/pattern/range/enum, list/map sizes, sensitivity), error statuses and paginators.
No documentation text is kept. `--check` exits 1 if the committed file differs.
"""
import glob
import gzip
import json
import os
import subprocess
import sys
import tempfile
import zipfile

BOTOCORE_VERSION = "1.44.8"
SERVICE_DIR = "botocore/data/socialmessaging/2024-01-01"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "model", "socialmessaging.json")

SHAPE_KEYS = ["type", "required", "min", "max", "pattern", "enum", "sensitive", "box"]
MEMBER_KEYS = ["shape", "location", "locationName"]


def read_sources(path):
    def from_zip(zpath):
        z = zipfile.ZipFile(zpath)
        service = json.loads(gzip.decompress(z.read(f"{SERVICE_DIR}/service-2.json.gz")))
        paginators = json.loads(z.read(f"{SERVICE_DIR}/paginators-1.json"))
        return service, paginators

    if path is None:
        tmp = tempfile.mkdtemp()
        subprocess.check_call(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp,
             f"botocore=={BOTOCORE_VERSION}"])
        path = glob.glob(os.path.join(tmp, "botocore-*.whl"))[0]
    if path.endswith(".whl"):
        return from_zip(path)
    d = os.path.join(path, SERVICE_DIR)
    with gzip.open(os.path.join(d, "service-2.json.gz")) as f:
        service = json.load(f)
    with open(os.path.join(d, "paginators-1.json")) as f:
        paginators = json.load(f)
    return service, paginators


def facts(service, paginators):
    meta = service["metadata"]
    out = {
        "source": f"botocore {BOTOCORE_VERSION} {SERVICE_DIR}",
        "metadata": {k: meta[k] for k in ["apiVersion", "protocol", "serviceId", "signingName",
                                          "endpointPrefix", "uid"]},
        "operations": {},
        "shapes": {},
        "errors": {},
        "paginators": paginators["pagination"],
    }
    for name, op in sorted(service["operations"].items()):
        entry = {
            "method": op["http"]["method"],
            "uri": op["http"]["requestUri"],
            "responseCode": op["http"].get("responseCode", 200),
            "input": op["input"]["shape"],
            "output": op["output"]["shape"],
            "errors": [e["shape"] for e in op.get("errors", [])],
        }
        if op.get("idempotent"):
            entry["idempotent"] = True
        out["operations"][name] = entry
    for name, shape in sorted(service["shapes"].items()):
        s = {k: shape[k] for k in SHAPE_KEYS if k in shape}
        if shape["type"] == "structure":
            s["members"] = {m: {k: v[k] for k in MEMBER_KEYS if k in v}
                            for m, v in shape["members"].items()}
        if shape["type"] == "list":
            s["member"] = shape["member"]["shape"]
        if shape["type"] == "map":
            s["key"] = shape["key"]["shape"]
            s["value"] = shape["value"]["shape"]
        if shape.get("exception"):
            err = shape.get("error", {})
            out["errors"][name] = {
                "status": err.get("httpStatusCode", 400),
                "fault": "client" if err.get("senderFault") else "server",
            }
            if "retryable" in shape:
                out["errors"][name]["retryable"] = shape["retryable"]
        out["shapes"][name] = s
    return out


def main():
    args = [a for a in sys.argv[1:] if a != "--check"]
    check = "--check" in sys.argv[1:]
    service, paginators = read_sources(args[0] if args else None)
    text = json.dumps(facts(service, paginators), indent=1, sort_keys=False) + "\n"
    if check:
        with open(OUT) as f:
            if f.read() != text:
                print(f"{OUT} is stale: run scripts/derive_model.py", file=sys.stderr)
                sys.exit(1)
        print("model facts up to date")
        return
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {OUT}: {len(service['operations'])} operations, {len(service['shapes'])} shapes")


if __name__ == "__main__":
    main()
