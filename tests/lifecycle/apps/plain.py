"""Any rendered project, served as generated, plus `/_stats` (what AppServer polls).

Served with `uvicorn --factory tests.lifecycle.apps.plain:create_app`, the rendered
project's `src` on PYTHONPATH and APP_PACKAGE naming its package; configured by the
project's own settings.
"""

import importlib
import os

from fastapi import FastAPI

from tests.lifecycle.apps.instrument import add_stats


def create_app() -> FastAPI:
    main = importlib.import_module(f"{os.environ['APP_PACKAGE']}.main")
    app: FastAPI = main.create_app()
    add_stats(app)
    return app
