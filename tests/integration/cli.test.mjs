// The command line as a user meets it: help on every level, the version, and errors
// that say what to type instead, with exit status 2 for usage and 1 for failures.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

import { sluiceBin } from '../support/harness.mjs';

const sluice = (...args) => spawnSync(sluiceBin, args, { encoding: 'utf8', input: '' });

describe('sluice command line', () => {
  it('prints help for the program and for each command', () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const run = sluice(...args);
      assert.equal(run.status, 0);
      assert.match(run.stdout, /Commands:\n\s+run\s/);
    }
    for (const args of [['run', '--help'], ['help', 'run']]) {
      const run = sluice(...args);
      assert.equal(run.status, 0);
      assert.match(run.stdout, /sluice run \[options\] \[-- COMMAND/);
    }
    assert.match(sluice('version', '--help').stdout, /sluice version/);
    for (const args of [['demo', '--help'], ['help', 'demo']]) {
      const run = sluice(...args);
      assert.equal(run.status, 0);
      assert.match(run.stdout, /sluice demo \[--dir DIR\] \[--agent\]/);
    }
    for (const [topic, verb] of [['policy', 'check'], ['audit', 'verify'], ['tools', 'pin']]) {
      for (const args of [['help', topic], [topic, '--help'], [topic, verb, '--help']]) {
        const run = sluice(...args);
        assert.equal(run.status, 0, args.join(' '));
        assert.match(run.stdout, new RegExp(`sluice ${topic} ${verb}`));
      }
      const bare = sluice(topic);
      assert.equal(bare.status, 2, `bare ${topic} is a usage error`);
      assert.match(bare.stderr, new RegExp(`sluice ${topic} ${verb}`));
    }
  });

  it('prints its version', () => {
    for (const args of [['version'], ['--version']]) {
      const run = sluice(...args);
      assert.equal(run.status, 0);
      assert.match(run.stdout, /^sluice \d+\.\d+\.\d+\n$/);
    }
  });

  it('refuses bad usage with status 2 and a message that names the problem', () => {
    const cases = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['--bogus', 'run'], /unknown option "--bogus"/],
      [['run', '--max-message-bytes', '12XB', '--', 'true'], /--max-message-bytes: expected a positive size/],
      [['run', '--shutdown-grace', 'soon', '--', 'true'], /--shutdown-grace: expected a duration/],
      [['run', '--busy-poll', '20ms', '--', 'true'], /--busy-poll: expected off or a duration from 1us to 10ms/],
      [['--log-level', 'loud', 'run', '--', 'true'], /--log-level: expected one of trace, debug/],
      [['--log-format', 'xml', 'run', '--', 'true'], /--log-format: expected one of text, json/],
      [['help', 'nothing'], /no command "nothing"/],
      [['demo', '--agnet'], /unknown option "--agnet"/],
    ];
    for (const [args, message] of cases) {
      const run = sluice(...args);
      assert.equal(run.status, 2, `sluice ${args.join(' ')}`);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, '', 'stdout is the MCP channel and stays clean');
    }
  });

  it('names the upstream command it could not start', () => {
    const run = sluice('run', '--', 'no-such-mcp-server', '--flag');
    assert.equal(run.status, 1);
    assert.match(run.stderr, /cannot start upstream `no-such-mcp-server --flag`: No such file or directory/);
  });

  it('writes logs as JSON lines on stderr when asked', () => {
    const run = sluice('--log-format', 'json', 'run', '--', 'true');
    const lines = run.stderr.trim().split('\n').map((line) => JSON.parse(line));
    assert.ok(lines.length > 0);
    for (const line of lines) {
      assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.ok(['trace', 'debug', 'info', 'warning', 'error', 'critical'].includes(line.level), line.level);
      assert.equal(typeof line.msg, 'string');
    }
    assert.equal(run.stdout, '');
  });
});
