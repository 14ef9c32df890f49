/**
 * Slack's Block Kit limits PolicyGate's messages must stay within. Slack rejects a whole message
 * (`invalid_blocks`, `msg_blocks_too_long`) when any one is exceeded, so a risky change would go
 * unannounced: every builder here trims to these numbers.
 */
export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  id: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  contextElements: 10,
  /** Our own cap for the notification fallback `text` (Slack's hard cap is far higher). */
  fallbackText: 3000,
  /** Our own cap for a thread reply. */
  reply: 3000,
} as const;

/**
 * The text all blocks of one message may hold together. Slack refuses messages whose blocks add up to
 * roughly 12,000 characters of text (`msg_blocks_too_long`; documented for markdown blocks, observed for
 * sections too), so PolicyGate stays well below it.
 */
export const MESSAGE_TEXT_BUDGET = 10_000;
