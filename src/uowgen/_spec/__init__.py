"""The spec: its models and validation, the field shorthand, round-trip edits of uowgen.yml."""
