"""Schema drift: did a provider change its documents, and what does that break.

fetch (the manifest's URLs only, https, allow-listed hosts; vendored with their lock entry)
changes (pairs each vendored document with its candidate) -> compare (the rules, per direction)
impact (the generated SDK's surface and semver bump, the fixtures that would break; fixtures)
report (text, JSON, Markdown, GitHub annotations)
"""
