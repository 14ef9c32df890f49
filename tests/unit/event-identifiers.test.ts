import fc from 'fast-check';
import { eventIdentifiers } from '../../src/domain/cloudtrail';

describe('identifiers for a NOT contained alert', () => {
  test('names the event, the actor and every entity the request names, never the document', () => {
    // Prepare
    const event = {
      'detail-type': 'AWS API Call via CloudTrail',
      id: 'eb-1',
      account: '123456789012',
      detail: {
        eventName: 'PutRolePolicy',
        eventID: 'e-1',
        userIdentity: { arn: 'arn:aws:iam::123456789012:user/mallory' },
        requestParameters: { roleName: 'ci', policyName: 'wide', policyDocument: '{"Statement":[]}' },
      },
    };
    // Act
    const ids = eventIdentifiers(event);
    // Assess
    expect(ids).toMatchObject({
      eventName: expect.stringContaining('PutRolePolicy'),
      eventID: expect.stringContaining('e-1'),
      account: expect.stringContaining('123456789012'),
      actor: expect.stringContaining('user/mallory'),
      'requestParameters.roleName': expect.stringContaining('ci'),
      'requestParameters.policyName': expect.stringContaining('wide'),
    });
    expect(JSON.stringify(ids)).not.toContain('Statement');
  });

  test('reads anything, never throws, and keeps every value short', () => {
    fc.assert(
      fc.property(fc.anything(), (event) => {
        const ids = eventIdentifiers(event);
        for (const value of Object.values(ids)) expect(value.length).toBeLessThanOrEqual(240);
      }),
    );
  });
});
