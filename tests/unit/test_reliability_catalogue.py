"""docs/errors.md, the catalogue of every error the bench can give (#16): every error class of
bench/errors.py is in it, and every test it names exists.

The catalogue is generated from the code and the tests; the class introductions are written by hand
(CLASS_GUIDE below). Every `raise X(...)` and every error object built to be raised later
(`return LinkError(...)`) in bench/ is one entry, with its message (which, by the convention of
bench/errors.py, says what went wrong and what to do) and the tests that produce it. Which test
produces which error is traced, not guessed: the test suites run with this module as a pytest plugin
(`-p test_reliability_catalogue`), which wraps BenchError.__init__ and records, per test, the source
line that built each error. Errors outside the BenchError tree (ValueError, ...) fall back to the
text of the tests' `match=` patterns. Errors built in a process a test starts (a `bench` subprocess,
a metric worker) are traced too (install, sitecustomize.py). The trace names each error by its module,
function and message, not its line, so it survives edits elsewhere in a module. Regenerate after
adding errors:

    .venv/bin/python tests/unit/test_reliability_catalogue.py --trace tests/unit tests/qemu
    .venv/bin/python tests/unit/test_reliability_catalogue.py --trace-add tests/unit/test_x.py  # merge
    .venv/bin/python tests/unit/test_reliability_catalogue.py        # from the last trace, no test run
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "errors.md"

# class -> (what causes these errors, what to do in general); written by hand
CLASS_GUIDE: dict[str, tuple[str, str]] = {
    "BenchError": ("A refused command or option that fits no narrower class: a bad --window, a resume with other "
                   "options, no image for a target, a model or sweep asked for that does not exist.",
                   "Read the message: it names the option and the accepted values or the command to run."),
    "ConfigError": ("A target TOML, an images TOML, a model configuration, a family's CONFIGURE option or a "
                    "command-line value is missing, of the wrong type or out of range. Checked when it is loaded, "
                    "before a run directory is created (a target's driver table too: load_target).",
                    "Fix the named key in the named file (the message gives the expected type or range)."),
    "ImageError": ("A firmware image is missing, corrupt, truncated, not an ARM Cortex-M ELF, built for another "
                   "board or core, or does not match its manifest; or the manifest itself is malformed.",
                   "Rebuild with `bench images build` (the manifest is rewritten with the images), or pick an "
                   "image built for the target."),
    "TargetError": ("A target could not be started, reached or stopped: QEMU or bwrap missing, a port taken, QEMU "
                    "ended during a run (lockup, image exit, killed: the message quotes qemu.stderr.log), a probe "
                    "or board not found, a RESULT that breaks the image's HELLO.",
                    "Install what is named, free the port, or debug the image; an interrupted run is finished "
                    "with `bench run --resume RUN_ID`."),
    "LinkError": ("The wire protocol failed: the port cannot be opened, the link went silent past its deadline, "
                  "the device restarted or lost replies, a malformed message.",
                  "Check the cable/port and that the target runs; the message carries the link counters and the "
                  "device's last output. Finish with `bench run --resume`."),
    "HandshakeError": ("The image did not answer HELLO (not a bench image, wrong link), or its HELLO does not "
                       "match its manifest entry.",
                       "Use a bench image (firmware/agent) built by `bench images build` for this board."),
    "DeviceError": ("The device answered a request with an ERROR message (an option it refuses, a frame it "
                    "cannot process); the link itself is fine, so the run goes on with the next utterance.",
                    "Read the device's code and text; check the CONFIGURE options against the family's ranges."),
    "DataError": ("A test set, WAV file, labels CSV or label table cannot be used: unpaired, silent, clipped, "
                  "multi-channel, NaN/inf samples, non-finite SNRs, file names that are not UTF-8.",
                  "Fix or remove the named file (or row); the message says how."),
    "MetricError": ("A metric was asked for with inputs that cannot be compared (lengths, rates, unknown "
                    "metric names, bad pool settings): a caller's mistake, not an unscorable utterance (those "
                    "give NaN with a reason).",
                    "Align the signals or choose a known metric (the message lists them)."),
    "ResultsError": ("The results store cannot give what was asked: no such run, a run in use (its lock), a "
                     "damaged run.json, Parquet, WAV or index, a baseline missing or of another version.",
                     "Delete the damaged file and re-run (`bench run --resume` keeps the rest), rebuild the "
                     "index (`bench index --rebuild`) or rewrite the baseline (`bench baseline update`)."),
    "CyclestError": ("The cycle-estimate plugin (bench.cyclest) cannot be built, loaded or read: no host C "
                     "compiler, a QEMU without TCG plugins, a damaged marks file.",
                     "Install gcc, use a QEMU built with --enable-plugins, or set cycles_est = false in [qemu]."),
}


@dataclass
class Site:
    cls: str
    path: str
    func: str
    message: str
    lines: tuple[int, int] = (0, 0)  # first and last line of the call that builds the error
    tests: list[str] = field(default_factory=list)


def _literal(node: ast.AST | None) -> str | None:
    """The text of a message expression, placeholders as {...}; None when it is built elsewhere."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"  # type: ignore[attr-defined]
                       for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        a, b = _literal(node.left), _literal(node.right)
        if a is not None or b is not None:
            return (a or "{...}") + (b or "{...}")
    if isinstance(node, ast.IfExp):
        a, b = _literal(node.body), _literal(node.orelse)
        if a is not None and b is not None:
            return f"{a} | {b}"
    return None


def error_classes() -> dict[str, str]:
    """Exception classes defined in bench/ -> their base's name."""
    out = {}
    for p in sorted((ROOT / "bench").rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            if isinstance(node, ast.ClassDef) and node.bases:
                base = node.bases[0]
                name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
                if name.endswith(("Error", "Exception", "Timeout")) or name == "KeyboardInterrupt":
                    out[node.name] = name
    return out


BUILTIN = {"ValueError", "TypeError", "RuntimeError", "AttributeError", "AssertionError", "KeyError",
           "FileNotFoundError", "OSError", "NotImplementedError", "IndexError", "PortNotOpenError"}


def sites_in(rel: str, source: str, classes: set[str] | None = None) -> list[Site]:
    """The error sites of one module of bench/ (its path relative to the repository, its text)."""
    classes = (set(error_classes()) | BUILTIN) if classes is None else classes
    sites: list[Site] = []

    def visit(node: ast.AST, func: str, caught: dict[str, str]) -> None:
        for child in ast.iter_child_nodes(node):
            name = func
            inner = caught
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = child.name
            if isinstance(child, ast.ExceptHandler) and child.name and isinstance(child.type, ast.Name | ast.Attribute):
                t = child.type
                inner = {**caught, child.name: t.id if isinstance(t, ast.Name) else t.attr}
            if isinstance(child, ast.Call):
                f = child.func
                cname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if (isinstance(f, ast.Call) and isinstance(f.func, ast.Name) and f.func.id == "type"
                        and len(f.args) == 1 and isinstance(f.args[0], ast.Name) and f.args[0].id in caught):
                    cname = caught[f.args[0].id]  # `raise type(e)(more context)`: the caught class (or a subclass)
                if cname in classes and cname != "KeyboardInterrupt":
                    args = list(child.args)
                    if cname == "DeviceError":
                        msg = _literal(args[2]) if len(args) > 2 else "device error {code}: {text}"
                    else:
                        msg = _literal(args[0]) if args else ""
                    sites.append(Site(cname, rel, func, msg if msg is not None else "(message built at run time)",
                                      (child.lineno, child.end_lineno or child.lineno)))
            visit(child, name, inner)

    visit(ast.parse(source, rel), "<module>", {})
    return [s for s in sites if not (s.cls in BUILTIN and s.message == "" and s.cls == "AssertionError")]


def error_sites() -> list[Site]:
    """Every error raised, or built to be raised, in bench/ (module doc)."""
    classes = set(error_classes()) | BUILTIN
    return [s for p in sorted((ROOT / "bench").rglob("*.py"))
            for s in sites_in(str(p.relative_to(ROOT)), p.read_text(), classes)]


def site_key(s: Site) -> str:
    """A site's name in the trace: its module, function, class and message, not its line, so that a
    trace stays valid while lines move (an edited message or function makes its entries unmatched)."""
    return f"{s.path}|{s.func}|{s.cls}|{s.message}"


def _pieces(text: str) -> list[str]:
    """Literal pieces of a test's expected text: a regex is cut at its metacharacters and unescaped."""
    text = re.sub(r"\\([\\.()\[\]{}*+?^$|'\"/-])", r"\1", text)
    return [p.strip() for p in re.split(r"\.\*|\.\+|\\[dswDSW][+*]?|\[[^\]]*\][+*?]?|\{[^}]*\}|[$^]|\(\?[^)]*\)", text)]


def expected_texts() -> dict[str, list[str]]:
    """'tests/x.py::test_name' -> the string constants in that test (and in its parametrization)."""
    out: dict[str, list[str]] = {}
    for p in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(p.read_text(), str(p))
        rel = str(p.relative_to(ROOT))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                out[f"{rel}::{node.name}"] = [s for n in ast.walk(node) for s in _strings(n)]
    return out


def _strings(n: ast.AST) -> list[str]:
    if isinstance(n, ast.Constant) and isinstance(n.value, str):
        return [n.value]
    if isinstance(n, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else "{}" for v in n.values)]  # type: ignore[attr-defined]
    return []


def map_tests(sites: list[Site], min_len: int = 12) -> None:
    """Give each site the tests whose expected text is a distinctive piece of its message: a piece of
    the test's text (a regex cut at its metacharacters) found in exactly one site's literal text, or a
    long literal segment (20+ characters) of exactly one site's message found in a piece."""
    literal = [[seg.strip() for seg in re.split(r"\{[^}]*\}", s.message) if len(seg.strip()) >= min_len]
               for s in sites]
    for test, strings in expected_texts().items():
        for text in strings:
            for piece in _pieces(text):
                if len(piece) < min_len:
                    continue
                hits = {i for i, segs in enumerate(literal) if any(piece in seg for seg in segs)}
                if len(hits) != 1:
                    hits = {i for i, segs in enumerate(literal) if any(len(seg) >= 20 and seg in piece for seg in segs)}
                if len(hits) == 1:
                    (i,) = hits
                    if test not in sites[i].tests:
                        sites[i].tests.append(test)


TRACE = ROOT / "build" / "error-trace.json"  # the last trace: {site_key: [test, ...]}
HITS_ENV, TEST_ENV = "BENCH_ERROR_TRACE_HITS", "BENCH_ERROR_TRACE_TEST"


def install() -> None:
    """Record each BenchError built, as 'file:line<TAB>test' appended to $BENCH_ERROR_TRACE_HITS, with
    the test named by $BENCH_ERROR_TRACE_TEST. One append per error, so that it works the same in this
    process, in forked workers (which inherit the wrapper; their memory is lost at exit) and in any
    Python process a test starts (a `bench` subprocess, a spawned metric worker: they load it through
    tests/unit/sitecustomize.py, on their PYTHONPATH while tracing)."""
    import os

    from bench import errors

    original = errors.BenchError.__init__
    if getattr(original, "traced", False):
        return

    def traced(self: BaseException, *args: object, **kw: object) -> None:
        f = sys._getframe(1)
        while f is not None and f.f_code.co_name == "__init__" and isinstance(f.f_locals.get("self"),
                                                                               errors.BenchError):
            f = f.f_back  # a subclass's own __init__ (DeviceError): the site is its caller
        hits, test = os.environ.get(HITS_ENV), os.environ.get(TEST_ENV)
        if f is not None and hits and test:
            with open(hits, "a", encoding="utf-8") as fh:
                fh.write(f"{f.f_code.co_filename}:{f.f_lineno}\t{test}\n")
        original(self, *args, **kw)  # type: ignore[arg-type]

    traced.traced = True  # type: ignore[attr-defined]
    errors.BenchError.__init__ = traced  # type: ignore[method-assign]


def pytest_configure(config: object) -> None:  # active only when this module is loaded with -p
    import os
    import tempfile

    here = str(Path(__file__).parent)
    os.environ[HITS_ENV] = tempfile.mkstemp(prefix="bench-error-hits-", suffix=".tsv")[1]
    path = os.environ.get("PYTHONPATH", "")
    if here not in path.split(os.pathsep):  # child Pythons load the hook (sitecustomize.py) from here
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (here, path) if p)
    install()


def pytest_runtest_setup(item: object) -> None:
    import os

    os.environ[TEST_ENV] = str(getattr(item, "nodeid", "")).split("[")[0]


def keys_of_hits(lines: list[str], unlisted: set[str] | None = None) -> dict[str, set[str]]:
    """'file:line<TAB>test' lines -> {site_key: tests}. A line of bench/ inside no site (an error built
    in a way error_sites does not see, e.g. `raise cls(...)`) is dropped, and added to ``unlisted``."""
    classes = set(error_classes()) | BUILTIN
    sites: dict[str, list[Site]] = {}
    out: dict[str, set[str]] = defaultdict(set)
    for ln in lines:
        where, _, test = ln.rstrip("\n").partition("\t")
        path, _, line = where.rpartition(":")
        try:
            rel = str(Path(path).resolve().relative_to(ROOT))
        except ValueError:
            continue
        if rel not in sites:
            sites[rel] = sites_in(rel, (ROOT / rel).read_text(), classes) if (ROOT / rel).is_file() else []
        hit = [s for s in sites[rel] if test and line.isdigit() and s.lines[0] <= int(line) <= s.lines[1]]
        for s in hit:
            out[site_key(s)].add(test)
        if not hit and unlisted is not None and rel.startswith("bench/"):
            unlisted.add(f"{rel}:{line}")
    return out


def pytest_unconfigure(config: object) -> None:
    import json
    import os

    hits = Path(os.environ.pop(HITS_ENV))
    os.environ.pop(TEST_ENV, None)
    unlisted: set[str] = set()
    new = keys_of_hits(hits.read_text(encoding="utf-8").splitlines(), unlisted)
    hits.unlink()
    if unlisted:  # the catalogue cannot name these: make them `raise SomeError(...)` where they are built
        print(f"\nerror catalogue: {len(unlisted)} error(s) built outside any listed site: "
              + ", ".join(sorted(unlisted)), file=sys.stderr)
    out = Path(os.environ.get("BENCH_ERROR_TRACE", str(TRACE)))
    old = json.loads(out.read_text()) if out.is_file() else {}
    for k, v in new.items():
        old[k] = sorted(set(old.get(k, [])) | v)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(old, indent=0, sort_keys=True))


def apply_trace(sites: list[Site], trace: dict[str, list[str]]) -> None:
    """Give each site the tests that built its error (module doc), by its key (site_key)."""
    for s in sites:
        for t in trace.get(site_key(s), []):
            if t not in s.tests:
                s.tests.append(t)
        s.tests.sort()


def _is_bench_error(c: str, classes: dict[str, str]) -> bool:
    while c in classes:
        if c == "BenchError":
            return True
        c = classes[c]
    return c == "BenchError"


def _order(classes: dict[str, str]) -> list[str]:
    """bench.errors first (in its order), then other classes of bench/, then builtins."""
    tree = ast.parse((ROOT / "bench" / "errors.py").read_text())
    first = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    return first + sorted(c for c in classes if c not in first) + sorted(BUILTIN)


def render(sites: list[Site]) -> str:
    classes = error_classes()
    by_cls: dict[str, list[Site]] = defaultdict(list)
    for s in sites:
        by_cls[s.cls].append(s)
    user = [c for c in _order(classes) if c in by_cls and _is_bench_error(c, classes)]
    n_user = sum(len(by_cls[c]) for c in user)
    tested = sum(1 for c in user for s in by_cls[c] if s.tests)
    lines = [
        "# Errors: every error the bench can give",
        "",
        "Generated from the code by `tests/unit/test_reliability_catalogue.py` (run it as a script to rewrite",
        "this file; the class introductions are written by hand there). Every `raise X(...)` in `bench/`, and",
        "every error built to be raised later (`return LinkError(...)`), is one entry: where it is raised, its",
        "message (placeholders as `{...}`; by the convention of `bench/errors.py` a message says what went",
        "wrong and what to do), and the tests that produce it (traced: the tests that built that error while",
        "they ran; for errors outside the `BenchError` tree, the tests whose expected text is taken from the",
        "message). Search this page for a fragment of the message you got.",
        "",
        f"**{len(sites)} errors** in all: **{n_user}** that a user sees (the `bench.errors` tree, `BenchError`",
        f"and its subclasses; {tested} of them produced by a named test), and {len(sites) - n_user} internal ones",
        "(programming errors and API misuse inside the bench: `ValueError`, `TypeError`, ... and the helpers'",
        "own exceptions), listed at the end.",
        "",
        "| class | base | errors | with a test |",
        "|---|---|---|---|",
    ]
    for c in _order(classes):
        if c in by_cls or c in CLASS_GUIDE:
            base = classes.get(c, "Exception" if c not in BUILTIN else "(builtin)")
            lines.append(f"| [{c}](#{c.lower()}) | {base} | {len(by_cls.get(c, []))} | "
                         f"{sum(1 for s in by_cls.get(c, []) if s.tests)} |")
    lines.append("")
    n = 0
    for c in _order(classes):
        if c not in by_cls and c not in CLASS_GUIDE:
            continue
        lines += ["", f"## {c}", ""]
        if c in CLASS_GUIDE:
            cause, do = CLASS_GUIDE[c]
            lines += [f"*Causes:* {cause}", "", f"*What to do:* {do}", ""]
        elif not _is_bench_error(c, classes):
            lines += ["*Internal:* raised when the bench's own code or an API of it is misused (a caller's "
                      "programming error, not a user's input); a user should not see it. If you do, report it "
                      "with the traceback.", ""]
        for s in by_cls.get(c, []):
            n += 1
            msg = s.message.replace("`", "'").replace("\n", " ").strip() or "(no message)"
            more = f" (and {len(s.tests) - 3} more)" if len(s.tests) > 3 else ""
            tests = (", ".join(f"`{t}`" for t in s.tests[:3]) + more) or "none yet"
            lines.append(f"{n}. `{s.path}` `{s.func}`: {msg}  \n   test: {tests}")
    return "\n".join(lines) + "\n"


def build() -> str:
    import json

    sites = error_sites()
    classes = error_classes()
    if TRACE.is_file():
        apply_trace(sites, json.loads(TRACE.read_text()))
    guess = [s for s in sites if not _is_bench_error(s.cls, classes)]  # builtins: no trace, the tests' text
    map_tests(guess)
    return render(sites)


# ---- the checks ------------------------------------------------------------------------------------

def _doc() -> str:
    return DOC.read_text()


def test_every_error_class_is_in_the_catalogue():
    tree = ast.parse((ROOT / "bench" / "errors.py").read_text())
    names = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    assert names, "bench/errors.py defines no class?"
    doc = _doc()
    missing = [n for n in names if f"## {n}\n" not in doc]
    assert not missing, f"docs/errors.md has no section for {missing}; regenerate it (see this module's doc)"


def test_every_test_named_in_the_catalogue_exists():
    named = {(p, n.split("::")[-1]) for p, n in re.findall(r"`(tests/[\w/]+\.py)::([\w:]+)`", _doc())}
    assert named, "the catalogue names no test"
    missing = []
    defined: dict[str, set[str]] = {}
    for path, name in sorted(named):
        p = ROOT / path
        if path not in defined:
            defined[path] = ({n.name for n in ast.walk(ast.parse(p.read_text()))
                              if isinstance(n, ast.FunctionDef | ast.ClassDef)} if p.is_file() else set())
        if name not in defined[path]:
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/errors.md names tests that do not exist: {missing}"


def test_the_catalogue_states_its_size():
    doc = _doc()
    m = re.search(r"\*\*(\d+) errors\*\* in all", doc)
    entries = re.findall(r"^\d+\. `bench/", doc, flags=re.M)
    assert m and int(m.group(1)) == len(entries) > 300


def test_errors_built_in_a_child_process_are_traced(tmp_path):
    """A `bench` process a test starts records the errors it builds (sitecustomize.py), by site key."""
    import os
    import subprocess

    hits = tmp_path / "hits.tsv"
    env = {**os.environ, HITS_ENV: str(hits), TEST_ENV: "tests/unit/x.py::test_y",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-m", "bench.cli", "run", "--window", "0"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    keys = keys_of_hits(hits.read_text().splitlines())
    assert keys == {"bench/runner/options.py|__post_init__|BenchError|--window must be at least 1":
                    {"tests/unit/x.py::test_y"}}


if __name__ == "__main__":
    if sys.argv[1:2] in (["--trace"], ["--trace-add"]):
        import os
        import subprocess

        if sys.argv[1] == "--trace":  # a fresh trace; --trace-add merges into the last one
            TRACE.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent), "BENCH_ERROR_TRACE": str(TRACE)}
        groups: dict[str, list[str]] = defaultdict(list)  # one pytest per folder of tests: tests/unit and
        for path in sys.argv[2:]:                          # tests/qemu share some file names
            groups[str(Path(path).parent if Path(path).is_file() else Path(path))].append(path)
        for paths in groups.values():
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "test_reliability_catalogue", "-p",
                            "no:cacheprovider", *paths], cwd=ROOT, env=env, check=False)
    DOC.write_text(build())
    print(f"wrote {DOC}", file=sys.stderr)
