"""The generator, one job per module, in the order data flows through them.

    manifest (providers.toml -> frozen records; names checked)
    specs (vendored documents, bounded reads, local `$ref`s only; lock: their provenance)
    parse (documents + manifest -> ir: models, operations, job protocols, neutral mappings)
    render (ir -> {path: text} through Jinja and datamodel-code-generator; pycode: the one escaping path)
    verify (compiled, names checked, imported once in a locked-down subprocess)
    output (write the tree, or compare it with the golden record)

`generate` runs them end to end.
"""
