"""The import rules of docs/architecture.md (its Layers table), checked on the source."""

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(folder: str) -> Iterator[tuple[Path, str]]:
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, node.module


def top(module: str) -> str:
    return module.split(".", maxsplit=1)[0]


def test_domain_imports_the_standard_library_only() -> None:
    offenders = [
        (path.name, module)
        for path, module in imported_modules("bot/domain")
        if top(module) not in sys.stdlib_module_names and not module.startswith("bot.domain")
    ]
    assert offenders == []


@pytest.mark.parametrize("forbidden", ["telegram", "sqlalchemy", "messages", "handlers", "bot.db"])
def test_services_stay_independent_of_adapters(forbidden: str) -> None:
    offenders = [
        (path.name, module)
        for path, module in imported_modules("bot/services")
        if module == forbidden or module.startswith(f"{forbidden}.")
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "forbidden", ["bot.services", "bot.db", "bot.telegram", "telegram", "sqlalchemy", "handlers"]
)
def test_the_calendar_feed_reads_and_fetches_and_knows_only_the_domain(forbidden: str) -> None:
    """``bot/calendar_feed`` is an adapter the composition root wires into a port."""
    offenders = [
        (path.name, module)
        for path, module in imported_modules("bot/calendar_feed")
        if module == forbidden or module.startswith(f"{forbidden}.")
    ]
    assert offenders == []


# Modules that read files: the composition root loads their data and hands it down.
LOADERS = [
    "bot.triage_rules",
    "bot.triage_second_opinion",
    "bot.triage_dictionary",
    "bot.crisis",
    "bot.triage_data",
    "bot.settings",
]


@pytest.mark.parametrize("loader", LOADERS)
def test_services_load_nothing_themselves(loader: str) -> None:
    offenders = [
        (path.name, module)
        for path, module in imported_modules("bot/services")
        if module == loader or module.startswith(f"{loader}.")
    ]
    assert offenders == []


@pytest.mark.parametrize("forbidden", ["sqlalchemy", "bot.db"])
def test_handlers_reach_the_database_only_through_services(forbidden: str) -> None:
    offenders = [
        (path.name, module)
        for path, module in imported_modules("handlers")
        if module == forbidden or module.startswith(f"{forbidden}.")
    ]
    assert offenders == []


def test_only_the_clock_adapter_reads_the_time() -> None:
    calls = []
    for folder in ("bot", "handlers", "messages"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "clock.py":
                continue
            source = path.read_text()
            if "datetime.now(" in source or "datetime.utcnow(" in source:
                calls.append(str(path.relative_to(ROOT)))
    assert calls == []


def test_the_ports_module_holds_protocols_only() -> None:
    """Value types live in bot/domain (outgoing.py, text_params.py), not beside the ports."""
    tree = ast.parse((ROOT / "bot" / "ports.py").read_text())
    not_protocols = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        or (
            isinstance(node, ast.ClassDef)
            and not any(isinstance(b, ast.Name) and b.id == "Protocol" for b in node.bases)
        )
    ]
    assert not_protocols == []


def test_test_modules_share_helpers_through_support_modules_only() -> None:
    offenders = [
        (path.name, module)
        for path, module in imported_modules("tests")
        if module.startswith("tests.") and module.rsplit(".", 1)[-1].startswith("test_")
    ]
    assert offenders == []


def test_handlers_open_no_units_of_work() -> None:
    """A handler calls one use case, which opens its own unit of work."""
    opening = [
        path.name
        for path in sorted((ROOT / "handlers").rglob("*.py"))
        if "uow()" in path.read_text()
    ]
    assert opening == []


def test_use_cases_take_one_context_not_its_parts_side_by_side() -> None:
    """Units of work, clock and policy travel together as a ``UseCaseContext``."""
    side_by_side = [
        f"{path.relative_to(ROOT)}:{node.name}"
        for path in sorted((ROOT / "bot" / "services").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and [ast.unparse(a.annotation) for a in node.args.args[:2] if a.annotation]
        == ["UnitOfWorkFactory", "Clock"]
    ]
    assert side_by_side == []
