import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';

/**
 * The "Open in AWS console" link button. Slack opens the URL itself but still sends the click here and
 * shows the user a warning unless it is acknowledged; there is nothing else to do.
 */
export const openConsoleCallback = async ({
  ack,
}: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs): Promise<void> => {
  await ack();
};
