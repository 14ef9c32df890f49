/**
 * Whether some CloudTrail trail delivers IAM's write management events to EventBridge in us-east-1, the
 * only place PolicyGate can hear of an IAM change. EventBridge receives "AWS API Call via CloudTrail"
 * events only while a trail with logging on records them, so without such a trail PolicyGate sees no
 * change at all and only the sweep would ever notice one.
 */

/** A basic event selector, as `GetEventSelectors` returns it. */
export interface BasicSelector {
  readonly readWriteType?: string;
  readonly includeManagementEvents?: boolean;
  readonly excludeManagementEventSources?: readonly string[];
}

/** One field selector of an advanced event selector. */
export interface FieldSelector {
  readonly field: string;
  readonly equals?: readonly string[];
  readonly notEquals?: readonly string[];
  readonly startsWith?: readonly string[];
  readonly notStartsWith?: readonly string[];
  readonly endsWith?: readonly string[];
  readonly notEndsWith?: readonly string[];
}

/** A trail and what it records. */
export interface TrailDescription {
  readonly name: string;
  readonly homeRegion?: string;
  readonly isMultiRegion: boolean;
  readonly includeGlobalServiceEvents: boolean;
  readonly isLogging: boolean;
  readonly isOrganizationTrail?: boolean;
  /** Basic selectors; absent when the trail uses advanced ones. */
  readonly basic?: readonly BasicSelector[];
  /** Advanced selectors (each a list of field selectors, all of which must match). */
  readonly advanced?: readonly (readonly FieldSelector[])[];
}

export interface TrailVerdict {
  readonly delivering: readonly string[];
  /** Why each trail that does not deliver IAM write events does not. */
  readonly reasons: readonly string[];
}

const IAM_SOURCE = 'iam.amazonaws.com';

/** Whether an advanced selector's field selector lets `value` through. */
function fieldAllows(selector: FieldSelector, value: string): boolean {
  if (selector.equals && !selector.equals.includes(value)) return false;
  if (selector.notEquals?.includes(value)) return false;
  if (selector.startsWith && !selector.startsWith.some((p) => value.startsWith(p))) return false;
  if (selector.notStartsWith?.some((p) => value.startsWith(p))) return false;
  if (selector.endsWith && !selector.endsWith.some((p) => value.endsWith(p))) return false;
  if (selector.notEndsWith?.some((p) => value.endsWith(p))) return false;
  return true;
}

/** Whether an advanced selector records IAM's write management events. */
function advancedRecordsIamWrites(fields: readonly FieldSelector[]): boolean {
  const probe: Record<string, string> = {
    eventCategory: 'Management',
    readOnly: 'false',
    eventSource: IAM_SOURCE,
  };
  let management = false;
  for (const field of fields) {
    // The field name is whatever the trail's selector says (cloudtrail:* is not iam:*): own keys only.
    const value = Object.hasOwn(probe, field.field) ? probe[field.field] : undefined;
    // A selector on a field PolicyGate does not probe (eventName, userIdentity.arn, ...) may filter out
    // some IAM calls: it is not counted as delivering all of them.
    if (value === undefined) return false;
    if (!fieldAllows(field, value)) return false;
    if (field.field === 'eventCategory') management = true;
  }
  return management;
}

function basicRecordsIamWrites(selector: BasicSelector): boolean {
  if (selector.includeManagementEvents === false) return false;
  const type = selector.readWriteType ?? 'All';
  if (type !== 'All' && type !== 'WriteOnly') return false;
  return !(selector.excludeManagementEventSources ?? []).includes(IAM_SOURCE);
}

/** Which trails deliver IAM write events, and why the others do not. */
export function evaluateTrails(trails: readonly TrailDescription[]): TrailVerdict {
  const delivering: string[] = [];
  const reasons: string[] = [];
  for (const trail of trails) {
    const why: string[] = [];
    if (!trail.isLogging) why.push('logging is off');
    if (!trail.isMultiRegion && trail.homeRegion !== 'us-east-1') {
      why.push(
        `it records only ${trail.homeRegion ?? 'another region'}, and IAM's events arrive in us-east-1`,
      );
    }
    if (!trail.isMultiRegion && !trail.includeGlobalServiceEvents)
      why.push('it excludes global service events');
    const recordsIam = trail.advanced
      ? trail.advanced.some(advancedRecordsIamWrites)
      : (trail.basic ?? [{}]).some(basicRecordsIamWrites);
    if (!recordsIam) why.push("its event selectors leave out IAM's write management events");
    if (why.length === 0) delivering.push(trail.name);
    else reasons.push(`${trail.name}: ${why.join('; ')}`);
  }
  return { delivering, reasons };
}
