import http from 'node:http';
import { listenOnLoopback, send, xmlEscape } from '../http-util';
import type { IamServer } from './server';

/**
 * IAM for several local accounts behind one endpoint, as AWS has one IAM endpoint for every account: a
 * request goes to the account its access key belongs to (a key is given to exactly one account, as an STS
 * session's key belongs to the role's account), so credentials of one account never act in another. Keys
 * given to no account act in the default account (the long-term keys of the sandbox's own functions).
 */
export interface IamAccountRouter {
  /** `AWS_ENDPOINT_URL_IAM` for every account. */
  readonly endpoint: string;
  /** Gives `accessKeyId` to `accountId` (it must be one of the router's accounts). */
  assign(accessKeyId: string, accountId: string): void;
  /** The account a key acts in. */
  accountOf(accessKeyId: string): string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

function accessKeyIdOf(request: http.IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  return header ? /Credential=([^/,\s]+)\//.exec(header)?.[1] : undefined;
}

/**
 * Starts the router in front of `accounts`; `defaultAccountId` must be one of them. `permits`, when given,
 * is the calling role's IAM policy: a reason to refuse the call (`iam:<Action>`) with IAM's `AccessDenied`,
 * or `undefined` to let it through.
 */
export async function startIamAccountRouter(
  accounts: readonly IamServer[],
  defaultAccountId: string,
  permits?: (accessKeyId: string, action: string) => string | undefined,
): Promise<IamAccountRouter> {
  const byAccount = new Map(accounts.map((server) => [server.accountId, server]));
  if (!byAccount.has(defaultAccountId)) throw new Error(`no IAM server for account ${defaultAccountId}`);
  const keys = new Map<string, string>();
  const accountOf = (accessKeyId: string) => keys.get(accessKeyId) ?? defaultAccountId;

  const handle = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        send(
          response,
          413,
          'text/xml',
          '<ErrorResponse><Error><Code>RequestEntityTooLarge</Code></Error></ErrorResponse>',
        );
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const key = accessKeyIdOf(request);
    const action = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('Action') ?? '';
    const denied = key === undefined ? undefined : permits?.(key, `iam:${action}`);
    if (denied !== undefined) {
      send(
        response,
        403,
        'text/xml',
        `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${xmlEscape(denied)}</Message></Error></ErrorResponse>`,
      );
      return;
    }
    const target = byAccount.get(key === undefined ? defaultAccountId : accountOf(key));
    if (!target) {
      send(
        response,
        403,
        'text/xml',
        `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>${xmlEscape('The security token included in the request is invalid.')}</Message></Error></ErrorResponse>`,
      );
      return;
    }
    const url = new URL(request.url ?? '/', target.endpoint);
    await new Promise<void>((resolve, reject) => {
      const forwarded = http.request(
        url,
        { method: request.method, headers: { ...request.headers, host: url.host } },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
          answer.on('end', resolve);
          answer.on('error', reject);
        },
      );
      forwarded.on('error', reject);
      forwarded.end(Buffer.concat(chunks));
    });
  };

  const started = await listenOnLoopback(handle);
  return {
    endpoint: started.endpoint,
    assign(accessKeyId, accountId) {
      if (!byAccount.has(accountId)) throw new Error(`no IAM server for account ${accountId}`);
      keys.set(accessKeyId, accountId);
    },
    accountOf,
    close: () => started.close(),
  };
}
