"""What every worker pays at start-up, as models grow: the generated app against a
hand-written single-module app of the same API on the same stack.

For 30, 100 and 300 models (one field of each type and a ref to the model before
each), it renders the project with uowgen and writes the hand-written equivalent:
one module with the same tables (SQLAlchemy), the same request and response schemas
(pydantic), the same five routes per model declared on the app with their error
responses the ordinary FastAPI way (`responses={404: {"model": Problem}}`), and a
session dependency. The benchmark checks that both serve the same operations with
the same statuses, then measures each in fresh processes (median of RUNS):

- import + `create_app()` (the hand-written module builds its app when imported);
- then SQLAlchemy's mapper configuration (`configure_mappers()`), which every app
  does before its first query: the generated repositories' loader options do it at
  import, the hand-written app would on its first request. "Start-up" is the sum;
- the first OpenAPI document (`app.openapi()`; /docs and every client generator
  ask for it);
- the resident set after both (VmRSS, after a full collection), in MiB.

Times are CPU seconds of the process (`time.process_time`), which other work on a
shared machine disturbs far less than wall time; wall seconds are in the JSON. One
more process per app counts FastAPI's route builds (`_populate_api_route_state`) and
pydantic's TypeAdapters, the two costs issue 20 named.

Run: .venv/bin/python benchmarks/cold_start.py [SIZES...]   (default 30 100 300)
Prints a table and writes benchmarks/cold_start.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from uowgen import generate, parse_spec
from uowgen._schema.types import FIELD_TYPES

RUNS = 5
OUT = Path(__file__).with_name("cold_start.json")
PACKAGE = "cold"

# Runs in the app's own process: prints what it measured, as JSON.
MEASURE = """
import gc, json, sys, time
cpu, wall = time.process_time(), time.perf_counter()
module = __import__(sys.argv[1], fromlist=["create_app"])
app = module.create_app()
built = time.process_time() - cpu, time.perf_counter() - wall
cpu, wall = time.process_time(), time.perf_counter()
# Before its first query, every SQLAlchemy app configures its mappers; a no-op
# where the import did it already.
from sqlalchemy.orm import configure_mappers
configure_mappers()
mappers = time.process_time() - cpu, time.perf_counter() - wall
cpu, wall = time.process_time(), time.perf_counter()
document = app.openapi()
openapi = time.process_time() - cpu, time.perf_counter() - wall
gc.collect()
status = dict(
    line.split(":", 1) for line in open("/proc/self/status") if ":" in line
)
print(json.dumps({
    "create_cpu_s": built[0], "create_wall_s": built[1],
    "mappers_cpu_s": mappers[0], "mappers_wall_s": mappers[1],
    "startup_cpu_s": built[0] + mappers[0],
    "openapi_cpu_s": openapi[0], "openapi_wall_s": openapi[1],
    "rss_mib": int(status["VmRSS"].split()[0]) / 1024,
    "peak_rss_mib": int(status["VmHWM"].split()[0]) / 1024,
    "operations": sorted(
        [path, method, sorted(op["responses"])]
        for path, item in document["paths"].items()
        for method, op in item.items()
    ),
}))
"""

# Counts the two costs, in a process of its own (counting slows the run down).
COUNT = """
import json, sys
import fastapi.routing as routing
import pydantic
counts = {"route_builds": 0, "type_adapters": 0}
populate = routing._populate_api_route_state
def counted_populate(*args, **kwargs):
    counts["route_builds"] += 1
    return populate(*args, **kwargs)
routing._populate_api_route_state = counted_populate
adapter_init = pydantic.TypeAdapter.__init__
def counted_init(self, *args, **kwargs):
    counts["type_adapters"] += 1
    adapter_init(self, *args, **kwargs)
pydantic.TypeAdapter.__init__ = counted_init
module = __import__(sys.argv[1], fromlist=["create_app"])
app = module.create_app()
app.openapi()
counts["routes"] = sum(1 for _ in routing.iter_route_contexts(app.routes))
print(json.dumps(counts))
"""


def spec_with(models: int) -> dict[str, Any]:
    """`models` models, each with one field of every type and a ref to the one before."""
    result = []
    for i in range(models):
        fields: list[dict[str, Any]] = []
        for kind in FIELD_TYPES:
            if kind == "enum":
                fields.append(
                    {"name": "f_enum", "type": "enum", "values": ["new", "done"]}
                )
            elif kind == "ref":
                if i:
                    fields.append(
                        {"name": "parent", "type": "ref", "to": f"Entity{i - 1}"}
                    )
            else:
                fields.append({"name": f"f_{kind}", "type": kind})
        result.append({"name": f"Entity{i}", "fields": fields})
    return {"project_name": "Cold", "models": result}


# ---- the hand-written equivalent ------------------------------------------------

HAND_HEADER = '''"""{models} models by hand, in one module: tables, schemas and routes."""

import enum
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import (
    JSON, BigInteger, Boolean, Date, DateTime, Enum, Float, ForeignKey, Integer,
    Numeric, String, Text, Time, Uuid, func, select,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload


class Base(DeclarativeBase):
    pass


class InputProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    detail: str
    errors: list[InputProblem] = []


DESCRIPTIONS = {{
    400: "Not JSON", 404: "No such row", 409: "Taken, stale or referred to",
    413: "Too large", 422: "Invalid input", 503: "Database unavailable",
}}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {{code: {{"model": Problem, "description": DESCRIPTIONS[code]}} for code in codes}}


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]
Version = Annotated[int, Query(ge=1)]

app = FastAPI(title="Cold by hand")
app.state.sessions = async_sessionmaker(
    create_async_engine("sqlite+aiosqlite:///./hand.db"), expire_on_commit=False
)


def create_app() -> FastAPI:
    return app
'''

HAND_MODEL = """

class E{i}State(enum.StrEnum):
    NEW = "new"
    DONE = "done"


class E{i}(Base):
    __tablename__ = "e{i}s"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    f_str: Mapped[str] = mapped_column(String(255))
    f_text: Mapped[str] = mapped_column(Text)
    f_int: Mapped[int] = mapped_column(Integer)
    f_bigint: Mapped[int] = mapped_column(BigInteger)
    f_float: Mapped[float] = mapped_column(Float)
    f_decimal: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    f_bool: Mapped[bool] = mapped_column(Boolean)
    f_date: Mapped[date] = mapped_column(Date)
    f_datetime: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    f_time: Mapped[time] = mapped_column(Time)
    f_uuid: Mapped[UUID] = mapped_column(Uuid)
    f_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    f_enum: Mapped[E{i}State] = mapped_column(Enum(E{i}State, native_enum=False, length=4))
{ref_columns}

class E{i}Create(BaseModel):
    model_config = ConfigDict(extra="forbid")

    f_str: Annotated[str, Field(max_length=255)]
    f_text: str
    f_int: Annotated[int, Field(strict=True, ge=-2**31, le=2**31 - 1)]
    f_bigint: Annotated[int, Field(strict=True, ge=-2**63, lt=2**63)]
    f_float: Annotated[float, Field(allow_inf_nan=False)]
    f_decimal: Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
    f_bool: StrictBool
    f_date: date
    f_datetime: AwareDatetime
    f_time: time
    f_uuid: UUID
    f_json: dict[str, Any]
    f_enum: E{i}State
{ref_create}

class E{i}Update(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Annotated[int, Field(ge=1)]
    f_str: Annotated[str, Field(max_length=255)] | None = None
    f_text: str | None = None
    f_int: Annotated[int, Field(strict=True, ge=-2**31, le=2**31 - 1)] | None = None
    f_bigint: Annotated[int, Field(strict=True, ge=-2**63, lt=2**63)] | None = None
    f_float: Annotated[float, Field(allow_inf_nan=False)] | None = None
    f_decimal: Annotated[Decimal, Field(max_digits=12, decimal_places=2)] | None = None
    f_bool: StrictBool | None = None
    f_date: date | None = None
    f_datetime: AwareDatetime | None = None
    f_time: time | None = None
    f_uuid: UUID | None = None
    f_json: dict[str, Any] | None = None
    f_enum: E{i}State | None = None
{ref_update}

class E{i}Summary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    f_str: str
    f_text: str
    f_int: int
    f_bigint: int
    f_float: float
    f_decimal: Decimal
    f_bool: bool
    f_date: date
    f_datetime: datetime
    f_time: time
    f_uuid: UUID
    f_json: dict[str, Any]
    f_enum: E{i}State


class E{i}Public(E{i}Summary):
    version: int
{ref_public}

class E{i}List(BaseModel):
    data: list[E{i}Public]
    count: int | None
    next_after: int | None = None


@app.post("/entity{i}s", status_code=201, responses=responses(400, 409, 413, 422, 503), tags=["e{i}s"])
async def create_e{i}(session: SessionDep, body: E{i}Create) -> E{i}Public:
    row = E{i}(**body.model_dump())
    session.add(row)
    await session.commit()
    return E{i}Public.model_validate(await read_e{i}_row(session, row.id))


@app.get("/entity{i}s", responses=responses(422, 503), tags=["e{i}s"])
async def read_e{i}s(
    session: SessionDep, limit: Limit = 50, offset: Offset = 0, after: int | None = None, total: bool = True
) -> E{i}List:
    query = select(E{i}).order_by(E{i}.id).limit(limit).offset(offset){ref_load}
    if after is not None:
        query = query.where(E{i}.id > after)
    rows = (await session.scalars(query)).all()
    count = await session.scalar(select(func.count()).select_from(E{i})) if total else None
    data = [E{i}Public.model_validate(row) for row in rows]
    return E{i}List(data=data, count=count, next_after=rows[-1].id if len(rows) == limit else None)


async def read_e{i}_row(session: AsyncSession, entity{i}_id: int) -> E{i}:
    row = await session.scalar(select(E{i}).where(E{i}.id == entity{i}_id){ref_load})
    if row is None:
        raise HTTPException(404, "No such row")
    return row


@app.get("/entity{i}s/{{entity{i}_id}}", responses=responses(404, 422, 503), tags=["e{i}s"])
async def read_e{i}(session: SessionDep, entity{i}_id: IdPath) -> E{i}Public:
    return E{i}Public.model_validate(await read_e{i}_row(session, entity{i}_id))


@app.patch("/entity{i}s/{{entity{i}_id}}", responses=responses(400, 404, 409, 413, 422, 503), tags=["e{i}s"])
async def update_e{i}(session: SessionDep, entity{i}_id: IdPath, body: E{i}Update) -> E{i}Public:
    row = await read_e{i}_row(session, entity{i}_id)
    if row.version != body.version:
        raise HTTPException(409, "Stale version")
    for name, value in body.model_dump(exclude_unset=True, exclude={{"version"}}).items():
        setattr(row, name, value)
    row.version += 1
    await session.commit()
    return E{i}Public.model_validate(await read_e{i}_row(session, entity{i}_id))


@app.delete("/entity{i}s/{{entity{i}_id}}", status_code=204, responses=responses(404, 409, 422, 503), tags=["e{i}s"])
async def delete_e{i}(session: SessionDep, entity{i}_id: IdPath, version: Version) -> None:
    row = await read_e{i}_row(session, entity{i}_id)
    if row.version != version:
        raise HTTPException(409, "Stale version")
    await session.delete(row)
    await session.commit()
"""


def hand_written(models: int) -> str:
    """The single module: every model's table, schemas and routes."""
    parts = [HAND_HEADER.format(models=models)]
    for i in range(models):
        ref = i > 0
        children = i < models - 1
        columns = []
        if ref:
            columns += [
                (
                    f'    parent_id: Mapped[int] = mapped_column(ForeignKey("e{i - 1}s.id", '
                    'ondelete="RESTRICT"), index=True)'
                ),
                (
                    f'    parent: Mapped["E{i - 1}"] = relationship('
                    'back_populates="children", lazy="raise")'
                ),
            ]
        if children:
            columns.append(
                f'    children: Mapped[list["E{i + 1}"]] = relationship('
                'back_populates="parent", lazy="raise", passive_deletes=True)'
            )
        parts.append(
            HAND_MODEL.format(
                i=i,
                ref_columns="\n".join(columns),
                ref_create="    parent_id: Annotated[int, Field(ge=1)]" if ref else "",
                ref_update="    parent_id: Annotated[int, Field(ge=1)] | None = None"
                if ref
                else "",
                ref_public=f"    parent_id: int\n    parent: E{i - 1}Summary"
                if ref
                else "",
                ref_load=f".options(selectinload(E{i}.parent))" if ref else "",
            )
        )
    return "".join(parts)


# ---- measuring -------------------------------------------------------------------


def in_process(script: str, module: str, path: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(path), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script, module],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode:
        raise SystemExit(f"{module} in {path}:\n{result.stderr[-3000:]}")
    measured: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return measured


def measure(apps: dict[str, tuple[str, Path]]) -> dict[str, dict[str, Any]]:
    """Each app's medians; the apps take turns, so each run shares its moment."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in apps}
    for _ in range(RUNS):
        for name, (module, path) in apps.items():
            runs[name].append(in_process(MEASURE, module, path))
    rows = {}
    for name, (module, path) in apps.items():
        row: dict[str, Any] = {
            key: statistics.median(run[key] for run in runs[name])
            for key in runs[name][0]
            if key != "operations"
        }
        row["operations"] = runs[name][0]["operations"]
        row.update(in_process(COUNT, module, path))
        rows[name] = row
    return rows


def ratio(generated: dict[str, Any], hand: dict[str, Any], key: str) -> float:
    return float(generated[key]) / float(hand[key])


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [30, 100, 300]
    rows = []
    print(HEADING)
    with tempfile.TemporaryDirectory() as scratch:
        for models in sizes:
            root = Path(scratch) / str(models)
            project = generate(parse_spec(spec_with(models)), root / "generated")
            hand = root / "hand"
            hand.mkdir()
            (hand / "cold_by_hand.py").write_text(hand_written(models))
            measured = measure(
                {
                    "generated": (f"{PACKAGE}.main", project / "src"),
                    "hand": ("cold_by_hand", hand),
                }
            )
            generated_row, hand_row = measured["generated"], measured["hand"]
            # The same API: every path, method and status, in both documents.
            same = generated_row.pop("operations") == hand_row.pop("operations")
            if not same:
                raise SystemExit(f"{models} models: the two apps serve different APIs")
            rows.append(
                {"models": models, "generated": generated_row, "hand": hand_row}
            )
            print_row(rows[-1])
    OUT.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "runs": RUNS,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(
        f"wrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}"
    )


HEADING = (
    f"{'models':>6} {'app':>9} {'import+create s':>16} {'+ mappers s':>12} "
    f"{'start-up s':>11} {'first OpenAPI s':>16} {'RSS MiB':>8} "
    f"{'route builds':>13} {'TypeAdapters':>13}"
)


def print_row(row: dict[str, Any]) -> None:
    for name in ("generated", "hand"):
        cells = row[name]
        print(
            f"{row['models']:>6} {name:>9} {cells['create_cpu_s']:>16.2f} "
            f"{cells['mappers_cpu_s']:>12.2f} {cells['startup_cpu_s']:>11.2f} "
            f"{cells['openapi_cpu_s']:>16.2f} {cells['rss_mib']:>8.0f} "
            f"{cells['route_builds']:>13} {cells['type_adapters']:>13}"
        )
    generated, hand = row["generated"], row["hand"]
    print(
        f"{row['models']:>6} {'ratio':>9} "
        f"{ratio(generated, hand, 'create_cpu_s'):>15.2f}x {'':>12} "
        f"{ratio(generated, hand, 'startup_cpu_s'):>10.2f}x "
        f"{ratio(generated, hand, 'openapi_cpu_s'):>15.2f}x "
        f"{ratio(generated, hand, 'rss_mib'):>7.2f}x"
    )


if __name__ == "__main__":
    main()
