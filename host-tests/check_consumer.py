#!/usr/bin/env python3
"""examples/consumer, built as a service author builds it, reads real data.

    check_consumer.py SOURCE_ROOT BUILD_ROOT ERIX_BOOT ERIX_BCFG CXX...

Copies examples/consumer to a temporary directory, links this source tree
in as its subproject `erix-rootd`, configures it with --wrap-mode=nodownload
and builds it. Then checks that:
  - rootd as a subproject adds no target of its own (no images, tests, tools);
  - the generated erix-rootd.pc carries no -std flag, and the consumer
    compiles with its own gnu++20;
  - read-boot-data lists the services of examples/runtime.toml (read here
    with tomllib, not with rootd's code) from the blob erix-bcfg compiled,
    and the handoff erix-boot wrote holds a module for every service image
    and the boot config;
  - a damaged config is refused with a reason code and exit 1;
  - after `meson install --destdir STAGE --tags devel` of BUILD_ROOT, the
    consumer also builds through pkg-config alone (no subproject), with
    PKG_CONFIG_SYSROOT_DIR=STAGE as docs/service-authors.md says, its
    include path inside STAGE, and reads the same services.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib


def must(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f'FAIL: {" ".join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}')
    return result


def main():
    root, build_root, erix_boot, erix_bcfg = sys.argv[1:5]
    cxx = ' '.join(sys.argv[5:])
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        project = os.path.join(tmp, 'consumer')
        shutil.copytree(os.path.join(root, 'examples', 'consumer'), project)
        os.makedirs(os.path.join(project, 'subprojects'))
        os.symlink(root, os.path.join(project, 'subprojects', 'erix-rootd'))
        build = os.path.join(tmp, 'build')
        env = dict(os.environ, CXX=cxx)
        # Sanitizer options of the calling build must not reach meson's
        # compiler checks.
        for name in ('ASAN_OPTIONS', 'UBSAN_OPTIONS', 'MSAN_OPTIONS'):
            env.pop(name, None)
        must(['meson', 'setup', build, project, '--wrap-mode=nodownload',
              '--force-fallback-for=erix-rootd'], env=env)
        must(['ninja', '-C', build], env=env)

        targets = json.loads(must(['meson', 'introspect', '--targets', build]).stdout)
        names = sorted(t['name'] for t in targets)
        check(names == ['read-boot-data'], f'targets of the consumer build: {names}, expected read-boot-data only')

        pc = os.path.join(build, 'meson-private', 'erix-rootd.pc')
        if os.path.exists(pc):
            with open(pc) as f:
                cflags = [line for line in f if line.startswith('Cflags:')]
            check(cflags and '-std' not in cflags[0], f'erix-rootd.pc Cflags: {cflags}')
        else:
            failures.append(f'{pc} was not generated')

        with open(os.path.join(build, 'compile_commands.json')) as f:
            commands = [c['command'] for c in json.load(f) if c['file'].endswith('read_boot_data.cpp')]
        check(len(commands) == 1 and '-std=gnu++20' in commands[0] and '-std=c++20' not in commands[0],
              f'consumer compile command: {commands}')

        config_toml = os.path.join(root, 'examples', 'runtime.toml')
        handoff = os.path.join(tmp, 'runtime.hoff')
        blob = os.path.join(tmp, 'runtime.bcfg')
        must([erix_boot, '--write-handoff', handoff, config_toml], cwd=tmp)
        must([erix_bcfg, 'compile', config_toml, '-o', blob], cwd=tmp)

        reader = os.path.join(build, 'read-boot-data')
        out = must([reader, handoff, blob]).stdout.splitlines()
        modules = [line.split()[1] for line in out if line.startswith('module ')]
        services = {}
        for line in out:
            if line.startswith('service '):
                words = line.split()
                fields = dict(w.split('=', 1) for w in words[2:])
                services[words[1]] = (fields['role'], fields['image'])
        check(f'handoff: {len(modules)} modules' in out, 'module count line does not match the module lines')
        check(f'config: {len(services)} services' in out, 'service count line does not match the service lines')

        with open(config_toml, 'rb') as f:
            declared = tomllib.load(f)['service']
        expected = {s['name']: (s['role'], s.get('image', s['name'])) for s in declared}
        check(services == expected, f'services read: {services}\nexpected from the TOML: {expected}')
        wanted_modules = {'boot-config'} | {image for _, image in expected.values()}
        check(wanted_modules <= set(modules), f'modules {modules} lack {wanted_modules - set(modules)}')

        # One byte of the services table flipped: the checksum no longer
        # matches, and the reader says so instead of printing rows.
        with open(blob, 'rb') as f:
            data = bytearray(f.read())
        data[len(data) // 2] ^= 0x40
        damaged = os.path.join(tmp, 'damaged.bcfg')
        with open(damaged, 'wb') as f:
            f.write(data)
        refused = subprocess.run([reader, handoff, damaged], capture_output=True, text=True)
        check(refused.returncode == 1, f'damaged config: exit {refused.returncode}, expected 1')
        check('refused: ' in refused.stderr and refused.stdout == '',
              f'damaged config: stdout {refused.stdout!r} stderr {refused.stderr!r}')

        # The installed way in: headers and .pc staged, found by pkg-config.
        stage = os.path.join(tmp, 'stage')
        must(['meson', 'install', '-C', build_root, '--no-rebuild', '--tags', 'devel', '--destdir', stage])
        pc_dirs = sorted({os.path.dirname(os.path.join(d, f)) for d, _, files in os.walk(stage)
                          for f in files if f == 'erix-rootd.pc'})
        check(len(pc_dirs) == 1, f'installed erix-rootd.pc: {pc_dirs}')
        if len(pc_dirs) == 1:
            plain = os.path.join(tmp, 'plain')
            shutil.copytree(os.path.join(root, 'examples', 'consumer'), plain)
            pc_build = os.path.join(tmp, 'pc-build')
            pc_env = dict(env, PKG_CONFIG_PATH=pc_dirs[0], PKG_CONFIG_SYSROOT_DIR=stage)
            must(['meson', 'setup', pc_build, plain, '--wrap-mode=nofallback'], env=pc_env)
            must(['ninja', '-C', pc_build], env=pc_env)
            with open(os.path.join(pc_build, 'compile_commands.json')) as f:
                command = json.load(f)[0]['command']
            check(f'-I{stage}/' in command, f'pkg-config build does not include from {stage}: {command}')
            out = must([os.path.join(pc_build, 'read-boot-data'), handoff, blob]).stdout.splitlines()
            check(f'config: {len(expected)} services' in out, 'the pkg-config build reads another service count')

    if failures:
        print('\n'.join('FAIL: ' + f for f in failures))
        sys.exit(1)
    print(f'consumer: {len(services)} services and {len(modules)} modules read as declared')


if __name__ == '__main__':
    main()
