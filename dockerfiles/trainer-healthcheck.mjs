// The trainer image's health check: reads `pnpm run doctor --json` on stdin and passes when the backend the image
// trains on (TFMLOPS_BACKEND, which the entrypoint defaults from the image's native package) starts on this machine.
// The doctor's own exit code only says that *some* fast backend works, which a GPU image without its GPU satisfies
// through wasm.
let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  text += chunk;
});
process.stdin.on('end', () => {
  const want = process.env.TFMLOPS_BACKEND ?? 'auto';
  let report;
  try {
    report = JSON.parse(text);
  } catch {
    console.error(`healthcheck: \`pnpm run doctor --json\` printed no report: ${text.slice(0, 200)}`);
    process.exit(1);
  }
  const status =
    want === 'auto'
      ? report.backends.find((b) => b.usable && b.backend !== 'cpu')
      : report.backends.find((b) => b.backend === want);
  if (!status?.usable) {
    const detail = status
      ? `${status.detail}${status.hint ? `; fix: ${status.hint}` : ''}`
      : 'no usable backend';
    console.error(`healthcheck: backend ${want} does not start here: ${detail}`);
    for (const { problem, fix } of report.problems ?? []) console.error(`  ${problem}: ${fix}`);
    process.exit(1);
  }
  console.log(`healthcheck: ${status.backend} works (${status.detail})`);
});
