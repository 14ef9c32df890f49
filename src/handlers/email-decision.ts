import { decisionPage } from '../app/email-decision-dependencies';
import {
  type DecisionPageDependencies,
  handleDecisionPage,
  type PageRequest,
  type PageResponse,
} from '../email/decision-page';
import { createLogger } from '../logger';

const logger = createLogger('policy-gate');

/**
 * The e-mail decision page (Lambda Function URL): GET/HEAD show a request, only the page's own POST decides.
 * A stage that cannot start (its configuration invalid) answers 500 and changes nothing.
 */
export const handler = async (event: PageRequest, _context: unknown): Promise<PageResponse> => {
  let deps: DecisionPageDependencies;
  try {
    deps = decisionPage();
  } catch (error) {
    logger.error('decision page unavailable', { error });
    return {
      statusCode: 500,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
      body: 'PolicyGate is not available. Nothing was decided.',
    };
  }
  return handleDecisionPage(event, deps);
};
