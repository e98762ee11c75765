"""Reference symbols for Python files, from CPython's own `ast` module.

Usage: python3 python_symbols.py ROOT
Prints one JSON object per file under ROOT that `ast` parses:
{"path": relative path, "symbols": [[qualified_name, kind, start_line, end_line], ...]}
Kinds: function, method, class (defs and classes at any depth) and variable (names bound by
assignments at module level, including inside module-level if / try blocks).
"""
import ast
import json
import os
import sys
import warnings

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Statements that keep an assignment at module level.
MODULE_BLOCKS = (ast.If, ast.Try) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())


def bound_names(target, out):
    if isinstance(target, ast.Name):
        out.append(target.id)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            bound_names(element, out)
    elif isinstance(target, ast.Starred):
        bound_names(target.value, out)


class Collector(ast.NodeVisitor):
    def __init__(self):
        self.scopes = []  # (name, kind)
        self.outside_module_level = 0
        self.symbols = []

    def define(self, node, name, kind):
        qualified = ".".join([scope[0] for scope in self.scopes] + [name])
        self.symbols.append([qualified, kind, node.lineno, node.end_lineno])

    def visit_FunctionDef(self, node):
        in_class = bool(self.scopes) and self.scopes[-1][1] == "class"
        self.define(node, node.name, "method" if in_class else "function")
        self.scopes.append((node.name, "function"))
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self.define(node, node.name, "class")
        self.scopes.append((node.name, "class"))
        self.generic_visit(node)
        self.scopes.pop()

    def at_module_level(self):
        return not self.scopes and self.outside_module_level == 0

    def visit_Assign(self, node):
        if self.at_module_level():
            names = []
            for target in node.targets:
                bound_names(target, names)
            for name in names:
                self.define(node, name, "variable")
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        if self.at_module_level() and isinstance(node.target, ast.Name):
            self.define(node, node.target.id, "variable")
        self.generic_visit(node)

    def generic_visit(self, node):
        # Definitions live in statements only: expressions are not walked (and deep ones would
        # exhaust Python's recursion limit). Any statement with a body other than if / try takes
        # its contents off module level.
        blocks = isinstance(node, ast.stmt) and not isinstance(node, MODULE_BLOCKS + SCOPES)
        if blocks:
            self.outside_module_level += 1
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                self.visit(child)
        if blocks:
            self.outside_module_level -= 1


def main(root):
    warnings.simplefilter("ignore")
    for directory, subdirectories, files in os.walk(root):
        # Installed packages differ between machines; the standard library does not.
        subdirectories[:] = sorted(d for d in subdirectories if d != "site-packages")
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            try:
                with open(path, "rb") as file:
                    tree = ast.parse(file.read(), filename=path)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            collector = Collector()
            try:
                collector.visit(tree)
            except RecursionError:
                continue
            print(json.dumps({"path": os.path.relpath(path, root), "symbols": collector.symbols}))


if __name__ == "__main__":
    main(sys.argv[1])
