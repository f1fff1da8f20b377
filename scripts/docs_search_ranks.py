"""Where the built docs site's search ranks each operation's page: a table.

For every operation, four searches (its ``METHOD /path``, operationId, module and summary) are
run by the site's own search code (Material's search worker, under Node.js, on
``build/site/search/search_index.json``), and the table counts how often the operation's page
comes first and in the first three. ``make docs`` builds the site first.

    python -m scripts.docs_search_ranks [--site build/site]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from scripts import docs_reference

ROOT = Path(__file__).resolve().parent.parent

#: Runs the worker as the browser does (a setup message, then one query message per search) and
#: prints the pages found for each search, best first.
_RUNNER = r"""
const fs = require("fs"), vm = require("vm"), path = require("path");
const [site, queriesFile] = process.argv.slice(1);
const dir = path.join(site, "assets/javascripts/workers");
const worker = fs.readdirSync(dir).find(name => name.startsWith("search.") && name.endsWith(".min.js"));
let handler = null, answer = null;
const context = { console, setTimeout, clearTimeout, Promise,
  addEventListener: (type, listener) => { handler = listener }, postMessage: message => { answer = message } };
context.self = context;
vm.createContext(context);
vm.runInContext(fs.readFileSync(path.join(dir, worker), "utf8"), context);
const index = JSON.parse(fs.readFileSync(path.join(site, "search/search_index.json"), "utf8"));
(async () => {
  await handler({ data: { type: 0, data: { config: index.config, docs: index.docs, options: { suggest: false } } } });
  const found = [];
  for (const query of JSON.parse(fs.readFileSync(queriesFile, "utf8"))) {
    await handler({ data: { type: 2, data: query } });
    found.push([...new Set(answer.data.items.map(group => group[0].location.split("#")[0]))].slice(0, 3));
  }
  console.log(JSON.stringify(found));
})();
"""

KINDS = ("METHOD /path", "operationId", "module", "summary")


def searches() -> list[tuple[str, str, str]]:
    """(kind, search, the page it should find first) for every operation."""
    found = []
    for op in docs_reference.collect().operations:
        page = docs_reference.operation_path(op).removesuffix(".md") + "/"
        for kind, text in zip(KINDS, (f"{op.method} {op.path}", op.operation_id, op.name, op.summary), strict=True):
            if text:
                found.append((kind, text, page))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.docs_search_ranks", description=__doc__.split("\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "build" / "site")
    args = parser.parse_args(argv)
    if not (args.site / "search" / "search_index.json").is_file():
        print(f"error: no search index in {args.site}: run `make docs` first", file=sys.stderr)
        return 1
    node = shutil.which("node")
    if node is None:
        print("error: Node.js (`node`) is not on PATH", file=sys.stderr)
        return 1
    wanted = searches()
    queries = args.site.parent / "docs-search-queries.json"
    queries.write_text(json.dumps([text for _, text, _ in wanted]), encoding="utf-8")
    result = subprocess.run(
        [node, "-e", _RUNNER, str(args.site), str(queries)], capture_output=True, text=True, check=True
    )
    top = json.loads(result.stdout)
    print(f"{'search by':<14} {'searches':>8} {'first':>6} {'top 3':>6}")
    pairs = list(zip(wanted, top, strict=True))
    for kind in KINDS:
        ranks = [found.index(page) if page in found else 3 for (k, _, page), found in pairs if k == kind]
        first = sum(rank == 0 for rank in ranks)
        print(f"{kind:<14} {len(ranks):>8} {first:>6} {sum(rank < 3 for rank in ranks):>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
