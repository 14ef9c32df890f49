import type { types } from '@slack/bolt';
import type { Notice, NoticeSeverity } from '../../domain/notices';
import type { SlackMessage } from './approval-message';
import { MESSAGE_TEXT_BUDGET, SLACK_LIMITS } from './limits';
import { clipMrkdwn, clipPlain, inlineCode, plainText } from './mrkdwn';

const ICONS: Readonly<Record<NoticeSeverity, string>> = {
  critical: ':rotating_light:',
  warning: ':warning:',
  info: ':information_source:',
};

// Room for the findings line, the rest going to the notice's own lines.
const FINDINGS_ROOM = 2_500;

/**
 * A notice (a change PolicyGate reports rather than asks about) as a Block Kit message: a header, the
 * notice's lines as escaped plain text, and the restricted actions involved. No buttons: there is nothing
 * to decide. Like every PolicyGate message it stays within Slack's limits and escapes everything.
 */
export function noticeMessage(notice: Notice): SlackMessage {
  const icon = ICONS[notice.severity];
  const title = notice.severity === 'critical' ? `CRITICAL: ${notice.title}` : notice.title;
  const header: types.HeaderBlock = {
    type: 'header',
    text: { type: 'plain_text', text: clipPlain(`${icon} ${title}`, SLACK_LIMITS.headerText), emoji: true },
  };
  const sections: types.SectionBlock[] = [];
  let used = 0;
  let current = '';
  const room = MESSAGE_TEXT_BUDGET - FINDINGS_ROOM;
  for (const line of notice.lines) {
    const text = line.trim() === '' ? '' : plainText(line, 1_000);
    if (used + current.length + text.length + 1 > room) break;
    if (current.length + text.length + 1 > SLACK_LIMITS.sectionText) {
      sections.push(section(current));
      used += current.length;
      current = '';
    }
    current = current === '' ? text : `${current}\n${text}`;
  }
  if (current.trim() !== '') sections.push(section(current));
  const total = notice.findingsTotal ?? notice.findings?.length ?? 0;
  if (total > 0) {
    const listed: string[] = [];
    let length = 0;
    for (const finding of notice.findings ?? []) {
      const code = inlineCode(finding, 120);
      if (length + code.length + 2 > FINDINGS_ROOM - 200) break;
      listed.push(code);
      length += code.length + 2;
    }
    const more = total - listed.length;
    sections.push(
      section(
        `*Restricted actions involved: ${total.toLocaleString('en-US')}*\n${listed.join(', ')}${more > 0 ? `, _and ${more.toLocaleString('en-US')} more_` : ''}`,
      ),
    );
  }
  return {
    text: clipMrkdwn(`${icon} ${plainText(title, 200)}`, SLACK_LIMITS.fallbackText),
    blocks: [header, ...sections.slice(0, SLACK_LIMITS.blocksPerMessage - 1)],
  };
}

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clipMrkdwn(text, SLACK_LIMITS.sectionText) } };
}
