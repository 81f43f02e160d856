/**
 * The developer VM cannot boot here (no nested virtualisation), so CI
 * checks what it can: the Vagrantfile parses, and provisioning runs the
 * same set-up the README's quick start documents.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import { hasCommand } from '../helpers/process.js';
import { isCI } from '../helpers/privileged.js';

const root = packageRoot();
const read = (path: string) => readFileSync(join(root, path), 'utf8');

test('the Vagrantfile is valid Ruby', (t) => {
  if (!hasCommand('ruby')) {
    if (isCI()) assert.fail('ruby is missing (scripts/setup.sh installs it)');
    t.skip('ruby is not installed');
    return;
  }
  assert.match(execFileSync('ruby', ['-c', join(root, 'Vagrantfile')], { encoding: 'utf8' }), /Syntax OK/);
});

test('the VM is Ubuntu 24.04 with both providers and the repository synced', () => {
  const vagrantfile = read('Vagrantfile');
  assert.match(vagrantfile, /ubuntu-?24\.?04/);
  assert.match(vagrantfile, /provider 'virtualbox'/);
  assert.match(vagrantfile, /provider 'libvirt'/);
  assert.match(vagrantfile, /synced_folder '\.', '\/hostflow'/);
  assert.match(vagrantfile, /path: 'vagrant\/provision\.sh'/);
});

test("provisioning is the README's own set-up, which brings Node.js itself", () => {
  const provision = read('vagrant/provision.sh');
  assert.match(provision, /^bash scripts\/setup\.sh$/m);
  // Ubuntu 24.04's apt has Node.js 18: setup.sh fetches a current one from
  // the npm registry (test/unit/setup-node.test.ts), not from the snap store.
  assert.doesNotMatch(provision, /snap install|nodesource|nvm/i);
  assert.match(read('scripts/setup.sh'), /^ {2}bash scripts\/setup-node\.sh$/m);
  const readme = read('README.md');
  assert.match(readme, /sudo bash scripts\/setup\.sh && sudo npm start/);
  assert.match(readme, /sudo bash scripts\/setup\.sh && sudo npm test/);
  assert.match(readme, /vagrant up/);
});
