import type { ApproverDirectory, DirectoryEntry } from './decision-service';

/**
 * The e-mail channel's one "approver": whoever holds a link sent to the stage's decision address. That is
 * all a link proves, so the decider is recorded as "the link sent to <address>", and the address is the
 * identity the self-approval check compares with the change's author.
 */
export class EmailLinkDirectory implements ApproverDirectory {
  constructor(private readonly address: string) {}

  async lookUp(deciderId: string): Promise<DirectoryEntry> {
    if (deciderId !== this.address) {
      return { approver: false, reason: 'decision links are sent to another address' };
    }
    return {
      approver: true,
      identity: { id: this.address, name: `the link sent to ${this.address}`, email: this.address },
    };
  }
}
