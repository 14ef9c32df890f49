import {
  type CloudTrailClient,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
} from '@aws-sdk/client-cloudtrail';
import type { TrailDescription } from '../domain/trails';
import { AwsOperationError, TransientError } from '../errors';
import { mapAwsError } from './aws-error';

/** What CloudTrail says about the account's trails. */
export interface TrailInspector {
  /** Every trail visible here (organization trails included), with its status and selectors. */
  describe(): Promise<{ trails: TrailDescription[]; unreadable: string[] }>;
}

/**
 * {@link TrailInspector} over CloudTrail's `DescribeTrails` (shadow trails included), `GetTrailStatus` and
 * `GetEventSelectors`. A trail whose status or selectors cannot be read (e.g. an organization trail homed
 * in another region) is listed in `unreadable` rather than assumed to deliver.
 */
export class CloudTrailInspector implements TrailInspector {
  constructor(private readonly cloudtrail: CloudTrailClient) {}

  async describe(): Promise<{ trails: TrailDescription[]; unreadable: string[] }> {
    const listed = await this.call('DescribeTrails', () =>
      this.cloudtrail.send(new DescribeTrailsCommand({ includeShadowTrails: true })),
    );
    const trails: TrailDescription[] = [];
    const unreadable: string[] = [];
    for (const trail of listed.trailList ?? []) {
      const id = trail.TrailARN ?? trail.Name;
      if (!id) continue;
      const name = trail.Name ?? id;
      try {
        const status = await this.call('GetTrailStatus', () =>
          this.cloudtrail.send(new GetTrailStatusCommand({ Name: id })),
        );
        const selectors = await this.call('GetEventSelectors', () =>
          this.cloudtrail.send(new GetEventSelectorsCommand({ TrailName: id })),
        );
        trails.push({
          name,
          ...(trail.HomeRegion && { homeRegion: trail.HomeRegion }),
          isMultiRegion: trail.IsMultiRegionTrail === true,
          includeGlobalServiceEvents: trail.IncludeGlobalServiceEvents === true,
          isLogging: status.IsLogging === true,
          isOrganizationTrail: trail.IsOrganizationTrail === true,
          ...(selectors.AdvancedEventSelectors && selectors.AdvancedEventSelectors.length > 0
            ? {
                advanced: selectors.AdvancedEventSelectors.map((s) =>
                  (s.FieldSelectors ?? []).map((f) => ({
                    field: f.Field ?? '',
                    ...(f.Equals && { equals: f.Equals }),
                    ...(f.NotEquals && { notEquals: f.NotEquals }),
                    ...(f.StartsWith && { startsWith: f.StartsWith }),
                    ...(f.NotStartsWith && { notStartsWith: f.NotStartsWith }),
                    ...(f.EndsWith && { endsWith: f.EndsWith }),
                    ...(f.NotEndsWith && { notEndsWith: f.NotEndsWith }),
                  })),
                ),
              }
            : {
                basic: (selectors.EventSelectors ?? []).map((s) => ({
                  ...(s.ReadWriteType && { readWriteType: s.ReadWriteType }),
                  ...(s.IncludeManagementEvents !== undefined && {
                    includeManagementEvents: s.IncludeManagementEvents,
                  }),
                  ...(s.ExcludeManagementEventSources && {
                    excludeManagementEventSources: s.ExcludeManagementEventSources,
                  }),
                })),
              }),
        });
      } catch (error) {
        if (error instanceof TransientError) throw error;
        unreadable.push(`${name} (${error instanceof AwsOperationError ? error.code : 'unreadable'})`);
      }
    }
    return { trails, unreadable };
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw mapAwsError(`CloudTrail ${operation}`, error);
    }
  }
}
