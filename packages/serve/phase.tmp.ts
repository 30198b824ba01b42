const cpu = () => {
  const u = process.cpuUsage();
  return ((u.user + u.system) / 1000).toFixed(0);
};
const t0 = performance.now();
const mark = (label: string) =>
  process.stdout.write(
    `${label}: wall ${(performance.now() - t0).toFixed(0)} ms, cpu ${cpu()} ms (uptime ${(process.uptime() * 1000).toFixed(0)})\n`,
  );
mark('script start');
const core = await import('@tfmlops/core');
mark('core');
const [{ realMachineProbes, selectBackend }, app] = await Promise.all([
  import('@tfmlops/runtime'),
  import('./src/app.ts'),
]);
mark('runtime + app imported');
await selectBackend({ backend: 'wasm' }, { probes: realMachineProbes(process.env) });
mark('backend selected');
