#!/usr/bin/env node
// npm run build: bundles the CLI into dist/ with esbuild (the type check is `tsc --noEmit`, run
// first by the npm script). One bundle instead of ~150 modules: Node resolving, reading and
// linking each ES module was the largest part of every start (docs/benchmarks.md).
//
// - dist/main.js is the entry (bin/dockmk.js imports it); each command's module, and what only
//   it uses, is a chunk of its own, loaded by the dynamic import() in src/cli/main.ts.
// - dockerode, zx, handlebars, and BuildKit's @grpc/grpc-js and protobufjs stay in
//   node_modules, loaded when first needed: they are large, dockerode carries optional native
//   parts, and grpc-js, bundled, loses the named exports Node's CommonJS interop gives it.
// - @cdktn/hcl2json (bake files) stays there too: it reads its WebAssembly from beside its file.
// - yargs loads cliui and string-width (and through it an Intl.Segmenter) for the help text
//   only; here they are evaluated on the first help text printed, not at every start.
// - yaml and js-yaml are dist/yaml.cjs, required by src/model/yaml-lib.ts the first time a file
//   is parsed: a run whose parse caches answer never loads them.
// - Source maps (dist/*.js.map) map stack traces back to src/: bin/dockmk.js enables them.
// - DOCKMK_BUILD in the code is a digest of this build's sources (see buildDigest).
// - dist/bundle.json is esbuild's metafile: which source went into which file (the bench reads it).
//
//   node scripts/build.mjs

import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const dist = join(root, 'dist');

/** Loaded from node_modules at run time, never bundled. */
const EXTERNAL = ['dockerode', 'zx', 'handlebars', '@grpc/grpc-js', 'protobufjs', '@cdktn/hcl2json'];

/** Beside the chunks: yaml and js-yaml, required on first use (src/model/yaml-lib.ts). */
const YAML_BUNDLE = './yaml.cjs';

/** Imports of yargs that only its help text uses: made lazy. */
const HELP_ONLY = /^(cliui|string-width)$/;

const lazyHelp = {
  name: 'lazy-help',
  setup(esbuild) {
    esbuild.onResolve({ filter: HELP_ONLY }, (args) => {
      if (!/[/\\]node_modules[/\\]yargs[/\\]/.test(args.importer)) return undefined;
      return { path: args.path, namespace: 'lazy-help', pluginData: { resolveDir: args.resolveDir } };
    });
    // A function with the module's default export's signature, which requires the module on its
    // first call (esbuild evaluates a require()d module lazily, when the call runs).
    esbuild.onLoad({ filter: /.*/, namespace: 'lazy-help' }, (args) => ({
      contents: [
        `let loaded;`,
        `export default function lazy(...args) {`,
        `  loaded ??= require(${JSON.stringify(args.path)}).default;`,
        `  return loaded(...args);`,
        `}`,
      ].join('\n'),
      resolveDir: args.pluginData.resolveDir,
      loader: 'js',
    }));
  },
};

/**
 * yargs finds its locales and the package.json it reads --version from relative to its own file
 * in node_modules; in the bundle they are dist/locales (copied below) and dockmk's package.json.
 */
const yargsPaths = {
  name: 'yargs-paths',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[/\\]yargs[/\\]lib[/\\]platform-shims[/\\]esm\.mjs$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      const replace = (from, to) => {
        if (!text.includes(from)) throw new Error(`build: yargs changed its ${args.path}: "${from}" is gone; update scripts/build.mjs`);
        text = text.replace(from, to);
      };
      replace("__dirname.substring(0, __dirname.lastIndexOf('node_modules'))", "fileURLToPath(new URL('..', import.meta.url))");
      replace("resolve(__dirname, '../../../locales')", "fileURLToPath(new URL('./locales', import.meta.url))");
      return { contents: text, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/**
 * Which build this is: a digest of the sources and the locked dependencies. The parse cache
 * (src/discover/parse-cache.ts) ignores a cache another build wrote, whose parses may differ.
 */
function buildDigest() {
  const hash = createHash('sha256');
  for (const name of readdirSync(join(root, 'src'), { recursive: true }).map(String).sort()) {
    const path = join(root, 'src', name);
    if (/\.(ts|hbs)$/.test(name)) hash.update(`${name}\0`).update(readFileSync(path)).update('\0');
  }
  for (const name of ['package.json', 'package-lock.json']) hash.update(readFileSync(join(root, name)));
  return hash.digest('hex').slice(0, 16);
}

rmSync(dist, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]',
  external: EXTERNAL,
  sourcemap: 'linked',
  sourcesContent: false,
  metafile: true,
  define: { DOCKMK_BUILD: JSON.stringify(buildDigest()), DOCKMK_YAML_BUNDLE: JSON.stringify(YAML_BUNDLE) },
  logLevel: 'warning',
  // CommonJS packages in the bundle require Node's built-ins.
  banner: { js: "import { createRequire as __dockmkCreateRequire } from 'node:module'; const require = __dockmkCreateRequire(import.meta.url);" },
  plugins: [lazyHelp, yargsPaths],
});

// yaml and js-yaml in one CommonJS file of their own, which src/model/yaml-lib.ts requires the
// first time something is parsed: a run whose parse caches answer never loads them.
await build({
  absWorkingDir: root,
  stdin: { contents: "module.exports = { yaml: require('yaml'), jsYaml: require('js-yaml') };", resolveDir: root, sourcefile: 'yaml-bundle.cjs', loader: 'js' },
  outfile: join('dist', YAML_BUNDLE),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
});

// Files the code reads next to itself (new URL('./templates/…', import.meta.url)): every chunk
// lies in dist/, so both template directories go to dist/templates.
const templates = join(dist, 'templates');
mkdirSync(templates, { recursive: true });
for (const dir of ['src/report/templates', 'src/scaffold/templates']) {
  for (const name of readdirSync(join(root, dir))) {
    if (existsSync(join(templates, name))) throw new Error(`build: two templates named ${name}`);
    cpSync(join(root, dir, name), join(templates, name));
  }
}
cpSync(join(root, 'node_modules', 'yargs', 'locales'), join(dist, 'locales'), { recursive: true });
writeFileSync(join(dist, 'bundle.json'), JSON.stringify(result.metafile));

const nested = Object.keys(result.metafile.outputs).filter((path) => path.endsWith('.js') && dirname(path) !== 'dist');
if (nested.length > 0) throw new Error(`build: ${nested.join(', ')} is not in dist/, where the templates are`);
