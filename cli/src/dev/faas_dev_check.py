# faas dev's check of a Python function's modules (the file names are the arguments), run by the
# project's Python: compiles each (the first syntax error is printed as `file:line:column<TAB>
# message`, exit 1), then prints, as a JSON list, the modules they import that are not theirs:
# the stand-in imports those when it is built, since it cannot import them at run time.
import ast
import json
import sys

files = sys.argv[1:]
own = {f[: -len(".py")].replace("/", ".").removesuffix(".__init__").split(".")[0] for f in files}
imported = set()
for f in files:
    try:
        with open(f, "rb") as source:
            tree = ast.parse(source.read(), f)
        compile(tree, f, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        line = getattr(e, "lineno", None) or 1
        column = getattr(e, "offset", None) or 1
        print(f"{f}:{line}:{column}\t{type(e).__name__}: {getattr(e, 'msg', e)}")
        sys.exit(1)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module)
            # `from package import submodule` imports the submodule too.
            imported.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
print(json.dumps(sorted(name for name in imported if name.split(".")[0] not in own)))
