/**
 * How every Lambda function is bundled. serverless-esbuild reads these options (`custom.esbuild.config` in
 * serverless.yml), and the cold-start benchmark (bench/cold-init.ts) and the bundled-handler tests build with
 * the very same, so what is measured and tested is what ships.
 *
 * - Everything, AWS SDK v3 included, is bundled: no `external`, so nothing is npm-installed at package time
 *   (packaging works offline) and the deployed code is exactly what the lockfile pinned.
 * - `mainFields: ['module', 'main']`: the SDK's ES module builds, which esbuild can tree-shake (the packages
 *   declare no side effects); the CommonJS builds load every command and shape of a client.
 * - Source maps without `sourcesContent`, and no `--enable-source-maps` on the functions: Node then never
 *   reads them, so they cost no cold start; they map a logged stack trace back to the sources offline.
 * - Bolt's App module requires the HTTP and Socket Mode receivers (and through them OAuth, express, undici,
 *   ws); the Lambda receiver uses neither, so they are replaced by a class that refuses to be built.
 * - The SDK's default credential chain becomes its first link alone, the environment: Lambda gives every
 *   function its role's credentials there. The other links (SSO, shared files, processes, web identity,
 *   container and instance metadata, with the STS, SSO and sign-in clients they bring) never run in a Lambda
 *   function, and loading them took about a tenth of aws-sdk v2's whole load time at every cold start.
 * - The IAM action catalogue (half a megabyte of JSON, read when the configuration is, on the first
 *   invocation) is a file beside the bundle that `require` reads then, not half a megabyte of JavaScript
 *   every cold start must parse first.
 * - The per-account settings document (issue 13), validated by the deploy guard, is a file beside the bundle
 *   too (`account-settings.json`), read with the configuration: Lambda's 4 KB environment cannot carry a
 *   large organization's settings. The deploy guard hands the validated text to the build
 *   (`serverless.policyGateAccountSettings`); a build without it writes no file, and a function told to read
 *   one (`ACCOUNT_SETTINGS_BUNDLED`) that finds none refuses to start.
 */

const { copyFileSync, mkdirSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

/** The two receivers Bolt's App requires but PolicyGate never builds (it always passes its receiver). */
const UNUSED_BOLT_RECEIVERS = /^\.\/receivers\/(HTTPReceiver|SocketModeReceiver)$/;
const BOLT_DIST = /[\\/]@slack[\\/]bolt[\\/]dist[\\/]/;
const RECEIVER_STUB = 'policy-gate-unused-bolt-receiver';

/** The esbuild plugin that keeps Bolt's unused receivers out of a bundle. */
const boltLambdaOnly = {
  name: 'policy-gate-bolt-lambda-only',
  setup(build) {
    build.onResolve({ filter: UNUSED_BOLT_RECEIVERS }, (args) =>
      BOLT_DIST.test(args.importer) ? { path: args.path, namespace: RECEIVER_STUB } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: RECEIVER_STUB }, (args) => ({
      loader: 'js',
      contents: [
        'class UnusedReceiver {',
        '  constructor() {',
        `    throw new Error(${JSON.stringify(`${args.path} is not bundled: PolicyGate's Lambda uses AwsLambdaReceiver`)});`,
        '  }',
        '}',
        'module.exports = { __esModule: true, default: UnusedReceiver };',
      ].join('\n'),
    }));
  },
};

const CREDENTIALS_STUB = 'policy-gate-lambda-credentials';

/** The esbuild plugin that gives the SDK clients the environment as their only credential source. */
const environmentCredentialsOnly = {
  name: 'policy-gate-environment-credentials',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, (args) => ({
      path: args.path,
      namespace: CREDENTIALS_STUB,
    }));
    build.onLoad({ filter: /.*/, namespace: CREDENTIALS_STUB }, () => ({
      loader: 'js',
      // Resolved from the project, so it is the lockfile's credential-provider-env.
      resolveDir: join(__dirname, '..'),
      contents: [
        "import { fromEnv } from '@aws-sdk/credential-provider-env';",
        // The default chain's own expiry rule: Lambda's credentials carry none, so they are read once.
        'export const credentialsWillNeedRefresh = (c) => c?.expiration !== undefined;',
        'export const credentialsTreatedAsExpired = (c) =>',
        '  c?.expiration !== undefined && c.expiration.getTime() - Date.now() < 300000;',
        'export const defaultProvider = (init = {}) => fromEnv(init);',
      ].join('\n'),
    }));
  },
};

const CATALOGUE = join(__dirname, '..', 'generated', 'iam-catalogue.json');

/** The esbuild plugin that leaves the catalogue beside the bundle (see above). */
const catalogueBesideBundle = {
  name: 'policy-gate-catalogue-beside-bundle',
  setup(build) {
    let used = false;
    build.onResolve({ filter: /[\\/]iam-catalogue\.json$/ }, (args) => {
      if (join(args.resolveDir, args.path) !== CATALOGUE) return undefined;
      used = true;
      return { path: './iam-catalogue.json', external: true };
    });
    build.onEnd((result) => {
      if (!used || result.errors.length > 0) return;
      const { outdir, outfile } = build.initialOptions;
      const dir = outdir ?? (outfile && dirname(outfile));
      if (!dir) throw new Error('the catalogue needs an outdir or outfile to be copied beside the bundle');
      mkdirSync(dir, { recursive: true });
      copyFileSync(CATALOGUE, join(dir, 'iam-catalogue.json'));
    });
  },
};

const ACCOUNT_SETTINGS = join(__dirname, '..', 'generated', 'account-settings.json');
/** The settings file's name beside each bundle. */
const ACCOUNT_SETTINGS_FILE = 'account-settings.json';

/**
 * The esbuild plugin that leaves the settings document beside the bundle: `settingsText()` is the validated
 * document (compact JSON) or undefined, asked when the build ends (the deploy guard has run by then).
 */
function accountSettingsBesideBundle(settingsText) {
  return {
    name: 'policy-gate-account-settings-beside-bundle',
    setup(build) {
      let used = false;
      build.onResolve({ filter: /[\\/]account-settings\.json$/ }, (args) => {
        if (join(args.resolveDir, args.path) !== ACCOUNT_SETTINGS) return undefined;
        used = true;
        return { path: `./${ACCOUNT_SETTINGS_FILE}`, external: true };
      });
      build.onEnd((result) => {
        const text = settingsText();
        if (!used || text === undefined || result.errors.length > 0) return;
        const { outdir, outfile } = build.initialOptions;
        const dir = outdir ?? (outfile && dirname(outfile));
        if (!dir)
          throw new Error('the settings document needs an outdir or outfile to be written beside the bundle');
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, ACCOUNT_SETTINGS_FILE), text);
      });
    },
  };
}

/** The esbuild options proper (what the benchmark and tests pass to esbuild's `build`). */
const esbuildOptions = {
  bundle: true,
  // Whitespace and syntax only: a smaller bundle parses faster at every cold start (a tenth of the init,
  // measured with COLD_INIT_COMPARE), while the names in a stack trace stay the sources' own. Mangling
  // names too saved another 1 to 2 % and would leave traces readable only through the source map.
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: false,
  sourcemap: true,
  sourcesContent: false,
  target: 'node22',
  platform: 'node',
  format: 'cjs',
  mainFields: ['module', 'main'],
  // The ES module builds load some Node built-ins on first use with `import()` (node:http for an http://
  // endpoint); as `require` they need no ES module loader, so the bundle runs the same wherever CommonJS does.
  supported: { 'dynamic-import': false },
  external: [],
  plugins: [
    boltLambdaOnly,
    environmentCredentialsOnly,
    catalogueBesideBundle,
    accountSettingsBesideBundle(() => undefined),
  ],
};

/**
 * serverless-esbuild's options: esbuild's, plus its own (npm as the packager, and nothing excluded), with
 * the settings document the deploy guard validated for this stage (scripts/organization-guard.js).
 */
function serverlessEsbuildOptions(serverless) {
  return {
    ...esbuildOptions,
    plugins: [
      boltLambdaOnly,
      environmentCredentialsOnly,
      catalogueBesideBundle,
      accountSettingsBesideBundle(() => serverless?.policyGateAccountSettings),
    ],
    packager: 'npm',
    exclude: [],
  };
}

module.exports = serverlessEsbuildOptions;
module.exports.esbuildOptions = esbuildOptions;
module.exports.UNUSED_BOLT_RECEIVERS = UNUSED_BOLT_RECEIVERS;
module.exports.accountSettingsBesideBundle = accountSettingsBesideBundle;
module.exports.ACCOUNT_SETTINGS_FILE = ACCOUNT_SETTINGS_FILE;
