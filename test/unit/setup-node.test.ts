/**
 * scripts/setup-node.sh for real, as on a stock Debian 12 or Ubuntu 24.04:
 * a real Node.js 18 (node-linux-<arch>@18 from the npm registry) with a real
 * npm 9.2.0 (the version both ship), linked like Debian's (`npm` is
 * npm-cli.js with a `#!/usr/bin/env node` line), first in PATH. The script
 * fetches .node-version's line with that npm into a folder the test chooses
 * and links it into a scratch npm project, whose run-scripts must then run
 * the new Node.js. Needs the npm registry, not root; a fresh npm cache makes
 * every fetch a real download.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import { isCI } from '../helpers/privileged.js';
import { hasCommand, run, type RunResult } from '../helpers/process.js';

const root = packageRoot();
const script = join(root, 'scripts', 'setup-node.sh');
const wantedMajor = readFileSync(join(root, '.node-version'), 'utf8').trim();
/** The npm Debian 12 and Ubuntu 24.04 ship with their Node.js 18. */
const OLD_NPM = 'npm@9.2.0';
const OLD_NODE_MAJOR = '18';
/** Downloads of about 80 MB and two unpacked Node.js releases. */
const TIMEOUT_MS = 120_000;

/** Why this test cannot run here; undefined when it can. */
function unmetRequirement(): string | undefined {
  if (process.arch !== 'x64' && process.arch !== 'arm64') return `no node-linux-${process.arch} with current releases`;
  for (const command of ['npm', 'tar', 'realpath']) {
    if (!hasCommand(command)) return `missing command: ${command}`;
  }
  try {
    execFileSync('npm', ['view', `node-linux-${process.arch}@${OLD_NODE_MAJOR}`, 'version'], {
      stdio: 'ignore',
      timeout: 30_000,
    });
  } catch {
    return 'the npm registry is not reachable';
  }
  return undefined;
}

function suiteOptions(): { skip?: string; timeout: number } {
  const reason = unmetRequirement();
  if (reason === undefined) return { timeout: TIMEOUT_MS };
  if (isCI()) throw new Error(`requirement not met on CI, where nothing may be skipped: ${reason}`);
  return { skip: reason, timeout: TIMEOUT_MS };
}

/** This process's environment without what an outer npm or test runner put there. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'NODE_TEST_CONTEXT'));
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

test('the README names the Node.js line that .node-version holds', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8').replace(/\s+/g, ' ');
  assert.match(readme, new RegExp(`fetches Node\\.js ${wantedMajor} LTS \\(the line named in \`\\.node-version\`\\)`));
  assert.match(readme, new RegExp(`brings Node\\.js ${wantedMajor} for this project`));
});

describe('a system Node.js 18 with its npm: scripts/setup-node.sh', suiteOptions(), () => {
  let work = '';
  /** Node.js 18 and npm 9, the way Debian 12 installs them. */
  let oldBin = '';
  let oldNode = '';
  let oldNodeSha = '';
  let project = '';
  let nodes = '';
  let env: NodeJS.ProcessEnv = {};
  let first: RunResult;
  let firstMs = 0;

  const setupNode = (extraEnv: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<RunResult> =>
    run('bash', [script, '--project', project, '--dir', nodes, ...args], {
      env: { ...env, ...extraEnv },
      timeoutMs: TIMEOUT_MS,
      check: false,
    });
  const npmRun = async (name: string): Promise<string> => (await run('npm', ['run', '--silent', name], { cwd: project, env, timeoutMs: 30_000 })).stdout.trim();

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'hostflow-setup-node-'));
    const cache = join(work, 'npm-cache');
    const downloads = join(work, 'downloads');
    mkdirSync(downloads);
    // The old Node.js and npm come through the machine's own npm.
    await run('npm', ['pack', `node-linux-${process.arch}@${OLD_NODE_MAJOR}`, OLD_NPM, '--silent'], {
      cwd: downloads,
      env: { ...cleanEnv(), npm_config_cache: cache },
      timeoutMs: 60_000,
    });
    const tarball = (prefix: string): string => {
      const name = readdirSync(downloads).find((file) => file.startsWith(prefix) && file.endsWith('.tgz'));
      assert.ok(name, `npm pack wrote no ${prefix}*.tgz`);
      return join(downloads, name);
    };
    for (const [prefix, folder] of [
      [`node-linux-${process.arch}-`, 'node18'],
      ['npm-', 'npm9'],
    ] as const) {
      mkdirSync(join(work, folder));
      await run('tar', ['-xzf', tarball(prefix), '-C', join(work, folder), '--strip-components=1']);
    }
    oldBin = join(work, 'bin');
    mkdirSync(oldBin);
    oldNode = join(oldBin, 'node');
    symlinkSync(join(work, 'node18', 'bin', 'node'), oldNode);
    symlinkSync(join(work, 'npm9', 'bin', 'npm-cli.js'), join(oldBin, 'npm'));
    oldNodeSha = sha256(oldNode);
    rmSync(downloads, { recursive: true });

    project = join(work, 'project');
    nodes = join(work, 'nodes');
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'scratch',
        private: true,
        scripts: {
          which: 'node -p "process.version + \' \' + process.execPath"',
          tool: './tool.js',
          // `npm test` runs `npm run build` the same way.
          nested: 'npm run --silent which',
        },
      }),
    );
    writeFileSync(join(project, 'tool.js'), '#!/usr/bin/env node\nconsole.log(process.version);\n');
    chmodSync(join(project, 'tool.js'), 0o755);

    // The old npm reads the global npmrc beside its own prefix: give it the
    // machine's, with whatever that says about reaching the registry (a
    // mirror, a proxy, its CA).
    const globalconfig = (await run('npm', ['config', 'get', 'globalconfig'], { env: cleanEnv() })).stdout.trim();
    env = {
      ...cleanEnv(),
      PATH: `${oldBin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      npm_config_globalconfig: globalconfig,
      npm_config_cache: cache,
      npm_config_update_notifier: 'false',
    };
    assert.equal((await run('node', ['--version'], { env })).stdout.trim().split('.')[0], `v${OLD_NODE_MAJOR}`);
    assert.match((await run('npm', ['--version'], { env })).stdout, /^9\.2\.0$/m);

    const started = Date.now();
    first = await setupNode();
    firstMs = Date.now() - started;
  });

  after(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  const fetched = (): string => {
    const entries = readdirSync(nodes);
    assert.equal(entries.length, 1, `one Node.js in ${nodes}: ${entries.join(', ')}`);
    return join(nodes, entries[0] ?? '');
  };

  test(`fetches Node.js ${wantedMajor}, an LTS line, and says so in one line`, async (t) => {
    t.diagnostic(`first run (a real download): ${firstMs} ms`);
    assert.equal(first.code, 0, first.stderr);
    const lines = first.stdout.trim().split('\n');
    assert.equal(lines.length, 1, first.stdout);
    assert.match(
      lines[0] ?? '',
      new RegExp(
        `^\\[setup\\] Node\\.js v${OLD_NODE_MAJOR}\\.\\S+ \\(.+\\) is older than \\d+: npm scripts run Node\\.js ` +
          `v${wantedMajor}\\.\\d+\\.\\d+, fetched from the npm registry \\(node-linux-${process.arch}\\) into .+, ` +
          `through node_modules/\\.bin/node; .+ is left as it is$`,
      ),
    );
    const home = fetched();
    assert.match(home, new RegExp(`/node-v${wantedMajor}\\.\\d+\\.\\d+-linux-${process.arch}$`));
    const node = join(home, 'bin', 'node');
    const release = (await run(node, ['-p', 'process.versions.node + " " + process.release.lts'])).stdout.trim();
    const [version = '', lts = ''] = release.split(' ');
    assert.equal(version.split('.')[0], wantedMajor);
    assert.notEqual(lts, 'undefined', `Node.js ${version} is not an LTS release`);
    // What scripts/build-addon.sh hands node-gyp as its nodedir.
    for (const header of ['node_api.h', 'common.gypi', 'node_version.h']) {
      assert.ok(statSync(join(home, 'include', 'node', header)).isFile(), `no include/node/${header}`);
    }
  });

  test('leaves the system Node.js as it was, and first in PATH', async () => {
    assert.equal(sha256(oldNode), oldNodeSha);
    assert.deepEqual(readdirSync(oldBin).sort(), ['node', 'npm']);
    assert.equal((await run('bash', ['-c', 'command -v node'], { env })).stdout.trim(), oldNode);
    assert.match((await run('node', ['--version'], { env })).stdout, new RegExp(`^v${OLD_NODE_MAJOR}\\.`));
  });

  test('npm run-scripts of the project run the fetched Node.js: node, #!/usr/bin/env node tools, nested npm', async () => {
    const node = realpathSync(join(fetched(), 'bin', 'node'));
    const [version = '', execPath = ''] = (await npmRun('which')).split(' ');
    assert.match(version, new RegExp(`^v${wantedMajor}\\.`));
    assert.equal(execPath, node);
    assert.equal(await npmRun('tool'), version);
    assert.equal(await npmRun('nested'), `${version} ${node}`);
  });

  test('a second run fetches nothing: it reuses the folder with the registry unreachable', async () => {
    const home = fetched();
    const stamp = statSync(join(home, 'bin', 'node'));
    // Were it to fetch, it would fail at once (no retries) instead of waiting.
    const second = await setupNode({
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_fetch_retries: '0',
      npm_config_cache: join(work, 'empty-npm-cache'),
    });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`npm scripts run Node\\.js v${wantedMajor}\\.\\S+, already in `));
    assert.equal(fetched(), home);
    const restamp = statSync(join(home, 'bin', 'node'));
    assert.equal(restamp.ino, stamp.ino);
    assert.equal(restamp.mtimeMs, stamp.mtimeMs);
  });

  test('--link-only re-makes the link that npm ci deletes, without fetching', async () => {
    rmSync(join(project, 'node_modules'), { recursive: true });
    const relinked = await setupNode({ npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0' }, ['--link-only']);
    assert.equal(relinked.code, 0, relinked.stderr);
    assert.equal(relinked.stdout, '');
    assert.match(await npmRun('which'), new RegExp(`^v${wantedMajor}\\.`));
  });

  test('an architecture the registry has no Node.js for is one clear error line', async () => {
    const fakeBin = join(work, 'fake-dpkg');
    mkdirSync(fakeBin);
    writeFileSync(join(fakeBin, 'dpkg'), '#!/bin/sh\necho riscv64\n');
    chmodSync(join(fakeBin, 'dpkg'), 0o755);
    const result = await run('bash', [script, '--project', project, '--dir', join(work, 'riscv64')], {
      env: { ...env, PATH: `${fakeBin}:${env.PATH}` },
      check: false,
    });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      new RegExp(
        `^\\[setup\\] ERROR: Node\\.js v${OLD_NODE_MAJOR}\\.\\S+ \\(.+\\) is older than \\d+, and the npm registry ` +
          `has no Node\\.js ${wantedMajor} for this architecture \\(riscv64; .+\\): install Node\\.js >= \\d+ yourself, then rerun\\n$`,
      ),
    );
  });
});
