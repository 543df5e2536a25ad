"""Checks one faas attestation with independent tools, for the end-to-end tests.

Usage: check_attestation.py ENVELOPE.json PUBLIC_KEY.pem MANIFEST_DIGEST

The DSSE envelope is parsed by the in-toto package and its signature verified by securesystemslib
(in-toto's signing library) with the public key; the statement is validated by the in-toto
attestation package; a CycloneDX predicate is validated against the CycloneDX 1.6 schema by
cyclonedx-python-lib, and a SLSA provenance predicate parsed strictly into the in-toto provenance v1
message. Prints a JSON summary; exits non-zero with the reason when anything fails.
"""

import json
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from google.protobuf import json_format
from in_toto.models.metadata import Envelope
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.signer import SSlibKey


def main(envelope_path, key_path, manifest_digest):
    with open(envelope_path) as f:
        envelope = Envelope.from_dict(json.load(f))
    with open(key_path) as f:
        pem = f.read()
    # cosign writes an empty key id for key-pair signatures; securesystemslib matches on it.
    key = SSlibKey("", "ecdsa", "ecdsa-sha2-nistp256", {"public": pem})
    envelope.verify([key], 1)

    statement = json.loads(envelope.payload)
    Statement.copy_from_pb(json_format.ParseDict(statement, statement_pb2.Statement())).validate()
    subjects = [s["digest"]["sha256"] for s in statement["subject"]]
    if "sha256:" + subjects[0] != manifest_digest:
        sys.exit(f"the statement is about {subjects}, not {manifest_digest}")

    predicate_type = statement["predicateType"]
    predicate = statement["predicate"]
    summary = {"predicate_type": predicate_type, "payload_type": envelope.payload_type}
    if predicate_type == "https://cyclonedx.org/bom":
        error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(predicate))
        if error is not None:
            sys.exit(f"the SBOM is not valid CycloneDX 1.6: {error}")
        summary["layers"] = {
            c["name"]: [p["name"] for p in c.get("components", [])] for c in predicate["components"]
        }
    elif predicate_type == "https://slsa.dev/provenance/v1":
        provenance = json_format.ParseDict(predicate, provenance_pb2.Provenance())
        summary["builder"] = provenance.run_details.builder.id
        summary["build_type"] = provenance.build_definition.build_type
        summary["dependencies"] = [d.name for d in provenance.build_definition.resolved_dependencies]
    else:
        sys.exit(f"unexpected predicate type {predicate_type}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main(*sys.argv[1:])
