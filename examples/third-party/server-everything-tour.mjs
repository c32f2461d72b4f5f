// A short tour: a real MCP SDK client starts `sluice run -- <server-everything>`,
// lists the tools and calls a few, printing what it sees.
//   node examples/third-party/server-everything-tour.mjs SLUICE_BINARY
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sluice = process.argv[2] ?? path.join(root, 'build/proxy/sluice');
const server = [process.execPath, path.join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'), 'stdio'];

const transport = new StdioClientTransport({ command: sluice, args: ['--log-level', 'warn', 'run', '--', ...server] });
const client = new Client({ name: 'sluice-tour', version: '1.0.0' }, { capabilities: {} });
await client.connect(transport);

const info = client.getServerVersion();
console.log(`connected through Sluice to ${info.name} ${info.version}`);
const { tools } = await client.listTools();
console.log(`tools/list: ${tools.length} tools: ${tools.map((t) => t.name).join(', ')}`);
const echo = await client.callTool({ name: 'echo', arguments: { message: 'hello through Sluice' } });
console.log(`tools/call echo -> ${echo.content[0].text}`);
const sum = await client.callTool({ name: 'get-sum', arguments: { a: 19, b: 23 } });
console.log(`tools/call get-sum -> ${sum.content[0].text}`);
let steps = 0;
await client.callTool(
  { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
  undefined,
  { onprogress: () => steps++ },
);
console.log(`tools/call trigger-long-running-operation -> done, ${steps} progress notifications relayed`);
await client.close();
