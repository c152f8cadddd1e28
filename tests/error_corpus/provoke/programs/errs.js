// Node.js provoker: each mode lets one real error go uncaught, so node prints it on stderr.
const [mode, arg] = process.argv.slice(2);
const fs = require('fs');
const http = require('http');
const cp = require('child_process');
async function main() {
  switch (mode) {
    case 'fetch': await fetch(arg); break;
    case 'fetch-timeout': await fetch(arg, { signal: AbortSignal.timeout(300) }); break;
    case 'read': fs.readFileSync('/var/lib/agent/config.json', 'utf8'); break;
    case 'json': JSON.parse('Sure! Here is the JSON you asked for: {"a": 1}'); break;
    case 'hangup': await new Promise((res, rej) => http.get(arg, res).on('error', rej)); break;
    case 'spawn': cp.execFileSync('helmfile', ['apply']); break;
    case 'exec': cp.execSync('ls /var/lib/agent/outputs', { stdio: 'pipe' }); break;
    case 'stack': { const f = (n) => f(n + 1) + 1; f(0); break; }
    case 'heap': { const a = []; for (;;) a.push(new Array(1e6).fill(1)); }
  }
}
main();
