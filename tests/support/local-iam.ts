import { IAMClient } from '@aws-sdk/client-iam';
import { type IamServer, type IamServerOptions, startIamServer } from '../../local/iam';

/** Dummy credentials: the stand-in reads who calls from the access key, and checks no signature. */
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' };

/** A local IAM stand-in and an SDK client for it, both live inside one suite. */
export interface LocalIam {
  readonly server: IamServer;
  readonly client: IAMClient;
}

/** An SDK IAM client for a stand-in, without retries (a failure shows at once). */
export function iamClientFor(server: IamServer): IAMClient {
  return new IAMClient({
    region: 'us-east-1',
    endpoint: server.endpoint,
    credentials: TEST_CREDENTIALS,
    maxAttempts: 1,
  });
}

/**
 * Starts a stand-in before the suite's tests and stops it after them; reset before each test. Read
 * `server` and `client` inside tests (they exist only once the suite has started).
 */
export function useLocalIam(options: IamServerOptions = {}): LocalIam {
  let server: IamServer | undefined;
  let client: IAMClient | undefined;
  beforeAll(async () => {
    server = await startIamServer(options);
    client = iamClientFor(server);
  });
  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });
  beforeEach(() => server?.reset());
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the local IAM is used outside its suite');
    return value;
  };
  return {
    get server() {
      return started(server);
    },
    get client() {
      return started(client);
    },
  };
}
