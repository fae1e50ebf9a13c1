#!/usr/bin/env python3
"""Fails when an #include crosses a layer boundary of the source tree.

    check_layering.py SOURCE_ROOT     check the tree, list every violation
    check_layering.py --self-test     check made-up trees with known answers

The layers, inner to outer:
  include/rootd   the product: includes only include/rootd and the
                  compiler's freestanding standard headers
  shell           the root task: include/rootd, shell and the same headers
  compiler        the TOML compiler library; like sim, fuzz, bench and
                  host-tests, it must not reach into tools/, the command line

An include names a project file when it is found beside the including file
or below one of the project's include roots; an include the project does not
hold is external (a standard or third-party header). A name found in several
places counts as all of them, so an ambiguous include cannot hide a crossing.
"""
import os
import re
import sys
import tempfile

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCE_SUFFIXES = ('.hpp', '.h', '.cpp', '.cc', '.ipp', '.inc')

# Every directory a build target puts on its include path, and the root.
INCLUDE_ROOTS = ('include', 'compiler', 'sim', 'tools', 'shell', 'fuzz', 'bench', 'host-tests', '.')

# What the freestanding code may take from the toolchain: the C++20
# freestanding headers and the header-only vocabulary types rootd uses
# without their throwing members.
FREESTANDING_HEADERS = frozenset("""
    algorithm array atomic bit cfloat climits compare concepts coroutine cstdarg
    cstddef cstdint exception functional initializer_list iterator limits memory
    new optional ranges ratio source_location span string_view tuple type_traits
    typeinfo utility variant version
""".split())


class Rule:
    def __init__(self, where, allowed=None, forbidden=(), freestanding=False):
        self.where = where                # directory the rule applies to
        self.allowed = allowed            # project dirs it may include (None: any)
        self.forbidden = forbidden        # project dirs it must not include
        self.freestanding = freestanding  # external includes limited to FREESTANDING_HEADERS

    def permits(self, target):
        if any(under(target, d) for d in self.forbidden):
            return False
        return self.allowed is None or any(under(target, d) for d in self.allowed)


RULES = (
    Rule('include/rootd', allowed=('include/rootd',), freestanding=True),
    Rule('shell', allowed=('include/rootd', 'shell'), freestanding=True),
    Rule('compiler', forbidden=('tools',)),
    Rule('sim', forbidden=('tools',)),
    Rule('fuzz', forbidden=('tools',)),
    Rule('bench', forbidden=('tools',)),
    Rule('host-tests', forbidden=('tools',)),
)


def under(path, directory):
    return path == directory or path.startswith(directory + '/')


def resolve(root, including, kind, name):
    """Project files (relative to root) that `#include kind name` in `including` may mean."""
    def existing(rel):
        rel = os.path.normpath(rel)
        if rel.startswith('..') or os.path.isabs(rel):
            return None
        return rel if os.path.isfile(os.path.join(root, rel)) else None

    if kind == '"':
        beside = existing(os.path.join(os.path.dirname(including), name))
        if beside:
            return [beside]  # the compiler takes the file beside the includer first
    found = []
    for include_root in INCLUDE_ROOTS:
        hit = existing(os.path.join(include_root, name))
        if hit and hit not in found:
            found.append(hit)
    return found


def violations(root):
    problems = []
    for rule in RULES:
        top = os.path.join(root, rule.where)
        for directory, subdirs, files in os.walk(top):
            subdirs.sort()
            for file in sorted(files):
                if not file.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.relpath(os.path.join(directory, file), root)
                with open(os.path.join(root, path), encoding='utf-8', errors='replace') as text:
                    for number, line in enumerate(text, 1):
                        match = INCLUDE_RE.match(line)
                        if not match:
                            continue
                        kind, name = match.groups()
                        spelled = kind + name + ('"' if kind == '"' else '>')
                        targets = resolve(root, path, kind, name)
                        where = f'{path}:{number}: {spelled}'
                        if not targets:
                            if kind == '"':
                                problems.append(f'{where}: not a file of the project')
                            elif rule.freestanding and name not in FREESTANDING_HEADERS:
                                problems.append(f'{where}: {rule.where}/ may use only freestanding standard headers')
                            continue
                        for target in targets:
                            if not rule.permits(target):
                                problems.append(f'{where}: {rule.where}/ must not include {target}')
    return problems


def self_test():
    """Trees with one crossing each must fail, naming it; a clean tree must pass."""
    clean = {
        'include/rootd/a.hpp': '#include <cstdint>\n#include "rootd/b.hpp"\n',
        'include/rootd/b.hpp': '#include <span>\n',
        'shell/entry.cpp': '#include "rootd/a.hpp"\n#include "syscalls.hpp"\n',
        'shell/syscalls.hpp': '#include <cstddef>\n',
        'compiler/pipeline.hpp': '#include <string>\n#include <toml++/toml.hpp>\n#include "rootd/a.hpp"\n',
        'sim/system_image.cpp': '#include "pipeline.hpp"\n',
        'tools/report.hpp': '#include "pipeline.hpp"\n',
        'tools/erix-bcfg.cpp': '#include "report.hpp"\n',
        'fuzz/fuzz_toml.cpp': '// #include "report.hpp" in a comment is no include\n',
    }
    crossings = {
        'include/rootd/c.hpp': '#include "../../compiler/pipeline.hpp"\n',
        'include/rootd/d.hpp': '#include <vector>\n',
        'include/rootd/e.hpp': '#include "pipeline.hpp"\n',
        'shell/mem.cpp': '#include "system_image.cpp"\n',
        'shell/print.cpp': '#include <cstdio>\n',
        'sim/services.cpp': '#include "report.hpp"\n',
        'fuzz/fuzz_x.cpp': '#  include <report.hpp>\n',
        'compiler/decode.cpp': '#include "../tools/report.hpp"\n',
        'bench/bench.cpp': '#include "tools/report.hpp"\n',
        'host-tests/test_x.cpp': '#include "missing.hpp"\n',
    }

    def build(files):
        root = tempfile.mkdtemp(prefix='layering-')
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), 'w', encoding='utf-8') as out:
                out.write(text)
        return root

    failures = []
    found = violations(build(clean))
    if found:
        failures.append(f'the clean tree fails: {found}')
    for rel, text in crossings.items():
        found = violations(build({**clean, rel: text}))
        if len(found) != 1 or not found[0].startswith(rel + ':1:'):
            failures.append(f'{rel} ({text.strip()}) gives {found}, not one violation')
    for failure in failures:
        print('self-test: ' + failure)
    print(f'self-test: {len(crossings)} crossings, {len(failures)} failures')
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ['--self-test']:
        return self_test()
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    root = argv[1]
    checked = [rule.where for rule in RULES if os.path.isdir(os.path.join(root, rule.where))]
    if len(checked) != len(RULES):
        print(f'{root} is not the source root (has only {checked})')
        return 1
    problems = violations(root)
    for problem in problems:
        print(problem)
    print(f'{len(problems)} layering violations in {", ".join(checked)}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
