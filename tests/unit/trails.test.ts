import { evaluateTrails, type TrailDescription } from '../../src/domain/trails';
import { PROTOTYPE_NAMES } from '../support/prototype-names';

const good: TrailDescription = {
  name: 'org',
  homeRegion: 'eu-west-1',
  isMultiRegion: true,
  includeGlobalServiceEvents: true,
  isLogging: true,
  basic: [{ readWriteType: 'All', includeManagementEvents: true }],
};

describe('which trails deliver IAM write events', () => {
  test('a logging multi-region trail with management events delivers them', () => {
    expect(evaluateTrails([good])).toEqual({ delivering: ['org'], reasons: [] });
  });

  test.each<[string, Partial<TrailDescription>, RegExp]>([
    ['logging off', { isLogging: false }, /logging is off/],
    ['single region elsewhere', { isMultiRegion: false, homeRegion: 'eu-west-1' }, /us-east-1/],
    [
      'no global events',
      { isMultiRegion: false, homeRegion: 'us-east-1', includeGlobalServiceEvents: false },
      /global service/,
    ],
    [
      'read-only selectors',
      { basic: [{ readWriteType: 'ReadOnly', includeManagementEvents: true }] },
      /selectors/,
    ],
    [
      'management events off',
      { basic: [{ readWriteType: 'All', includeManagementEvents: false }] },
      /selectors/,
    ],
    [
      'IAM excluded',
      { basic: [{ includeManagementEvents: true, excludeManagementEventSources: ['iam.amazonaws.com'] }] },
      /selectors/,
    ],
    [
      'advanced: data events only',
      { basic: undefined, advanced: [[{ field: 'eventCategory', equals: ['Data'] }]] },
      /selectors/,
    ],
    [
      'advanced: read only',
      {
        basic: undefined,
        advanced: [
          [
            { field: 'eventCategory', equals: ['Management'] },
            { field: 'readOnly', equals: ['true'] },
          ],
        ],
      },
      /selectors/,
    ],
    [
      'advanced: other sources only',
      {
        basic: undefined,
        advanced: [
          [
            { field: 'eventCategory', equals: ['Management'] },
            { field: 'eventSource', equals: ['s3.amazonaws.com'] },
          ],
        ],
      },
      /selectors/,
    ],
    [
      'advanced: filtered by event name',
      {
        basic: undefined,
        advanced: [
          [
            { field: 'eventCategory', equals: ['Management'] },
            { field: 'eventName', equals: ['CreateUser'] },
          ],
        ],
      },
      /selectors/,
    ],
    ...PROTOTYPE_NAMES.map((field): [string, Partial<TrailDescription>, RegExp] => [
      `advanced: filtered on a field named ${field}`,
      {
        basic: undefined,
        advanced: [
          [
            { field: 'eventCategory', equals: ['Management'] },
            { field, notEquals: ['x'] },
          ],
        ],
      },
      /selectors/,
    ]),
  ])('%s: does not deliver, and says why', (_label, change, reason) => {
    // Act
    const verdict = evaluateTrails([{ ...good, ...change }]);
    // Assess
    expect(verdict.delivering).toEqual([]);
    expect(verdict.reasons[0]).toMatch(reason);
  });

  test('advanced selectors that keep write management events of every source deliver', () => {
    // Prepare
    const trail: TrailDescription = {
      ...good,
      basic: undefined,
      advanced: [
        [
          { field: 'eventCategory', equals: ['Management'] },
          { field: 'eventSource', notEquals: ['kms.amazonaws.com'] },
        ],
      ],
    };
    // Act / Assess
    expect(evaluateTrails([trail]).delivering).toEqual(['org']);
  });

  test('no trail at all delivers nothing', () => {
    expect(evaluateTrails([])).toEqual({ delivering: [], reasons: [] });
  });
});
