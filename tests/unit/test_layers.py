"""Who may import whom: the import-linter contracts of pyproject.toml (the layer table of pipelines/README.md).

Each layer imports only the layers below it, no two modules (or folders) of one folder import each other round a
loop, and the sample organisation shares no code with the pipeline it checks. A broken contract fails the test
with the report ``lint-imports`` prints: the contract, then each offending import with its file and line.
"""

from copy import deepcopy

import grimp
from importlinter.api import read_configuration
from importlinter.application import output
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.independence import IndependenceContract
from importlinter.contracts.layers import LayersContract

from pipelines.settings import PROJECT_ROOT

KINDS = {"layers": LayersContract, "acyclic_siblings": AcyclicSiblingsContract, "forbidden": ForbiddenContract,
         "independence": IndependenceContract}
CONFIG = read_configuration(str(PROJECT_ROOT / "pyproject.toml"))


def import_graph() -> grimp.ImportGraph:
    return grimp.build_graph(*CONFIG["session_options"]["root_packages"], cache_dir=None)


def broken(graph: grimp.ImportGraph) -> str:
    """Every broken contract's name and its offending imports, as lint-imports reports them ("" when all hold)."""
    reports = []
    for options in CONFIG["contracts_options"]:
        contract = KINDS[options["type"]](options["name"], CONFIG["session_options"], options)
        check = contract.check(deepcopy(graph), verbose=False)  # a contract may prune the graph it checks
        if not check.kept:
            with output.console.capture() as captured:
                contract.render_broken_contract(check)
            reports.append(f"BROKEN: {options['name']}\n{captured.get()}")
    return "\n".join(reports)


def test_every_layer_imports_only_the_layers_below_it_and_nothing_loops():
    report = broken(import_graph())
    assert not report, "\n" + report


def test_an_import_up_the_layers_is_named():
    graph = import_graph()  # quality took TOKEN_PARTS from ingest, a layer above it
    graph.add_import(importer="pipelines.quality.rules", imported="pipelines.ingest.validate", line_number=1,
                     line_contents="from pipelines.ingest.validate import TOKEN_PARTS")
    report = broken(graph)
    assert "BROKEN: Each layer imports only the layers below it" in report
    assert "pipelines.quality.rules -> pipelines.ingest.validate" in report


def test_an_import_loop_is_named():
    graph = import_graph()  # digest wrote its files through deliver, which imports digest
    graph.add_import(importer="pipelines.reporting.digest", imported="pipelines.reporting.deliver", line_number=1,
                     line_contents="from pipelines.reporting.deliver import prepare")
    report = broken(graph)
    assert "BROKEN: No import loops" in report
    assert "No cycles are allowed in pipelines.reporting." in report
    assert "- .digest -> .deliver" in report or "- .deliver -> .digest" in report  # the import to remove
