import {
  CloudTrailARNInvalidException,
  CloudTrailClient,
  CloudTrailServiceException,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  InvalidTrailNameException,
  TrailNotFoundException,
} from '@aws-sdk/client-cloudtrail';
import { type LocalCloudTrailServer, startCloudTrailServer, type TrailInput } from '../../local/cloudtrail';
import { withEnv } from '../support/env';

const ACCOUNT = '123456789012';
const MANAGEMENT_ACCOUNT = '999988887777';
const CREDENTIALS = { accessKeyId: 'AKIDCTEXAMPLE', secretAccessKey: 'x' };
const START = new Date('2026-03-01T10:00:00.000Z');

const MAIN: TrailInput = { Name: 'management-events', S3BucketName: 'audit-logs', IsMultiRegionTrail: true };
const LOCAL_ONLY: TrailInput = {
  Name: 'data-events',
  S3BucketName: 'data-logs',
  IncludeGlobalServiceEvents: false,
  AdvancedEventSelectors: [
    {
      Name: 'S3 writes',
      FieldSelectors: [
        { Field: 'eventCategory', Equals: ['Data'] },
        { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
        { Field: 'readOnly', Equals: ['false'] },
      ],
    },
  ],
};
const OTHER_REGION: TrailInput = {
  Name: 'eu-trail',
  S3BucketName: 'eu-logs',
  HomeRegion: 'eu-west-1',
  IsMultiRegionTrail: true,
  EventSelectors: [
    {
      ReadWriteType: 'WriteOnly',
      IncludeManagementEvents: true,
      ExcludeManagementEventSources: ['kms.amazonaws.com'],
    },
  ],
};
const ELSEWHERE_ONLY: TrailInput = {
  Name: 'ap-trail',
  S3BucketName: 'ap-logs',
  HomeRegion: 'ap-southeast-2',
};
const ORGANIZATION: TrailInput = {
  Name: 'org-trail',
  S3BucketName: 'org-logs',
  IsMultiRegionTrail: true,
  IsOrganizationTrail: true,
  TrailARN: `arn:aws:cloudtrail:us-east-1:${MANAGEMENT_ACCOUNT}:trail/org-trail`,
};

/** The CloudTrail error a call fails with; fails the test if it succeeds or throws something else. */
async function failure(call: Promise<unknown>): Promise<CloudTrailServiceException> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CloudTrailServiceException)) {
    throw new Error(`expected a CloudTrail error, got ${String(error)}`);
  }
  return error;
}

const arnOf = (name: string, region = 'us-east-1', account = ACCOUNT) =>
  `arn:aws:cloudtrail:${region}:${account}:trail/${name}`;

describe('local CloudTrail stand-in through @aws-sdk/client-cloudtrail', () => {
  let server: LocalCloudTrailServer;
  let client: CloudTrailClient;
  let clock = START;

  beforeAll(async () => {
    server = await startCloudTrailServer({ accountId: ACCOUNT, now: () => clock });
    client = new CloudTrailClient({
      region: 'us-east-1',
      endpoint: server.endpoint,
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  beforeEach(() => {
    clock = START;
    server.setTrails([MAIN, LOCAL_ONLY, OTHER_REGION, ELSEWHERE_ONLY, ORGANIZATION]);
  });

  it('describes the trails of the Region and, unless told not to, the shadow trails', async () => {
    // Act
    const all = await client.send(new DescribeTrailsCommand({}));
    const ownOnly = await client.send(new DescribeTrailsCommand({ includeShadowTrails: false }));

    // Assess
    expect(all.trailList?.map((t) => t.TrailARN)).toEqual([
      arnOf('management-events'),
      arnOf('data-events'),
      arnOf('eu-trail', 'eu-west-1'),
      arnOf('org-trail', 'us-east-1', MANAGEMENT_ACCOUNT),
    ]);
    expect(ownOnly.trailList?.map((t) => t.Name)).toEqual(['management-events', 'data-events']);
    expect(all.trailList?.[0]).toEqual({
      Name: 'management-events',
      S3BucketName: 'audit-logs',
      IncludeGlobalServiceEvents: true,
      IsMultiRegionTrail: true,
      HomeRegion: 'us-east-1',
      TrailARN: arnOf('management-events'),
      LogFileValidationEnabled: false,
      HasCustomEventSelectors: false,
      HasInsightSelectors: false,
      IsOrganizationTrail: false,
    });
    expect(all.trailList?.[3]).toMatchObject({ IsOrganizationTrail: true, HomeRegion: 'us-east-1' });
  });

  it('describes only the named trails: names for this Region, ARNs for any, unknown ones left out', async () => {
    // Act
    const named = await client.send(
      new DescribeTrailsCommand({
        trailNameList: ['data-events', arnOf('eu-trail', 'eu-west-1'), 'eu-trail', 'no-such-trail'],
      }),
    );

    // Assess
    expect(named.trailList?.map((t) => t.TrailARN)).toEqual([
      arnOf('data-events'),
      arnOf('eu-trail', 'eu-west-1'),
    ]);
  });

  it('gets a trail by name or ARN, and a shadow trail by ARN only', async () => {
    // Act
    const byName = await client.send(new GetTrailCommand({ Name: 'data-events' }));
    const byArn = await client.send(new GetTrailCommand({ Name: arnOf('eu-trail', 'eu-west-1') }));
    const shadowByName = await failure(client.send(new GetTrailCommand({ Name: 'eu-trail' })));

    // Assess
    expect(byName.Trail).toMatchObject({
      Name: 'data-events',
      IncludeGlobalServiceEvents: false,
      IsMultiRegionTrail: false,
      HasCustomEventSelectors: true,
    });
    expect(byArn.Trail).toMatchObject({
      Name: 'eu-trail',
      HomeRegion: 'eu-west-1',
      IsMultiRegionTrail: true,
    });
    expect(shadowByName).toBeInstanceOf(TrailNotFoundException);
    expect(shadowByName.message).toBe(`Unknown trail: ${arnOf('eu-trail')} for the user: ${ACCOUNT}`);
  });

  it('reports logging status, and follows setLogging', async () => {
    // Act
    const logging = await client.send(new GetTrailStatusCommand({ Name: 'management-events' }));
    clock = new Date('2026-03-01T11:30:00.000Z');
    server.setLogging('management-events', false);
    const stopped = await client.send(new GetTrailStatusCommand({ Name: arnOf('management-events') }));

    // Assess
    expect(logging).toMatchObject({
      IsLogging: true,
      StartLoggingTime: START,
      TimeLoggingStarted: '2026-03-01T10:00:00Z',
      TimeLoggingStopped: '',
    });
    expect(logging.StopLoggingTime).toBeUndefined();
    expect(stopped).toMatchObject({
      IsLogging: false,
      StopLoggingTime: new Date('2026-03-01T11:30:00.000Z'),
      TimeLoggingStopped: '2026-03-01T11:30:00Z',
    });
  });

  it('reports a trail configured as not logging', async () => {
    // Prepare
    server.setTrails([{ ...MAIN, IsLogging: false }]);

    // Act
    const status = await client.send(new GetTrailStatusCommand({ Name: 'management-events' }));

    // Assess
    expect(status.IsLogging).toBe(false);
    expect(status.StartLoggingTime).toBeUndefined();
  });

  it('returns the default, basic and advanced event selectors', async () => {
    // Act
    const defaults = await client.send(new GetEventSelectorsCommand({ TrailName: 'management-events' }));
    const basic = await client.send(
      new GetEventSelectorsCommand({ TrailName: arnOf('eu-trail', 'eu-west-1') }),
    );
    const advanced = await client.send(new GetEventSelectorsCommand({ TrailName: 'data-events' }));

    // Assess
    expect(defaults.TrailARN).toBe(arnOf('management-events'));
    expect(defaults.EventSelectors).toEqual([
      {
        ReadWriteType: 'All',
        IncludeManagementEvents: true,
        DataResources: [],
        ExcludeManagementEventSources: [],
      },
    ]);
    expect(defaults.AdvancedEventSelectors).toBeUndefined();
    expect(basic.EventSelectors).toEqual(OTHER_REGION.EventSelectors);
    expect(advanced.EventSelectors).toBeUndefined();
    expect(advanced.AdvancedEventSelectors).toEqual(LOCAL_ONLY.AdvancedEventSelectors);
  });

  it('hides a single-Region trail of another Region entirely', async () => {
    // Act
    const described = await client.send(
      new DescribeTrailsCommand({ trailNameList: [arnOf('ap-trail', 'ap-southeast-2')] }),
    );
    const error = await failure(
      client.send(new GetTrailStatusCommand({ Name: arnOf('ap-trail', 'ap-southeast-2') })),
    );

    // Assess
    expect(described.trailList).toEqual([]);
    expect(error).toBeInstanceOf(TrailNotFoundException);
  });

  it.each([
    {
      label: 'an unknown trail',
      name: 'missing-trail',
      error: TrailNotFoundException,
      message: `Unknown trail: ${arnOf('missing-trail')} for the user: ${ACCOUNT}`,
    },
    {
      label: 'a name that is too short',
      name: 'ab',
      error: InvalidTrailNameException,
      message:
        'Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters.',
    },
    {
      label: 'a name with a bad first character',
      name: '-trail',
      error: InvalidTrailNameException,
      message: 'Trail name must starts with a letter or number.',
    },
    {
      label: 'a name with invalid characters',
      name: 'my trail',
      error: InvalidTrailNameException,
      message:
        'Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).',
    },
    {
      label: 'a malformed ARN',
      name: 'arn:aws:cloudtrail:us-east-1:trail/x',
      error: CloudTrailARNInvalidException,
      message: 'Invalid trail ARN: arn:aws:cloudtrail:us-east-1:trail/x',
    },
  ])('refuses $label', async ({ name, error, message }) => {
    // Act
    const status = await failure(client.send(new GetTrailStatusCommand({ Name: name })));
    const selectors = await failure(client.send(new GetEventSelectorsCommand({ TrailName: name })));

    // Assess
    for (const thrown of [status, selectors]) {
      expect(thrown).toBeInstanceOf(error);
      expect(thrown.message).toBe(message);
      expect(thrown.$fault).toBe('client');
    }
  });

  it('refuses inconsistent trail configurations at set-up', () => {
    // Act / Assess
    expect(() => server.setTrails([{ ...LOCAL_ONLY, EventSelectors: [] }])).toThrow(
      'has both EventSelectors and AdvancedEventSelectors',
    );
    expect(() => server.setTrails([{ Name: 'x', S3BucketName: 'b' }])).toThrow('Trail name too short');
    expect(() =>
      server.setTrails([
        { ...MAIN, TrailARN: `arn:aws:cloudtrail:us-east-1:${MANAGEMENT_ACCOUNT}:trail/management-events` },
      ]),
    ).toThrow('visible only as an organization trail');
    expect(() => server.setLogging('missing-trail', true)).toThrow('no trail missing-trail');
  });

  it('answers the full target prefix of the model too, and unsigned requests with an error', async () => {
    // Act
    const signedHeaders = {
      'content-type': 'application/x-amz-json-1.1',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDCTEXAMPLE/20260301/us-east-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=0',
      'x-amz-date': '20260301T100000Z',
    };
    const full = await fetch(server.endpoint, {
      method: 'POST',
      headers: {
        ...signedHeaders,
        'x-amz-target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetTrail',
      },
      body: JSON.stringify({ Name: 'management-events' }),
    });
    const unsigned = await fetch(server.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'CloudTrail_20131101.DescribeTrails',
      },
      body: '{}',
    });

    // Assess
    expect(full.status).toBe(200);
    expect(((await full.json()) as { Trail?: { Name?: string } }).Trail?.Name).toBe('management-events');
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toEqual({
      __type: 'MissingAuthenticationTokenException',
      Message: 'Missing Authentication Token',
    });
  });

  it('injects server faults and is reachable through AWS_ENDPOINT_URL_CLOUDTRAIL', async () => {
    // Prepare
    server.failNext(1);

    // Act
    const fault = await failure(client.send(new DescribeTrailsCommand({})));
    const names = await withEnv(
      {
        AWS_ENDPOINT_URL_CLOUDTRAIL: server.endpoint,
        AWS_ENDPOINT_URL: undefined,
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
      },
      async () => {
        const envClient = new CloudTrailClient({
          region: 'us-east-1',
          credentials: CREDENTIALS,
          maxAttempts: 1,
        });
        try {
          return (
            await envClient.send(new DescribeTrailsCommand({ includeShadowTrails: false }))
          ).trailList?.map((t) => t.Name);
        } finally {
          envClient.destroy();
        }
      },
    );

    // Assess
    expect(fault.$fault).toBe('server');
    expect(fault.$metadata.httpStatusCode).toBe(500);
    expect(names).toEqual(['management-events', 'data-events']);
  });
});
