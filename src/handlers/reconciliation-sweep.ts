import { sweepService } from '../app/sweep-dependencies';
import type { SweepReport } from '../services/sweep-service';

/** The scheduled reconciliation sweep (EventBridge schedule): re-drive, check trails, compare grants. */
export const handler = async (): Promise<SweepReport> => sweepService().run();
