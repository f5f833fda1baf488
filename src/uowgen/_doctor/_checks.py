"""The rules, each a function from the analysed codebase to the places it is broken."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from uowgen._doctor._check_base import Hit
from uowgen._doctor._check_concurrency import _ConcurrencyRules
from uowgen._doctor._check_flow import _FlowRules
from uowgen._doctor._check_import_time import _ImportTimeRules
from uowgen._doctor._check_settings import _SettingRules
from uowgen._doctor._check_yield import _YieldRules
from uowgen._doctor._symbols import Module


class Checker(
    _ImportTimeRules, _YieldRules, _FlowRules, _SettingRules, _ConcurrencyRules
):
    """Runs the selected rules over a codebase."""

    def module_rules(self) -> list[tuple[str, Callable[[Module], Iterator[Hit]]]]:
        """The rules that look at one module at a time, by code."""
        return [
            ("UOW001", self.shared_sessions),
            ("UOW002", self.commits_after_yield),
            ("UOW003", self.http_in_transaction),
            ("UOW004", self.autocommit),
            ("UOW005", self.undisposed_engines),
            ("UOW007", self.lazy_relationships),
            ("UOW008", self.concurrent_sessions),
        ]
