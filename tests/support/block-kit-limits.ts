/**
 * An independent checker for Slack Block Kit limits and mrkdwn safety, written from Slack's reference
 * (not from the code under test), for the block types PolicyGate uses. Each function returns the list
 * of problems found, each naming where, so a failing test says what broke.
 */

const LIMITS = {
  blocks: 50,
  fallbackText: 3000,
  // Slack refuses blocks adding up to about 12,000 characters of text (`msg_blocks_too_long`).
  totalText: 12_000,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  id: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
};

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

interface Context {
  readonly problems: string[];
  readonly blockIds: Set<string>;
  readonly actionIds: Set<string>;
  totalText: number;
}

function checkText(
  ctx: Context,
  value: unknown,
  where: string,
  max: number,
  types: readonly string[] = ['plain_text', 'mrkdwn'],
): void {
  if (!isObject(value)) {
    ctx.problems.push(`${where}: missing text object`);
    return;
  }
  if (!types.includes(String(value.type))) ctx.problems.push(`${where}: type ${String(value.type)}`);
  if (typeof value.text !== 'string' || value.text.length === 0) {
    ctx.problems.push(`${where}: empty text`);
    return;
  }
  ctx.totalText += value.text.length;
  if (value.text.length > max) ctx.problems.push(`${where}: ${value.text.length} > ${max} characters`);
}

function checkId(ctx: Context, value: unknown, where: string, seen: Set<string>): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length === 0 || value.length > LIMITS.id) {
    ctx.problems.push(`${where}: invalid id`);
    return;
  }
  if (seen.has(value)) ctx.problems.push(`${where}: duplicate id ${value}`);
  seen.add(value);
}

function checkConfirm(ctx: Context, confirm: unknown, where: string): void {
  if (confirm === undefined) return;
  if (!isObject(confirm)) {
    ctx.problems.push(`${where}: not an object`);
    return;
  }
  checkText(ctx, confirm.title, `${where}.title`, LIMITS.confirmTitle, ['plain_text']);
  checkText(ctx, confirm.text, `${where}.text`, LIMITS.confirmText);
  checkText(ctx, confirm.confirm, `${where}.confirm`, LIMITS.confirmButton, ['plain_text']);
  checkText(ctx, confirm.deny, `${where}.deny`, LIMITS.confirmButton, ['plain_text']);
  if (confirm.style !== undefined && !['primary', 'danger'].includes(String(confirm.style))) {
    ctx.problems.push(`${where}.style: ${String(confirm.style)}`);
  }
}

function checkElement(ctx: Context, element: unknown, where: string): void {
  if (!isObject(element) || element.type !== 'button') {
    ctx.problems.push(`${where}: only buttons are expected`);
    return;
  }
  checkText(ctx, element.text, `${where}.text`, LIMITS.buttonText, ['plain_text']);
  checkId(ctx, element.action_id, `${where}.action_id`, ctx.actionIds);
  if (
    element.value !== undefined &&
    (typeof element.value !== 'string' || element.value.length > LIMITS.buttonValue)
  ) {
    ctx.problems.push(`${where}.value: invalid`);
  }
  if (element.url !== undefined) {
    const url = String(element.url);
    if (url.length > LIMITS.buttonUrl) ctx.problems.push(`${where}.url: ${url.length} > ${LIMITS.buttonUrl}`);
    try {
      if (new URL(url).protocol !== 'https:') ctx.problems.push(`${where}.url: not https`);
    } catch {
      ctx.problems.push(`${where}.url: not a URL`);
    }
  }
  if (element.style !== undefined && !['primary', 'danger'].includes(String(element.style))) {
    ctx.problems.push(`${where}.style: ${String(element.style)}`);
  }
  checkConfirm(ctx, element.confirm, `${where}.confirm`);
}

function checkBlock(ctx: Context, block: unknown, where: string): void {
  if (!isObject(block)) {
    ctx.problems.push(`${where}: not an object`);
    return;
  }
  checkId(ctx, block.block_id, `${where}.block_id`, ctx.blockIds);
  switch (block.type) {
    case 'header':
      checkText(ctx, block.text, `${where}.text`, LIMITS.headerText, ['plain_text']);
      break;
    case 'divider':
      break;
    case 'section': {
      if (block.text === undefined && block.fields === undefined) ctx.problems.push(`${where}: no text`);
      if (block.text !== undefined) checkText(ctx, block.text, `${where}.text`, LIMITS.sectionText);
      if (block.fields !== undefined) {
        const fields = Array.isArray(block.fields) ? block.fields : [];
        if (fields.length === 0 || fields.length > LIMITS.sectionFields)
          ctx.problems.push(`${where}.fields: count`);
        fields.forEach((field, i) => {
          checkText(ctx, field, `${where}.fields[${i}]`, LIMITS.fieldText);
        });
      }
      if (block.accessory !== undefined) checkElement(ctx, block.accessory, `${where}.accessory`);
      break;
    }
    case 'context': {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      if (elements.length === 0 || elements.length > LIMITS.contextElements) {
        ctx.problems.push(`${where}.elements: ${elements.length} elements`);
      }
      elements.forEach((element, i) => {
        checkText(ctx, element, `${where}.elements[${i}]`, LIMITS.sectionText);
      });
      break;
    }
    case 'actions': {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      if (elements.length === 0 || elements.length > LIMITS.actionsElements) {
        ctx.problems.push(`${where}.elements: ${elements.length} elements`);
      }
      elements.forEach((element, i) => {
        checkElement(ctx, element, `${where}.elements[${i}]`);
      });
      break;
    }
    default:
      ctx.problems.push(`${where}: unexpected block type ${String(block.type)}`);
  }
}

/** Every Block Kit limit `message` breaks. */
export function blockKitProblems(message: { readonly text: unknown; readonly blocks: unknown }): string[] {
  const ctx: Context = { problems: [], blockIds: new Set(), actionIds: new Set(), totalText: 0 };
  if (typeof message.text !== 'string' || message.text.length === 0) ctx.problems.push('text: empty');
  else if (message.text.length > LIMITS.fallbackText)
    ctx.problems.push(`text: ${message.text.length} characters`);
  const blocks = Array.isArray(message.blocks) ? message.blocks : [];
  if (blocks.length === 0 || blocks.length > LIMITS.blocks)
    ctx.problems.push(`blocks: ${blocks.length} blocks`);
  blocks.forEach((block, i) => {
    checkBlock(ctx, block, `blocks[${i}]`);
  });
  if (ctx.totalText > LIMITS.totalText)
    ctx.problems.push(`blocks: ${ctx.totalText} characters of text in all`);
  return ctx.problems;
}

/** Every mrkdwn text object (and the fallback text) in a message. */
export function mrkdwnTexts(message: { readonly text: string; readonly blocks: unknown }): string[] {
  const texts: string[] = [message.text];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (isObject(value)) {
      if (value.type === 'mrkdwn' && typeof value.text === 'string') texts.push(value.text);
      Object.values(value).forEach(walk);
    }
  };
  walk(message.blocks);
  return texts;
}

// The only `<…>` tokens PolicyGate itself writes: date formatting and a user mention of the decider.
const ALLOWED_TOKEN = /^<(!date\^\d+\^[^|<>]*\|[^<>]*|@[UW][A-Z0-9]+)>$/;

/**
 * mrkdwn that could act on its own: any `<…>` token other than a date or user mention (links, special
 * mentions), a bare `&` that is not an escape, or an odd number of backticks (a code span or block left
 * open, i.e. text that escaped it).
 */
export function mrkdwnProblems(text: string): string[] {
  const problems: string[] = [];
  for (const token of text.match(/<[^<>]*>/g) ?? []) {
    if (!ALLOWED_TOKEN.test(token)) problems.push(`token ${token.slice(0, 80)}`);
  }
  if (/&(?!(amp|lt|gt);)/.test(text)) problems.push('unescaped &');
  if (/[<>]/.test(text.replace(/<[^<>]*>/g, ''))) problems.push('stray < or >');
  const fences = text.split('```').length - 1;
  if (fences % 2 !== 0) problems.push(`${fences} code fences`);
  if ((text.split('`').length - 1) % 2 !== 0) problems.push('odd number of backticks');
  return problems;
}
