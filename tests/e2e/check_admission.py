"""Evaluates the admission rules faas deploy wrote that refuse images from anywhere but the
trusted repositories, against the workload it wrote and against hostile edits of it. No Kyverno
runs here, so the rules' own content is run: the ImageValidatingPolicy's CEL validation that
reads the object (with cel-python, a CEL implementation with RE2 regular expressions, as
Kyverno's cel-go) and the ClusterPolicy's pattern (Kyverno's wildcards: `*`, `?`; `|` between
alternatives). Usage:

    check_admission.py WORKLOAD.json KYVERNO.json [KYVERNO_CLASSIC.json]

One line per problem; exit 1 if any.
"""

import copy
import fnmatch
import json
import pathlib
import sys

import celpy


def components(workload):
    return workload["spec"]["template"]["spec"]["components"]


def hostile(workload):
    """(what, workload) pairs that must be refused."""
    first = components(workload)[0]["image"]
    repository = first.split("@")[0]
    cases = []
    foreign = copy.deepcopy(workload)
    components(foreign).append(
        {"name": "miner", "image": "evil.example/miner@sha256:" + "e" * 64}
    )
    cases.append(("a foreign image beside the function", foreign))
    lookalike = copy.deepcopy(workload)
    components(lookalike)[0]["image"] = repository + "-evil@sha256:" + "e" * 64
    cases.append(("a repository whose name starts with the trusted one", lookalike))
    tagged = copy.deepcopy(workload)
    components(tagged)[0]["image"] = repository + ":latest"
    cases.append(("the trusted repository by a tag", tagged))
    prefixed = copy.deepcopy(workload)
    components(prefixed)[0]["image"] = "evil.example/" + first
    cases.append(("the trusted repository inside another one's name", prefixed))
    trailing = copy.deepcopy(workload)
    components(trailing)[0]["image"] = first + "/../../evil/miner"
    cases.append(("a digest with more after it", trailing))
    dotted = copy.deepcopy(workload)
    components(dotted)[0]["image"] = repository.replace(".", "X", 1) + "@sha256:" + "e" * 64
    cases.append(("a `.` of the repository read as any character", dotted))
    return cases


def main():
    workload = json.loads(pathlib.Path(sys.argv[1]).read_text())
    policy = json.loads(pathlib.Path(sys.argv[2]).read_text())
    problems = []

    trust = [v for v in policy["spec"]["validations"] if v["expression"].startswith("object.")]
    if len(trust) != 1:
        problems.append(f"{sys.argv[2]}: expected one validation reading the object, got {len(trust)}")
    else:
        env = celpy.Environment()
        program = env.program(env.compile(trust[0]["expression"]))

        def admitted(document):
            return bool(program.evaluate({"object": celpy.json_to_cel(document)}))

        if not admitted(workload):
            problems.append(f"{sys.argv[2]}: the workload as written is refused")
        for what, document in hostile(workload):
            if admitted(document):
                problems.append(f"{sys.argv[2]}: {what} is admitted")

    if len(sys.argv) > 3:
        classic = json.loads(pathlib.Path(sys.argv[3]).read_text())
        rules = [r for r in classic["spec"]["rules"] if "validate" in r]
        pattern = rules[0]["validate"]["pattern"]["spec"]["template"]["spec"]["components"][0]["image"]
        alternatives = [p.strip() for p in pattern.split("|")]

        def matches(document):
            return all(
                any(fnmatch.fnmatchcase(c["image"], glob) for glob in alternatives)
                for c in components(document)
            )

        if not matches(workload):
            problems.append(f"{sys.argv[3]}: the workload as written is refused")
        for what, document in hostile(workload):
            if what.startswith("a `.`"):
                continue  # a glob, not a regular expression
            if matches(document):
                problems.append(f"{sys.argv[3]}: {what} is admitted")

    for problem in problems:
        print(problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
