"""Shared runtime of the generated SDK: errors, transport, retry policy and redaction."""
