/**
 * A Serverless Framework plugin that refuses to package or deploy a stack PolicyGate cannot protect:
 * - outside us-east-1: IAM is a global service whose CloudTrail events reach EventBridge only there, so a
 *   stack elsewhere would never hear of an IAM change;
 * - a stage marked `production: true` in `params:` without `alertEmail`, `slackChannelId` and
 *   `deployerRoleArn`: every alert would reach nobody, no request would reach a person, and without a
 *   deployer any principal IAM lets administer KMS could rewrite PolicyGate's key policies;
 * - any stage with a `slackChannelId` but no `slackTeamId` or `slackAppId`: clicks could not be bound to
 *   the installed workspace and app, so every one would be refused (or, worse, checked against nothing);
 * - an `emailDecisions` other than `off`, `deny-only` or `on` (YAML reads an unquoted `off` or `on` as a
 *   boolean): every function would refuse its configuration, and the gate with it;
 * - an AWS Organization stage whose settings (organization id, member role, external id, the per-account
 *   settings document) are malformed or missing (scripts/organization-guard.js, which also ships the
 *   validated document beside the functions' code).
 *
 * It runs before packaging, and again before a deploy (which skips packaging when given `--package`), so
 * a refused stage never reaches AWS.
 */
const { applyAccountSettings, checkOrganization } = require('./organization-guard');

class DeployGuard {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options || {};
    this.hooks = {
      'before:package:initialize': () => this.check(),
      'before:deploy:deploy': () => this.check(),
      'before:deploy:function:initialize': () => this.check(),
    };
  }

  check() {
    const provider = this.serverless.getProvider('aws');
    const stage = provider.getStage();
    const region = provider.getRegion();
    const { configured, effective } = this.params(stage);
    const problems = [];
    if (region !== 'us-east-1') {
      problems.push(
        `the region is ${region}: deploy PolicyGate to us-east-1, the only region where IAM's CloudTrail events reach EventBridge`,
      );
    }
    // Only serverless.yml says what is production: a command-line --param cannot switch the check off.
    if (String(configured.production).trim() === 'true') {
      for (const name of ['alertEmail', 'slackChannelId', 'deployerRoleArn']) {
        if (String(effective[name] ?? '').trim() === '') {
          problems.push(
            `the stage ${stage} is marked production but has no ${name} (set it under params: in serverless.yml, or pass --param="${name}=…")`,
          );
        }
      }
    }
    if (String(effective.slackChannelId ?? '').trim() !== '') {
      for (const name of ['slackTeamId', 'slackAppId']) {
        if (String(effective[name] ?? '').trim() === '') {
          problems.push(
            `the stage ${stage} posts to Slack channel ${String(effective.slackChannelId).trim()} but has no ${name} (the installed workspace's; set it under params: in serverless.yml, or pass --param="${name}=…")`,
          );
        }
      }
    }
    const emailDecisions = effective.emailDecisions ?? 'on';
    if (!['off', 'deny-only', 'on'].includes(emailDecisions)) {
      problems.push(
        `emailDecisions must be "off", "deny-only" or "on" (quoted in serverless.yml), got ${JSON.stringify(emailDecisions)}`,
      );
    }
    const organization = checkOrganization({
      stage,
      effective,
      production: String(configured.production).trim() === 'true',
      serviceDir: this.serverless.serviceDir || this.serverless.config?.servicePath || process.cwd(),
    });
    problems.push(...organization.problems);
    if (problems.length === 0 && organization.accountSettings !== undefined) {
      problems.push(...applyAccountSettings(this.serverless, organization.accountSettings));
    }
    if (problems.length > 0) {
      throw new this.serverless.classes.Error(`PolicyGate refuses to deploy: ${problems.join('; ')}.`);
    }
  }

  /** The stage's params from serverless.yml over the defaults, and those under `--param key=value` options. */
  params(stage) {
    const all = this.serverless.configurationInput?.params || {};
    const configured = { ...(all.default || {}), ...(all[stage] || {}) };
    const cli = {};
    for (const entry of [].concat(this.options.param || [])) {
      const at = String(entry).indexOf('=');
      if (at > 0) cli[String(entry).slice(0, at)] = String(entry).slice(at + 1);
    }
    return { configured, effective: { ...configured, ...cli } };
  }
}

module.exports = DeployGuard;
