"""`uowgen check`: whether a generated project is in step with the template and spec.

One run (`run.check_project`) collects every finding, each with a stable code, where
it is and the command that fixes it (`findings`), one module per group:

- `versions`, UG1xx: the template version that rendered the project against this
  uowgen (and, with `latest=True`, the newest release on the package index);
- `spec`, UG2xx: `uowgen.yml` against the spec the project was last rendered from;
- `wiring`, UG3xx: the registries uowgen maintains (models, repositories, routes)
  against the spec's models, read with `ast`;
- `conflicts`, UG4xx: conflict markers, `.rej` files and `.uowgen-conflicts` left by
  a merge;
- `migrations`, UG5xx: the models against the Alembic migrations, as `alembic check`
  compares them, on a scratch SQLite database, in the project's own interpreter
  (where `project_probe` runs).

Pure engine: nothing here prints or exits; `run.format_report` returns the text the
CLI prints.
"""
