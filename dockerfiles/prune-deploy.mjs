// Shrinks a `pnpm deploy` of @tfmlops/serve to what its esbuild bundle loads at run time (the API image's build stage):
//
//   node prune-deploy.mjs <dir> [--keep-if-loads <package>]...
//
// <dir>/dist/externals.json (written by packages/serve/scripts/build.ts) names the packages the bundles import from
// node_modules; everything else was bundled. Those packages and their dependencies (followed through pnpm's layout,
// .pnpm/<entry>/node_modules/<dependency>) stay; every other .pnpm entry, the workspace packages, tsx (and its
// esbuild) and dangling links go. `--keep-if-loads` keeps a package the service finds by name at run time (the
// native TF.js backends) when it loads here, i.e. when its native part was installed. At the end every kept package
// is imported from dist/, so a pruning mistake fails the build instead of the first request.

import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, ...rest] = process.argv.slice(2);
if (!dir) {
  console.error('usage: prune-deploy.mjs <dir> [--keep-if-loads <package>]...');
  process.exit(2);
}
const nodeModules = join(dir, 'node_modules');
const store = join(nodeModules, '.pnpm');
const externals = join(dir, 'dist', 'externals.json');
if (!existsSync(externals)) {
  console.error(
    `prune-deploy: ${externals} is missing: run the build (pnpm --filter @tfmlops/serve build) first`,
  );
  process.exit(1);
}

const roots = JSON.parse(readFileSync(externals, 'utf8')).packages;
for (let i = 0; i < rest.length; i += 2) {
  if (rest[i] !== '--keep-if-loads' || !rest[i + 1]) {
    console.error(`prune-deploy: unexpected argument '${rest[i]}'`);
    process.exit(2);
  }
  const name = rest[i + 1];
  const loads = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(name)})`], {
    cwd: dir,
    stdio: 'ignore',
  });
  console.log(`prune-deploy: ${name} ${loads.status === 0 ? 'loads: kept' : 'does not load here: left out'}`);
  if (loads.status === 0) roots.push(name);
}

/** The .pnpm entry a package directory lives in (`<store>/<entry>/node_modules/<name>`). */
const entryOf = (packageDir) => relative(store, packageDir).split(sep)[0];

const keep = new Set();
const seen = new Set();
const visit = (packageDir) => {
  if (seen.has(packageDir)) return;
  seen.add(packageDir);
  if (!packageDir.startsWith(store + sep)) throw new Error(`${packageDir} is not in ${store}`);
  keep.add(entryOf(packageDir));
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const name = manifest.name ?? '';
  const siblings = name.startsWith('@') ? dirname(dirname(packageDir)) : dirname(packageDir);
  const dependencies = {
    ...manifest.dependencies,
    ...manifest.optionalDependencies,
    ...manifest.peerDependencies,
  };
  for (const dependency of Object.keys(dependencies)) {
    const link = join(siblings, dependency);
    if (existsSync(link)) visit(realpathSync(link));
  }
};
for (const root of roots) {
  const link = join(nodeModules, root);
  if (!existsSync(link)) {
    console.error(`prune-deploy: the bundle imports ${root}, which is not in ${nodeModules}`);
    process.exit(1);
  }
  visit(realpathSync(link));
}

const before = readdirSync(store).filter((entry) => entry !== 'node_modules' && !entry.startsWith('.'));
for (const entry of before) {
  if (!keep.has(entry)) rmSync(join(store, entry), { recursive: true, force: true });
}
// Top-level links other than the roots (the workspace packages, tsx, ...), then every link left dangling
// (.pnpm/node_modules hoisting, .bin).
const topLevel = readdirSync(nodeModules).flatMap((name) =>
  name.startsWith('@') ? readdirSync(join(nodeModules, name)).map((inner) => `${name}/${inner}`) : [name],
);
for (const name of topLevel) {
  if (!name.startsWith('.') && !roots.includes(name))
    rmSync(join(nodeModules, name), { recursive: true, force: true });
}
for (const name of readdirSync(nodeModules)) {
  if (name.startsWith('@') && readdirSync(join(nodeModules, name)).length === 0)
    rmSync(join(nodeModules, name), { recursive: true });
}
const removeDangling = (path) => {
  for (const name of readdirSync(path)) {
    const child = join(path, name);
    const stat = lstatSync(child);
    if (stat.isSymbolicLink()) {
      if (!existsSync(child)) rmSync(child);
    } else if (
      stat.isDirectory() &&
      (name === 'node_modules' || name === '.bin' || name.startsWith('@') || path === store)
    ) {
      removeDangling(child);
    }
  }
};
removeDangling(nodeModules);

console.log(`prune-deploy: kept ${keep.size} of ${before.length} packages for ${roots.join(', ')}`);

// Every kept root loads from where the bundle resolves it.
const require = createRequire(join(dir, 'dist', 'server.cjs'));
for (const root of roots) {
  const entry = require.resolve(root);
  await import(pathToFileURL(entry).href);
}
console.log(`prune-deploy: every kept package loads from ${join(dir, 'dist')}`);
