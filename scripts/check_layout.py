#!/usr/bin/env python3
# scripts/check_layout.py: checks that the source tree keeps the shape docs/design.md gives
# it (folders, include paths, layering, no cycles, file headers, test file sizes). Run by
# ctest as the test `layout`; python3 and binutils' nm only.
#
#   python3 scripts/check_layout.py --root REPO --objects BUILD/CMakeFiles/corio_objects.dir
#   python3 scripts/check_layout.py --root REPO --no-objects     (no build: skips check e)
#
# Checks (each prints every violation as file:line: reason; exit 1 if there is any):
#   a  top-level folders are the fixed set (dot-folders allowed; top-level files unchecked)
#   b  every #include "..." in runtime/ fs/ http/ tests/ bench/ is a path from the
#      repository root that exists, or corio/... under include/, or llhttp.h
#   c  layering: runtime/core includes only runtime/core and runtime/util (and the public
#      headers); runtime/util includes nothing of the project; http/common includes nothing
#      of http/client or http/server; an *_internal.h is included only from its own folder
#      (tests/ and bench/ are white-box and exempt)
#   d  no include cycle, of any length, among the project's files
#   e  no call cycle between the library's object files (nm: who defines, who uses)
#   f  no file cites a document outside the repository
#   g  every .c/.h/.S under runtime/ fs/ http/ opens with a comment naming its own path
#   h  no test source (tests/**/*.c) is longer than TEST_MAX_LINES
#   i  docs/design.md exists and names every folder under runtime/ and http/
import argparse
import os
import re
import subprocess
import sys
from collections import defaultdict, deque

TOP_FOLDERS = {"runtime", "http", "fs", "bench", "tests", "include", "examples", "scripts",
               "docs", "cmake"}
INCLUDE_SCOPE = ("runtime/", "fs/", "http/", "tests/", "bench/")
PROJECT_PREFIXES = ("runtime/", "fs/", "http/", "tests/", "bench/", "include/")
HEADER_SCOPE = ("runtime/", "fs/", "http/")
WHITE_BOX = ("tests/", "bench/")
EXTERNAL_HEADERS = {"llhttp.h"}
TEST_MAX_LINES = 1200
DESIGN_PAGE = "docs/design.md"
# llhttp is compiled into the library from the system's copy: not ours, not checked.
FOREIGN_OBJECTS = {"api.c", "http.c", "llhttp.c"}
TEXT_SUFFIXES = (".c", ".h", ".S", ".py", ".sh", ".md", ".cmake", ".in", ".txt")
TEXT_NAMES = {"CMakeLists.txt", "Makefile", "run"}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
# Written so that this file does not match itself: a way out of the repository into the
# folder beside it, and any spelling of the architecture page's name.
OUTSIDE_RE = re.compile(r"\.\./" + "shared|/work/" + "shared")
DESIGN_NAME_RE = re.compile(r"design" + r"\.md", re.IGNORECASE)


class Report:
    def __init__(self):
        self.sections = []  # (letter, title, [lines], skipped_note)

    def add(self, letter, title, lines, note=None):
        self.sections.append((letter, title, lines, note))

    def print(self, out):
        failed = []
        for letter, title, lines, note in self.sections:
            if note:
                status = "skipped (%s)" % note
            elif lines:
                # Indented lines detail the violation above them.
                status = "%d violation(s)" % sum(not x.startswith(" ") for x in lines)
                failed.append(letter)
            else:
                status = "ok"
            out.write("[%s] %s: %s\n" % (letter, title, status))
            for line in lines:
                out.write("    %s\n" % line)
        if failed:
            out.write("layout: FAIL (checks %s)\n" % ", ".join(failed))
        else:
            out.write("layout: ok\n")
        return 1 if failed else 0


def list_files(root):
    """Tracked files plus untracked ones git does not ignore (so build/ never counts)."""
    try:
        out = subprocess.run(
            ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True, check=True).stdout.decode()
        files = {p for p in out.split("\0") if p}
    except (OSError, subprocess.CalledProcessError):
        files = set()
        for d, dirs, names in os.walk(root):
            rel = os.path.relpath(d, root)
            dirs[:] = [x for x in dirs if x != ".git" and not x.startswith("build")]
            for n in names:
                files.add(os.path.normpath(os.path.join(rel, n)))
    return sorted(p for p in files if os.path.isfile(os.path.join(root, p)))


def read_lines(root, rel):
    try:
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


def folder_of(rel):
    return os.path.dirname(rel)


def check_top(files):
    bad = {}
    for p in files:
        if "/" not in p:
            continue
        top = p.split("/", 1)[0]
        if not top.startswith(".") and top not in TOP_FOLDERS and top not in bad:
            bad[top] = p
    return ["%s/: not a top-level folder of the layout (%s); move %s into one" %
            (top, " ".join(sorted(TOP_FOLDERS)), bad[top]) for top in sorted(bad)]


def scan_includes(root, files, texts):
    """Returns (edges, violations_b). edges: src -> [(target, line, quoted)]."""
    fileset = set(files)
    edges = defaultdict(list)
    viol = []
    for src in files:
        if not src.startswith(PROJECT_PREFIXES) or not src.endswith((".c", ".h", ".S")):
            continue
        for n, line in enumerate(texts[src], 1):
            m = INCLUDE_RE.match(line)
            if not m:
                continue
            quoted, name = m.group(1) == '"', m.group(2).strip()
            in_scope = src.startswith(INCLUDE_SCOPE)
            where = "%s:%d" % (src, n)
            if name.startswith("corio/"):
                target = "include/" + name
                if target in fileset:
                    edges[src].append((target, n, quoted))
                elif in_scope:
                    viol.append("%s: %s: no public header include/%s" % (where, name, name))
                continue
            if not quoted:
                if name.startswith(INCLUDE_SCOPE):
                    viol.append('%s: <%s>: include a project header with quotes, as "%s"' %
                                (where, name, name))
                    if name in fileset:
                        edges[src].append((name, n, quoted))
                continue
            if name in EXTERNAL_HEADERS:
                continue
            if name in fileset:
                edges[src].append((name, n, quoted))
                continue
            if not in_scope:
                continue
            beside = os.path.normpath(os.path.join(folder_of(src), name))
            if beside in fileset:
                viol.append('%s: "%s": relative include; write "%s" (path from the '
                            'repository root)' % (where, name, beside))
                edges[src].append((beside, n, quoted))
            else:
                viol.append('%s: "%s": no such file from the repository root' % (where, name))
    return edges, viol


def check_layering(edges):
    viol = []
    for src in sorted(edges):
        for target, n, _ in edges[src]:
            where = "%s:%d" % (src, n)
            if src.startswith("runtime/core/") and not target.startswith(
                    ("runtime/core/", "runtime/util/", "include/corio/")):
                viol.append("%s: includes %s: runtime/core/ is the bottom layer and may "
                            "include only core/ and util/ (upper layers register hooks)" %
                            (where, target))
            if src.startswith("runtime/util/"):
                viol.append("%s: includes %s: runtime/util/ must stand alone (no project "
                            "header at all)" % (where, target))
            if src.startswith("http/common/") and target.startswith(("http/client/",
                                                                     "http/server/")):
                viol.append("%s: includes %s: http/common/ is shared by client and server and "
                            "includes neither" % (where, target))
            if (os.path.basename(target).endswith("_internal.h") and
                    folder_of(target) != folder_of(src) and not src.startswith(WHITE_BOX)):
                viol.append("%s: includes %s: an _internal.h is private to %s/" %
                            (where, target, folder_of(target)))
    return viol


def sccs(graph):
    """Strongly connected components (Tarjan, iterative). graph: node -> iterable."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in graph.get(v, ()):
                    out.append(sorted(comp))
    return out


def shortest_cycle(graph, comp):
    """One shortest cycle through comp[0], staying inside comp."""
    members, first = set(comp), comp[0]
    prev = {first: None}
    queue = deque([first])
    while queue:
        v = queue.popleft()
        for w in sorted(graph.get(v, ())):
            if w == first:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [first]
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    return [first, first]


def check_include_cycles(edges):
    graph = {s: {t for t, _, _ in es} for s, es in edges.items()}
    line_of = {(s, t): n for s, es in edges.items() for t, n, _ in reversed(es)}
    viol = []
    for comp in sccs(graph):
        cyc = shortest_cycle(graph, comp)
        steps = ", ".join("%s:%d -> %s" % (a, line_of[(a, b)], b) for a, b in zip(cyc, cyc[1:]))
        viol.append("include cycle among %d file(s) [%s]: %s" %
                    (len(comp), " ".join(comp), steps))
    return viol


def object_symbols(root, objdir):
    objs = []
    for d, _, names in os.walk(objdir):
        for n in names:
            if not n.endswith(".o"):
                continue
            path = os.path.join(d, n)
            src = os.path.relpath(path, objdir)[:-2]
            # Only objects of sources that exist here: llhttp (built from /usr/share) and
            # stale objects of moved or deleted files are left out.
            if os.path.basename(src) in FOREIGN_OBJECTS and not src.startswith(HEADER_SCOPE):
                continue
            if os.path.isfile(os.path.join(root, src)):
                objs.append((path, src))
    if not objs:
        return None, None
    by_path = dict(objs)
    out = subprocess.run(["nm", "-A", "-P"] + [p for p, _ in objs], capture_output=True,
                         text=True, check=True).stdout
    defs, uses = {}, defaultdict(set)
    for line in out.splitlines():
        path, _, rest = line.partition(": ")
        f = rest.split()
        if len(f) < 2 or path not in by_path:
            continue
        name, kind, src = f[0], f[1], by_path[path]
        if kind in "TDBRC":
            defs[name] = src
        elif kind == "U":
            uses[src].add(name)
    return defs, uses


def check_call_cycles(root, objdir):
    defs, uses = object_symbols(root, objdir)
    if defs is None:
        return ["%s: no object file of this repository's sources: build corio_objects "
                "first, or pass --no-objects" % objdir]
    graph = defaultdict(set)
    syms = defaultdict(list)
    for src, names in uses.items():
        for name in sorted(names):
            d = defs.get(name)
            if d and d != src:
                graph[src].add(d)
                syms[(src, d)].append(name)
    viol = []
    for comp in sccs(graph):
        cyc = shortest_cycle(graph, comp)
        viol.append("call cycle among %d object(s), e.g. %s" % (len(comp), " -> ".join(cyc)))
        for a in comp:
            for b in sorted(graph[a] & set(comp)):
                s = syms[(a, b)]
                more = " (+%d more)" % (len(s) - 4) if len(s) > 4 else ""
                viol.append("  %s -> %s: %s%s" % (a, b, ", ".join(s[:4]), more))
    return viol


def is_text(rel):
    base = os.path.basename(rel)
    return base.endswith(TEXT_SUFFIXES) or base in TEXT_NAMES


def check_outside_refs(files, texts):
    viol = []
    for rel in files:
        if rel not in texts:
            continue
        in_docs = rel.startswith("docs/")
        for n, line in enumerate(texts[rel], 1):
            if OUTSIDE_RE.search(line):
                viol.append("%s:%d: points outside the repository; say it here instead" %
                            (rel, n))
                continue
            for m in DESIGN_NAME_RE.finditer(line):
                start = m.start()
                ours = m.group(0) == "design" + ".md" and (
                    line[max(0, start - 5):start] == "docs/" or
                    (in_docs and (start == 0 or line[start - 1] in " (`'\"[<")))
                if not ours:
                    viol.append("%s:%d: cites %s, a document outside the repository (the "
                                "architecture page is %s)" % (rel, n, m.group(0), DESIGN_PAGE))
                    break
    return viol


def check_headers(files, texts):
    viol = []
    for rel in files:
        if not rel.startswith(HEADER_SCOPE) or not rel.endswith((".c", ".h", ".S")):
            continue
        lines = texts.get(rel) or [""]
        m = re.match(r"\s*/\*\s*(\S+)", lines[0])
        named = m.group(1).rstrip(":") if m else None
        if named != rel:
            what = "names %s" % named if named else "is not a comment naming the file"
            viol.append("%s:1: first comment %s; start with \"/* %s: what it owns\"" %
                        (rel, what, rel))
    return viol


def check_test_sizes(files, texts):
    viol = []
    for rel in files:
        if rel.startswith("tests/") and rel.endswith(".c"):
            n = len(texts.get(rel, []))
            if n > TEST_MAX_LINES:
                viol.append("%s:%d: %d lines, more than %d: split it by feature" %
                            (rel, TEST_MAX_LINES + 1, n, TEST_MAX_LINES))
    return viol


def check_design_page(root, files):
    if DESIGN_PAGE not in files:
        return ["%s: missing (the architecture, in the project's own words)" % DESIGN_PAGE]
    text = "\n".join(read_lines(root, DESIGN_PAGE))
    folders = set()
    for rel in files:
        d = folder_of(rel)
        while d.startswith(("runtime/", "http/")):
            folders.add(d)
            d = folder_of(d)
    viol = []
    for d in sorted(folders):
        if not re.search(r"(?<![\w./-])" + re.escape(d) + r"(?![\w.-])", text):
            viol.append("%s:1: does not name %s/" % (DESIGN_PAGE, d))
    return viol


def main():
    ap = argparse.ArgumentParser(description="Checks the source tree's layout rules.")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."),
                    help="repository root (default: this script's parent folder)")
    ap.add_argument("--objects", help="the build's CMakeFiles/corio_objects.dir")
    ap.add_argument("--no-objects", action="store_true",
                    help="no build: skip the call-cycle check (e)")
    args = ap.parse_args()
    if not args.objects and not args.no_objects:
        ap.error("give --objects DIR or --no-objects")
    root = os.path.abspath(args.root)
    if args.objects and not os.path.isdir(args.objects):
        ap.error("--objects %s: no such folder (build corio_objects first)" % args.objects)

    files = list_files(root)
    if args.objects:
        # A build tree inside the sources that git does not ignore is no part of the layout.
        build = os.path.relpath(os.path.abspath(os.path.join(args.objects, "..", "..")), root)
        if not build.startswith(".."):
            files = [p for p in files if not p.startswith(build + "/")]
    texts = {rel: read_lines(root, rel) for rel in files if is_text(rel)}
    rep = Report()
    rep.add("a", "top-level folders", check_top(files))
    edges, bad_includes = scan_includes(root, files, texts)
    rep.add("b", "includes by path from the root", bad_includes)
    rep.add("c", "layering", check_layering(edges))
    rep.add("d", "include cycles", check_include_cycles(edges))
    if args.no_objects:
        rep.add("e", "call cycles between objects", [], note="--no-objects")
    else:
        rep.add("e", "call cycles between objects", check_call_cycles(root, args.objects))
    rep.add("f", "no document outside the repository cited", check_outside_refs(files, texts))
    rep.add("g", "first comment names the file", check_headers(files, texts))
    rep.add("h", "test sources at most %d lines" % TEST_MAX_LINES,
            check_test_sizes(files, texts))
    rep.add("i", "%s names every runtime/ and http/ folder" % DESIGN_PAGE,
            check_design_page(root, files))
    return rep.print(sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
