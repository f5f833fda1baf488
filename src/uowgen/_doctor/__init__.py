"""`uowgen doctor`: find the seeds' session mistakes in any FastAPI + SQLAlchemy code.

A pure engine: it reads files and returns a report; the CLI prints it.
"""

from uowgen._doctor._files import FileWarning
from uowgen._doctor._model import DoctorReport, Finding
from uowgen._doctor._report import format_doctor_report, sarif, text_warnings
from uowgen._doctor._rules import RULES, RULES_BY_CODE, Rule
from uowgen._doctor._run import run_doctor

__all__ = [
    "RULES",
    "RULES_BY_CODE",
    "DoctorReport",
    "FileWarning",
    "Finding",
    "Rule",
    "format_doctor_report",
    "run_doctor",
    "sarif",
    "text_warnings",
]
