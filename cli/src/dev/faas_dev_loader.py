"""faas dev's stand-in for a Python function (never published).

The interpreter and the project's dependencies are built into the development artifact once; the
function's own modules are read from faas dev (`faas:dev/source`) when an instance handles its
first request, so a save is served by the next request without a rebuild. faas dev hands out the
files of the last save that compiled, so a syntax error keeps the previous source serving.
"""

import importlib
import importlib.abc
import importlib.util
import sys

from wit_world import exports
from wit_world.imports import source

# What the function's modules import beside each other, written here by faas dev: imported now,
# while the stand-in is built, because componentize-py keeps only the modules imported then (at
# run time there is no library folder to import from). faas dev rebuilds the stand-in when a save
# imports a module not in this list.
PREIMPORTED = []

for _name in PREIMPORTED:
    try:
        importlib.import_module(_name)
    except Exception:
        # A name imported from a module that is not a module itself (`from json import loads`),
        # or a module that cannot start here: the function's own import says so when it runs.
        pass


class _ProjectSource(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the project's modules in what faas dev serves, before anything built in (as the
    script's folder comes first on Python's path)."""

    def find_spec(self, name, path=None, target=None):
        stem = name.replace(".", "/")
        for file, package in ((stem + ".py", False), (stem + "/__init__.py", True)):
            text = source.read(file)
            if text is not None:
                spec = importlib.util.spec_from_loader(
                    name, self, origin=file, is_package=package
                )
                spec.loader_state = text
                return spec
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        spec = module.__spec__
        # Compiled under the file's own name: tracebacks in the dev log point at it.
        exec(compile(spec.loader_state, spec.origin, "exec"), module.__dict__)


_finder = None


def _function():
    """The project's `app` module. The finder goes in on first use, not at build time, where
    faas dev's source cannot be asked."""
    global _finder
    if _finder is None:
        _finder = _ProjectSource()
        sys.meta_path.insert(0, _finder)
    return importlib.import_module("app")


class Handler(exports.Handler):
    def handle(self, req):
        return _function().Handler().handle(req)
