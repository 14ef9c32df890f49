/**
 * The AWS Organization settings of a stage (issue 13), checked by scripts/deploy-guard.js before anything is
 * packaged or deployed:
 * - `organizationId` is empty (one account, as before) or an Organizations id (o-…);
 * - a stage with an organization names the member role (`memberRoleName`, policy-gate-…, so the shipped
 *   SCP protects it) and its external id (`memberRoleExternalId`; a production stage needs at least 16
 *   characters of it, a random value);
 * - `accountSettingsFile` (JSON or YAML) parses with the shared parser the functions use, and is shipped as
 *   compact JSON beside every function's code (account-settings.json, which the functions read and
 *   validate again at start, refusing to run without it): Lambda's 4 KB environment could not carry it.
 *
 * No message quotes the external id or the document's contents beyond the path of what is wrong.
 */
const { readFileSync } = require('node:fs');
const { extname, isAbsolute, join } = require('node:path');

const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
// The member stack adds -quarantine, -restore and -read (at most 11 characters) within IAM's 64.
const ROLE_NAME = /^policy-gate-[\w+=,.@-]{1,41}$/;
// STS: 2–1,224 characters of [\w+=,.@:/-].
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const PRODUCTION_EXTERNAL_ID_MIN = 16;
/**
 * The largest settings document shipped: every function parses it (and expands its restricted lists
 * against the catalogue) at each cold start. Far above what a 1,000-account organization needs (about 60
 * bytes an account with its own channel).
 */
const ACCOUNT_SETTINGS_LIMIT = 1024 * 1024;
/** Lambda's limit for all of a function's environment variables, keys and values together. */
const LAMBDA_ENVIRONMENT_LIMIT = 4096;
/**
 * What an intrinsic value (a reference CloudFormation resolves at deploy time) is counted as: longer than
 * any ARN, name or URL this stack references (a role ARN with a 20-character stage is about 85).
 */
const REFERENCE_ESTIMATE = 100;
/** The longest each pseudo parameter resolves to (aws-us-gov, a 12-digit account, ap-southeast-5 and the like). */
const PSEUDO_PARAMETER_LENGTHS = { 'AWS::Partition': 10, 'AWS::AccountId': 12, 'AWS::Region': 14 };

/**
 * Validates the document with the functions' own parser (src/domain/account-settings.ts, loaded through
 * tsx as the tests and scripts do), restricted lists expanded against the same IAM action catalogue.
 */
function validateAccountSettings(text) {
  const { require: tsxRequire } = require('tsx/cjs/api');
  const { parseAccountSettings } = tsxRequire('../src/domain/account-settings.ts', __filename);
  const { loadGeneratedCatalogue } = tsxRequire('../src/domain/catalogue-data.ts', __filename);
  parseAccountSettings(text, loadGeneratedCatalogue());
}

/** The document's text as JSON: a .json file as written (the parser refuses duplicate keys), YAML converted. */
function settingsJson(file, text) {
  const extension = extname(file).toLowerCase();
  if (extension === '.json') return text;
  if (extension !== '.yml' && extension !== '.yaml') {
    throw new Error(`accountSettingsFile ${file} must end in .json, .yml or .yaml`);
  }
  const YAML = require('yaml');
  // YAML 1.2's core schema: `yes`, `no`, `on` and dates stay strings; duplicate keys and custom tags refused.
  const document = YAML.parseDocument(text, { schema: 'core', uniqueKeys: true, prettyErrors: true });
  const trouble = [...document.errors, ...document.warnings];
  if (trouble.length > 0) {
    throw new Error(`accountSettingsFile ${file} is not valid YAML: ${trouble[0].message.split('\n')[0]}`);
  }
  return JSON.stringify(document.toJS({ maxAliasCount: 0 }) ?? null);
}

/** A generous length for what an environment value resolves to at deploy time. */
function estimatedLength(value) {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).length;
  if (!value || typeof value !== 'object') return 0;
  if (Array.isArray(value['Fn::Join'])) {
    const [separator, parts] = value['Fn::Join'];
    const list = Array.isArray(parts) ? parts : [parts];
    return (
      list.reduce((sum, part) => sum + estimatedLength(part), 0) + String(separator).length * list.length
    );
  }
  if (value['Fn::Sub'] !== undefined) {
    const text = Array.isArray(value['Fn::Sub']) ? value['Fn::Sub'][0] : value['Fn::Sub'];
    return String(text).replace(/\$\{([^}]*)\}/g, (_, name) =>
      'x'.repeat(PSEUDO_PARAMETER_LENGTHS[name] ?? REFERENCE_ESTIMATE),
    ).length;
  }
  return REFERENCE_ESTIMATE;
}

/** Estimated bytes of each function's environment (provider-wide variables and its own). */
function environmentSizes(service) {
  const provider = service.provider?.environment || {};
  return Object.entries(service.functions || {}).map(([name, definition]) => {
    const variables = { ...provider, ...(definition?.environment || {}) };
    const bytes = Object.entries(variables).reduce(
      (sum, [key, value]) => sum + Buffer.byteLength(key, 'utf8') + estimatedLength(value),
      0,
    );
    return { name, bytes };
  });
}

/**
 * The stage's organization problems (empty when it may deploy) and, when it has a settings document, the
 * validated document (compact JSON) to ship beside the functions' code.
 *
 * @param effective the stage's params, `--param` options applied
 * @param production whether serverless.yml marks the stage production
 * @param serviceDir where a relative accountSettingsFile is found
 */
function checkOrganization({ stage, effective, production, serviceDir }) {
  const problems = [];
  const text = (name) => String(effective[name] ?? '').trim();
  const organizationId = text('organizationId');
  const memberRoleName = text('memberRoleName');
  const externalId = text('memberRoleExternalId');
  const settingsFile = text('accountSettingsFile');
  let accountSettings;
  if (organizationId === '') {
    if (settingsFile !== '') {
      problems.push(
        `the stage ${stage} has an accountSettingsFile but no organizationId: per-account settings need the organization`,
      );
    }
    return { problems, accountSettings };
  }
  if (!ORGANIZATION_ID.test(organizationId)) {
    problems.push(
      `organizationId must be an AWS Organizations id (o- and 10 to 32 lower-case letters or digits)`,
    );
  }
  if (!ROLE_NAME.test(memberRoleName)) {
    problems.push(
      `memberRoleName must be an IAM role name starting with policy-gate- (the shipped SCP protects only policy-gate-* roles), got ${JSON.stringify(memberRoleName)}`,
    );
  }
  if (externalId === '') {
    problems.push(
      `the stage ${stage} has an organizationId but no memberRoleExternalId (the external id the member role's trust policy requires; set it under params: or pass --param="memberRoleExternalId=…")`,
    );
  } else if (!EXTERNAL_ID.test(externalId)) {
    problems.push('memberRoleExternalId must be 2 to 1,224 characters of letters, digits and +=,.@:/_-');
  } else if (production && externalId.length < PRODUCTION_EXTERNAL_ID_MIN) {
    problems.push(
      `the stage ${stage} is marked production: memberRoleExternalId must be a random value of at least ${PRODUCTION_EXTERNAL_ID_MIN} characters`,
    );
  }
  if (settingsFile !== '') {
    const path = isAbsolute(settingsFile) ? settingsFile : join(serviceDir, settingsFile);
    try {
      const json = settingsJson(settingsFile, readFileSync(path, 'utf8'));
      validateAccountSettings(json);
      // The functions parse the same text again at start: what was validated is what they read.
      accountSettings = JSON.stringify(JSON.parse(json));
    } catch (error) {
      const reason = error && error.code === 'ENOENT' ? 'no such file' : String(error?.message ?? error);
      // YAML reads an unquoted 012345678901 as the number 12345678901: the id the operator meant is lost.
      const hint =
        /\.ya?ml$/i.test(settingsFile) && /12-digit AWS account id/.test(reason)
          ? ' (quote account ids in YAML: unquoted, a leading 0 is dropped)'
          : '';
      problems.push(`accountSettingsFile ${settingsFile} cannot be used: ${reason}${hint}`);
    }
  }
  return { problems, accountSettings };
}

/**
 * Ships the validated document beside every function's code (scripts/lambda-esbuild.js writes it as
 * account-settings.json when the build ends) and tells the functions to read it (ACCOUNT_SETTINGS_BUNDLED),
 * so its size is bounded by the package, not by Lambda's 4 KB environment. Returns the problems (a document
 * past {@link ACCOUNT_SETTINGS_LIMIT}, an environment past 4 KB); then nothing is changed and the caller
 * refuses the deploy.
 */
function applyAccountSettings(serverless, accountSettings) {
  const { service } = serverless;
  const bytes = Buffer.byteLength(accountSettings, 'utf8');
  if (bytes > ACCOUNT_SETTINGS_LIMIT) {
    return [
      `the account settings document is ${bytes} bytes as compact JSON, over ${ACCOUNT_SETTINGS_LIMIT}: every function parses it at each cold start; shorten it (settings per organizational unit rather than per account, Slack user groups rather than lists of users)`,
    ];
  }
  const environment = { ...(service.provider.environment || {}), ACCOUNT_SETTINGS_BUNDLED: 'true' };
  delete environment.ACCOUNT_SETTINGS;
  const previous = service.provider.environment;
  service.provider.environment = environment;
  const tooLarge = environmentSizes(service).filter(({ bytes: size }) => size > LAMBDA_ENVIRONMENT_LIMIT);
  if (tooLarge.length > 0) {
    service.provider.environment = previous;
    return [
      `the environment of ${tooLarge.map(({ name, bytes: size }) => `${name} (about ${size} bytes)`).join(', ')} is past Lambda's ${LAMBDA_ENVIRONMENT_LIMIT}-byte limit`,
    ];
  }
  serverless.policyGateAccountSettings = accountSettings;
  return [];
}

module.exports = {
  checkOrganization,
  applyAccountSettings,
  ACCOUNT_SETTINGS_LIMIT,
  environmentSizes,
  LAMBDA_ENVIRONMENT_LIMIT,
};
