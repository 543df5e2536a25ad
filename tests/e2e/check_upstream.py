"""Checks manifests faas deploy wrote against the upstream schemas they are for: the CRDs of
wasmCloud's WorkloadDeployment and Kyverno's ImageValidatingPolicy and ClusterPolicy, as the API
server would (its structural schema; unknown fields refused), and wadm's OAM schema for an
Application. Usage:

    check_upstream.py CRDS_DIR MANIFEST.json...

Each manifest is checked against every CRD file in CRDS_DIR of its kind that serves its
apiVersion (Kyverno's ImageValidatingPolicy of 1.14 and of 1.19, say). `metadata` is the API
server's own (ObjectMeta), not the CRD's, and is left out. One line per problem; exit 1 if any.
"""

import json
import pathlib
import sys

import jsonschema

CRD_FILES = {
    "WorkloadDeployment": "workloaddeployments",
    "ImageValidatingPolicy": "imagevalidatingpolicies",
    "ClusterPolicy": "clusterpolicies",
}


def structural(schema):
    """The schema with unknown fields refused wherever properties are listed, as the API server
    prunes or refuses them, unless the schema keeps unknown fields on purpose."""
    if isinstance(schema, dict):
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        for value in schema.values():
            structural(value)
    elif isinstance(schema, list):
        for value in schema:
            structural(value)
    return schema


def main():
    crds = pathlib.Path(sys.argv[1])
    problems = 0
    for path in sys.argv[2:]:
        manifest = json.loads(pathlib.Path(path).read_text())
        kind = manifest.get("kind", "")
        if kind == "Application":
            # wadm's own JSON schema, metadata included (wadm reads the whole manifest).
            schema = json.loads((crds / "wadm_oam.schema.json").read_text())
            for error in jsonschema.Draft7Validator(schema).iter_errors(manifest):
                where = ".".join(str(p) for p in error.path) or "(root)"
                print(f"{path}: wadm_oam.schema.json: {where}: {error.message}")
                problems += 1
            continue
        group, _, version = manifest.get("apiVersion", "").rpartition("/")
        checked = 0
        for crd_path in sorted(crds.glob(f"*_{CRD_FILES.get(kind, '-')}.json")):
            crd = json.loads(crd_path.read_text())
            if crd["spec"]["group"] != group:
                continue
            for served in crd["spec"]["versions"]:
                if served["name"] != version or not served.get("served"):
                    continue
                schema = structural(served["schema"]["openAPIV3Schema"])
                schema.get("properties", {}).pop("metadata", None)
                body = {k: v for k, v in manifest.items() if k != "metadata"}
                for error in jsonschema.Draft7Validator(schema).iter_errors(body):
                    where = ".".join(str(p) for p in error.path) or "(root)"
                    print(f"{path}: {crd_path.name} {version}: {where}: {error.message}")
                    problems += 1
                checked += 1
        if checked == 0:
            print(f"{path}: no upstream schema in {crds} serves {kind} {manifest.get('apiVersion')}")
            problems += 1
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
