/** `pnpm doctor [--json]`: what this machine can train with, and how to fix what it cannot. */
import { parseExperimentArgs, runCli } from '@tfmlops/core';
import { formatDoctorReport, runDoctor } from './doctor.ts';
import { realMachineProbes } from './probes.ts';

await runCli(async () => {
  const { flags } = parseExperimentArgs(process.argv.slice(2), { json: { type: 'boolean' } });
  const report = await runDoctor(realMachineProbes(process.env));
  process.stdout.write(
    flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctorReport(report)}\n`,
  );
  return report.healthy ? 0 : 1;
});
