/**
 * An independent Block Kit validator for the local Slack stand-in. It enforces the limits Slack documents for
 * the blocks and elements PolicyGate can send, so a message that Slack would reject with `invalid_blocks`
 * fails locally too. It is deliberately not shared with product code: a bug in the product's builder must
 * not be mirrored by the check that is meant to catch it.
 *
 * Problems are reported the way Slack words them in `response_metadata.messages`, each ending with a
 * `[json-pointer:/blocks/…]` that names the offending field.
 */

/** Documented Block Kit limits the validator enforces. */
export const BLOCK_KIT_LIMITS = {
  maxBlocks: 50,
  blockIdLength: 255,
  actionIdLength: 255,
  sectionTextLength: 3000,
  sectionFields: 10,
  sectionFieldLength: 2000,
  headerTextLength: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonTextLength: 75,
  buttonValueLength: 2000,
  buttonUrlLength: 3000,
  buttonAccessibilityLabelLength: 75,
  confirmTitleLength: 100,
  confirmTextLength: 300,
  confirmButtonLength: 30,
  imageUrlLength: 3000,
  imageAltTextLength: 2000,
  imageTitleLength: 2000,
  markdownBlockTextLength: 12000,
} as const;

const L = BLOCK_KIT_LIMITS;

/** Block types Slack accepts in messages that this validator understands. */
const MESSAGE_BLOCK_TYPES = new Set([
  'section',
  'header',
  'divider',
  'context',
  'actions',
  'image',
  'rich_text',
  'markdown',
]);
/** Real block types the stand-in does not model; rejected with a distinct message so nobody mistakes it for Slack. */
const UNMODELLED_BLOCK_TYPES = new Set(['input', 'file', 'video', 'call', 'table', 'context_actions']);
/** Interactive elements other than buttons: only their action_id and confirm are checked. */
const OTHER_INTERACTIVE_ELEMENTS = new Set([
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
  'multi_static_select',
  'multi_external_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
  'overflow',
  'datepicker',
  'timepicker',
  'datetimepicker',
  'checkboxes',
  'radio_buttons',
  'workflow_button',
]);
const BUTTON_STYLES = new Set(['primary', 'danger']);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Problems {
  readonly list: string[] = [];

  add(problem: string, pointer: string): void {
    this.list.push(`${problem} [json-pointer:${pointer}]`);
  }

  /** Checks an optional or required string's presence and length; returns it when present. */
  string(
    value: unknown,
    pointer: string,
    opts: { max?: number; required?: boolean; nonEmpty?: boolean },
  ): string | undefined {
    if (value === undefined) {
      if (opts.required) this.add('missing required field', pointer);
      return undefined;
    }
    if (typeof value !== 'string') {
      this.add('must provide a string', pointer);
      return undefined;
    }
    if (opts.nonEmpty && value.length === 0) this.add('must be more than 0 characters', pointer);
    if (opts.max !== undefined && value.length > opts.max) {
      this.add(`must be less than ${opts.max + 1} characters`, pointer);
    }
    return value;
  }
}

/**
 * Validates a message's `blocks` value (already parsed from JSON). Returns the problems found, empty when
 * Slack would accept the blocks.
 */
export function validateBlocks(blocks: unknown): string[] {
  const p = new Problems();
  if (!Array.isArray(blocks)) {
    p.add('must provide an array', '/blocks');
    return p.list;
  }
  if (blocks.length > L.maxBlocks) p.add(`no more than ${L.maxBlocks} items allowed`, '/blocks');
  const blockIds = new Set<string>();
  blocks.forEach((block: unknown, index) => {
    const ptr = `/blocks/${index}`;
    if (!isObject(block)) {
      p.add('must provide an object', ptr);
      return;
    }
    const blockId = p.string(block.block_id, `${ptr}/block_id`, { max: L.blockIdLength, nonEmpty: true });
    if (blockId !== undefined) {
      if (blockIds.has(blockId)) p.add(`duplicate block_id '${blockId}'`, `${ptr}/block_id`);
      blockIds.add(blockId);
    }
    validateBlock(p, block, ptr);
  });
  return p.list;
}

function validateBlock(p: Problems, block: Json, ptr: string): void {
  const type = block.type;
  if (typeof type !== 'string') {
    p.add('must provide a string', `${ptr}/type`);
    return;
  }
  if (UNMODELLED_BLOCK_TYPES.has(type)) {
    p.add(`block type '${type}' is not supported by the local Slack stand-in`, `${ptr}/type`);
    return;
  }
  if (!MESSAGE_BLOCK_TYPES.has(type)) {
    p.add(`unsupported block type '${type}'`, `${ptr}/type`);
    return;
  }
  switch (type) {
    case 'section':
      validateSection(p, block, ptr);
      return;
    case 'header':
      validateTextObject(p, block.text, `${ptr}/text`, {
        max: L.headerTextLength,
        plainOnly: true,
        required: true,
      });
      return;
    case 'divider':
      return;
    case 'context':
      validateContext(p, block, ptr);
      return;
    case 'actions':
      validateActions(p, block, ptr);
      return;
    case 'image':
      validateImage(p, block, ptr, true);
      return;
    case 'rich_text':
      if (!Array.isArray(block.elements)) p.add('must provide an array', `${ptr}/elements`);
      return;
    case 'markdown':
      p.string(block.text, `${ptr}/text`, { max: L.markdownBlockTextLength, required: true, nonEmpty: true });
      return;
  }
}

function validateSection(p: Problems, block: Json, ptr: string): void {
  if (block.text === undefined && block.fields === undefined) {
    p.add('must provide text or fields', ptr);
  }
  if (block.text !== undefined) {
    validateTextObject(p, block.text, `${ptr}/text`, { max: L.sectionTextLength });
  }
  if (block.fields !== undefined) {
    if (!Array.isArray(block.fields)) {
      p.add('must provide an array', `${ptr}/fields`);
    } else {
      if (block.fields.length === 0) p.add('must provide at least 1 item', `${ptr}/fields`);
      if (block.fields.length > L.sectionFields) {
        p.add(`no more than ${L.sectionFields} items allowed`, `${ptr}/fields`);
      }
      block.fields.forEach((field: unknown, i) => {
        validateTextObject(p, field, `${ptr}/fields/${i}`, { max: L.sectionFieldLength });
      });
    }
  }
  if (block.accessory !== undefined) {
    validateElement(p, block.accessory, `${ptr}/accessory`, new Set(), { allowImage: true });
  }
}

function validateContext(p: Problems, block: Json, ptr: string): void {
  const elements = block.elements;
  if (!Array.isArray(elements)) {
    p.add('must provide an array', `${ptr}/elements`);
    return;
  }
  if (elements.length === 0) p.add('must provide at least 1 item', `${ptr}/elements`);
  if (elements.length > L.contextElements) {
    p.add(`no more than ${L.contextElements} items allowed`, `${ptr}/elements`);
  }
  elements.forEach((element: unknown, i) => {
    const ePtr = `${ptr}/elements/${i}`;
    if (isObject(element) && element.type === 'image') validateImage(p, element, ePtr, false);
    else validateTextObject(p, element, ePtr, {});
  });
}

function validateActions(p: Problems, block: Json, ptr: string): void {
  const elements = block.elements;
  if (!Array.isArray(elements)) {
    p.add('must provide an array', `${ptr}/elements`);
    return;
  }
  if (elements.length === 0) p.add('must provide at least 1 item', `${ptr}/elements`);
  if (elements.length > L.actionsElements) {
    p.add(`no more than ${L.actionsElements} items allowed`, `${ptr}/elements`);
  }
  // Slack asks action_id to be unique among the elements of the containing block.
  const actionIds = new Set<string>();
  elements.forEach((element: unknown, i) => {
    validateElement(p, element, `${ptr}/elements/${i}`, actionIds, { allowImage: false });
  });
}

function validateImage(p: Problems, image: Json, ptr: string, isBlock: boolean): void {
  if (image.image_url === undefined && image.slack_file === undefined) {
    p.add('must provide image_url or slack_file', ptr);
  }
  p.string(image.image_url, `${ptr}/image_url`, { max: L.imageUrlLength, nonEmpty: true });
  if (image.slack_file !== undefined && !isObject(image.slack_file)) {
    p.add('must provide an object', `${ptr}/slack_file`);
  }
  p.string(image.alt_text, `${ptr}/alt_text`, { max: L.imageAltTextLength, required: true, nonEmpty: true });
  if (isBlock && image.title !== undefined) {
    validateTextObject(p, image.title, `${ptr}/title`, { max: L.imageTitleLength, plainOnly: true });
  }
}

function validateElement(
  p: Problems,
  element: unknown,
  ptr: string,
  actionIds: Set<string>,
  opts: { allowImage: boolean },
): void {
  if (!isObject(element)) {
    p.add('must provide an object', ptr);
    return;
  }
  const type = element.type;
  if (typeof type !== 'string') {
    p.add('must provide a string', `${ptr}/type`);
    return;
  }
  if (type === 'image' && opts.allowImage) {
    validateImage(p, element, ptr, false);
    return;
  }
  if (type !== 'button' && !OTHER_INTERACTIVE_ELEMENTS.has(type)) {
    p.add(`unsupported element type '${type}'`, `${ptr}/type`);
    return;
  }
  const actionId = p.string(element.action_id, `${ptr}/action_id`, { max: L.actionIdLength, nonEmpty: true });
  if (actionId !== undefined) {
    if (actionIds.has(actionId)) p.add(`duplicate action_id '${actionId}'`, `${ptr}/action_id`);
    actionIds.add(actionId);
  }
  if (element.confirm !== undefined) validateConfirm(p, element.confirm, `${ptr}/confirm`);
  if (type !== 'button') return;

  validateTextObject(p, element.text, `${ptr}/text`, {
    max: L.buttonTextLength,
    plainOnly: true,
    required: true,
  });
  p.string(element.value, `${ptr}/value`, { max: L.buttonValueLength });
  p.string(element.url, `${ptr}/url`, { max: L.buttonUrlLength, nonEmpty: true });
  p.string(element.accessibility_label, `${ptr}/accessibility_label`, {
    max: L.buttonAccessibilityLabelLength,
    nonEmpty: true,
  });
  if (element.style !== undefined && !BUTTON_STYLES.has(element.style as string)) {
    p.add('must be one of: primary, danger', `${ptr}/style`);
  }
}

function validateConfirm(p: Problems, confirm: unknown, ptr: string): void {
  if (!isObject(confirm)) {
    p.add('must provide an object', ptr);
    return;
  }
  validateTextObject(p, confirm.title, `${ptr}/title`, {
    max: L.confirmTitleLength,
    plainOnly: true,
    required: true,
  });
  validateTextObject(p, confirm.text, `${ptr}/text`, { max: L.confirmTextLength, required: true });
  validateTextObject(p, confirm.confirm, `${ptr}/confirm`, {
    max: L.confirmButtonLength,
    plainOnly: true,
    required: true,
  });
  validateTextObject(p, confirm.deny, `${ptr}/deny`, {
    max: L.confirmButtonLength,
    plainOnly: true,
    required: true,
  });
  if (confirm.style !== undefined && !BUTTON_STYLES.has(confirm.style as string)) {
    p.add('must be one of: primary, danger', `${ptr}/style`);
  }
}

function validateTextObject(
  p: Problems,
  value: unknown,
  ptr: string,
  opts: { max?: number; plainOnly?: boolean; required?: boolean },
): void {
  if (value === undefined) {
    if (opts.required) p.add('missing required field', ptr);
    return;
  }
  if (!isObject(value)) {
    p.add('must provide an object', ptr);
    return;
  }
  const type = value.type;
  if (opts.plainOnly) {
    if (type !== 'plain_text') p.add('must be plain_text', `${ptr}/type`);
  } else if (type !== 'plain_text' && type !== 'mrkdwn') {
    p.add('must be one of: plain_text, mrkdwn', `${ptr}/type`);
  }
  p.string(value.text, `${ptr}/text`, { max: opts.max, required: true, nonEmpty: true });
  if (value.emoji !== undefined && typeof value.emoji !== 'boolean')
    p.add('must be a boolean', `${ptr}/emoji`);
  if (value.verbatim !== undefined && typeof value.verbatim !== 'boolean') {
    p.add('must be a boolean', `${ptr}/verbatim`);
  }
}

/** A button found in a message's blocks, with the block that holds it. */
export interface FoundButton {
  blockId: string | undefined;
  button: Json;
}

/**
 * Finds the button with `actionId` (in block `blockId`, when given) in a message's blocks: in actions blocks
 * and section accessories, as Slack renders them.
 */
export function findButton(blocks: unknown, actionId: string, blockId?: string): FoundButton | undefined {
  if (!Array.isArray(blocks)) return undefined;
  for (const block of blocks) {
    if (!isObject(block)) continue;
    const id = typeof block.block_id === 'string' ? block.block_id : undefined;
    if (blockId !== undefined && id !== blockId) continue;
    const candidates = [
      ...(Array.isArray(block.elements) && block.type === 'actions' ? block.elements : []),
      ...(block.type === 'section' && block.accessory !== undefined ? [block.accessory] : []),
    ];
    for (const element of candidates) {
      if (isObject(element) && element.type === 'button' && element.action_id === actionId) {
        return { blockId: id, button: element };
      }
    }
  }
  return undefined;
}
