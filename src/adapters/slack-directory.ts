import type { DeciderIdentity } from '../domain/approvers';
import type { ApproverDirectory, DirectoryEntry } from '../services/decision-service';
import { slackCall, type WebClient } from '../slack/client';

export interface SlackApproverSettings {
  /** Slack users who may decide. */
  readonly userIds: readonly string[];
  /** Slack user groups whose members may decide. */
  readonly usergroupIds: readonly string[];
  /** How long a group's member list is trusted; 0 reads it on every lookup. */
  readonly cacheSeconds: number;
}

/**
 * Slack's approvers: the configured user ids plus the members of the configured user groups
 * (`usergroups.users.list`, cached briefly so a burst of clicks costs one read and a removal from the group
 * takes effect within the cache time). Who someone is comes from `users.info`, never from the click
 * payload: its e-mail is what the self-approval check compares. Deactivated users and bots never decide.
 * A Slack failure throws ({@link SlackApiError}): nobody is let through unverified.
 */
export class SlackApproverDirectory implements ApproverDirectory {
  private readonly groups = new Map<string, { members: ReadonlySet<string>; expires: number }>();

  constructor(
    private readonly client: () => Promise<WebClient>,
    private readonly settings: SlackApproverSettings,
    private readonly now: () => number = Date.now,
  ) {}

  async lookUp(userId: string): Promise<DirectoryEntry> {
    const { userIds, usergroupIds } = this.settings;
    if (userIds.length === 0 && usergroupIds.length === 0) {
      return {
        approver: false,
        reason:
          'no approvers are configured for this PolicyGate stage (approverSlackUserIds / approverSlackUsergroupIds)',
      };
    }
    const client = await this.client();
    const listed = userIds.includes(userId);
    const [identity, inGroup] = await Promise.all([
      this.identify(client, userId),
      listed ? Promise.resolve(true) : this.inAnyGroup(client, userId),
    ]);
    if (!identity) return { approver: false, reason: 'your Slack account could not be found' };
    if (identity.inactive) {
      return { approver: false, reason: identity.inactive, identity: identity.person };
    }
    if (!inGroup) {
      return {
        approver: false,
        reason: 'you are not one of the approvers configured for PolicyGate',
        identity: identity.person,
      };
    }
    return { approver: true, identity: identity.person };
  }

  private async identify(
    client: WebClient,
    userId: string,
  ): Promise<{ person: DeciderIdentity; inactive?: string } | undefined> {
    let user: Awaited<ReturnType<WebClient['users']['info']>>['user'];
    try {
      ({ user } = await slackCall('users.info', () => client.users.info({ user: userId })));
    } catch (error) {
      if ((error as { code?: string }).code === 'user_not_found') return undefined;
      throw error;
    }
    if (!user?.id) return undefined;
    const email = user.profile?.email?.trim();
    const person: DeciderIdentity = {
      id: user.id,
      name: user.real_name || user.profile?.real_name || user.name || user.id,
      ...(email && { email }),
    };
    if (user.deleted) return { person, inactive: 'your Slack account is deactivated' };
    if (user.is_bot || user.is_app_user) return { person, inactive: 'bots and apps cannot decide' };
    return { person };
  }

  private async inAnyGroup(client: WebClient, userId: string): Promise<boolean> {
    const memberships = await Promise.all(this.settings.usergroupIds.map((id) => this.members(client, id)));
    return memberships.some((members) => members.has(userId));
  }

  private async members(client: WebClient, usergroupId: string): Promise<ReadonlySet<string>> {
    const cached = this.groups.get(usergroupId);
    if (cached && cached.expires > this.now()) return cached.members;
    const { users = [] } = await slackCall('usergroups.users.list', () =>
      client.usergroups.users.list({ usergroup: usergroupId }),
    );
    const members = new Set(users);
    this.groups.set(usergroupId, { members, expires: this.now() + this.settings.cacheSeconds * 1000 });
    return members;
  }
}
