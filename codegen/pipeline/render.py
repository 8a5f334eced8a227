"""IR -> {relative path: source}: models through datamodel-code-generator, clients through Jinja, ruff-formatted."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from codegen import __version__
from codegen.pipeline import ir, pycode, verify
from codegen.pipeline.diagnostics import GenerationError, Location, reading
from codegen.pipeline.protocols import fake_protocols

HEADER_MARK = "inputs sha256:"
_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}
_PRIMITIVE_ANNOTATIONS = {"str": "str", "int": "int", "float": "float", "bool": "bool", "any": "Any"}


def render_files(api: ir.Api, templates: Path, shared: bool = True, formatted: bool = True) -> dict[str, str | bytes]:
    """Render every generated file; `shared` adds the package root and runtime (skipped for a one-provider run).

    Every module is compiled before formatting (`formatted=False` leaves that step, `format_python`, to the caller).
    """
    env = jinja_env(templates)
    templates_hash = _tree_hash(templates)
    files: dict[str, str | bytes] = {}
    pkg = api.package
    if shared:
        runtime_hash = _digest(templates_hash, api.package, json.dumps(dataclasses.astuple(api.distribution)))
        header = _header("templates/runtime/ and templates/package_init.py.jinja", runtime_hash)
        version = api.distribution.version
        files["pyproject.toml"] = _toml_header(runtime_hash) + env.get_template("pyproject.toml.jinja").render(
            dist=api.distribution, package=pkg
        )
        files[f"{pkg}/__init__.py"] = header + env.get_template("package_init.py.jinja").render(
            api=api, version=version
        )
        files[f"{pkg}/py.typed"] = ""
        for source in sorted((templates / "public").glob("*.py")):  # kling_sdk.errors, kling_sdk.types
            files[f"{pkg}/{source.name}"] = header + source.read_text(encoding="utf-8")
        for source in sorted((templates / "runtime").iterdir()):
            if source.suffix == ".py":
                files[f"{pkg}/_runtime/{source.name}"] = header + source.read_text(encoding="utf-8")
            elif source.name.endswith(".py.jinja"):
                text = env.get_template(f"runtime/{source.name}").render(version=version)
                files[f"{pkg}/_runtime/{source.name.removesuffix('.jinja')}"] = header + text
        cli_header = _header("templates/cli/", runtime_hash)
        for source in sorted((templates / "cli").glob("*.py")):
            files[f"{pkg}/cli/{source.name}"] = cli_header + source.read_text(encoding="utf-8")
        files.update(render_testing(api, templates / "testing", templates_hash))
        if api.unified:
            files[f"{pkg}/unified.py"] = render_unified(api, env, templates_hash, public_names(templates))
    public = public_names(templates)
    for provider in api.providers:
        for unit in provider.units:
            files.update(render_unit(provider, unit, env, templates, pkg, templates_hash, public))
        base = f"{pkg}/{provider.name}"
        header = _header(
            f"providers.toml [{provider.name}] and templates/", _digest(provider.inputs_hash, templates_hash)
        )
        unit = provider.default_unit
        exports = sorted(["MODELS", *_unit_exports(provider, unit)])
        # The public errors and types are re-exported where users look, unless a name of the provider's own takes it.
        reexports = _reexports(public, exports)
        files[f"{base}/__init__.py"] = header + env.get_template("provider_init.py.jinja").render(
            provider=provider, package=pkg, exports=exports, reexports=reexports
        )
    verify.compile_all(files, api)  # before formatting, so that a syntax error is explained with its spec location
    return format_python(files) if formatted else files


def public_names(templates: Path) -> dict[str, list[str]]:
    """The names each public module of the package (`templates/public/`: errors, types) lists in `__all__`."""
    found: dict[str, list[str]] = {}
    for source in sorted((templates / "public").glob("*.py")):
        for node in ast.parse(source.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
            ):
                found[source.stem] = [str(name) for name in ast.literal_eval(node.value)]
    return found


def render_unit(
    provider: ir.Provider,
    unit: ir.Unit,
    env: Any,
    templates: Path,
    package: str,
    templates_hash: str,
    public: dict[str, list[str]],
) -> dict[str, str | bytes]:
    """One (provider, model)'s subpackage: its models, its clients and the `__init__` that exports them."""
    inputs = ", ".join(unit.spec_files)
    header = _header(
        f"providers.toml [{provider.name}] ({unit.model}), {inputs} and templates/",
        _digest(unit.inputs_hash, templates_hash),
    )
    base = f"{package}/{provider.name}/{unit.module}"
    files: dict[str, str | bytes] = {}
    with reading(Location(f"{base}/models.py")):
        files[f"{base}/models.py"] = header + render_models(provider, unit, templates / "models", package)
    model_imports = sorted({m for op in unit.operations for m in (op.request, op.response) if m})
    files[f"{base}/client.py"] = header + env.get_template("client.py.jinja").render(
        provider=provider,
        unit=unit,
        package=package,
        model_imports=model_imports,
        ops={op.name: op for op in unit.operations},
    )
    exports = sorted(_unit_exports(provider, unit))
    files[f"{base}/__init__.py"] = header + env.get_template("model_init.py.jinja").render(
        provider=provider, unit=unit, package=package, exports=exports, reexports=_reexports(public, exports)
    )
    return files


def _unit_exports(provider: ir.Provider, unit: ir.Unit) -> list[str]:
    return ["MODEL", "PROVIDER", f"{provider.class_name}Client", f"Async{provider.class_name}Client",
            *(m.name for m in unit.models)]  # fmt: skip


def _reexports(public: dict[str, list[str]], exports: list[str]) -> dict[str, list[str]]:
    return {module: [n for n in found if n not in exports] for module, found in public.items()}


def render_testing(api: ir.Api, source_dir: Path, templates_hash: str) -> dict[str, str | bytes]:
    """The fake provider package: its modules and sample video copied, its protocol table generated."""
    fakes = [p for p in api.providers if p.fake]
    digest = _digest(templates_hash, *(p.inputs_hash for p in fakes), json.dumps([_fake_json(p) for p in fakes]))
    header = _header("templates/testing/, providers.toml [*.fake, *.jobs] and the specs", digest)
    base = f"{api.package}/testing"
    files: dict[str, str | bytes] = {}
    for source in sorted(source_dir.iterdir()):
        if source.suffix == ".py":
            files[f"{base}/{source.name}"] = header + source.read_text(encoding="utf-8")
        elif source.suffix == ".mp4":
            files[f"{base}/{source.name}"] = source.read_bytes()
    table = {"_generated": header.replace("# ", "").replace("\n", " ").strip(), **fake_protocols(api)}
    files[f"{base}/protocols.json"] = json.dumps(table, indent=1, sort_keys=False, ensure_ascii=False) + "\n"
    return files


def _fake_json(provider: ir.Provider) -> object:
    fake = provider.fake
    return None if fake is None else [fake.id, fake.validation, fake.pending_status, fake.statuses, fake.failure,
                                      fake.documents, fake.errors, fake.auth_schemes]  # fmt: skip


def header_hash(text: str) -> str | None:
    """The inputs hash a generated file's header names, if it has one."""
    first = text.split("\n", 2)[:2]
    for line in first:
        if HEADER_MARK in line:
            return line.split(HEADER_MARK, 1)[1].split()[0].rstrip(".")
    return None


def render_unified(api: ir.Api, env: Any, templates_hash: str, public: dict[str, list[str]]) -> str:
    """The neutral task models and every (provider, model)'s adapter (`kling_sdk/unified.py`)."""
    mappings = {
        p.name: [p.class_name, *([u.model, u.module, *(dataclasses.asdict(a) for a in u.adapters)] for u in p.units)]
        for p in api.providers
    }
    tasks = [dataclasses.asdict(t) for t in api.unified]
    models = [dataclasses.astuple(m) for m in api.models]
    digest = _digest(templates_hash, json.dumps([tasks, mappings, models, api.default_model], sort_keys=True,
                                                default=str))  # fmt: skip
    header = _header(
        "providers.toml [models], [unified] and [providers.*.models.*.unified], the specs, templates/unified.py.jinja",
        digest,
    )
    text: str = env.get_template("unified.py.jinja").render(
        package=api.package,
        tasks=api.unified,
        providers=api.providers,
        models=api.models,
        default_model=api.default_model,
        annotation=_unified_annotation,
        public=public,
    )
    return header + text


_UNIFIED_TYPES = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "list[str]": "list[str]",
    "file": "str | Path",
}


def _unified_annotation(param: ir.UnifiedParam) -> pycode.Code:
    base = _UNIFIED_TYPES[param.type]
    if param.enum:
        base = f"Literal[{', '.join(pycode.pyrepr(v) for v in param.enum)}]"
    if not param.required and param.default is None:
        base = f"{base} | None"
    options = []
    if param.max_length is not None:
        options.append(f"max_length={pycode.pyrepr(param.max_length)}")
    if param.max_items is not None:
        options.append(f"max_length={pycode.pyrepr(param.max_items)}")
    if param.minimum is not None:
        options.append(f"ge={pycode.pyrepr(param.minimum)}")
    if param.maximum is not None:
        options.append(f"le={pycode.pyrepr(param.maximum)}")
    if param.description:
        options.append(f"description={pycode.pystr(param.description)}")
    return pycode.Code(f"Annotated[{base}, Field({', '.join(options)})]" if options else base)


def _toml_header(digest: str) -> str:
    return (
        "# Generated by kling-codegen from providers.toml [generator] and templates/pyproject.toml.jinja\n"
        f"# {HEADER_MARK}{digest[:16]}. Do not edit: change those inputs and run `codegen generate`.\n"
    )


def _header(inputs: str, digest: str) -> str:
    return (
        f"# Generated by kling-codegen from {pycode.comment(inputs)}\n"
        f"# {HEADER_MARK}{digest[:16]}. Do not edit: change those inputs and run `codegen generate`.\n"
    )


def _digest(*parts: str) -> str:
    from datamodel_code_generator import get_version

    return hashlib.sha256("\0".join([*parts, __version__, get_version()]).encode()).hexdigest()


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# ---------------------------------------------------------------------- Jinja

FILTERS = {
    "pystr": pycode.pystr,
    "pyrepr": pycode.pyrepr,
    "doc": pycode.doc,
    "comment": pycode.comment,
    "ident": pycode.ident,
    "trusted": pycode.trusted,
}


def jinja_env(templates: Path) -> Any:
    """The template environment: every `{{ }}` must produce a `pycode.Code`, anything else fails the generation."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=jinja2.pass_context(_only_code),
    )
    env.filters.update({**FILTERS, "annotation": annotation, "op_summary": _op_summary})
    return env


def _only_code(context: Any, value: Any) -> Any:
    """Jinja's `finalize`: let through escaped code (and nothing, from an `if` without `else`), refuse the rest."""
    import jinja2

    if (
        isinstance(value, pycode.Code)
        or (isinstance(value, str) and value == "")
        or isinstance(value, jinja2.Undefined)
    ):
        return value
    raise GenerationError(
        None,
        f"templates/{context.name}: a {type(value).__name__} value reached the generated source unescaped "
        f"({pycode.comment(str(value)[:60])}); pass it through pystr, pyrepr, doc, comment or ident",
    )


def annotation(t: ir.TypeRef) -> pycode.Code:
    """The Python annotation of a type."""
    if t.kind in _PRIMITIVE_ANNOTATIONS:
        return pycode.Code(_PRIMITIVE_ANNOTATIONS[t.kind])
    if t.kind == "literal":
        return pycode.Code("Literal[" + ", ".join(pycode.pyrepr(v) for v in t.values) + "]")
    if t.kind == "list":
        return pycode.Code(f"list[{annotation(t.item or ir.TypeRef('any'))}]")
    if t.kind == "dict":
        return pycode.Code(f"dict[str, {annotation(t.item or ir.TypeRef('any'))}]")
    if t.kind == "model" and t.name:
        return pycode.ident(t.name)
    raise ValueError(f"no annotation for {t}")


def _op_summary(op: ir.Operation) -> pycode.Code:
    lines = (op.summary or "").splitlines()
    summary = lines[0].rstrip(".") if lines else f"{op.method} {op.path}"
    return pycode.doc(f"{summary} (`{op.method} {op.path}`).")


# ---------------------------------------------------------------------- models


def render_models(provider: ir.Provider, unit: ir.Unit, template_dir: Path, package: str) -> str:
    """Render one (provider, model)'s models module with datamodel-code-generator, in-process."""
    import datamodel_code_generator as dcg
    from datamodel_code_generator.enums import DataModelType

    document = {
        "openapi": "3.0.3",
        "info": {"title": provider.name, "version": "0"},
        "paths": {},
        "components": {"schemas": {m.name: _model_schema(m) for m in unit.models}},
    }
    aliases = {f"{m.name}.{f.wire_name}": f.name for m in unit.models for f in m.fields if f.name != f.wire_name}
    extra: defaultdict[str, dict[str, Any]] = defaultdict(dict)
    for m in unit.models:
        extra[m.name] = {
            "kling_doc": pycode.doc(m.description, 4),
            **(_class_vars(m, provider.name) if m.role == "request" else {}),
        }
    docstring = f'"""Request and response models of {pycode.doc(provider.title)} for {pycode.doc(unit.title)}."""'
    try:
        out = dcg.generate(
            json.dumps(document),
            input_file_type=dcg.InputFileType.OpenAPI,
            output_model_type=DataModelType.PydanticV2BaseModel,
            target_python_version=dcg.PythonVersion.PY_311,
            base_class=f"{package}._runtime.models.ResponseModel",
            base_class_map={
                m.name: f"{package}._runtime.models.RequestModel" for m in unit.models if m.role == "request"
            },
            custom_template_dir=template_dir,
            extra_template_data=extra,
            additional_imports=["typing.ClassVar"],
            aliases=aliases or None,
            enum_field_as_literal=dcg.LiteralType.All,
            field_constraints=True,
            use_annotated=True,
            use_schema_description=True,
            strict_nullable=True,
            use_standard_collections=True,
            use_union_operator=True,
            use_double_quotes=True,
            disable_timestamp=True,
            formatters=[],
            custom_file_header=docstring,
        )
    except dcg.Error as exc:
        raise GenerationError(None, f"{provider.name}: datamodel-code-generator failed: {exc}") from None
    if not isinstance(out, str):
        raise GenerationError(None, f"{provider.name}: datamodel-code-generator produced no single module")
    return out


def _class_vars(model: ir.Model, provider: str) -> dict[str, str]:
    non_nullable = sorted(f.name for f in model.fields if not f.required and not f.nullable and not f.constant)
    constants = sorted(f.name for f in model.fields if f.constant)
    return {
        "kling_non_nullable": _set_literal(non_nullable),
        "kling_wire_constants": _set_literal(constants),
        "kling_provider": pycode.pystr(provider),  # who an InvalidRequestError of this model names
    }


def _set_literal(names: list[str]) -> str:
    return "{" + ", ".join(pycode.pystr(n) for n in names) + "}" if names else ""


def _model_schema(model: ir.Model) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.wire_name: _field_schema(f, model.role) for f in model.fields},
    }
    if model.description:
        schema["description"] = model.description
    required = [f.wire_name for f in model.fields if f.required]
    if required:
        schema["required"] = required
    return schema


def _field_schema(f: ir.Field, role: ir.Role) -> dict[str, Any]:
    schema = _type_schema(f.type, role)
    if "$ref" in schema and (f.nullable or f.description or f.has_default):
        schema = {"allOf": [schema]}
    for c in f.constraints:
        schema[c.keyword] = c.value
    if f.nullable and f.type.kind != "any":
        schema["nullable"] = True
    if f.description:
        schema["description"] = f.description
    if f.has_default:
        schema["default"] = f.default
    return schema


def _type_schema(t: ir.TypeRef, role: ir.Role) -> dict[str, Any]:
    if t.kind == "literal":
        json_type = _JSON_TYPES[type(t.values[0])]
        enum = {"type": json_type, "enum": list(t.values)}
        if role == "response" and len(t.values) > 1:
            # A value the spec did not list (a new status) must not break a caller's program.
            return {"anyOf": [enum, {"type": json_type}]}
        return enum
    if t.kind == "model":
        return {"$ref": f"#/components/schemas/{t.name}"}
    if t.kind == "list":
        return {"type": "array", "items": _type_schema(t.item or ir.TypeRef("any"), role)}
    if t.kind == "dict":
        value = _type_schema(t.item, role) if t.item and t.item.kind != "any" else True
        return {"type": "object", "additionalProperties": value}
    if t.kind == "any":
        return {}
    return {"type": {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}[t.kind]}


# ---------------------------------------------------------------------- ruff

RUFF_ARGS = ["--isolated", "--line-length", "120", "--target-version", "py311"]


def format_python(files: dict[str, str | bytes]) -> dict[str, str | bytes]:
    """Sort imports, drop unused ones and format every .py file with ruff, in two batch calls."""
    from ruff.__main__ import find_ruff_bin

    ruff = find_ruff_bin()
    py = {path: text for path, text in files.items() if path.endswith(".py") and isinstance(text, str)}
    with tempfile.TemporaryDirectory(prefix="kling-codegen-") as tmp:
        root = Path(tmp)
        for path, text in py.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        first_party = sorted({path.split("/", 1)[0] for path in py})
        isort = f"lint.isort.known-first-party = {json.dumps(first_party)}"
        for args in (
            ["check", "--fix-only", "--exit-zero", "--select", "I,F401,UP", "--config", isort, *RUFF_ARGS, "."],
            ["format", *RUFF_ARGS, "."],
        ):
            done = subprocess.run([str(ruff), *args], cwd=root, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise GenerationError(None, f"ruff {args[0]} failed on generated code: {done.stderr.strip()}")
        return {path: (root / path).read_text(encoding="utf-8") if path in py else text for path, text in files.items()}
