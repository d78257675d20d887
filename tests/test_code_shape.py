"""The shape the code keeps: short functions, classes and components, and no backend named
outside its own package. Fast: it reads the files (Python's AST, TypeScript as text), runs nothing.

What counts:

- A Python function (a `def`, nested ones too) in `jupyter_mlp/` is at most 80 lines, from its
  `def` to its last line. A class is at most 300 lines of methods: its field declarations,
  enum members and docstring are data, not code, and do not count (nor do module-level
  tables, which are assignments, not functions).
- A React component in `src/` (a top-level PascalCase `function` or arrow `const` whose body
  holds JSX, in a .tsx file) is at most 300 lines; prettier closes a top-level declaration
  with a brace in the first column, which is where it ends.
- A backend's name ("local", "vertex", "dataflow") is not a string literal in product code
  (`jupyter_mlp/`, `src/`) outside its own package `jupyter_mlp/backends/<name>/` and the
  generated `src/vocabularyData.ts`; tests and docs are not product code. It catches a literal
  that IS the name: `"local"`, `'vertex'`, `backend === 'dataflow'`, a dict key `{"local": ...}`,
  a default `= "local"`, a template literal without substitutions. It lets pass the word inside
  other text ("the local machine", "Vertex AI", `"local_dir"`, an f-string's `f"{x} local"`),
  comments and docstrings, and identifiers (`local_backend`, `VertexBackend`): those are words,
  not a name the code branches on.

Other work removes today's offenders; until it lands they are listed here (`STILL_TOO_LONG`,
`NAMES_STILL_USED`). The lists can only shrink: an entry that no longer offends fails the test
too, so whoever fixes one removes it here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "jupyter_mlp"
FRONTEND = REPO / "src"

MAX_FUNCTION_LINES = 80
MAX_CLASS_LINES = 300
MAX_COMPONENT_LINES = 300
BACKEND_NAMES = ("local", "vertex", "dataflow")
#: Written from the Python vocabulary (`python -m jupyter_mlp.vocabulary`): names every backend.
GENERATED = {"src/vocabularyData.ts"}
#: Built output, not source.
NOT_SOURCE = ("jupyter_mlp/labextension/",)

#: Functions, classes and components over their limit today: (file, name).
STILL_TOO_LONG: set[tuple[str, str]] = set()

#: Backend names used as literals outside their package today: (file, name).
NAMES_STILL_USED: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Long:
    """A function, class or component over its limit."""

    path: str
    line: int
    name: str
    lines: int
    limit: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.name} is {self.lines} lines (limit {self.limit})"


@dataclass(frozen=True)
class Named:
    """A backend's name as a literal."""

    path: str
    line: int
    name: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: the backend name '{self.name}' as a literal"


def relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def python_files() -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if not relative(path).startswith(NOT_SOURCE):
            yield path


def frontend_files() -> Iterator[Path]:
    for path in sorted([*FRONTEND.rglob("*.ts"), *FRONTEND.rglob("*.tsx")]):
        if "__tests__" not in path.parts:
            yield path


# ----- Python: functions and classes -----


def _span(node: ast.AST) -> int:
    return int(getattr(node, "end_lineno", 0)) - int(getattr(node, "lineno", 0)) + 1


def _methods_lines(node: ast.ClassDef) -> int:
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    own = sum(_span(item) for item in node.body if isinstance(item, functions))
    nested = sum(_methods_lines(item) for item in node.body if isinstance(item, ast.ClassDef))
    return own + nested


def long_python(path: Path) -> Iterator[Long]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    file = relative(path)

    def visit(node: ast.AST, prefix: str) -> Iterator[Long]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                if _span(child) > MAX_FUNCTION_LINES:
                    yield Long(file, child.lineno, name, _span(child), MAX_FUNCTION_LINES)
                yield from visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                name = f"{prefix}{child.name}"
                if _methods_lines(child) > MAX_CLASS_LINES:
                    yield Long(file, child.lineno, name, _methods_lines(child), MAX_CLASS_LINES)
                yield from visit(child, f"{name}.")
            else:
                yield from visit(child, prefix)

    yield from visit(tree, "")


# ----- TypeScript: components -----

_PASCAL = r"[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*"
_COMPONENT = re.compile(
    rf"^(?:export\s+)?(?:default\s+)?(?:function\s+({_PASCAL})\s*[<(]"
    rf"|const\s+({_PASCAL})\b[^=]*=\s*(?:\(|async\b|function\b|React\.|memo\(|forwardRef\())"
)
_JSX = re.compile(r"<(?:[A-Za-z][\w.]*|>|/>)")
# A closing line alone (`}`, `};`, `});`), not the end of a parameter list (`}: IProps) => {`).
_TOP_LEVEL_END = re.compile(r"^[})\]][})\]]*;?\s*$")


def long_components(path: Path) -> Iterator[Long]:
    if path.suffix != ".tsx":
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    for start, text in enumerate(lines):
        found = _COMPONENT.match(text)
        if not found:
            continue
        end = next(
            (i for i in range(start + 1, len(lines)) if _TOP_LEVEL_END.match(lines[i])),
            start,
        )
        body = "\n".join(lines[start : end + 1])
        length = end - start + 1
        if _JSX.search(body) and length > MAX_COMPONENT_LINES:
            name = found.group(1) or found.group(2)
            yield Long(relative(path), start + 1, name, length, MAX_COMPONENT_LINES)


# ----- backend names -----


def _own_package(file: str, name: str) -> bool:
    return file.startswith(f"jupyter_mlp/backends/{name}/")


def _docstrings(tree: ast.AST) -> set[int]:
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, kinds) and node.body and isinstance(node.body[0], ast.Expr):
            found.add(id(node.body[0].value))
    return found


def python_literals(path: Path) -> Iterator[tuple[int, str]]:
    """Each string constant that is a whole literal (an f-string's pieces are not)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    pieces = {
        id(value)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for value in node.values
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings | pieces
        ):
            yield node.lineno, node.value


_TS_TOKEN = re.compile(
    r"""//[^\n]*|/\*.*?\*/|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`""",
    re.DOTALL,
)


def typescript_literals(path: Path) -> Iterator[tuple[int, str]]:
    """Each string literal, and each template literal without substitutions; comments skipped."""
    text = path.read_text(encoding="utf-8")
    for token in _TS_TOKEN.finditer(text):
        literal = token.group()
        if literal.startswith("/") or (literal.startswith("`") and "${" in literal):
            continue
        yield text.count("\n", 0, token.start()) + 1, literal[1:-1]


def named_backends() -> Iterator[Named]:
    sources = [(path, python_literals) for path in python_files()]
    sources += [(path, typescript_literals) for path in frontend_files()]
    for path, literals in sources:
        file = relative(path)
        if file in GENERATED:
            continue
        for line, value in literals(path):
            if value in BACKEND_NAMES and not _own_package(file, value):
                yield Named(file, line, value)


# ----- the tests -----


def _report(found: list[Long], known: set[tuple[str, str]], what: str) -> None:
    new = [item for item in found if (item.path, item.name) not in known]
    fixed = known - {(item.path, item.name) for item in found}
    problems = [f"{item} (split it)" for item in new]
    problems += [
        f"{path}: {name} is within the limit now: remove it from {what}"
        for path, name in sorted(fixed)
    ]
    assert not problems, "\n".join(problems)


def test_functions_and_classes_are_short():
    found = [item for path in python_files() for item in long_python(path)]
    components = [item for path in frontend_files() for item in long_components(path)]
    _report(found + components, STILL_TOO_LONG, "STILL_TOO_LONG")


def test_no_backend_is_named_outside_its_package():
    found = list(named_backends())
    new = [item for item in found if (item.path, item.name) not in NAMES_STILL_USED]
    fixed = NAMES_STILL_USED - {(item.path, item.name) for item in found}
    problems = [f"{item}: read the backend's capabilities instead" for item in new]
    problems += [
        f"{path}: no longer names '{name}': remove it from NAMES_STILL_USED"
        for path, name in sorted(fixed)
    ]
    assert not problems, "\n".join(problems)


def test_the_checks_catch_what_they_must_and_let_pass_the_rest(tmp_path):
    """The literal matcher on both languages: the name alone is caught, the word in text is not."""
    source = tmp_path / "example.py"
    source.write_text(
        '"""Runs on the local machine."""\n'
        'x = {"local": 1}\n'
        'if backend == "vertex":\n'
        '    y = f"{backend} local"\n'
        'z = "local_dir"\n'
        "w = 'Vertex AI'\n",
        encoding="utf-8",
    )
    assert [v for _, v in python_literals(source) if v in BACKEND_NAMES] == ["local", "vertex"]
    script = tmp_path / "example.ts"
    script.write_text(
        "// the local backend: 'local'\n"
        "const a = backend === 'dataflow';\n"
        'const b = "vertex";\n'
        "const c = `local`;\n"
        "const d = `${x} local`;\n"
        "const e = 'runs locally';\n"
        "/* 'vertex' */\n",
        encoding="utf-8",
    )
    found = [(line, v) for line, v in typescript_literals(script) if v in BACKEND_NAMES]
    assert found == [(2, "dataflow"), (3, "vertex"), (4, "local")]
