"""Generated code is checked before anything is written: it compiles, its names are the IR's, and it imports.

The import runs once, in a subprocess started in isolated mode (`-I`) with a minimal environment (no provider keys, no
proxies, no `PYTHON*` variables) and an audit hook that refuses network access, process creation and writes: a
payload that got past the escaping (it should not) fails the generation instead of running. Every failure becomes a
GenerationError naming the spec file and JSON pointer where the failing line can be traced back to one, else the
generated file and line.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from codegen.pipeline import ir, pycode
from codegen.pipeline.diagnostics import GenerationError, Location

IMPORT_TIMEOUT = 120.0

# Runs in the import subprocess: argv = [root, package, provider module...]. Prints one JSON line.
_PRELUDE = r"""
import json, os, sys
root, package, providers = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.dont_write_bytecode = True
sys.path.insert(0, root)
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_BLOCKED = (
    "socket.", "subprocess.", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty",
    "os.kill", "os.killpg", "pty.", "ctypes.", "webbrowser.", "urllib.Request", "http.client.", "ftplib.",
    "smtplib.", "imaplib.", "poplib.", "nntplib.", "telnetlib.", "os.remove", "os.rmdir", "os.rename",
    "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.link", "os.symlink", "shutil.", "sqlite3.connect",
)

def _audit(event, args):
    if event == "open":
        path, mode, flags = args
        if (mode and any(c in mode for c in "wax+")) or (mode is None and isinstance(flags, int) and flags & _WRITE):
            raise PermissionError(f"the import check refused open({path!r}, {mode!r})")
    elif event.startswith(_BLOCKED):
        raise PermissionError(f"the import check refused {event}")

sys.addaudithook(_audit)

def _where(exc):
    found = None
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.startswith(root + os.sep):
            found = (os.path.relpath(name, root).replace(os.sep, "/"), tb.tb_lineno)
        tb = tb.tb_next
    if found is None and isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(root + os.sep):
        found = (os.path.relpath(exc.filename, root).replace(os.sep, "/"), exc.lineno or 0)
    return found

def _fail(module, exc, model=None):
    where = _where(exc)
    print(json.dumps({"module": module, "model": model, "error": f"{type(exc).__name__}: {exc}",
                      "file": where and where[0], "line": where and where[1]}))
    sys.exit(3)

for module in [package, *providers, package + ".unified"]:
    try:
        loaded = __import__(module, fromlist=["*"])
    except ModuleNotFoundError as exc:
        if module.endswith(".unified") and exc.name == module:
            continue
        _fail(module, exc)
    except BaseException as exc:
        _fail(module, exc)
    models = sys.modules.get(module + ".models")
    if module in providers and models is not None:
        for name, value in vars(models).items():
            if isinstance(value, type) and value.__module__ == models.__name__ and hasattr(value, "model_rebuild"):
                try:
                    value.model_rebuild(raise_errors=True)
                except BaseException as exc:
                    _fail(module, exc, name)
print(json.dumps({"ok": True}))
"""


def compile_all(files: Mapping[str, str | bytes], api: ir.Api) -> None:
    """Compile every generated module (as rendered, before formatting): a syntax error is an error with a location."""
    for path, text in files.items():
        if not path.endswith(".py") or not isinstance(text, str):
            continue
        try:
            compile(text, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            line = exc.lineno or 0
            raise GenerationError(
                _attribute(api, path, text, line),
                f"the generated code does not compile: {exc.msg} ({path}, line {line})",
            ) from None
        except ValueError as exc:  # e.g. a NUL byte in the source
            raise GenerationError(
                _attribute(api, path, text, 0), f"the generated code does not compile: {exc}"
            ) from None


def check_names(files: Mapping[str, str | bytes], api: ir.Api, runtime_client: str) -> None:
    """Every model and field has the name the IR gave it, and no name is bound twice or taken from the runtime.

    A module or class binding a name twice, or an operation named like a method or attribute of the runtime's client
    classes, would silently replace one definition with another.
    """
    reserved = _client_attributes(runtime_client)
    for provider in api.providers:
        for unit in provider.units:
            _check_unit_names(files, api, provider, unit, reserved)
        path = f"{api.package}/{provider.name}/__init__.py"
        _check_unique_bindings(ast.parse(_text(files, path)), path, provider, provider.default_unit)


def _check_unit_names(
    files: Mapping[str, str | bytes], api: ir.Api, provider: ir.Provider, unit: ir.Unit, reserved: frozenset[str]
) -> None:
    base = f"{api.package}/{provider.name}/{unit.module}"
    tree = ast.parse(_text(files, f"{base}/models.py"))
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    for model in unit.models:
        node = classes.get(model.name)
        if node is None:
            raise GenerationError(
                Location.parse(model.source),
                f"class {model.name} is not in the generated models: its name collides with another name there;"
                f" add a `rename` for it under [providers.{provider.name}] in providers.toml",
            )
        generated = {t.target.id for t in node.body if isinstance(t, ast.AnnAssign) and isinstance(t.target, ast.Name)}
        for f in model.fields:
            if f.name not in generated:
                raise GenerationError(
                    Location.parse(f.source), f"field {f.name!r} of {model.name} was not generated under that name"
                )
    for module in ("models.py", "client.py", "__init__.py"):
        path = f"{base}/{module}"
        _check_unique_bindings(ast.parse(_text(files, path)), path, provider, unit)
    for op in unit.operations:
        for method in _methods(op, provider):
            if method in reserved:
                where = "/operations" if op.model is None else f"/models/{op.model}/operations"
                raise GenerationError(
                    Location("providers.toml", f"/providers/{provider.name}{where}"),
                    f"operation {op.name!r} would generate a method `{method}` that replaces the client's own"
                    f" `{method}`; rename the operation",
                )


def import_check(files: Mapping[str, str | bytes], api: ir.Api) -> None:
    """Import the package and every provider module once, in a locked-down subprocess, before anything is written."""
    with importing(files, api):
        pass


@contextmanager
def importing(files: Mapping[str, str | bytes], api: ir.Api) -> Iterator[None]:
    """Run the import check while the body runs (formatting, say); it must pass when the body ends without error.

    The files may be the unformatted rendering: formatting changes no behaviour, and the check then overlaps it.
    """
    with tempfile.TemporaryDirectory(prefix="kling-codegen-import-") as tmp:
        root = Path(tmp)
        for path, content in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        modules = [m for p in api.providers for m in (f"{api.package}.{p.name}",
                   *(f"{api.package}.{p.name}.{u.module}" for u in p.units))]  # fmt: skip
        command = [sys.executable, "-I", "-X", "utf8", "-c", _PRELUDE, str(root), api.package, *modules]
        with subprocess.Popen(
            command, cwd=root, env=_minimal_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:  # leaving the block closes the pipes and reaps the process
            try:
                yield
                stdout, stderr = process.communicate(timeout=IMPORT_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                raise GenerationError(
                    None, f"importing the generated package took more than {IMPORT_TIMEOUT:.0f} s"
                ) from None
            except BaseException:
                process.kill()
                raise
    _judge(files, api, stdout, stderr, process.returncode)


def _judge(files: Mapping[str, str | bytes], api: ir.Api, stdout: str, stderr: str, returncode: int) -> None:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    try:
        report = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        detail = _printable(stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {returncode}")
        raise GenerationError(None, f"the import check of the generated package failed: {detail}") from None
    if report.get("ok"):
        return
    file, line = report.get("file"), report.get("line") or 0
    where: Location | None = None
    if file and isinstance(files.get(file), str):
        where = _attribute(api, file, str(files[file]), int(line), report.get("model"))
    if report.get("model"):
        where = _model_location(api, report["model"], file) or where
    at = f" ({file}, line {line})" if file else ""
    raise GenerationError(
        where, f"the generated package does not import ({report['module']}){at}: {_printable(report['error'])}"
    )


# --------------------------------------------------------------------------------------------- internals
def _minimal_env() -> dict[str, str]:
    """What the import needs and nothing else: no keys, tokens, proxies or PYTHON* settings of the caller."""
    env = {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}
    if sys.platform == "win32":  # pragma: no cover - the interpreter needs these to start
        env.update({k: os.environ[k] for k in ("SYSTEMROOT", "SYSTEMDRIVE") if k in os.environ})
    return env


def _printable(text: str, limit: int = 600) -> str:
    """An error text fit for a terminal: controls escaped, at most `limit` characters."""
    lines = [pycode.comment(line) for line in text.splitlines()[:8]]
    joined = " / ".join(line.strip() for line in lines if line.strip())
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


def _text(files: Mapping[str, str | bytes], path: str) -> str:
    text = files[path]
    assert isinstance(text, str)
    return text


def _client_attributes(runtime_client: str) -> frozenset[str]:
    """Methods and attributes of the runtime's client classes (and their bases), read from the generated module."""
    tree = ast.parse(runtime_client)
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in ("_BaseClient", "SyncAPIClient", "AsyncAPIClient"):
            for item in ast.walk(node):
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(item.name)
                elif isinstance(item, ast.Attribute) and isinstance(item.ctx, ast.Store):
                    names.add(item.attr)
                elif isinstance(item, ast.AnnAssign | ast.Assign):
                    targets = [item.target] if isinstance(item, ast.AnnAssign) else item.targets
                    names.update(t.id for t in targets if isinstance(t, ast.Name))
    return frozenset(names)


def _methods(op: ir.Operation, provider: ir.Provider) -> tuple[str, ...]:
    """The client methods an operation becomes (as client.py.jinja names them): itself, and `run_*` for a submit."""
    if op.kind == "submit" and provider.jobs:
        return op.name, op.name.replace("submit_", "run_", 1)
    return (op.name,)


def _bindings(body: list[ast.stmt]) -> Iterator[tuple[str, ast.stmt]]:
    for node in body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports bind the module's names too (lazy re-exports)
            yield from _bindings(node.body)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                yield (alias.asname or alias.name).split(".")[0], node
        elif isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            for target in targets:
                if isinstance(target, ast.Name):
                    yield target.id, node


def _check_unique_bindings(tree: ast.Module, path: str, provider: ir.Provider, unit: ir.Unit) -> None:
    """A module-level name, or a class member, bound twice means one definition silently replaces another."""
    scopes: list[tuple[str, list[ast.stmt]]] = [("", tree.body)]
    scopes += [(node.name + ".", node.body) for node in tree.body if isinstance(node, ast.ClassDef)]
    models = {m.name: m for m in unit.models}
    ops = {op.name: op for op in unit.operations}
    for prefix, body in scopes:
        seen: dict[str, ast.stmt] = {}
        for name, node in _bindings(body):
            if name == "annotations" or name not in seen:
                seen[name] = node
                continue
            if not prefix and name in models:
                raise GenerationError(
                    Location.parse(models[name].source),
                    f"class name {name!r} collides with another name of {path} (a client, PROVIDER or an import);"
                    f" add a `rename` for it under [providers.{provider.name}] in providers.toml",
                )
            op = next((op for op in ops.values() if name in _methods(op, provider)), None)
            where = Location.parse(op.source) if op else Location(path)
            raise GenerationError(where, f"{prefix}{name} is defined twice in {path}")


@dataclass(frozen=True)
class _Scope:
    name: str
    start: int
    end: int
    members: tuple[tuple[str, int, int], ...]


def _scopes(text: str) -> list[_Scope]:
    """Top-level classes and functions with their line spans and members, from the AST or, failing that, the text."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        found = []
        for match in re.finditer(r"^(?:class|def|async def) (\w+)", text, re.MULTILINE):
            found.append(_Scope(match[1], text.count("\n", 0, match.start()) + 1, 10**9, ()))
        return [
            _Scope(s.name, s.start, found[i + 1].start - 1 if i + 1 < len(found) else s.end, ())
            for i, s in enumerate(found)
        ]
    scopes = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            members = []
            for item in getattr(node, "body", []):
                name = None
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    name = item.target.id
                elif isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    name = item.name
                if name:
                    members.append((name, item.lineno, item.end_lineno or item.lineno))
            scopes.append(_Scope(node.name, node.lineno, node.end_lineno or node.lineno, tuple(members)))
    return scopes


def _attribute(api: ir.Api, path: str, text: str, line: int, model_name: str | None = None) -> Location | None:
    """The spec location a line of a generated file comes from: its field, model or operation; else None."""
    found = _unit_of(api, path)
    if found is None:
        return Location("providers.toml", "/unified") if path == f"{api.package}/unified.py" else Location(path)
    provider, unit = found
    models = {m.name: m for m in unit.models}
    ops = {op.name: op for op in unit.operations}
    runs = {method: op for op in unit.operations for method in _methods(op, provider)}
    for scope in _scopes(text):
        if not scope.start <= line <= scope.end:
            continue
        model = models.get(scope.name)
        for member, start, end in scope.members:
            if start <= line <= end:
                if model is not None:
                    f = next((f for f in model.fields if f.name == member), None)
                    if f is not None:
                        return Location.parse(f.source)
                op = ops.get(member) or runs.get(member)
                if op is not None:
                    return Location.parse(op.source)
        if model is not None:
            return Location.parse(model.source)
    if model_name:
        return _model_location(api, model_name, path)
    return Location(unit.spec_files[0]) if unit.spec_files else Location(path)


def _unit_of(api: ir.Api, path: str) -> tuple[ir.Provider, ir.Unit] | None:
    """The (provider, model) a generated file belongs to (a provider's own `__init__`: its default model)."""
    for provider in api.providers:
        for unit in provider.units:
            if path.startswith(f"{api.package}/{provider.name}/{unit.module}/"):
                return provider, unit
        if path.startswith(f"{api.package}/{provider.name}/"):
            return provider, provider.default_unit
    return None


def _model_location(api: ir.Api, model_name: str, path: str | None) -> Location | None:
    for provider in api.providers:
        for unit in provider.units:
            if path is None or path.startswith(f"{api.package}/{provider.name}/{unit.module}/"):
                model = next((m for m in unit.models if m.name == model_name), None)
                if model is not None:
                    return Location.parse(model.source)
    return None
